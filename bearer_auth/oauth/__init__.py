"""The glue to django-oauth-toolkit and oauthlib.

``OAUTH2_PROVIDER`` points DOT here (see
:data:`bearer_auth.settings.OAUTH2_PROVIDER_REQUIRED`): the JWT generator
(:mod:`~bearer_auth.oauth.generators`), the server assembled from oauthlib's
endpoints with the grants bearer_auth offers (:mod:`~bearer_auth.oauth.server`),
and the request validator (:mod:`~bearer_auth.oauth.validator`), which uses
only DOT's documented override points. Authorization codes are stored as
digests and spent once (:mod:`~bearer_auth.oauth.codes`).
"""

from __future__ import annotations

from bearer_auth.oauth.generators import (
    access_token_expires_in,
    access_token_lifetime,
    generate_access_token,
)
from bearer_auth.oauth.server import Server
from bearer_auth.oauth.validator import OAuth2Validator, check_code_request, require_s256

__all__ = [
    "OAuth2Validator",
    "Server",
    "access_token_expires_in",
    "access_token_lifetime",
    "check_code_request",
    "generate_access_token",
    "require_s256",
]
