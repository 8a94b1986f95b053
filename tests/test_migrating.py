"""docs/migrating.md, run: simplejwt and bearer_auth tokens side by side; plain DOT tokens."""

from __future__ import annotations

import dataclasses
import types
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.core import checks
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from bearer_auth.authentication import BearerToken, BearerTokenAuthentication
from tests.docs.markdown import sample, snippets
from tests.factories import ApplicationFactory
from tests.issuing import issue_access_token
from tests.oauth_client import basic_auth
from tests.views import WhoAmIView

pytestmark = pytest.mark.django_db

LEGACY_AUTHENTICATION = sample("docs/migrating.md", "legacy-authentication")
TRANSITION_SETTINGS = sample("docs/migrating.md", "transition-settings")
FROM_DOT_SETTINGS = sample("docs/migrating.md", "from-dot-settings")
FROM_DOT_URLS = sample("docs/migrating.md", "from-dot-urls")


def run_block(claim: Any, **namespace: Any) -> dict[str, Any]:
    [part] = snippets(claim.block)
    return part.run(**namespace)


# From simplejwt.


@pytest.fixture
def transition_view() -> Any:
    legacy = run_block(LEGACY_AUTHENTICATION)["LegacySimpleJWTAuthentication"]
    configured = run_block(TRANSITION_SETTINGS)["REST_FRAMEWORK"]
    paths = configured["DEFAULT_AUTHENTICATION_CLASSES"]
    assert paths[0] == "myproject.authentication.LegacySimpleJWTAuthentication"
    assert import_string(paths[1]) is BearerTokenAuthentication

    class Transition(APIView):
        authentication_classes = [legacy, BearerTokenAuthentication]
        permission_classes = [IsAuthenticated]

        def get(self, request: Request) -> Response:
            kind = "bearer_auth" if isinstance(request.auth, BearerToken) else "simplejwt"
            return Response({"user": request.user.pk, "kind": kind})

    return Transition.as_view()


def _call(view: Any, token: str) -> Any:
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    response = view(request)
    response.render()
    return response


def test_simplejwt_tokens_still_work_during_the_transition(transition_view: Any, user: Any) -> None:
    response = _call(transition_view, str(AccessToken.for_user(user)))
    assert response.status_code == 200
    assert response.data == {"user": user.pk, "kind": "simplejwt"}


def test_bearer_auth_tokens_go_to_bearer_token_authentication(
    transition_view: Any, user: Any
) -> None:
    response = _call(transition_view, issue_access_token(user))
    assert response.status_code == 200
    assert response.data == {"user": user.pk, "kind": "bearer_auth"}


def test_a_revoked_bearer_auth_token_is_not_rescued_by_simplejwt(
    transition_view: Any, user: Any
) -> None:
    token = issue_access_token(user)
    get_access_token_model().objects.all().delete()
    response = _call(transition_view, token)
    assert response.status_code == 401
    assert response.data["error"] == "invalid_token"


def test_a_forged_simplejwt_token_is_refused(transition_view: Any, user: Any) -> None:
    claims = jwt.decode(str(AccessToken.for_user(user)), options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret-key-but-long-enough-0123456789", "HS256")
    response = _call(transition_view, forged)
    assert response.status_code == 401


# From plain DOT.


@pytest.fixture
def switched_from_dot(settings: Any) -> dict[str, Any]:
    """The guide's settings block, applied over the test settings."""
    configured = run_block(FROM_DOT_SETTINGS)
    assert configured["INSTALLED_APPS"] == ["rest_framework", "bearer_auth", "oauth2_provider"]
    settings.OAUTH2_PROVIDER = configured["OAUTH2_PROVIDER"]
    settings.BEARER_AUTH = configured["BEARER_AUTH"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        **configured["REST_FRAMEWORK"],
    }
    return configured


def _plain_dot_tokens(user: Any) -> tuple[Any, str, str]:
    """Rows as plain DOT wrote them: plaintext token column, digest from DOT's migrations."""
    application = ApplicationFactory()
    access = get_access_token_model().objects.create(
        user=user,
        application=application,
        token="plain-dot-access-token-0123456789",
        scope="read",
        expires=timezone.now() + timedelta(hours=10),
    )
    get_refresh_token_model().objects.create(
        user=user,
        application=application,
        token="plain-dot-refresh-token-0123456789",
        access_token=access,
    )
    return application, access.token, "plain-dot-refresh-token-0123456789"


@pytest.mark.usefixtures("switched_from_dot")
def test_guide_settings_pass_bearer_auth_checks() -> None:
    problems = [message for message in checks.run_checks() if message.id.startswith("bearer_auth")]
    assert problems == []


def test_old_opaque_access_tokens_keep_working(switched_from_dot: Any, user: Any) -> None:
    _, access_token, _ = _plain_dot_tokens(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    response = client.get("/test-api/whoami/")
    assert response.status_code == 200
    assert response.json()["user"] == str(user.pk)


def test_without_accept_opaque_tokens_old_tokens_are_refused(
    switched_from_dot: Any, user: Any, settings: Any
) -> None:
    settings.BEARER_AUTH = {
        key: value
        for key, value in switched_from_dot["BEARER_AUTH"].items()
        if key != "ACCEPT_OPAQUE_TOKENS"
    }
    _, access_token, _ = _plain_dot_tokens(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    response = client.get("/test-api/whoami/")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


@pytest.fixture
def guide_urls(settings: Any) -> types.ModuleType:
    """The guide's urls.py lines, as the whole URLconf (plus an API view to call)."""
    [part] = snippets(FROM_DOT_URLS.block)
    assert part.heading == '# urls.py: replace include("oauth2_provider.urls") with'
    # The lines are entries of a urlpatterns list.
    entries = dataclasses.replace(
        part, code=f"urlpatterns = [\n{part.code}]\n", first_line=part.first_line - 1
    )
    urlconf = types.ModuleType("migrating_urls")
    urlconf.urlpatterns = [  # type: ignore[attr-defined]
        *entries.run(include=include, path=path)["urlpatterns"],
        path("test-api/whoami/", WhoAmIView.as_view()),
    ]
    settings.ROOT_URLCONF = urlconf
    return urlconf


@pytest.mark.usefixtures("guide_urls")
def test_guide_urls_serve_dot_names_and_the_well_known_documents() -> None:
    assert reverse("oauth2_provider:token") == "/o/token/"
    assert reverse("oauth2_provider:authorize") == "/o/authorize/"
    metadata = APIClient().get("/.well-known/oauth-authorization-server")
    assert metadata.status_code == 200
    assert metadata.json()["token_endpoint"].endswith("/o/token/")
    jwks = APIClient().get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert set(jwks.json()) == {"keys"}


@pytest.mark.usefixtures("switched_from_dot", "guide_urls")
def test_old_refresh_tokens_refresh_into_jwt_access_tokens(user: Any) -> None:
    application, _, refresh_token = _plain_dot_tokens(user)
    response = APIClient().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    assert body["refresh_token"] != refresh_token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert client.get("/test-api/whoami/").status_code == 200
