"""First-party revocation (``POST /auth/token/revoke/``, RFC 7009)."""

from __future__ import annotations

from typing import Any

from oauth2_provider.models import get_refresh_token_model

from bearer_auth.jwt import token_checksum
from bearer_auth.services.issuing import token_store
from bearer_auth.services.sessions import sign_out_family
from bearer_auth.settings import bearer_settings


def revoke(raw_token: str) -> bool:
    """Revoke the sign-in a first-party refresh or access token belongs to (RFC 7009).

    The whole family goes: every refresh token and access token of that
    sign-in, and its session. Unknown tokens and other clients' tokens are
    ignored (§2.2): ``False`` says nothing was revoked (the caller answers
    200 all the same, and counts a failure for its throttle).
    """
    checksum = token_checksum(raw_token)
    refresh_tokens = get_refresh_token_model().objects
    with token_store():
        # Two look-ups by unique digest (an OR across the join would make
        # SQLite walk every first-party token); the client is checked after.
        found = _family_and_client(refresh_tokens.filter(token_checksum=checksum)) or (
            _family_and_client(refresh_tokens.filter(access_token__token_checksum=checksum))
        )
        if found is not None and found[1] == bearer_settings.FIRST_PARTY_CLIENT_ID:
            sign_out_family(found[0])
            return True
    return False


def _family_and_client(refresh_tokens: Any) -> tuple[Any, str] | None:
    found: tuple[Any, str] | None = refresh_tokens.values_list(
        "token_family", "application__client_id"
    ).first()
    return found
