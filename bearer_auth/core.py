"""The framework-neutral bearer-token check: one request in, a user and a token or a refusal out.

:class:`BearerTokenAuthenticator` does all of what ``Authorization: Bearer``
(RFC 6750) and ``Authorization: DPoP`` (RFC 9449) need, for any Django view:
it reads a Django ``HttpRequest`` (a DRF ``Request`` works alike) and answers
``(user, BearerToken)``, ``None`` (no such header: another scheme or none),
or raises a :class:`~bearer_auth.exceptions.BearerAuthError` carrying its
status, its RFC 6750 / RFC 9449 error code and its ``WWW-Authenticate``
challenge (``auth_header``). Every adapter is a thin layer over it:

- DRF: :class:`bearer_auth.authentication.BearerTokenAuthentication`;
- Django Ninja: :mod:`bearer_auth.ninja`;
- plain Django views and middleware: :mod:`bearer_auth.plain`;
- MCP servers: :mod:`bearer_auth.mcp`.

Strict mode (default): signature and claims, then ONE indexed query that
loads DOT's access-token row together with its user, so revocation and
deactivation take effect at once. Stateless mode: signature and claims only,
the user is built from the claims. A DPoP-bound token (``cnf.jkt``) is
accepted only as ``Authorization: DPoP <token>`` with a proof from its key
(:mod:`bearer_auth.dpop`; no query either way).

:meth:`BearerTokenAuthenticator.aauthenticate` gives the same answers to async
code without blocking the event loop: a stateless JWT is checked on the loop
(the process's key copy only, :func:`bearer_auth.keys.without_io`); anything
that reads the database (strict mode's query, a key set due for its check),
the DPoP replay cache or a remote JWKS runs in ONE ``sync_to_async`` hop.

Errors are DRF's ``APIException`` subclasses, so a DRF view renders them
itself; :func:`refusal_response` renders them byte for byte as DRF does for
every other kind of view.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import TYPE_CHECKING, Any, Final, TypeVar, Union, cast

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import APIException, NotAuthenticated, PermissionDenied
from rest_framework.renderers import JSONRenderer
from rest_framework_simplejwt.models import TokenUser

from bearer_auth import dpop, keys
from bearer_auth.exceptions import (
    BearerAuthError,
    InsufficientScope,
    InvalidToken,
    MalformedAuthorization,
    ServiceUnavailable,
    TokenExpired,
    TokenRevoked,
    www_authenticate,
)
from bearer_auth.jwt import (
    MAX_TOKEN_LENGTH,
    PASSWORD_CLAIM,
    audience,
    decode_access_token,
    looks_like_jwt,
    password_fingerprint_matches,
    token_checksum,
    user_by_subject,
)
from bearer_auth.resources import metadata_url
from bearer_auth.settings import bearer_settings
from bearer_auth.signals import token_rejected
from bearer_auth.token_lookup import find_token_row

if TYPE_CHECKING:
    from rest_framework.request import Request

    #: What the authenticator reads: Django's request, or DRF's wrapping one.
    AnyRequest = HttpRequest | Request

# The logger's name from before the core existed: projects' LOGGING keeps working.
logger = logging.getLogger("bearer_auth.authentication")

_Authenticator = TypeVar("_Authenticator", bound="BearerTokenAuthenticator")

# A DPoP-bound token where no proof comes with it (RFC 9449 §7.2).
_BOUND_TOKEN_WITHOUT_PROOF: Final = _(
    "This access token is bound to a DPoP key: use the DPoP scheme with a proof."
)
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN_CHARACTERS: Final = (
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
)
#: ``request.META`` key of what :func:`remember` kept for the request: a list
#: of ``(sharing key, raw token, result)``, the result a ``(user, token)``
#: pair or the refusal. ``META`` is the one dict a DRF ``Request`` shares with
#: the ``HttpRequest`` it wraps.
AUTHENTICATED_META_KEY: Final = "bearer_auth.authenticated"
#: The steps whose overrides make two authenticators answer differently.
_STEPS: Final = (
    "get_raw_token",
    "authenticate_credentials",
    "get_validated_token",
    "get_token_row",
    "get_user",
    "get_stateless_user",
    "accepts_resources",
    "check_proof_of_possession",
)


@dataclass(frozen=True)
class BearerToken:
    """What ``request.auth`` holds after a successful authentication.

    ``scope``, ``client_id``, ``jti`` and ``expires_at`` are read from the
    claims on first use: most views never ask for them, and building them up
    front was about a quarter of what stateless authentication adds to
    PyJWT's decode. It also offers the methods DOT's permission classes call on a token
    (``is_valid``, ``is_expired``, ``allow_scopes``, ``scope``), so
    ``TokenHasScope`` and friends work unchanged.
    """

    claims: Mapping[str, Any]
    #: DOT's ``AccessToken`` row in strict mode (its primary key and user
    #: loaded, other columns read on access); ``None`` in stateless mode.
    token_row: Any = field(default=None, repr=False, compare=False)
    #: The verified DPoP proof sent with a DPoP-bound token; ``None`` for a Bearer token.
    dpop_proof: dpop.Proof | None = field(default=None, repr=False, compare=False)

    @cached_property
    def scope(self) -> str:
        return str(self.claims.get("scope", ""))

    @cached_property
    def client_id(self) -> str:
        client_id: str = self.claims["client_id"]
        return client_id

    @cached_property
    def jti(self) -> str | None:
        jti: str = self.claims["jti"]
        return jti

    @cached_property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.claims["exp"], tz=dt_timezone.utc)

    @cached_property
    def scopes(self) -> frozenset[str]:
        """The granted scopes; membership is exact (RFC 6749 §3.3)."""
        return frozenset(self.scope.split())

    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    def allow_scopes(self, scopes: Iterable[str] | None) -> bool:
        return not scopes or set(scopes) <= self.scopes

    def is_valid(self, scopes: Iterable[str] | None = None) -> bool:
        return not self.is_expired() and self.allow_scopes(scopes)


@dataclass(frozen=True)
class OpaqueBearerToken(BearerToken):
    """An opaque DOT token: no claims (``jti`` is ``None``); the rest comes from its row."""

    #: DOT's ``AccessToken`` row: what tells two opaque tokens apart.
    token_row: Any = field(default=None, repr=False, compare=True)

    @cached_property
    def scope(self) -> str:
        scope: str = self.token_row.scope
        return scope

    @cached_property
    def client_id(self) -> str:
        row = self.token_row
        return row.application.client_id if row.application_id else ""

    @cached_property
    def jti(self) -> str | None:
        return None

    @cached_property
    def expires_at(self) -> datetime:
        expires: datetime = self.token_row.expires
        return expires


class ClaimsUser(TokenUser):
    """The stateless-mode user: its id is the token's ``sub``; it has no privileges.

    It has no database row: to keep the user's own rows, look the user up
    with :func:`database_user` (or key them by ``sub``, the user's
    ``public_id``).
    """

    is_staff = False
    is_superuser = False

    @cached_property
    def id(self) -> str:
        return str(self.token["sub"])

    @cached_property
    def username(self) -> str:
        return str(self.token["sub"])


class BearerTokenAuthenticator:
    """Authenticate ``Authorization: Bearer <token>`` (RFC 6750 §2.1) and ``DPoP <token>``.

    ``DPoP`` (RFC 9449 §7.1) only while DPoP is on (:func:`bearer_auth.dpop.enabled`).
    Another scheme is left to the next authenticator; tokens in the query
    string or body are never read. Each step is a method a subclass may
    override (``docs/api.md``, "Extending the authentication class"):

    - :meth:`get_raw_token`: the token of the ``Authorization`` header
      (``Bearer``, or ``DPoP`` while DPoP is on);
    - :meth:`get_validated_token`: the JWT's signature and claims;
    - :meth:`get_token_row`: strict mode's one query, DOT's row with its user;
    - :meth:`get_user`: the row's user, checked; :meth:`get_stateless_user`:
      stateless mode's user, built from the claims;
    - :meth:`check_proof_of_possession`: after the token is accepted, a
      DPoP-bound token (``cnf.jkt``) needs the ``DPoP`` scheme and a proof
      from its key; the ``DPoP`` scheme needs a bound token.

    :meth:`authenticate_credentials` runs the middle four for one raw token;
    a rejection raised by any of them or by :meth:`check_proof_of_possession`
    sends ``token_rejected``. A refusal of a request that used the ``DPoP``
    scheme, or that sent a DPoP-bound token, carries a ``DPoP`` challenge
    (RFC 9449 §7.1); the bare challenge (:meth:`bare_challenge`) offers
    ``Bearer`` and, while DPoP is on, ``DPoP`` with its ``algs``.
    :attr:`verify_mode` (a class attribute or the constructor's argument)
    overrides ``VERIFY_MODE``.

    :attr:`resource` is the identifier of the API the views protect
    (RFC 8707, :mod:`bearer_auth.resources`): only tokens whose ``aud`` it is
    are accepted. Unset, it is the default resource (``AUDIENCE``, else the
    issuer). :meth:`for_resource` makes the class for another one. Every
    challenge names the resource's RFC 9728 metadata (``resource_metadata``)
    while ``RESOURCE_METADATA_IN_CHALLENGE`` is on.
    """

    #: ``"strict"`` or ``"stateless"`` for this class's views; ``None``: ``VERIFY_MODE``.
    verify_mode: str | None = None
    #: The identifier of the protected resource; ``None``: the default resource.
    resource: str | None = None

    def __init__(self, *, resource: str | None = None, verify_mode: str | None = None) -> None:
        if resource is not None:
            self.resource = resource
        if verify_mode is not None:
            self.verify_mode = verify_mode

    @classmethod
    def for_resource(cls: type[_Authenticator], resource: str) -> type[_Authenticator]:
        """Return a subclass whose views accept only tokens issued for ``resource``.

        For ``authentication_classes`` (DRF instantiates them without
        arguments)::

            authentication_classes = [
                BearerTokenAuthentication.for_resource("https://api.example.com/mcp")
            ]
        """
        return type(cls.__name__, (cls,), {"resource": resource, "__module__": cls.__module__})

    # The whole request.

    def authenticate(self, request: AnyRequest) -> tuple[Any, BearerToken] | None:
        """Check ``request``'s token; ``(user, BearerToken)``, or ``None`` without one.

        ``None``: no ``Authorization: Bearer`` (or ``DPoP``) header, for the
        next authenticator. Raises the refusal, its ``auth_header`` set to the
        challenge for this request. A request :class:`bearer_auth.plain.BearerTokenMiddleware`
        already checked the same way gets the same answer again, without a
        second query or a second use of its DPoP proof.
        """
        remembered = _remembered(request, self)
        if remembered is not None:
            return _replay(remembered)
        dpop_scheme = uses_dpop_scheme(request)
        raw_token = self._raw_token(request, dpop_scheme)
        if raw_token is None:
            return None
        bearer: BearerToken | None = None
        try:
            user, bearer = self.authenticate_credentials(raw_token)
            bearer = self.check_proof_of_possession(request, raw_token, bearer)
        except BearerAuthError as exc:
            self._refused(request, exc, bearer, dpop_scheme)
            token_rejected.send(sender=type(self), request=request, reason=type(exc).__name__)
            raise
        return user, bearer

    async def aauthenticate(self, request: AnyRequest) -> tuple[Any, BearerToken] | None:
        """:meth:`authenticate` for async code: the same answers, the event loop never blocked.

        A JWT in stateless mode is checked on the loop (signature and claims,
        with the keys this process holds); strict mode's query, an opaque
        token, keys due to be read again and a DPoP proof (its replay cache)
        take one ``sync_to_async`` hop each. ``token_rejected`` is sent with
        ``Signal.asend`` (synchronous receivers run off the loop).
        """
        remembered = _remembered(request, self)
        if remembered is not None:
            return _replay(remembered)
        dpop_scheme = uses_dpop_scheme(request)
        raw_token = self._raw_token(request, dpop_scheme)
        if raw_token is None:
            return None
        bearer: BearerToken | None = None
        try:
            user, bearer = await self.aauthenticate_credentials(raw_token)
            if dpop_scheme or dpop.bound_key(bearer.claims) is not None:
                check = sync_to_async(self.check_proof_of_possession, thread_sensitive=True)
                bearer = await check(request, raw_token, bearer)
            else:
                bearer = self.check_proof_of_possession(request, raw_token, bearer)
        except BearerAuthError as exc:
            self._refused(request, exc, bearer, dpop_scheme)
            reason = type(exc).__name__
            await token_rejected.asend(sender=type(self), request=request, reason=reason)
            raise
        return user, bearer

    def _raw_token(self, request: AnyRequest, dpop_scheme: bool) -> str | None:
        try:
            return self.get_raw_token(request)
        except BearerAuthError as exc:
            if dpop_scheme and exc.challenge:
                exc.auth_header = self.dpop_challenge(exc)
            raise

    def _refused(
        self,
        request: AnyRequest,
        exc: BearerAuthError,
        bearer: BearerToken | None,
        dpop_scheme: bool,
    ) -> None:
        """Log a refusal and set its challenge: DPoP's for a DPoP request or a bound token."""
        logger.info("Bearer token rejected: %s", type(exc).__name__)
        if exc.challenge:
            # A bound token sent as Bearer is told to use DPoP (RFC 9449 §7.2).
            bound = bearer is not None and dpop.bound_key(bearer.claims) is not None
            exc.auth_header = (
                self.dpop_challenge(exc)
                if dpop_scheme or bound
                else exc.challenge_header(self.resource_metadata_url())
            )

    # Scopes and challenges.

    def check_scopes(
        self, request: AnyRequest, bearer: BearerToken, required: Sequence[str]
    ) -> None:
        """Raise :meth:`insufficient_scope` unless ``bearer`` has every scope in ``required``."""
        if not set(required) <= bearer.scopes:
            raise self.insufficient_scope(request, required)

    def insufficient_scope(self, request: AnyRequest, required: Sequence[str]) -> InsufficientScope:
        """The 403 ``insufficient_scope`` refusal (RFC 6750 §3.1) naming ``required``, not raised.

        Its challenge names this resource's metadata (RFC 9728 §5.1), in the
        scheme the request used (RFC 9449 §7.1 for DPoP).
        """
        refusal = InsufficientScope(scope=" ".join(required))
        refusal.auth_header = (
            self.dpop_challenge(refusal)
            if uses_dpop_scheme(request)
            else refusal.challenge_header(self.resource_metadata_url())
        )
        return refusal

    def bare_challenge(self) -> str:
        """The challenge of a request without a token: ``Bearer``, and ``DPoP`` while DPoP is on."""
        challenge = www_authenticate(resource_metadata=self.resource_metadata_url())
        algorithms = dpop.algorithms()
        if algorithms:
            challenge += ", " + www_authenticate(dpop_algs=" ".join(algorithms))
        return challenge

    def dpop_challenge(self, exc: BearerAuthError) -> str:
        """``exc``'s ``DPoP`` challenge (RFC 9449 §7.1), with the accepted ``algs``."""
        return exc.challenge_header(
            self.resource_metadata_url(), dpop_algs=" ".join(dpop.algorithms())
        )

    def resource_metadata_url(self) -> str | None:
        """The ``resource_metadata`` of this class's challenges; ``None``: left out.

        The RFC 9728 metadata URL of :attr:`resource`, while
        ``RESOURCE_METADATA_IN_CHALLENGE`` is on.
        """
        if not bearer_settings.RESOURCE_METADATA_IN_CHALLENGE:
            return None
        return metadata_url(self.resource or audience())

    def effective_verify_mode(self) -> str:
        """``"strict"`` or ``"stateless"``: :attr:`verify_mode`, else ``VERIFY_MODE``."""
        return str(self.verify_mode or bearer_settings.VERIFY_MODE)

    # The steps.

    def get_raw_token(self, request: AnyRequest) -> str | None:
        """Return the token of an ``Authorization: Bearer`` (or ``DPoP``) header, or ``None``.

        ``DPoP`` (RFC 9449 §7.1, same ``b64token`` rules) only while DPoP is
        on. ``None`` when the request has no such header (another scheme is
        left to the next class). Raises :class:`MalformedAuthorization` (400)
        for a header without exactly one RFC 6750 ``b64token``, and
        :class:`InvalidToken` for one over 8 KB.
        """
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _space, credentials = str(header).partition(" ")
        if scheme.lower() != "bearer" and not uses_dpop_scheme(request):
            return None
        credentials = credentials.strip(" ")
        if not credentials:
            raise MalformedAuthorization
        if len(credentials) > MAX_TOKEN_LENGTH:
            raise InvalidToken
        if not is_b64token(credentials):
            raise MalformedAuthorization
        return credentials

    def authenticate_credentials(self, raw_token: str) -> tuple[Any, BearerToken]:
        """Check ``raw_token`` per ``VERIFY_MODE``; return ``(user, BearerToken)``.

        Raises a :class:`~bearer_auth.exceptions.BearerAuthError` (401, or 503
        when the token store cannot be read) for any token it refuses.
        """
        if not looks_like_jwt(raw_token):
            return self._authenticate_opaque(raw_token)
        claims = self.get_validated_token(raw_token)
        if self.effective_verify_mode() == "stateless":
            return self.get_stateless_user(claims), BearerToken(claims)
        row = self.get_token_row(raw_token, opaque=False)
        return self.get_user(row, claims), BearerToken(claims, row)

    async def aauthenticate_credentials(self, raw_token: str) -> tuple[Any, BearerToken]:
        """:meth:`authenticate_credentials` for async code; the event loop is never blocked.

        A JWT in stateless mode is checked on the loop, inside
        :func:`bearer_auth.keys.without_io` (a subclass's
        :meth:`get_validated_token` and :meth:`get_stateless_user` must not
        do I/O then); when the keys must be read first, and for anything
        that reads a row, the same call runs in one
        ``sync_to_async(thread_sensitive=True)`` hop, as Django asks of ORM
        calls from async code: strict mode stays one query.
        """
        if looks_like_jwt(raw_token) and self.effective_verify_mode() == "stateless":
            try:
                with keys.without_io():
                    return self.authenticate_credentials(raw_token)
            except keys.KeysNotLoaded:
                pass
        authenticate = sync_to_async(self.authenticate_credentials, thread_sensitive=True)
        return await authenticate(raw_token)

    def get_validated_token(self, raw_token: str) -> dict[str, Any]:
        """Verify the JWT ``raw_token`` and return its claims (a new dict each call).

        The header, the key, the signature and the RFC 9068 claims
        (:func:`bearer_auth.jwt.decode_access_token`). Override it to refuse
        more (call ``super()`` first and raise :class:`InvalidToken`).
        """
        return decode_access_token(raw_token, resource=self.resource)

    def get_token_row(self, raw_token: str, *, opaque: bool) -> Any:
        """Fetch DOT's ``AccessToken`` row of ``raw_token`` and its user, in one indexed query.

        Found by the SHA-256 digest DOT stores; the row's ``user`` (every
        column: it becomes ``request.user``) and, for an ``opaque`` token,
        its ``application`` come with it. Raises :class:`TokenRevoked` when
        there is no row (revoked, rotated or never issued) and
        :class:`ServiceUnavailable` when the database cannot be read.
        """
        try:
            row = find_token_row(token_checksum(raw_token), opaque=opaque)
        except DatabaseError as exc:
            # Fail closed: without the token store there is no revocation check.
            raise ServiceUnavailable from exc
        if row is None:
            raise TokenRevoked
        return row

    def get_user(self, row: Any, claims: Mapping[str, Any] | None) -> Any:
        """Return the user of the token ``row``, refusing what may no longer use it.

        A client-credentials token has no user: ``AnonymousUser``. An inactive
        user is refused, and so is a JWT (``claims``; ``None`` for an opaque
        token) whose ``pfp`` claim is not the fingerprint of the user's
        current password hash. Raises :class:`TokenRevoked`.
        """
        user = row.user
        if user is None:
            return AnonymousUser()
        return checked_user(user, claims)

    def accepts_resources(self, resources: list[str]) -> bool:
        """Whether an opaque token for ``resources`` (its row's RFC 8707 column) is accepted here.

        An opaque token has no ``aud``; it is accepted by :attr:`resource`'s
        views when the token was issued for it (empty: the default resource).
        """
        return (self.resource or audience()) in resources

    def get_stateless_user(self, claims: dict[str, Any]) -> Any:
        """Return stateless mode's ``request.user``, built from the verified ``claims``."""
        return ClaimsUser(claims)  # type: ignore[arg-type]

    def check_proof_of_possession(
        self, request: AnyRequest, raw_token: str, bearer: BearerToken
    ) -> BearerToken:
        """Check the DPoP binding of the accepted token; return ``bearer``, with its proof if any.

        A token bound to a key (``cnf.jkt``, RFC 9449 §6.1) must come as
        ``Authorization: DPoP`` with a proof from that key
        for this request's method and URI whose ``ath`` is the token's hash
        (:func:`bearer_auth.dpop.verify_resource_proof`, which spends the
        proof's ``jti``); an unbound token (an opaque one included) must not
        come as ``DPoP``. Runs after the token is verified, so a token
        refused never spends a proof; a proof another authenticator already
        accepted for this request and token is not spent twice. Raises
        :class:`InvalidToken`,
        :class:`~bearer_auth.exceptions.DPoPProofRefused` or
        :class:`~bearer_auth.exceptions.DPoPNonceRequired`.
        """
        bound_jkt = dpop.bound_key(bearer.claims)
        dpop_scheme = uses_dpop_scheme(request)
        if bound_jkt is None:
            if dpop_scheme:
                raise InvalidToken(_("This access token is not bound to a DPoP key."))
            return bearer
        if not dpop_scheme:
            # RFC 9449 §7.2: a bound token presented as a bearer token is refused.
            raise InvalidToken(_BOUND_TOKEN_WITHOUT_PROOF)
        proof = _accepted_proof(request, bound_jkt)
        if proof is None:
            # DRF's Request hands META, method and build_absolute_uri to Django's:
            # a nonce written into META reaches BearerAuthHeadersMiddleware.
            proof = dpop.verify_resource_proof(request, access_token=raw_token, bound_jkt=bound_jkt)
        return replace(bearer, dpop_proof=proof)

    def _authenticate_opaque(self, raw_token: str) -> tuple[Any, BearerToken]:
        """An opaque DOT token: accepted only when configured, checked on its row."""
        if not accepts_opaque_tokens():
            raise InvalidToken
        row = self.get_token_row(raw_token, opaque=True)
        if row.is_expired():
            raise TokenExpired
        # No aud to compare: the row's RFC 8707 resources stand in for it.
        if not self.accepts_resources(row.resource or [audience()]):
            raise InvalidToken
        return self.get_user(row, None), OpaqueBearerToken({}, row)

    def sharing_key(self) -> tuple[Any, ...]:
        """What must be equal for two authenticators to give one request the same answer.

        The resource, the verification mode and every step's code: a
        subclass that overrides a step never reuses another's answer.
        """
        steps = tuple(getattr(type(self), name) for name in _STEPS)
        return (self.resource or audience(), self.effective_verify_mode(), steps)


# One request checked once.

#: What :func:`remember` keeps: ``(user, token)``, a refusal, or ``None`` (no token).
Outcome = Union[tuple[Any, BearerToken], BearerAuthError, None]  # noqa: UP007 (Python 3.10 runtime)


def remember(
    request: AnyRequest, authenticator: BearerTokenAuthenticator, outcome: Outcome
) -> None:
    """Keep ``authenticator``'s ``outcome`` for ``request``; an equal authenticator replays it.

    For :class:`bearer_auth.plain.BearerTokenMiddleware`: a view's own
    authenticator (DRF's class, ``bearer_required``, Ninja's) with the same
    :meth:`~BearerTokenAuthenticator.sharing_key` answers the request with
    it: one query, one use of a DPoP proof.
    """
    kept = request.META.setdefault(AUTHENTICATED_META_KEY, [])
    kept.append((authenticator.sharing_key(), get_raw_header(request), outcome))


def _remembered(request: AnyRequest, authenticator: BearerTokenAuthenticator) -> Any:
    kept = request.META.get(AUTHENTICATED_META_KEY)
    if not kept:
        return None
    key, header = authenticator.sharing_key(), get_raw_header(request)
    for kept_key, kept_header, outcome in kept:
        if kept_key == key and kept_header == header:
            return _NOTHING if outcome is None else outcome
    return None


_NOTHING: Final = object()


def _replay(outcome: Any) -> tuple[Any, BearerToken] | None:
    if outcome is _NOTHING:
        return None
    if isinstance(outcome, BearerAuthError):
        raise outcome
    return cast(tuple[Any, BearerToken], outcome)


def _accepted_proof(request: AnyRequest, bound_jkt: str) -> dpop.Proof | None:
    """A proof of ``bound_jkt`` another authenticator accepted for this request and header."""
    header = get_raw_header(request)
    for _key, kept_header, outcome in request.META.get(AUTHENTICATED_META_KEY, ()):
        if kept_header == header and isinstance(outcome, tuple):
            proof = outcome[1].dpop_proof
            if proof is not None and proof.jkt == bound_jkt:
                return cast(dpop.Proof, proof)
    return None


def get_raw_header(request: AnyRequest) -> str | None:
    """The request's ``Authorization`` header, as received."""
    header = request.META.get("HTTP_AUTHORIZATION")
    return None if header is None else str(header)


# Answers for views that are not DRF's.


def not_authenticated(authenticator: BearerTokenAuthenticator) -> NotAuthenticated:
    """The 401 of a request without a token, as a DRF view with ``IsAuthenticated`` answers it.

    DRF's ``NotAuthenticated`` (its body, its translations) with
    ``authenticator``'s bare challenge.
    """
    refusal = NotAuthenticated()
    refusal.auth_header = authenticator.bare_challenge()  # type: ignore[attr-defined]
    return refusal


def refusal_response(exc: APIException) -> HttpResponse:
    """Render a refusal (any DRF ``APIException``) exactly as DRF's exception handler does.

    The status; ``WWW-Authenticate`` from ``auth_header`` and
    ``Retry-After`` from ``wait``; the body ``exc.detail`` (a dict or a
    list) or ``{"detail": ...}``, with DRF's ``JSONRenderer`` (its compact,
    UTF-8 JSON and its settings). Like DRF's handler, it marks the
    request's transaction (``ATOMIC_REQUESTS``) for rollback: what a view
    wrote before refusing is not kept.
    """
    for alias in connections:
        database = connections[alias]
        if database.settings_dict.get("ATOMIC_REQUESTS") and database.in_atomic_block:
            transaction.set_rollback(True, using=alias)
    detail = exc.detail
    data = detail if isinstance(detail, (dict, list)) else {"detail": detail}
    response = HttpResponse(
        JSONRenderer().render(data),
        status=exc.status_code,
        content_type="application/json",
    )
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        response["Retry-After"] = str(int(wait))
    return response


# The user behind a token.


def checked_user(user: Any, claims: Mapping[str, Any] | None) -> Any:
    """Return ``user`` if it may still use a token with ``claims``; raise :class:`TokenRevoked`.

    An inactive user is refused, and so is a JWT (``claims``; ``None`` for an
    opaque token) whose ``pfp`` claim is not the fingerprint of the user's
    current password hash.
    """
    if not getattr(user, "is_active", True):
        raise TokenRevoked
    if claims is not None and not password_fingerprint_matches(user, claims.get(PASSWORD_CLAIM)):
        raise TokenRevoked
    return user


def database_user(request: Any) -> Any:
    """Return the user model's row of the bearer-authenticated ``request``, in either mode.

    Strict mode: ``request.user``, already that row. Stateless mode: the user
    whose ``sub`` the token carries (:func:`bearer_auth.jwt.user_by_subject`,
    one query), checked as strict mode checks it (active, password unchanged
    since the token was issued). For a view of a stateless resource server
    that keeps rows per user: ``Note.objects.filter(owner=database_user(request))``.
    Raises :class:`TokenRevoked` (401 ``invalid_token``) when the token's user
    is gone or may no longer use it (deleted, deactivated, password changed),
    and DRF's ``PermissionDenied`` (403, as strict mode's ``AnonymousUser``
    gets from ``IsAuthenticated``) for a client-credentials token, which
    names a client, not a user. Any request with a ``user``: DRF's, Ninja's,
    a plain Django view's.
    """
    user: Any = request.user
    if not isinstance(user, ClaimsUser):
        return user
    return claims_user_row(user)


async def adatabase_user(request: Any) -> Any:
    """:func:`database_user` for async views: stateless mode's query in a ``sync_to_async`` hop."""
    user: Any = request.user
    if not isinstance(user, ClaimsUser):
        return user
    return await sync_to_async(claims_user_row, thread_sensitive=True)(user)


def claims_user_row(user: ClaimsUser) -> Any:
    """Return the user model's row of a stateless-mode ``user``, checked as strict mode checks it.

    One query (:func:`bearer_auth.jwt.user_by_subject`). Raises
    :class:`TokenRevoked` when the user is gone or may no longer use the
    token, DRF's ``PermissionDenied`` for a client-credentials token.
    """
    if user.token.get("sub") == user.token.get("client_id"):
        raise PermissionDenied
    found = user_by_subject(user.id)
    if found is None:
        raise TokenRevoked
    return checked_user(found, user.token)  # type: ignore[arg-type]  # the claims dict


# Small pieces every adapter shares.


def uses_dpop_scheme(request: AnyRequest) -> bool:
    """Whether ``request`` sent ``Authorization: DPoP ...`` while DPoP is on."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header or str(header).partition(" ")[0].lower() != dpop.SCHEME.lower():
        return False
    return dpop.enabled()


def is_b64token(credentials: str) -> bool:
    """Tell whether ``credentials`` is one RFC 6750 §2.1 ``b64token``.

    ``bytes.translate`` deletes the allowed characters in one C loop; any
    left over are not allowed. It is twice as fast as the equivalent regular
    expression over a token of some 800 characters.
    """
    body = credentials.rstrip("=")
    return (
        bool(body)
        and body.isascii()
        and not body.encode("ascii").translate(None, _B64TOKEN_CHARACTERS)
    )


def authenticate_token(token: str, *, resource: str | None = None) -> tuple[Any, BearerToken]:
    """Check ``token`` as :class:`BearerTokenAuthenticator` does; return ``(user, BearerToken)``.

    For callers that hold a token rather than a request. ``resource``: the
    resource it must be for (default: the default resource). A token bound
    to a DPoP key is refused (:class:`InvalidToken`): without the request
    there is no proof to check.
    """
    user, bearer = BearerTokenAuthenticator(resource=resource).authenticate_credentials(token)
    refuse_bound_token(bearer)
    return user, bearer


def refuse_bound_token(bearer: BearerToken) -> None:
    """Refuse a DPoP-bound token where no proof can be checked (:class:`InvalidToken`).

    For every caller that holds a token without its request:
    :func:`authenticate_token`, the MCP token verifier.
    """
    if dpop.bound_key(bearer.claims) is not None:
        raise InvalidToken(_BOUND_TOKEN_WITHOUT_PROOF)


def accepts_opaque_tokens() -> bool:
    """Opaque DOT tokens are checked when issued (``ACCESS_TOKEN_FORMAT``) or still honoured."""
    return bool(
        bearer_settings.ACCESS_TOKEN_FORMAT == "opaque" or bearer_settings.ACCEPT_OPAQUE_TOKENS
    )


#: Adapters call this type's steps; an alias for annotations.
AuthenticatorClass = type[BearerTokenAuthenticator]
__all__ = [
    "AUTHENTICATED_META_KEY",
    "AuthenticatorClass",
    "BearerToken",
    "BearerTokenAuthenticator",
    "ClaimsUser",
    "OpaqueBearerToken",
    "accepts_opaque_tokens",
    "adatabase_user",
    "authenticate_token",
    "checked_user",
    "claims_user_row",
    "database_user",
    "is_b64token",
    "not_authenticated",
    "refusal_response",
    "refuse_bound_token",
    "remember",
    "uses_dpop_scheme",
]
