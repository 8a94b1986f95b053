"""OpenID Connect in the validator: ID tokens on the managed keys, and who may have them.

oauthlib's OpenID Connect authorization-code grant builds the ID token's
first claims (``aud``, ``iat``, ``nonce``, ``at_hash``) and hands them to the
validator's ``finalize_id_token``, oauthlib's public hook for signing. DOT's
own implementation signs with ``OIDC_RSA_PRIVATE_KEY``; this one signs with
the active managed key (:func:`bearer_auth.jwt.sign_id_token`) and draws the
session id (``sid``) the token family's session will be stored under.

No ID token is issued at refresh (OpenID Connect Core §12.2 makes it
optional): the refresh grant is oauthlib's OAuth one.

The authorization request's OpenID Connect parameters are decided by the
authorization view, which holds the browser session (``prompt``,
``max_age``, ``id_token_hint``, ``login_hint``, ``ui_locales``):
:class:`bearer_auth.views.oauth.AuthorizationView`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Final

from django.utils import timezone
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request

from bearer_auth import policy
from bearer_auth.compat import save_id_token
from bearer_auth.jwt import issuer, sign_id_token, signing_algorithm
from bearer_auth.oidc.claims import user_claims

#: The member of a grant's stored ``claims`` request parameter that carries
#: what the authorization step knew about the sign-in (``auth_time``) to the
#: code exchange. OpenID Connect Core §5.5: members a server does not define
#: are ignored; a client's own value under this name is replaced.
AUTHORIZATION_CONTEXT: Final = "bearer_auth"


def openid_refusal(client: Any) -> str | None:
    """Why ``client`` may not be issued ID tokens now; ``None`` when it may.

    OpenID Connect must be on (``OAUTH2_PROVIDER["OIDC_ENABLED"]``), allowed
    by the client's policy, and the algorithm the client registered
    (``id_token_signed_response_alg``) must be the active key's.
    """
    if not oauth2_settings.OIDC_ENABLED:
        return "OpenID Connect is not enabled on this server."
    client_policy = policy.application_policy(client)
    if client_policy is None:
        return None
    if not client_policy.openid_connect:
        return "This client may not use OpenID Connect."
    wanted = client_policy.id_token_signed_response_alg
    if wanted and wanted != signing_algorithm():
        return (
            f"This client expects ID tokens signed with {wanted}; "
            f"this server signs with {signing_algorithm()}."
        )
    return None


def store_authorization_context(request: Request) -> None:
    """Carry ``auth_time`` and ``dpop_jkt`` from the authorization step to the code exchange.

    Stored by DOT with the grant, in its ``claims`` column (the OpenID
    Connect ``claims`` parameter, which DOT hands back at the exchange); the
    authorization view puts ``auth_time`` on the request (its credentials),
    and ``dpop_jkt`` (RFC 9449 §10, checked by the view) when the client sent one.
    """
    claims = request.claims if isinstance(request.claims, dict) else {}
    claims = {name: value for name, value in claims.items() if name != AUTHORIZATION_CONTEXT}
    context: dict[str, Any] = {}
    auth_time = getattr(request, "auth_time", None)
    if isinstance(auth_time, int):
        context["auth_time"] = auth_time
    dpop_jkt = getattr(request, "dpop_jkt", None)
    if isinstance(dpop_jkt, str) and dpop_jkt:
        context["dpop_jkt"] = dpop_jkt
    if context:
        claims[AUTHORIZATION_CONTEXT] = context
    request.claims = claims


def code_dpop_jkt(request: Request) -> str | None:
    """The DPoP key thumbprint the code being exchanged was bound to (``dpop_jkt``), if any.

    Read from the grant's stored context, which DOT's ``validate_code`` put on the request.
    """
    claims = request.claims if isinstance(request.claims, dict) else {}
    context = claims.get(AUTHORIZATION_CONTEXT)
    value = context.get("dpop_jkt") if isinstance(context, dict) else None
    return value if isinstance(value, str) and value else None


class OpenIDConnectValidatorMixin:
    """oauthlib's OpenID Connect validator hooks, for :class:`bearer_auth.oauth.OAuth2Validator`."""

    def get_id_token(self, token: dict[str, Any], token_handler: Any, request: Request) -> None:
        """None: oauthlib builds the first claims, :meth:`finalize_id_token` signs."""
        return None

    def finalize_id_token(
        self, id_token: dict[str, Any], token: dict[str, Any], token_handler: Any, request: Request
    ) -> str:
        """Complete and sign the ID token with the active managed key; store its row.

        Claims: ``iss``, ``sub`` (the access token's), ``aud`` (the client),
        ``exp`` (``OAUTH2_PROVIDER["ID_TOKEN_EXPIRE_SECONDS"]``), ``iat``,
        ``auth_time`` (always), ``nonce`` when the request had one,
        ``at_hash`` with the hash the key's ``alg`` uses, ``sid`` (the
        session the family is recorded under) and ``jti``, then the user's
        claims for the granted scopes.
        """
        now = timezone.now()
        expires = now + timedelta(seconds=int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS))
        session_id = uuid.uuid4()
        jti = str(uuid.uuid4())
        claims: dict[str, Any] = {
            **user_claims(request.user, request.scopes),
            "iss": issuer(),
            "aud": request.client_id,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "auth_time": _auth_time(request, default=int(now.timestamp())),
            "sid": str(session_id),
            "jti": jti,
        }
        nonce = id_token.get("nonce") or getattr(request, "nonce", None)
        if nonce:
            claims["nonce"] = nonce
        signed = sign_id_token(claims, access_token=token.get("access_token"))
        request.bearer_session_id = session_id
        request.bearer_id_token = save_id_token(self, jti=jti, request=request, expires=expires)
        return signed

    def validate_silent_login(self, request: Request) -> bool:
        """``prompt=none``: the view answers ``login_required`` before oauthlib is asked."""
        return True

    def validate_silent_authorization(self, request: Request) -> bool:
        """``prompt=none``: the view answers ``consent_required`` instead of a consent page."""
        return True

    def validate_user_match(
        self, id_token_hint: str | None, scopes: list[str], claims: Any, request: Request
    ) -> bool:
        """``id_token_hint``: checked by the view against the signed-in user."""
        return True

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> str | None:
        """The nonce ``validate_code`` read from the grant (no second read of the grant)."""
        nonce = getattr(request, "nonce", None)
        return nonce or None


def _auth_time(request: Request, *, default: int) -> int:
    claims = request.claims if isinstance(request.claims, dict) else {}
    context = claims.get(AUTHORIZATION_CONTEXT)
    auth_time = context.get("auth_time") if isinstance(context, dict) else None
    if isinstance(auth_time, int) and not isinstance(auth_time, bool):
        return auth_time
    return default
