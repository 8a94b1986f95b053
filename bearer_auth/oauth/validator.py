"""``OAuth2Validator``: DOT's validator with bearer_auth's policy, sessions and refresh rules.

Only DOT's documented override points are used: oauthlib's public validator
methods, ``save_bearer_token`` and ``_save_bearer_token`` (which DOT's
docstring says to override for custom token storage). The refresh-token
grant, at ``/o/token/`` and at ``/auth/token/refresh/`` alike, is decided
and written by :mod:`bearer_auth.services.rotation`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import router, transaction
from oauth2_provider import oauth2_validators
from oauth2_provider.models import AbstractApplication, get_access_token_model, get_grant_model
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors

from bearer_auth import dpop, policy
from bearer_auth.jwt import token_checksum
from bearer_auth.oauth.codes import (
    lock_code,
    revoke_exchanged_tokens,
    revoke_issued_tokens,
    spend_code,
)
from bearer_auth.oidc.validator import (
    OpenIDConnectValidatorMixin,
    code_dpop_jkt,
    openid_refusal,
    store_authorization_context,
)
from bearer_auth.services.issuing import stored_family
from bearer_auth.services.rotation import check_presented_token, rotate
from bearer_auth.services.sessions import ClientInfo, start_session
from bearer_auth.throttling import client_authenticated

CLIENT_CONFIDENTIAL = AbstractApplication.CLIENT_CONFIDENTIAL
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)), unpadded.
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


class OAuth2Validator(OpenIDConnectValidatorMixin, oauth2_validators.OAuth2Validator):  # type: ignore[misc]
    """DOT's validator with bearer_auth's client policy, hashed codes, sessions and refresh.

    OpenID Connect's hooks (ID tokens on the managed keys) come from
    :class:`~bearer_auth.oidc.validator.OpenIDConnectValidatorMixin`.
    """

    def validate_scopes(
        self,
        client_id: str,
        scopes: list[str],
        client: Any,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Refuse an empty scope, or one the application is not allowed (→ ``invalid_scope``).

        oauthlib asks this after putting the default scopes in place of a
        missing ``scope``; when none of those is allowed, the list is empty,
        and a token with no scope is never issued.
        """
        refusal = openid_refusal(client) if "openid" in scopes else None
        if refusal is not None:
            raise oauth2_errors.InvalidScopeError(description=refusal, request=request)
        return bool(
            scopes
            and super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)
            and set(scopes) <= policy.allowed_scopes(client)
        )

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        """DOT's client authentication; a confidential client that passes is told to the throttle.

        Its failures at the endpoint then count against its own budget, not
        its IP's (:class:`bearer_auth.views.oauth.ThrottledOAuthMixin`).
        """
        authenticated = bool(super().authenticate_client(request, *args, **kwargs)) and _usable(
            request
        )
        client = getattr(request, "client", None)
        if authenticated and client is not None and client.client_type == CLIENT_CONFIDENTIAL:
            client_authenticated(client.client_id)
        return authenticated

    def validate_client_id(
        self, client_id: str, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """DOT's lookup; a registered client not approved or disabled is unknown here.

        At ``/o/authorize/`` that is DOT's error page for an unknown client,
        never a redirect (:func:`bearer_auth.policy.client_refusal`).
        """
        return bool(super().validate_client_id(client_id, request, *args, **kwargs)) and _usable(
            request
        )

    def authenticate_client_id(
        self, client_id: str, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """A public client at ``/o/token/``: refused (``invalid_client``) when not usable."""
        return bool(
            super().authenticate_client_id(client_id, request, *args, **kwargs)
        ) and _usable(request)

    def get_default_scopes(
        self, client_id: str, request: Request, *args: Any, **kwargs: Any
    ) -> list[str]:
        """Scopes granted when the client asks for none: defaults it is allowed (RFC 6749 §3.3)."""
        return sorted(policy.default_scopes(request.client))

    def validate_grant_type(
        self,
        client_id: str,
        grant_type: str,
        client: Any,
        request: Request,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Client credentials are for confidential clients only (RFC 6749 §4.4)."""
        if grant_type == "client_credentials" and client.client_type != client.CLIENT_CONFIDENTIAL:
            return False
        return bool(
            super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)
        )

    # Authorization codes are stored as SHA-256 digests, like tokens
    # (bearer_auth.oauth.codes): every DOT method that looks a grant up by its
    # code gets the digest, so the raw code never reaches the database.

    def save_authorization_code(
        self, client_id: str, code: dict[str, str], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Store the code's digest, and issue a code only for an ``S256`` PKCE challenge.

        oauthlib turns a missing ``code_challenge_method`` into ``plain``;
        both are refused here (RFC 9700 §2.1.1), whatever path reaches code
        creation. oauthlib redirects with its own copy of ``code``, so the
        client still receives the code itself.
        """
        check_code_request(request)
        store_authorization_context(request)
        digest = {**code, "code": token_checksum(code["code"])}
        super().save_authorization_code(client_id, digest, request, *args, **kwargs)

    # validate_code locks the grant row for the rest of the exchange; a grant
    # gone all the same (a caller outside a transaction, SQLite without
    # IMMEDIATE transactions) is invalid_grant, never DOT's DoesNotExist (a 500).

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Any, *args: Any, **kwargs: Any
    ) -> bool:
        with _spent_code_is_invalid_grant():
            return bool(
                super().confirm_redirect_uri(
                    client_id, token_checksum(code), redirect_uri, client, *args, **kwargs
                )
            )

    def get_code_challenge(self, code: str, request: Request) -> str | None:
        with _spent_code_is_invalid_grant(request):
            challenge: str | None = super().get_code_challenge(token_checksum(code), request)
        return challenge

    def get_code_challenge_method(self, code: str, request: Request) -> str | None:
        with _spent_code_is_invalid_grant(request):
            method: str | None = super().get_code_challenge_method(token_checksum(code), request)
        return method

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Request
    ) -> list[str]:
        return list(
            super().get_authorization_code_scopes(
                client_id, token_checksum(code), redirect_uri, request
            )
        )

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """Refuse an unknown or expired code; a reused one revokes what it was exchanged for.

        The grant row is locked first, until the exchange's transaction ends:
        of racing exchanges of one code, the losers wait here for the winner
        and then find no code (``invalid_grant``).
        """
        resources = lock_code(code, application=client)
        # The RFC 8707 resources of the grant, for the token's aud
        # (bearer_auth.oauth.resource_indicators.choose_token_resource).
        request.bearer_granted_resources = resources
        if resources is not None and super().validate_code(
            client_id, token_checksum(code), client, request, *args, **kwargs
        ):
            # RFC 9449 §10: a code bound with dpop_jkt needs a proof from that
            # key; refused without spending it (the client may retry).
            refusal = dpop.binding_refusal(code_dpop_jkt(request), dpop.running_proof())
            if refusal is not None:
                raise dpop.oauth_refusal(refusal, request)
            # An ID token is signed by the active key: a client that registered
            # another algorithm since the code was issued gets none.
            return "openid" not in request.scopes or openid_refusal(client) is None
        revoke_exchanged_tokens(code)
        return False

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Consume the code once; a racing second redemption revokes both results.

        The loser of two racing exchanges finds the grant row gone once it
        holds the lock: its own tokens and those the winner recorded are
        revoked, and the request is refused.
        """
        issued = getattr(request, "bearer_issued", None)
        if spend_code(code, application=request.client, issued=issued):
            return
        revoke_issued_tokens(issued)
        revoke_exchanged_tokens(code)
        raise oauth2_errors.InvalidGrantError(request=request)

    # Refresh (RFC 6749 §6): one implementation for both entry points.

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *args: Any, **kwargs: Any
    ) -> bool:
        """Lock the family, then check the token (:mod:`bearer_auth.services.rotation`)."""
        return check_presented_token(refresh_token, client=client, request=request)

    # Storing tokens: one write path for every token row.

    def save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Store the tokens in the caller's transaction.

        DOT opens a savepoint here; every caller (``/o/token/``, a sign-in,
        a first-party refresh) already runs the whole request in one
        transaction, and a failed write rolls all of it back, so the
        savepoint would be two more statements for nothing.
        """
        database = router.db_for_write(get_access_token_model())
        with transaction.atomic(using=database, savepoint=False):
            self._save_bearer_token(token, request, *args, **kwargs)

    def _save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """DOT's storage for a new pair; a refresh is rotated by bearer_auth's refresh service.

        A new family (a first-party sign-in, an authorization-code exchange)
        gets its session, which the user sees and can end in
        ``/auth/sessions/``; an exchange also records what its code bought,
        for code-reuse revocation. Client-credentials tokens have no family.
        """
        if request.grant_type == "refresh_token":
            rotate(token, request)
            return
        # DOT would verify the ID token with its own key to link it to the
        # access token; bearer_auth links it to the family's session instead.
        stored = {name: value for name, value in token.items() if name != "id_token"}
        with _grant_looked_up_by_digest(request):
            super()._save_bearer_token(stored, request, *args, **kwargs)
        token.update(stored)
        if not token.get("refresh_token"):
            return
        family, access_token_id = stored_family(token["refresh_token"])
        # The session's end is the refresh cookie's (bearer_auth.browser).
        request.bearer_session = start_session(
            family,
            user=request.user,
            application=request.client,
            client=ClientInfo.from_meta(request.headers),
            # The session an ID token issued with the family names as its sid.
            session_id=getattr(request, "bearer_session_id", None),
            id_token=getattr(request, "bearer_id_token", None),
            dpop_jkt=dpop.running_jkt(),
        )
        request.bearer_issued = {"access_token_id": access_token_id, "token_family": str(family)}


def _usable(request: Request) -> bool:
    """Whether the client the request names may be used (approved, not disabled)."""
    client = getattr(request, "client", None)
    return client is not None and policy.client_refusal(client) is None


@contextmanager
def _grant_looked_up_by_digest(request: Request) -> Iterator[None]:
    """While DOT stores a code exchange's tokens, ``request.code`` is the digest it stored.

    DOT looks the grant up by ``request.code`` there (its RFC 8707 resource
    checks); oauthlib needs the code itself again afterwards.
    """
    raw_code = getattr(request, "code", None)
    if raw_code:
        request.code = token_checksum(raw_code)
    try:
        yield
    finally:
        request.code = raw_code


@contextmanager
def _spent_code_is_invalid_grant(request: Request | None = None) -> Iterator[None]:
    """A grant deleted under a lookup (spent by a racing exchange): ``invalid_grant``."""
    try:
        yield
    except ObjectDoesNotExist:
        raise oauth2_errors.InvalidGrantError(request=request) from None


def require_s256(method: str | None, *, request: Request | None = None) -> None:
    """Raise oauthlib's ``invalid_request`` unless the PKCE method is ``S256``."""
    if method != "S256":
        raise oauth2_errors.UnsupportedCodeChallengeMethodError(
            description='Only the "S256" code_challenge_method is supported.', request=request
        )


def check_code_request(request: Request) -> None:
    """Refuse what a code could not be issued for, before anything is stored or shown.

    ``S256`` PKCE (:func:`require_s256`) with a challenge that is one
    (RFC 7636 §4.2: the base64url SHA-256 of the verifier, 43 characters),
    and a ``nonce`` DOT's grant column can hold. PostgreSQL refuses a longer
    value (DOT's ``code_challenge`` is 128 characters, ``nonce`` 255), which
    would be a 503 after the user consented; SQLite would store it. Raises
    oauthlib's ``invalid_request``, sent to the verified redirect URI.
    """
    require_s256(request.code_challenge_method, request=request)
    if not _S256_CHALLENGE.fullmatch(request.code_challenge or ""):
        raise oauth2_errors.InvalidRequestError(
            description="The code_challenge is not an S256 challenge (43 base64url characters).",
            request=request,
        )
    nonce = request.nonce
    limit = get_grant_model()._meta.get_field("nonce").max_length
    if isinstance(nonce, str) and len(nonce) > limit:
        raise oauth2_errors.InvalidRequestError(
            description=f"The nonce is longer than {limit} characters.", request=request
        )
