"""The one place bearer_auth uses a dependency's non-public API, each use with a test.

Everything else in the package is held to public APIs by
``tests/test_public_apis.py``; ``tests/test_compat.py`` fails loudly when a
dependency changes what is used here, so an upgrade breaks in CI, not for users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from oauthlib.common import Request


def save_id_token(validator: Any, *, jti: str, request: Request, expires: datetime) -> Any:
    """Store an ID token's row the way DOT does, with DOT's ``OAuth2Validator._save_id_token``.

    DOT signs ID tokens only with its own ``OIDC_RSA_PRIVATE_KEY`` (or a
    client secret) inside ``finalize_id_token``; bearer_auth signs them with
    its managed keys, so it overrides ``finalize_id_token`` (oauthlib's public
    hook) and must still leave DOT's ``IDToken`` row (user, application,
    scope, expiry, ``jti``) for DOT's admin and ``cleartokens``. DOT has no
    public method that stores one without signing it with its own key.
    """
    return validator._save_id_token(jti, request, expires)
