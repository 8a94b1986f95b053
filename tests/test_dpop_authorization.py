"""``dpop_jkt`` at /o/authorize/ (RFC 9449 §10): the code is bound to the client's DPoP key.

Driven in process with Django's test client as the browser; the code is
redeemed at /o/token/ with proofs signed by joserfc (tests.dpop_support).
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.test import Client
from oauth2_provider.models import get_grant_model

from tests.dpop_support import ProofKey
from tests.oauth_client import (
    authorization_code,
    authorization_params,
    basic_auth,
    form_fields,
    make_application,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db


def _redeem(application: Any, code: str, verifier: str, key: ProofKey | None) -> Any:
    """Redeem ``code`` at /o/token/ with a proof from ``key`` (none for ``None``)."""
    headers = {"HTTP_AUTHORIZATION": basic_auth(application.client_id)}
    if key is not None:
        headers.update(key.headers("POST", "/o/token/"))
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": application.redirect_uris.split()[0],
        "code_verifier": verifier,
    }
    return Client().post("/o/token/", data, **headers)


def _assert_bound_to(response: Any, key: ProofKey) -> None:
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}


def _assert_refused(response: Any) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_dpop_proof"
    assert "access_token" not in response.json()


@pytest.mark.parametrize("other", ["another key", "no proof"])
def test_a_code_approved_on_the_consent_page_is_bound_to_dpop_jkt(
    browser: Client, other: str
) -> None:
    """The consent form carries ``dpop_jkt``; the code needs a proof from that key."""
    application = make_application()
    key = ProofKey()
    code, verifier = authorization_code(browser, application, dpop_jkt=key.jkt)
    wrong = ProofKey() if other == "another key" else None
    _assert_refused(_redeem(application, code, verifier, wrong))
    _assert_bound_to(_redeem(application, code, verifier, key), key)


def test_the_consent_form_posts_dpop_jkt_in_a_hidden_field_and_that_field_binds(
    browser: Client,
) -> None:
    """What the page posts decides, not the query string of the address it posts to."""
    application = make_application()
    key = ProofKey()
    params = authorization_params(application, pkce_pair()[1], dpop_jkt=key.jkt)
    fields = form_fields(browser.get("/o/authorize/", params).content.decode())
    assert fields["dpop_jkt"] == key.jkt
    other = ProofKey()
    # The page posted to its own address with another dpop_jkt in the query: the field wins.
    answer = browser.post(f"/o/authorize/?dpop_jkt={other.jkt}", {**fields, "allow": "on"})
    assert answer.status_code == 302, answer.content
    grant = get_grant_model().objects.get()
    assert grant.claims  # the stored authorization context
    assert key.jkt in grant.claims
    assert other.jkt not in grant.claims


def test_the_query_string_of_the_consent_answer_never_binds(browser: Client) -> None:
    """oauthlib reads every query parameter: a ``dpop_jkt`` only in the posted URL binds nothing."""
    application = make_application()
    params = authorization_params(application, pkce_pair()[1])
    fields = form_fields(browser.get("/o/authorize/", params).content.decode())
    assert fields["dpop_jkt"] == ""
    answer = browser.post(f"/o/authorize/?dpop_jkt={ProofKey().jkt}", {**fields, "allow": "on"})
    assert answer.status_code == 302, answer.content
    assert "dpop_jkt" not in get_grant_model().objects.get().claims


def test_a_code_approved_without_the_page_is_bound_to_dpop_jkt(browser: Client) -> None:
    """``skip_authorization``: DOT approves from its GET handler with the checked credentials."""
    application = make_application(skip_authorization=True)
    key = ProofKey()
    verifier, challenge = pkce_pair()
    answer = browser.get(
        "/o/authorize/", authorization_params(application, challenge, dpop_jkt=key.jkt)
    )
    assert answer.status_code == 302, answer.content
    code = query_of(answer["Location"])["code"]
    _assert_refused(_redeem(application, code, verifier, ProofKey()))
    _assert_bound_to(_redeem(application, code, verifier, key), key)


def test_a_code_without_dpop_jkt_takes_any_key_or_none(browser: Client) -> None:
    application = make_application()
    code, verifier = authorization_code(browser, application)
    key = ProofKey()
    _assert_bound_to(_redeem(application, code, verifier, key), key)
    code, verifier = authorization_code(browser, application)
    response = _redeem(application, code, verifier, None)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "short",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "=",
        "A" * 42 + "+",
        "A" * 42 + "/",
    ],
)
def test_a_malformed_dpop_jkt_is_invalid_request_sent_to_the_client(
    browser: Client, value: str
) -> None:
    application = make_application()
    params = authorization_params(application, dpop_jkt=value)
    answer = browser.get("/o/authorize/", params)
    assert answer.status_code == 302, answer.content
    assert answer["Location"].startswith(application.redirect_uris + "?")
    query = query_of(answer["Location"])
    assert query["error"] == "invalid_request"
    assert "dpop_jkt" in query["error_description"]
    assert query["state"] == params["state"]
    assert "code" not in query
    assert not get_grant_model().objects.exists()


def test_dpop_jkt_sent_twice_is_refused_before_anything(browser: Client) -> None:
    """As every repeated parameter (RFC 6749 §3.1): a fatal ``invalid_request``, no redirect."""
    application = make_application()
    params = authorization_params(application, dpop_jkt=ProofKey().jkt)
    query = "&".join(f"{name}={value}" for name, value in params.items())
    answer = browser.get(f"/o/authorize/?{query}&dpop_jkt={ProofKey().jkt}")
    assert answer.status_code == 400, answer.content
    assert not answer.has_header("Location")


@pytest.mark.parametrize("value", ["not-a-thumbprint", "A" * 44])
def test_an_altered_dpop_jkt_in_the_consent_answer_issues_no_code(
    browser: Client, value: str
) -> None:
    application = make_application()
    params = authorization_params(application, dpop_jkt=ProofKey().jkt)
    fields = form_fields(browser.get("/o/authorize/", params).content.decode())
    answer = browser.post("/o/authorize/", {**fields, "dpop_jkt": value, "allow": "on"})
    assert answer.status_code == 400, answer.content
    assert not answer.has_header("Location")
    assert not get_grant_model().objects.exists()


def test_dpop_jkt_is_ignored_while_dpop_is_off(browser: Client, settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "DPOP_SIGNING_ALGORITHMS": []}
    application = make_application()
    code, verifier = authorization_code(browser, application, dpop_jkt="not-a-thumbprint")
    response = _redeem(application, code, verifier, None)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"
    code, verifier = authorization_code(browser, application, dpop_jkt=ProofKey().jkt)
    assert _redeem(application, code, verifier, None).status_code == 200
    automatic = make_application(skip_authorization=True)
    answer = browser.get("/o/authorize/", authorization_params(automatic, dpop_jkt=ProofKey().jkt))
    assert answer.status_code == 302, answer.content
    assert "code" in query_of(answer["Location"])
    assert all("dpop_jkt" not in grant.claims for grant in get_grant_model().objects.all())
