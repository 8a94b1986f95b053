"""docs/migrating.md, run: simplejwt and bearer_auth tokens side by side; plain DOT tokens."""

from __future__ import annotations

import re
import types
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.core import checks
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
from tests.factories import ApplicationFactory
from tests.issuing import issue_access_token
from tests.oauth_client import basic_auth
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

GUIDE = ROOT / "docs" / "migrating.md"


def python_block(first_line: str) -> str:
    """Return the ```python block of the guide whose first line is ``first_line``."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    matching = [block for block in blocks if block.startswith(first_line + "\n")]
    assert len(matching) == 1, f"docs/migrating.md has no single block starting {first_line!r}"
    return matching[0]


def run_block(first_line: str, **namespace: Any) -> dict[str, Any]:
    module = types.ModuleType("migrating_snippet")
    module.__dict__.update(namespace)
    exec(compile(python_block(first_line), str(GUIDE), "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


# From simplejwt.


@pytest.fixture
def transition_view() -> Any:
    legacy = run_block("# myproject/authentication.py")["LegacySimpleJWTAuthentication"]
    configured = run_block("# settings.py, during the transition")["REST_FRAMEWORK"]
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
    configured = run_block("# settings.py", INSTALLED_APPS=[])
    assert configured["INSTALLED_APPS"] == ["rest_framework", "bearer_auth"]
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


@pytest.mark.usefixtures("switched_from_dot")
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
