"""Sign-in attacks (RFC 6749 §10.10, RFC 9700 §4.15; OWASP ASVS V6 authentication).

``tests/test_sign_in.py`` proves the four failure kinds answer identically
and that passwords are bounded; ``tests/test_throttling.py`` covers the
budgets one by one. Here the attacker's view: credential stuffing from many
IPs, password spraying from one IP, identifier spellings that dodge a
budget, lookalike identifiers, and what a throttled or failed answer leaks.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import views as auth_views
from django.core import checks
from django.core.cache import caches
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from bearer_auth.jwt import user_subject
from bearer_auth.settings import bearer_settings
from tests.factories import UserFactory
from tests.first_party import TOKEN_URL
from tests.issuing import claims_of

pytestmark = pytest.mark.django_db


def attempt(identifier: str, password: str, *, ip: str = "10.0.0.1", field: str = "email") -> Any:
    return APIClient().post(
        TOKEN_URL, {field: identifier, "password": password}, format="json", REMOTE_ADDR=ip
    )


def test_credential_stuffing_from_many_ips_hits_the_account_budget(
    user: Any, password: str
) -> None:
    """Five wrong guesses from five IPs spend the account's budget (5/min)."""
    for index in range(5):
        assert attempt(user.email, f"guess-{index}", ip=f"10.1.0.{index}").status_code == 400
    wrong = attempt(user.email, "guess-6", ip="10.1.0.200")
    right = attempt(user.email, password, ip="10.1.0.201")
    assert wrong.status_code == right.status_code == 429
    # No oracle: the throttled answer is the same whether the password was right.
    assert wrong.content == right.content
    assert sorted(wrong.headers) == sorted(right.headers)
    assert "access_token" not in right.json()


def test_password_spraying_from_one_ip_does_not_lock_out_users_elsewhere(password: str) -> None:
    """The attacker's IP budget (30/min) stops the spray; a user on another IP signs in."""
    victims = [UserFactory(password=password) for _ in range(31)]
    for victim in victims[:30]:
        assert attempt(victim.email, "Summer2026!", ip="203.0.113.7").status_code == 400
    assert attempt(victims[30].email, "Summer2026!", ip="203.0.113.7").status_code == 429
    assert attempt(victims[30].email, password, ip="203.0.113.7").status_code == 429
    assert attempt(victims[30].email, password, ip="198.51.100.20").status_code == 200
    assert attempt(victims[0].email, password, ip="198.51.100.21").status_code == 200


@pytest.mark.parametrize(
    "spellings",
    [
        ["{email}", "{upper}", " {email}", "{email} ", "{title}"],
        ["{email}", "{email}", "{email}", "{email}", "{upper}"],
    ],
)
def test_identifier_spellings_share_one_account_budget(
    user: Any, password: str, spellings: list[str]
) -> None:
    variants = {
        "email": user.email,
        "upper": user.email.upper(),
        "title": user.email.title(),
    }
    for index, spelling in enumerate(spellings):
        field = "username" if index % 2 else "email"
        identifier = spelling.format(**variants)
        assert attempt(identifier, "wrong", ip=f"10.2.0.{index}", field=field).status_code == 400
    assert attempt(user.email, password, ip="10.2.0.99").status_code == 429


def test_padded_identifier_signs_in_the_same_account(user: Any, password: str) -> None:
    response = attempt(f"  {user.get_username()}  ", password)
    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])["sub"] == user_subject(user)


@pytest.mark.custom_user_model
@pytest.mark.parametrize("spelling", ["upper", "title"])
def test_email_case_signs_in_the_same_account(user: Any, password: str, spelling: str) -> None:
    """bearer_auth's user model looks e-mail addresses up case-insensitively."""
    identifier = user.email.upper() if spelling == "upper" else user.email.title()
    response = attempt(identifier, password)
    assert response.status_code == 200
    assert claims_of(response.json()["access_token"])["sub"] == user_subject(user)


@pytest.mark.parametrize(
    "identifier",
    [
        "%@example.com",
        "user_@example.com",
        "%",
        "_",
        "*",
        ".*",
        "user%",
        "us\u0435r@example.com",  # Cyrillic e
        "user@example.com.",
        "user@example.com\u200b",
        "' OR '1'='1",
        '{"$ne": null}',
    ],
)
def test_wildcards_and_lookalikes_match_no_account(password: str, identifier: str) -> None:
    UserFactory(email="user@example.com", password=password)
    UserFactory(email="user1@example.com", password=password)
    response = attempt(identifier, password)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_sign_in_ignores_client_grant_and_privilege_fields(user: Any, password: str) -> None:
    """Only email/username, password and scope are read; the client is always first party."""
    victim_client = "victim-oauth-client"
    response = APIClient().post(
        TOKEN_URL,
        {
            "email": user.email,
            "password": password,
            "client_id": victim_client,
            "client_secret": "x",
            "grant_type": "client_credentials",
            "is_staff": True,
            "sub": "someone-else",
            "aud": "https://other.test",
        },
        format="json",
    )
    assert response.status_code == 200
    claims = claims_of(response.json()["access_token"])
    assert claims["client_id"] == bearer_settings.FIRST_PARTY_CLIENT_ID
    assert claims["sub"] == user_subject(user)
    assert claims["aud"] == "https://issuer.test"


