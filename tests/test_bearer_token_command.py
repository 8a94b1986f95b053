"""``manage.py bearer_token``: a stored, revocable access token for local testing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_access_token_model
from rest_framework.test import APIClient

from bearer_auth.jwt import token_checksum
from bearer_auth.services import first_party_application, sign_out_everywhere
from tests.issuing import claims_of

pytestmark = pytest.mark.django_db


def _token(*args: str) -> tuple[str, str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("bearer_token", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue().strip(), stderr.getvalue()


def _get(token: str, path: str = "/test-api/whoami/") -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get(path)


def test_refused_while_debug_is_off(user: Any) -> None:
    with pytest.raises(CommandError, match="DEBUG is off"):
        _token(user.get_username())
    assert not get_access_token_model().objects.exists()


def test_force_prints_a_token_that_authenticates_in_strict_mode(user: Any) -> None:
    token, stderr = _token(user.get_username(), "--force")
    response = _get(token)
    assert response.status_code == 200
    assert response.json()["user"] == str(user.pk)
    application = first_party_application()
    assert response.json()["client_id"] == application.client_id
    row = get_access_token_model().objects.get(token_checksum=token_checksum(token))
    assert row.user_id == user.pk
    assert row.application_id == application.pk
    assert row.token == ""  # only the digest is stored
    assert row.scope == "read write"
    assert user.get_username() in stderr
    assert token not in stderr


def test_debug_on_needs_no_force(user: Any, settings: Any) -> None:
    settings.DEBUG = True
    token, _ = _token(user.get_username())
    assert _get(token).status_code == 200


def test_scopes_repeated_or_space_separated(user: Any) -> None:
    token, _ = _token(user.get_username(), "--force", "--scope", "notes:read read", "--scope=read")
    assert claims_of(token)["scope"] == "notes:read read"
    assert _get(token, "/test-api/read-write/").status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    refused = client.post("/test-api/read-write/")
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"


def test_lifetime_sets_exp(user: Any) -> None:
    token, _ = _token(user.get_username(), "--force", "--lifetime", "3600")
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 3600
    token, _ = _token(user.get_username(), "--force", "--lifetime", "PT2H")
    claims = claims_of(token)
    assert claims["exp"] - claims["iat"] == 7200


@pytest.mark.parametrize("value", ["soon", "0", "-60"])
def test_bad_lifetime_is_refused(user: Any, value: str) -> None:
    with pytest.raises(CommandError, match="not a positive duration"):
        _token(user.get_username(), "--force", f"--lifetime={value}")


def test_unknown_scope_is_refused(user: Any) -> None:
    with pytest.raises(CommandError, match="Unknown scope"):
        _token(user.get_username(), "--force", "--scope", "read admin")
    assert not get_access_token_model().objects.exists()


def test_unknown_user_is_refused() -> None:
    with pytest.raises(CommandError, match="No user"):
        _token("nobody@example.com", "--force")


def test_inactive_user_is_refused(user: Any) -> None:
    user.is_active = False
    user.save()
    with pytest.raises(CommandError, match="inactive"):
        _token(user.get_username(), "--force")


def test_token_is_revoked_with_the_users_other_tokens(user: Any) -> None:
    token, _ = _token(user.get_username(), "--force")
    sign_out_everywhere(user)
    response = _get(token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
