"""OpenID Connect Core §3.1.2.1 parameters at /o/authorize/: prompt, max_age, hints, locales."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from oauth2_provider.settings import oauth2_settings

from bearer_auth.views.login import login_hint
from tests.factories import UserFactory
from tests.oauth_client import (
    authorization_params,
    consent,
    exchange,
    form_fields,
    pkce_pair,
    query_of,
    signed_in_browser,
)
from tests.oidc_support import make_oidc_application, oidc_tokens

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc")]

SIGNED_IN_AT = datetime(2026, 3, 1, 9, 0, tzinfo=dt_timezone.utc)


def _openid(
    application: Any, challenge: str | None = None, **overrides: str | None
) -> dict[str, str]:
    return authorization_params(application, challenge, scope="openid email", **overrides)


def _claims(id_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = pyjwt.decode(id_token, options={"verify_signature": False})
    return claims


def _assert_error(response: Any, params: dict[str, str], error: str) -> None:
    """An OAuth error sent to the client's redirect URI with ``state`` and ``iss``: no page."""
    assert response.status_code == 302, response.content
    location = response["Location"]
    assert location.startswith(params["redirect_uri"] + "?")
    answer = query_of(location)
    assert answer["error"] == error, answer
    assert answer["state"] == params["state"]
    assert answer["iss"] == "https://issuer.test"
    assert "code" not in answer


def _sends_to_sign_in(response: Any) -> dict[str, str]:
    """Assert ``response`` sends the browser to the sign-in page; return the query it returns to."""
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert location.path == settings.LOGIN_URL
    next_url = parse_qs(location.query)["next"][0]
    assert urlsplit(next_url).path == "/o/authorize/"
    return {key: values[0] for key, values in parse_qs(urlsplit(next_url).query).items()}


# prompt


def test_prompt_none_with_a_session_but_consent_needed_is_consent_required(browser: Any) -> None:
    application = make_oidc_application()
    params = _openid(application, prompt="none")
    _assert_error(browser.get("/o/authorize/", params), params, "consent_required")


def test_prompt_none_with_skip_authorization_returns_a_code(browser: Any) -> None:
    application = make_oidc_application(skip_authorization=True)
    verifier, challenge = pkce_pair()
    params = _openid(application, challenge, prompt="none", nonce="n-silent")
    response = browser.get("/o/authorize/", params)
    assert response.status_code == 302, response.content
    answer = query_of(response["Location"])
    assert answer["state"] == params["state"]
    assert "error" not in answer
    token = exchange(application, answer["code"], verifier)
    assert token.status_code == 200, token.content
    assert _claims(token.json()["id_token"])["nonce"] == "n-silent"


def test_prompt_login_sends_to_sign_in_then_back_without_prompt(browser: Any) -> None:
    application = make_oidc_application()
    params = _openid(application, prompt="login")
    back = _sends_to_sign_in(browser.get("/o/authorize/", params))
    assert "prompt" not in back
    assert back == {key: value for key, value in params.items() if key != "prompt"}
    # Back from the sign-in page, the request goes on to the consent page.
    page = browser.get("/o/authorize/", back)
    assert page.status_code == 200
    assert form_fields(page.content.decode())["state"] == params["state"]


def test_prompt_login_signs_in_again_and_auth_time_is_the_new_sign_in(
    user: Any, password: str
) -> None:
    application = make_oidc_application()
    browser = _browser_signed_in_at(user, SIGNED_IN_AT)
    signed_in_again = SIGNED_IN_AT + timedelta(hours=2)
    with time_machine.travel(signed_in_again, tick=False):
        to_sign_in = browser.get("/o/authorize/", _openid(application, prompt="login"))
        assert to_sign_in.status_code == 302
        signed_in = browser.post(
            to_sign_in["Location"], {"username": user.email, "password": password}
        )
        assert signed_in.status_code == 302, signed_in.content
        back = urlsplit(signed_in["Location"])
        assert back.path == "/o/authorize/"
        verifier, challenge = pkce_pair()
        query = {**dict(parse_qs(back.query)), "code_challenge": [challenge]}
        answer = consent(browser, {key: values[0] for key, values in query.items()})
        token = exchange(application, query_of(answer["Location"])["code"], verifier)
    assert _claims(token.json()["id_token"])["auth_time"] == int(signed_in_again.timestamp())


def test_prompt_consent_in_a_plain_oauth_request_shows_the_page_too(browser: Any) -> None:
    """Without openid, prompt=consent was a 500 (the signal to show the page went uncaught)."""
    application = make_oidc_application(skip_authorization=True)
    params = authorization_params(application, scope="read", prompt="consent")
    page = browser.get("/o/authorize/", params)
    assert page.status_code == 200, page
    assert form_fields(page.content.decode())["scope"] == "read"


def test_prompt_consent_shows_the_page_to_a_client_that_skips_it(browser: Any) -> None:
    application = make_oidc_application(skip_authorization=True)
    skipped = browser.get("/o/authorize/", _openid(application))
    assert skipped.status_code == 302
    assert "code" in query_of(skipped["Location"])

    params = _openid(application, prompt="consent")
    page = browser.get("/o/authorize/", params)
    assert page.status_code == 200, page
    fields = form_fields(page.content.decode())
    assert fields["state"] == params["state"]
    assert fields["client_id"] == application.client_id
    # Allowing it on that page issues the code.
    answer = consent(browser, params)
    assert answer.status_code == 302
    assert "code" in query_of(answer["Location"])


# max_age


def _browser_signed_in_at(user: Any, moment: datetime) -> Client:
    with time_machine.travel(moment, tick=False):
        return signed_in_browser(user)