def test_sign_in_leaks_nothing_to_logs_or_cookies(
    user: Any, password: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failed = attempt(user.email, "wrong-password-xyz")
    succeeded = attempt(user.email, password, ip="10.3.0.1")
    assert failed.status_code == 400
    assert succeeded.status_code == 200
    for response in (failed, succeeded):
        assert "Set-Cookie" not in response
        assert not response.cookies
    body = succeeded.json()
    for secret in (password, "wrong-password-xyz", body["access_token"], body["refresh_token"]):
        assert secret not in caplog.text


# Issue 19 item 5: every password form shares the budgets of POST /auth/token/.


def _page_attempt(url: str, identifier: str, secret: str, *, ip: str = "10.0.0.1") -> Any:
    browser = Client()
    response = browser.post(url, {"username": identifier, "password": secret}, REMOTE_ADDR=ip)
    response.signed_in = SESSION_KEY in browser.session
    return response


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_html_sign_in_pages_are_throttled(admin_user_: Any, password: str, url: str) -> None:
    """40 wrong passwords, then the right one: refused, not signed in."""
    for index in range(40):
        _page_attempt(url, admin_user_.email, f"guess-{index}", ip=f"10.3.{index}.1")
    right = _page_attempt(url, admin_user_.email, password, ip="10.3.200.1")
    assert not right.signed_in
    assert "Too many attempts" in right.content.decode()
    if url == "/accounts/login/":
        assert right.status_code == 429
        assert int(right["Retry-After"]) >= 1


def test_every_password_form_shares_one_account_budget(admin_user_: Any, password: str) -> None:
    assert attempt(admin_user_.email, "guess-1", ip="10.4.0.1").status_code == 400
    assert attempt(admin_user_.email, "guess-2", ip="10.4.0.2").status_code == 400
    for index, url in enumerate(["/accounts/login/", "/admin/login/", "/accounts/login/"]):
        failed = _page_attempt(url, admin_user_.email, "guess", ip=f"10.4.1.{index}")
        assert not failed.signed_in
        assert "Too many attempts" not in failed.content.decode()
    assert attempt(admin_user_.email, password, ip="10.4.2.1").status_code == 429
    assert not _page_attempt("/admin/login/", admin_user_.email, password, ip="10.4.2.2").signed_in


def test_html_sign_in_page_fails_closed_without_the_cache(
    settings: Any, admin_user_: Any, password: str
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    try:
        response = _page_attempt("/accounts/login/", admin_user_.email, password)
    finally:
        caches["default"].close()
    assert response.status_code == 503
    assert not response.signed_in


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_html_sign_ins_do_not_spend_the_budget(admin_user_: Any, password: str, url: str) -> None:
    for _ in range(8):
        response = _page_attempt(url, admin_user_.email, password)
        assert response.status_code == 302
        assert response.signed_in


# Issue 19 item 6: a homoglyph the database folds spends the same budget.


@pytest.mark.postgres
@pytest.mark.custom_user_model
def test_dotted_capital_i_shares_the_accounts_budget_on_postgresql(password: str) -> None:
    """PostgreSQL's LOWER('İ') is 'i': erİn@ reaches erin@, so it spends erin@'s budget."""
    UserFactory(email="erin@example.com", password=password)
    homoglyph = "er\u0130n@example.com"
    for index in range(5):
        assert (
            attempt("erin@example.com", f"guess-{index}", ip=f"10.5.0.{index}").status_code == 400
        )
    assert attempt(homoglyph, password, ip="10.5.1.1").status_code == 429
    assert _page_attempt("/accounts/login/", homoglyph, password, ip="10.5.1.2").status_code == 429


# Django's stock pages, for ROOT_URLCONF = this module (the deploy-check test below).
urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
]


def test_throttled_sign_in_pages_pass_the_deploy_check() -> None:
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    assert "bearer_auth.W009" not in [message.id for message in messages]


def test_stock_sign_in_pages_are_a_deploy_warning(settings: Any) -> None:
    settings.ROOT_URLCONF = __name__
    throttled_form = admin.site.login_form
    admin.site.login_form = None
    try:
        messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
        # Not without --deploy: a development server may keep Django's pages.
        development = checks.run_checks(tags=[checks.Tags.security])
    finally:
        admin.site.login_form = throttled_form
    warned = [
        message.msg.split(" checks ")[0] for message in messages if message.id == "bearer_auth.W009"
    ]
    assert warned == ["LOGIN_URL's page", "the admin login"]
    assert "bearer_auth.W009" not in [message.id for message in development]
