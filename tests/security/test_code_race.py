"""A code spent by a racing exchange between two lookups of one exchange: ``invalid_grant``.

oauthlib looks the grant up several times in one exchange (``validate_code``,
the PKCE challenge and its method, the redirect URI). ``validate_code``
locks the row (PostgreSQL; the 50-racer test in ``test_concurrency_attacks``
is the race itself); the later lookups answer ``invalid_grant`` if the row is
gone all the same, where DOT raised ``Grant.DoesNotExist`` (a 500). Runs on
every database: the winner's delete is made by hand between the lookups.
"""

from __future__ import annotations

from typing import Any

import pytest
from oauth2_provider.models import get_grant_model
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from bearer_auth.jwt import token_checksum
from bearer_auth.oauth.validator import OAuth2Validator
from tests.oauth_client import HTTPS_CALLBACK, make_application
from tests.security.flows import authorize

pytestmark = pytest.mark.django_db


@pytest.fixture
def spent_code(user: Any) -> tuple[str, Request]:
    """A code validated for its client, then deleted (the racing winner's exchange)."""
    application = make_application()
    code, _verifier = authorize(user, application)
    request = Request("/o/token/")
    request.client = application
    assert OAuth2Validator().validate_code(application.client_id, code, application, request)
    get_grant_model().objects.filter(code=token_checksum(code)).delete()
    return code, request


@pytest.mark.parametrize("lookup", ["get_code_challenge", "get_code_challenge_method"])
def test_pkce_lookup_of_a_code_spent_meanwhile_is_invalid_grant(
    spent_code: tuple[str, Request], lookup: str
) -> None:
    code, request = spent_code
    with pytest.raises(oauth2_errors.InvalidGrantError):
        getattr(OAuth2Validator(), lookup)(code, request)


def test_redirect_uri_check_of_a_code_spent_meanwhile_is_invalid_grant(
    spent_code: tuple[str, Request],
) -> None:
    code, request = spent_code
    with pytest.raises(oauth2_errors.InvalidGrantError):
        OAuth2Validator().confirm_redirect_uri(
            request.client.client_id, code, HTTPS_CALLBACK, request.client, request
        )