def test_max_age_exceeded_sends_to_sign_in(user: Any) -> None:
    application = make_oidc_application()
    browser = _browser_signed_in_at(user, SIGNED_IN_AT)
    params = _openid(application, max_age="600")
    with time_machine.travel(SIGNED_IN_AT + timedelta(seconds=601), tick=False):
        back = _sends_to_sign_in(browser.get("/o/authorize/", params))
    assert "max_age" not in back
    assert back["state"] == params["state"]


def test_prompt_none_with_max_age_exceeded_is_login_required(user: Any) -> None:
    application = make_oidc_application(skip_authorization=True)
    browser = _browser_signed_in_at(user, SIGNED_IN_AT)
    params = _openid(application, max_age="600", prompt="none")
    with time_machine.travel(SIGNED_IN_AT + timedelta(seconds=601), tick=False):
        _assert_error(browser.get("/o/authorize/", params), params, "login_required")


def test_max_age_satisfied_auth_time_is_the_sign_in_time(user: Any) -> None:
    application = make_oidc_application()
    browser = _browser_signed_in_at(user, SIGNED_IN_AT)
    with time_machine.travel(SIGNED_IN_AT + timedelta(seconds=599), tick=False):
        body = oidc_tokens(browser, application, max_age="600")
    claims = _claims(body["id_token"])
    assert claims["auth_time"] == int(SIGNED_IN_AT.timestamp())
    assert claims["iat"] == int(SIGNED_IN_AT.timestamp()) + 599


# "²" and "٣" pass str.isdigit(); "²" made int() raise (a 500).
@pytest.mark.parametrize("max_age", ["ten", "-1", "1.5", "", " 5", "1_000", "²", "٣"])
def test_a_max_age_that_is_not_a_number_is_invalid_request(browser: Any, max_age: str) -> None:
    application = make_oidc_application()
    params = _openid(application, max_age=max_age)
    _assert_error(browser.get("/o/authorize/", params), params, "invalid_request")


@pytest.mark.parametrize("digits", [13, 5000])
def test_a_max_age_longer_than_any_age_is_satisfied(browser: Any, digits: int) -> None:
    """Past 4300 digits int() raised (a 500): such a max_age is any age."""
    application = make_oidc_application()
    page = browser.get("/o/authorize/", _openid(application, max_age="9" * digits))
    assert page.status_code == 200


def test_a_max_age_with_leading_zeros_is_its_number(user: Any) -> None:
    application = make_oidc_application(skip_authorization=True)
    browser = _browser_signed_in_at(user, SIGNED_IN_AT)
    params = _openid(application, max_age="0" * 20 + "600", prompt="none")
    with time_machine.travel(SIGNED_IN_AT + timedelta(seconds=601), tick=False):
        _assert_error(browser.get("/o/authorize/", params), params, "login_required")


# id_token_hint, login_hint


def test_an_id_token_hint_naming_another_user_is_login_required(browser: Any) -> None:
    application = make_oidc_application()
    someone_else = UserFactory()
    hint = oidc_tokens(signed_in_browser(someone_else), application)["id_token"]
    params = _openid(application, id_token_hint=hint)
    _assert_error(browser.get("/o/authorize/", params), params, "login_required")


def test_an_id_token_hint_naming_the_signed_in_user_goes_on(browser: Any) -> None:
    application = make_oidc_application()
    hint = oidc_tokens(browser, application)["id_token"]
    page = browser.get("/o/authorize/", _openid(application, id_token_hint=hint))
    assert page.status_code == 200


def test_an_expired_id_token_hint_naming_the_signed_in_user_goes_on(browser: Any) -> None:
    """OpenID Connect Core §3.1.2.1: the hint may have expired."""
    application = make_oidc_application()
    hint = oidc_tokens(browser, application)["id_token"]
    later = timedelta(seconds=int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS) + 3600)
    with time_machine.travel(later):
        page = browser.get("/o/authorize/", _openid(application, id_token_hint=hint))
    assert page.status_code == 200


def test_login_hint_fills_in_the_sign_in_email() -> None:
    application = make_oidc_application()
    params = _openid(application, login_hint="ada@example.com")
    response = Client().get("/o/authorize/", params)
    assert response.status_code == 302
    assert login_hint(parse_qs(urlsplit(response["Location"]).query)["next"][0])
    page = Client().get(response["Location"])
    assert page.status_code == 200
    assert form_fields(page.content.decode())["username"] == "ada@example.com"


# ui_locales


def test_ui_locales_renders_the_consent_page_in_french(browser: Any) -> None:
    application = make_oidc_application(name="Notes")
    english = browser.get("/o/authorize/", _openid(application))
    assert "Allow Notes" in english.content.decode()

    page = browser.get("/o/authorize/", _openid(application, ui_locales="fr-CA en"))
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="fr">' in html
    assert "Autoriser Notes" in html
    assert "Allow Notes" not in html


def test_ui_locales_picks_the_first_language_the_project_offers(
    browser: Any, settings: Any
) -> None:
    """As Django's LocaleMiddleware does with Accept-Language: ``LANGUAGES`` is what is offered."""
    settings.LANGUAGES = [("en", "English"), ("fr", "French")]
    application = make_oidc_application(name="Notes")
    page = browser.get("/o/authorize/", _openid(application, ui_locales="de-CH fr"))
    assert "Autoriser Notes" in page.content.decode()


def test_ui_locales_of_languages_not_offered_leave_the_page_as_it_was(browser: Any) -> None:
    application = make_oidc_application(name="Notes")
    page = browser.get("/o/authorize/", _openid(application, ui_locales="tlh x-unknown"))
    assert page.status_code == 200
    assert "Allow Notes" in page.content.decode()
