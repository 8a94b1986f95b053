"""Sign-in, refresh, revocation and sessions, on DOT's one token store.

Views, admin actions, commands, signal receivers and the OAuth validator
call these functions for every security operation:

- :mod:`~bearer_auth.services.issuing`: the first-party application, the
  oauthlib server DOT builds, and new token families (minted by oauthlib,
  stored by DOT's validator);
- :mod:`~bearer_auth.services.password_sign_in`: ``/auth/token/`` sign-in with a password;
- :mod:`~bearer_auth.services.rotation`: the one refresh implementation, for
  ``/auth/token/refresh/`` and ``/o/token/`` alike (rotation, reuse
  detection, the race rule, session checks);
- :mod:`~bearer_auth.services.revocation`: ``/auth/token/revoke/``;
- :mod:`~bearer_auth.services.sessions`: the ``TokenSession`` of each
  family (first-party sign-ins and OAuth authorizations), listing and
  signing out; every operation on a family locks its session row first.
"""

from bearer_auth.services.issuing import (
    FIRST_PARTY_APPLICATION_NAME,
    TokenPair,
    first_party_application,
    oauth_server,
)
from bearer_auth.services.password_sign_in import sign_in
from bearer_auth.services.revocation import revoke
from bearer_auth.services.rotation import refresh
from bearer_auth.services.sessions import (
    ClientInfo,
    SessionInfo,
    delete_ended_sessions,
    list_sessions,
    session_usable,
    sign_out_everywhere,
    sign_out_family,
    sign_out_session,
    start_session,
    token_family_of,
)

__all__ = [
    "FIRST_PARTY_APPLICATION_NAME",
    "ClientInfo",
    "SessionInfo",
    "TokenPair",
    "delete_ended_sessions",
    "first_party_application",
    "list_sessions",
    "oauth_server",
    "refresh",
    "revoke",
    "session_usable",
    "sign_in",
    "sign_out_everywhere",
    "sign_out_family",
    "sign_out_session",
    "start_session",
    "token_family_of",
]
