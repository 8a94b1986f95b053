"""Sign-in, refresh, revocation and sessions, on DOT's one token store.

Views, admin actions, commands, signal receivers and the OAuth validator
call these functions for every security operation:

- :mod:`~bearer_auth.services.store`: DOT's token rows, minted and stored
  as for every OAuth client, and revoked a whole family at a time;
- :mod:`~bearer_auth.services.sessions`: the ``TokenSession`` of each
  family (first-party sign-ins and OAuth authorizations), listing and
  signing out;
- :mod:`~bearer_auth.services.first_party`: ``/auth/token/`` sign-in,
  refresh (rotation with reuse detection) and revocation.
"""

from bearer_auth.services.first_party import refresh, revoke, sign_in
from bearer_auth.services.sessions import (
    ClientInfo,
    SessionInfo,
    delete_ended_sessions,
    family_session,
    list_sessions,
    lock_family,
    session_usable,
    sign_out_everywhere,
    sign_out_family,
    sign_out_session,
    start_session,
    token_family_of,
    touch_session,
)
from bearer_auth.services.store import (
    FIRST_PARTY_APPLICATION_NAME,
    TokenPair,
    first_party_application,
    revoke_family,
)

__all__ = [
    "FIRST_PARTY_APPLICATION_NAME",
    "ClientInfo",
    "SessionInfo",
    "TokenPair",
    "delete_ended_sessions",
    "family_session",
    "first_party_application",
    "list_sessions",
    "lock_family",
    "refresh",
    "revoke",
    "revoke_family",
    "session_usable",
    "sign_in",
    "sign_out_everywhere",
    "sign_out_family",
    "sign_out_session",
    "start_session",
    "token_family_of",
    "touch_session",
]
