"""bearer_auth.middleware: bearer answers stay out of shared caches; no page of ours in a frame."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.core import checks
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from bearer_auth.checks import check_headers_middleware
from bearer_auth.dpop import NONCE_HEADER, NONCE_META_KEY
from bearer_auth.middleware import BearerAuthHeadersMiddleware, add_frame_ancestors_none
from tests.first_party import ME_URL, bearer, sign_in
from tests.oauth_client import authorization_params, make_application

MIDDLEWARE = "bearer_auth.middleware.BearerAuthHeadersMiddleware"


def _vary(response: Any) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


def _cache_control(response: Any) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",")}


@pytest.mark.django_db
@pytest.mark.parametrize("path", [ME_URL, "/test-api/whoami/"])
def test_bearer_answers_are_private_no_store_and_vary_on_authorization(
    user: Any, password: str, path: str
) -> None:
    token = sign_in(user, password)["access_token"]
    for response in (bearer(token).get(path), bearer(token + "x").get(path)):
        assert response.status_code in {200, 401}
        assert {"private", "no-store"} <= _cache_control(response)
        assert "authorization" in _vary(response)


@pytest.mark.django_db
def test_answers_without_authorization_are_left_alone() -> None:
    jwks = Client().get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert "public" in _cache_control(jwks)
    assert "no-store" not in _cache_control(jwks)
    assert "authorization" not in _vary(jwks)


def _through_middleware(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    answered = BearerAuthHeadersMiddleware(lambda _request: response)(request)
    assert isinstance(answered, HttpResponse)
    return answered


def test_a_view_s_own_cache_control_is_kept_and_varies_on_authorization() -> None:
    own = HttpResponse()
    own["Cache-Control"] = "private, max-age=60"
    own["Vary"] = "Accept-Language"
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer abc")
    response = _through_middleware(request, own)
    assert response["Cache-Control"] == "private, max-age=60"
    assert _vary(response) == {"accept-language", "authorization"}


@pytest.mark.django_db
def test_admin_pages_forbid_framing_with_csp_and_x_frame_options(admin_browser: Client) -> None:
    for url in (reverse("admin:index"), reverse("admin:bearer_auth_tokensession_changelist")):
        response = admin_browser.get(url)
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert response["X-Frame-Options"] == "DENY"
    login = Client().get(reverse("admin:login"))
    assert login["Content-Security-Policy"] == "frame-ancestors 'none'"


@pytest.mark.django_db
def test_consent_page_forbids_framing_without_the_middleware(
    browser: Client, settings: Any
) -> None:
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != MIDDLEWARE]
    application = make_application()
    response = browser.get("/o/authorize/", authorization_params(application))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("default-src 'self'", "default-src 'self'; frame-ancestors 'none'"),
        ("default-src 'self';", "default-src 'self'; frame-ancestors 'none'"),
        ("img-src 'self'; Frame-Ancestors 'self'", "img-src 'self'; Frame-Ancestors 'self'"),
    ],
)
def test_a_project_s_own_policy_is_kept(policy: str, expected: str) -> None:
    response = HttpResponse()
    response["Content-Security-Policy"] = policy
    add_frame_ancestors_none(response)
    assert response["Content-Security-Policy"] == expected


def test_check_warns_when_the_middleware_is_missing(settings: Any) -> None:
    assert check_headers_middleware(None) == []
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != MIDDLEWARE]
    (warning,) = check_headers_middleware(None)
    assert isinstance(warning, checks.Warning)
    assert warning.id == "bearer_auth.W007"
    assert MIDDLEWARE in str(warning.hint)


def test_the_demo_installs_the_middleware() -> None:
    demo_settings = importlib.import_module("demo_project.settings")
    middleware = demo_settings.MIDDLEWARE
    assert MIDDLEWARE in middleware
    # Right after SecurityMiddleware (django-cors-headers' comes first: its
    # preflight answers need no bearer headers).
    security = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware.index(MIDDLEWARE) == security + 1


def test_on_an_async_stack_the_middleware_is_async_and_adds_the_same_headers() -> None:
    """No thread hop of its own under ASGI: Django sees a coroutine function."""

    async def view(_request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    middleware = BearerAuthHeadersMiddleware(view)
    assert iscoroutinefunction(middleware)
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer abc")
    request.META[NONCE_META_KEY] = "a-nonce"
    response = async_to_sync(middleware)(request)
    assert {"private", "no-store"} <= _cache_control(response)
    assert "authorization" in _vary(response)
    assert response[NONCE_HEADER] == "a-nonce"
    assert not iscoroutinefunction(BearerAuthHeadersMiddleware(lambda _request: HttpResponse()))
