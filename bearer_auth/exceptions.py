"""The one error tree: RFC 6750 (resource server) and RFC 6749 §5.2 (token endpoint).

Every error renders as ``{"error": code, "error_description": text}``. Resource
server errors also carry a ``WWW-Authenticate`` challenge built by
:func:`www_authenticate`, the only place that header is written.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django.utils import translation
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException

REALM = "api"

# RFC 7230 quoted-string content we allow through unchanged; anything else is
# dropped so a description can never break out of its quotes or the header.
_UNSAFE_QUOTED = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _quote(value: str) -> str:
    return '"' + _UNSAFE_QUOTED.sub("", value) + '"'


def www_authenticate(
    *,
    error: str | None = None,
    description: str | None = None,
    scope: str | None = None,
    resource_metadata: str | None = None,
    dpop_algs: str | None = None,
) -> str:
    """Build the ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3).

    With no ``error`` the challenge is the bare one sent when the request
    carried no credentials. ``resource_metadata`` is the URL of the protected
    resource's RFC 9728 metadata (§5.1), where a client finds the
    authorization server to get a token from. With ``dpop_algs`` (the
    space-separated proof algorithms accepted) it is the ``DPoP`` challenge
    of RFC 9449 §7.1 instead, with those as its ``algs``.
    """
    params = [f"realm={_quote(REALM)}"]
    if dpop_algs:
        params.append(f"algs={_quote(dpop_algs)}")
    if error:
        params.append(f"error={_quote(error)}")
    if description:
        params.append(f"error_description={_quote(description)}")
    if scope:
        params.append(f"scope={_quote(scope)}")
    if resource_metadata:
        params.append(f"resource_metadata={_quote(resource_metadata)}")
    return ("DPoP " if dpop_algs else "Bearer ") + ", ".join(params)


class BearerAuthError(APIException):
    """Base for client errors; rendered as ``{"error", "error_description"}``."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    error: ClassVar[str] = "invalid_request"
    default_detail = _("The request is missing a parameter or is otherwise malformed.")
    default_code = "invalid_request"
    # Resource-server errors answer with a challenge; token-endpoint errors do not.
    challenge: ClassVar[bool] = False

    def __init__(self, detail: Any = None, code: str | None = None) -> None:
        message = detail if detail is not None else self.default_detail
        description = force_str(message)
        super().__init__({"error": self.error, "error_description": description}, self.error)
        self.description = description
        if self.challenge:
            # The body speaks the user's language; the header stays English,
            # since an HTTP header value carries ASCII only (RFC 6750 §3).
            with translation.override("en"):
                self.header_description = force_str(message)
            self.auth_header = self.challenge_header()

    def challenge_header(
        self, resource_metadata: str | None = None, *, dpop_algs: str | None = None
    ) -> str:
        """This error's ``WWW-Authenticate`` challenge, naming ``resource_metadata`` if given.

        ``BearerTokenAuthentication`` and the scope permissions set
        ``auth_header`` to it with their resource's RFC 9728 metadata URL;
        with ``dpop_algs`` (a request that used the DPoP scheme) it is a
        ``DPoP`` challenge (RFC 9449 §7.1).
        """
        return www_authenticate(
            error=self.error,
            description=self.header_description,
            scope=self.challenge_scope(),
            resource_metadata=resource_metadata,
            dpop_algs=dpop_algs,
        )

    def challenge_scope(self) -> str | None:
        return None


# Token endpoint (RFC 6749 §5.2).


class InvalidRequest(BearerAuthError):
    error = "invalid_request"


class InvalidGrant(BearerAuthError):
    error = "invalid_grant"
    default_detail = _("The grant is invalid, expired or revoked.")


class InvalidClient(BearerAuthError):
    status_code = status.HTTP_401_UNAUTHORIZED
    error = "invalid_client"
    default_detail = _("Client authentication failed.")


class InvalidScope(BearerAuthError):
    error = "invalid_scope"
    default_detail = _("The requested scope is invalid, unknown or not allowed.")


class UnsupportedGrantType(BearerAuthError):
    error = "unsupported_grant_type"
    default_detail = _("The grant type is not supported.")


class SlowDown(BearerAuthError):
    """Too many attempts: 429 with ``Retry-After`` (set ``wait`` in seconds)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    error = "slow_down"
    default_detail = _("Too many attempts. Try again later.")

    def __init__(self, detail: Any = None, *, wait: float | None = None) -> None:
        super().__init__(detail)
        self.wait = None if wait is None else max(1, int(wait + 0.999))


# Resource server (RFC 6750 §3.1).


class MalformedAuthorization(BearerAuthError):
    """A malformed ``Authorization: Bearer`` header: 400 with a challenge."""

    error = "invalid_request"
    default_detail = _("The Authorization header is malformed.")
    challenge = True


class InvalidToken(BearerAuthError):
    status_code = status.HTTP_401_UNAUTHORIZED
    error = "invalid_token"
    default_detail = _("The access token is invalid.")
    challenge = True


class TokenExpired(InvalidToken):
    default_detail = _("The access token expired.")


class TokenRevoked(InvalidToken):
    default_detail = _("The access token was revoked.")


class InsufficientScope(BearerAuthError):
    status_code = status.HTTP_403_FORBIDDEN
    error = "insufficient_scope"
    default_detail = _("The access token does not carry the scope this request needs.")
    challenge = True

    def __init__(self, detail: Any = None, *, scope: str = "") -> None:
        self.required_scope = scope
        super().__init__(detail)

    def challenge_scope(self) -> str | None:
        return self.required_scope or None


class ServiceUnavailable(BearerAuthError):
    """The token store cannot be reached: fail closed with 503."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    error = "temporarily_unavailable"
    default_detail = _("The service is temporarily unavailable. Try again later.")


# DPoP (RFC 9449 §5, §7.1, §8): the token endpoints answer 400, the resource
# server 401 with a DPoP challenge. Where nonces are required, the answer
# carries a fresh one as ``DPoP-Nonce`` (bearer_auth.dpop).


class InvalidDPoPProof(BearerAuthError):
    """A token request's DPoP proof is missing where required, malformed or not the bound key's."""

    error = "invalid_dpop_proof"
    default_detail = _("The DPoP proof is invalid.")


class UseDPoPNonce(BearerAuthError):
    """A token request's DPoP proof lacks the current server nonce (RFC 9449 §8)."""

    error = "use_dpop_nonce"
    default_detail = _("Sign the DPoP proof with the nonce in the DPoP-Nonce header.")


class DPoPProofRefused(InvalidToken):
    """A resource request's DPoP proof is invalid: 401 ``invalid_dpop_proof`` (RFC 9449 §7.1)."""

    error = "invalid_dpop_proof"
    default_detail = _("The DPoP proof is invalid.")


class DPoPNonceRequired(InvalidToken):
    """A resource request's DPoP proof lacks the current server nonce: 401 ``use_dpop_nonce``."""

    error = "use_dpop_nonce"
    default_detail = _("Sign the DPoP proof with the nonce in the DPoP-Nonce header.")
