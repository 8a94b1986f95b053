"""Dynamic client registration (RFC 7591) and its management (RFC 7592 read, update, delete).

``BEARER_AUTH["CLIENT_REGISTRATION"]`` chooses who may register:

- ``"closed"`` (default): nobody; ``/o/register/`` does not exist (404).
- ``"initial_access_token"``: whoever holds an initial access token an
  administrator issued (RFC 7591 §3, :func:`issue_initial_access_token`);
  public and confidential clients, authorization code or client credentials.
- ``"open"``: anyone, public clients only (``token_endpoint_auth_method``
  ``none``), authorization code (+ refresh) only, https or loopback ``http``
  redirect URIs only; with ``REGISTRATION_REQUIRES_APPROVAL`` the client
  is unusable until an administrator approves it.

Both policies limit the scopes to ``REGISTRATION_SCOPES`` (a scope outside
it is refused, never silently dropped) and count every attempt against the
client IP's ``REGISTRATION_THROTTLE_RATE``. Each registration writes DOT's
application (``registration_source`` DCR), its
:class:`~bearer_auth.models.ApplicationPolicy` (the registered scopes, and
``dpop_bound_access_tokens``: RFC 9449 §5.2) and
its :class:`~bearer_auth.models.ClientRegistration` in one transaction. The
client secret, the initial access tokens and the registration access tokens
are stored as digests only; a registration access token is a bearer_auth row,
never one of DOT's access tokens, so no resource server accepts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import router, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AbstractApplication, get_application_model
from oauth2_provider.scopes import get_scopes_backend

from bearer_auth import dpop
from bearer_auth.exceptions import (
    BearerAuthError,
    InvalidToken,
    ServiceUnavailable,
    SlowDown,
)
from bearer_auth.jwt import token_checksum
from bearer_auth.models import ApplicationPolicy, ClientRegistration, InitialAccessToken
from bearer_auth.oauth.registration import give_new_secret
from bearer_auth.policy import check_redirect_uri
from bearer_auth.services.sessions import sign_out_client
from bearer_auth.settings import bearer_settings
from bearer_auth.throttling import AttemptBudget

CLOSED: Final = "closed"
INITIAL_ACCESS_TOKEN: Final = "initial_access_token"
OPEN: Final = "open"
POLICIES: Final = (CLOSED, INITIAL_ACCESS_TOKEN, OPEN)

#: RFC 7591 §2 ``token_endpoint_auth_method`` values DOT's token endpoint supports.
AUTH_METHODS: Final = ("none", "client_secret_basic", "client_secret_post")
#: At most this many redirect URIs per client (DOT stores them space-separated).
MAX_REDIRECT_URIS: Final = 10
#: The longest URI accepted (redirect URI, client_uri).
MAX_URI_LENGTH: Final = 2000

AUTHORIZATION_CODE: Final = "authorization_code"
REFRESH_TOKEN: Final = "refresh_token"
CLIENT_CREDENTIALS: Final = "client_credentials"


class InvalidClientMetadata(BearerAuthError):
    """RFC 7591 §3.2.2: a metadata field is invalid or not allowed here."""

    error = "invalid_client_metadata"
    default_detail = _("The client metadata is invalid.")


class InvalidRedirectURI(BearerAuthError):
    """RFC 7591 §3.2.2: a redirect URI is invalid or not allowed here."""

    error = "invalid_redirect_uri"
    default_detail = _("A redirect URI is invalid.")


class InvalidRegistrationToken(InvalidToken):
    """401 ``invalid_token`` with a Bearer challenge (RFC 6750 §3): no registration access token."""

    default_detail = _("The registration access token is missing or invalid.")


class InvalidInitialAccessToken(InvalidToken):
    """401 ``invalid_token`` with a Bearer challenge: no usable initial access token."""

    default_detail = _(
        "Registering needs an initial access token; this one is missing, invalid, "
        "expired, revoked or used up."
    )


class RegistrationThrottle(AttemptBudget):
    """Registration attempts per client IP (``REGISTRATION_THROTTLE_RATE``).

    Every attempt is claimed (``cache.add``, atomic) and none is given back:
    successful registrations are what an abuser would multiply.
    """

    scope = "bearer_auth_registration_ip"

    def get_rate(self) -> str | None:
        rate: str | None = bearer_settings.REGISTRATION_THROTTLE_RATE
        return rate


def registration_policy() -> str:
    """``BEARER_AUTH["CLIENT_REGISTRATION"]``; anything unknown counts as ``"closed"``."""
    value = bearer_settings.CLIENT_REGISTRATION
    return value if value in POLICIES else CLOSED


def claim_registration_attempt(ip_address: str | None) -> None:
    """Count one attempt for the IP; raise :class:`SlowDown` when its budget is spent.

    The cache unreachable: :class:`ServiceUnavailable` (fails closed, as the
    sign-in budgets do: without counters registrations are unlimited).
    """
    budget = RegistrationThrottle(ip_address or "unknown")
    try:
        allowed = budget.claim()
        wait = None if allowed else (budget.wait() or 1)
    except Exception as exc:
        # Any cache backend error (Redis, memcached, database cache).
        raise ServiceUnavailable from exc
    if not allowed:
        raise SlowDown(_("Too many client registrations from this address."), wait=wait)


def registrable_scopes() -> frozenset[str]:
    """The scopes a registered client may be allowed (``REGISTRATION_SCOPES``).

    ``None``: DOT's default scopes (``OAUTH2_PROVIDER["DEFAULT_SCOPES"]``).
    Always limited to the scopes the server defines.
    """
    backend = get_scopes_backend()
    configured = bearer_settings.REGISTRATION_SCOPES
    scopes = (
        frozenset(backend.get_default_scopes(application=None))
        if configured is None
        else frozenset(configured)
    )
    return scopes & frozenset(backend.get_available_scopes(application=None))


@dataclass(frozen=True)
class ClientMetadata:
    """The metadata a registration accepted, as RFC 7591 names it."""

    redirect_uris: list[str]
    grant_types: list[str]
    response_types: list[str]
    token_endpoint_auth_method: str
    scope: list[str]
    client_name: str = ""
    client_uri: str = ""
    #: RFC 9449 §5.2: every token request of the client carries a DPoP proof.
    dpop_bound_access_tokens: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def confidential(self) -> bool:
        return self.token_endpoint_auth_method != "none"

    @property
    def dot_grant_type(self) -> str:
        if CLIENT_CREDENTIALS in self.grant_types:
            return str(AbstractApplication.GRANT_CLIENT_CREDENTIALS)
        return str(AbstractApplication.GRANT_AUTHORIZATION_CODE)

    def as_response(self) -> dict[str, Any]:
        """The RFC 7591 §2 fields, as the response and the admin show them."""
        body: dict[str, Any] = {
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "scope": " ".join(self.scope),
        }
        if self.client_name:
            body["client_name"] = self.client_name
        if self.client_uri:
            body["client_uri"] = self.client_uri
        if self.dpop_bound_access_tokens:  # omitted: false (RFC 9449 §5.2)
            body["dpop_bound_access_tokens"] = True
        return body


def parse_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object; anything else is ``invalid_client_metadata``."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidClientMetadata(_("The request body is not JSON.")) from None
    if not isinstance(data, dict):
        raise InvalidClientMetadata(_("The request body is not a JSON object."))
    return data


def parse_metadata(data: dict[str, Any], *, policy: str) -> ClientMetadata:
    """Check the client metadata ``data`` against ``policy``; return what is registered.

    Unknown fields are ignored (RFC 7591 §2), and so is a ``null`` value.
    Raises :class:`InvalidClientMetadata` or :class:`InvalidRedirectURI`.
    """
    values = {name: value for name, value in data.items() if value is not None}
    method = _string(
        values, "token_endpoint_auth_method", "none" if policy == OPEN else "client_secret_basic"
    )
    if method not in AUTH_METHODS:
        raise InvalidClientMetadata(
            _("token_endpoint_auth_method must be one of: %(methods)s.")
            % {"methods": ", ".join(AUTH_METHODS)}
        )
    if policy == OPEN and method != "none":
        raise InvalidClientMetadata(
            _(
                "Open registration is for public clients only: "
                'token_endpoint_auth_method must be "none".'
            )
        )
    grant_types = _registered_grant_types(
        _strings(values, "grant_types", [AUTHORIZATION_CODE]), policy
    )
    if grant_types == [CLIENT_CREDENTIALS] and method == "none":
        raise InvalidClientMetadata(_("Client credentials are for confidential clients only."))
    code_flow = AUTHORIZATION_CODE in grant_types
    response_types = _strings(values, "response_types", ["code"] if code_flow else [])
    if sorted(set(response_types)) != (["code"] if code_flow else []):
        raise InvalidClientMetadata(
            _('response_types must be ["code"] for authorization_code, [] otherwise.')
        )
    redirect_uris = _redirect_uris(_strings(values, "redirect_uris", []))
    if code_flow and not redirect_uris:
        raise InvalidClientMetadata(_("An authorization_code client needs redirect_uris."))
    if not code_flow and redirect_uris:
        raise InvalidClientMetadata(_("Only an authorization_code client has redirect_uris."))
    client_name = _string(values, "client_name", "").strip()
    if len(client_name) > get_application_model()._meta.get_field("name").max_length:
        raise InvalidClientMetadata(_("client_name is too long."))
    client_uri = _string(values, "client_uri", "")
    if client_uri:
        _check_client_uri(client_uri)
    dpop_bound = _boolean(values, "dpop_bound_access_tokens", default=False)
    if dpop_bound and not dpop.enabled():
        raise InvalidClientMetadata(
            _("DPoP is off on this server: dpop_bound_access_tokens cannot be true.")
        )
    return ClientMetadata(
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        response_types=["code"] if code_flow else [],
        token_endpoint_auth_method=method,
        scope=_scopes(values),
        client_name=client_name,
        client_uri=client_uri,
        dpop_bound_access_tokens=dpop_bound,
    )


def _boolean(values: dict[str, Any], name: str, *, default: bool) -> bool:
    value = values.get(name, default)
    if not isinstance(value, bool):
        raise InvalidClientMetadata(_("%(name)s must be a boolean.") % {"name": name})
    return value


def _string(values: dict[str, Any], name: str, default: str) -> str:
    value = values.get(name, default)
    if not isinstance(value, str):
        raise InvalidClientMetadata(_("%(name)s must be a string.") % {"name": name})
    return value


def _strings(values: dict[str, Any], name: str, default: list[str]) -> list[str]:
    value = values.get(name, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidClientMetadata(_("%(name)s must be an array of strings.") % {"name": name})
    # Duplicates dropped, order kept.
    return list(dict.fromkeys(value))


def _registered_grant_types(requested: list[str], policy: str) -> list[str]:
    """What the client may use: code (DOT always adds refresh), or client credentials."""
    if set(requested) <= {AUTHORIZATION_CODE, REFRESH_TOKEN} and AUTHORIZATION_CODE in requested:
        # DOT issues a refresh token with every code exchange: registered as such.
        return [AUTHORIZATION_CODE, REFRESH_TOKEN]
    if requested == [CLIENT_CREDENTIALS] and policy == INITIAL_ACCESS_TOKEN:
        return [CLIENT_CREDENTIALS]
    if policy == OPEN:
        message = _(
            'Open registration allows grant_types "authorization_code" and "refresh_token".'
        )
    else:
        message = _(
            'grant_types must be "authorization_code" (with "refresh_token" or not), '
            'or "client_credentials" alone.'
        )
    raise InvalidClientMetadata(message)


def _redirect_uris(uris: list[str]) -> list[str]:
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidRedirectURI(
            _("At most %(count)d redirect URIs.") % {"count": MAX_REDIRECT_URIS}
        )
    for uri in uris:
        if len(uri) > MAX_URI_LENGTH or uri != uri.strip() or any(c.isspace() for c in uri):
            raise InvalidRedirectURI(_("A redirect URI is too long or contains white space."))
        try:
            check_redirect_uri(uri)
        except ValidationError as error:
            raise InvalidRedirectURI(
                _("%(uri)s: %(reason)s") % {"uri": uri, "reason": " ".join(error.messages)}
            ) from None
    return uris


def _check_client_uri(uri: str) -> None:
    try:
        if len(uri) > MAX_URI_LENGTH:
            raise ValidationError("too long")
        URLValidator(schemes=["https"])(uri)
    except ValidationError:
        raise InvalidClientMetadata(_("client_uri must be an https URL.")) from None


def _scopes(values: dict[str, Any]) -> list[str]:
    """The requested scopes, every one registrable; omitted: every registrable scope."""
    allowed = registrable_scopes()
    requested = _string(values, "scope", "").split()
    if not requested:
        scopes = allowed
    else:
        refused = sorted(set(requested) - allowed)
        if refused:
            raise InvalidClientMetadata(
                _("These scopes cannot be registered: %(scopes)s.") % {"scopes": " ".join(refused)}
            )
        scopes = frozenset(requested)
    if not scopes:
        raise InvalidClientMetadata(_("No scope can be registered on this server."))
    return sorted(scopes)


# Initial access tokens (RFC 7591 §3, "initial_access_token" policy).


def issue_initial_access_token(
    *, label: str = "", lifetime: timedelta, max_uses: int = 1
) -> tuple[InitialAccessToken, str]:
    """Store a new initial access token's digest; return the row and the token (shown once)."""
    raw = generate_client_secret()
    row = InitialAccessToken.objects.create(
        token_checksum=token_checksum(raw),
        label=label,
        expires=timezone.now() + lifetime,
        max_uses=max_uses,
    )
    return row, raw


def bearer_credential(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (RFC 6750 §2.1), else ``None``."""
    scheme, _space, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential:
        return None
    return credential


def _lock_initial_access_token(raw: str | None) -> InitialAccessToken:
    """The usable initial access token ``raw``, locked until the transaction ends."""
    row: InitialAccessToken | None = (
        InitialAccessToken.objects.select_for_update()
        .filter(token_checksum=token_checksum(raw))
        .first()
        if raw
        else None
    )
    if row is None or not row.usable():
        raise InvalidInitialAccessToken
    return row


# Registration (RFC 7591 §3) and management (RFC 7592).


@dataclass(frozen=True)
class Registered:
    """A new registration and the credentials to show once."""

    registration: ClientRegistration
    client_secret: str | None
    registration_access_token: str


def register_client(
    data: dict[str, Any],
    *,
    policy: str,
    ip_address: str | None,
    initial_access_token: str | None = None,
) -> Registered:
    """Register a client from its metadata under ``policy``, everything in one transaction.

    Under ``"initial_access_token"`` the token is checked first (401 before
    any metadata error) and spends one use only when the registration is
    stored; racing registrations with a token's last use wait for its row
    lock, and the loser finds it used up.
    """
    application_model = get_application_model()
    with transaction.atomic(using=router.db_for_write(application_model)):
        token_row = (
            _lock_initial_access_token(initial_access_token)
            if policy == INITIAL_ACCESS_TOKEN
            else None
        )
        metadata = parse_metadata(data, policy=policy)
        application = application_model(
            name=metadata.client_name,
            client_type=(
                AbstractApplication.CLIENT_CONFIDENTIAL
                if metadata.confidential
                else AbstractApplication.CLIENT_PUBLIC
            ),
            authorization_grant_type=metadata.dot_grant_type,
            redirect_uris=" ".join(metadata.redirect_uris),
            skip_authorization=False,
            algorithm="",
            registration_source=AbstractApplication.RegistrationSource.DCR,
        )
        secret = give_new_secret(application)
        application.save()
        ApplicationPolicy.objects.create(
            application=application,
            allowed_scopes=" ".join(metadata.scope),
            dpop_bound_access_tokens=metadata.dpop_bound_access_tokens,
        )
        raw_token = generate_client_secret()
        now = timezone.now()
        needs_approval = policy == OPEN and bool(bearer_settings.REGISTRATION_REQUIRES_APPROVAL)
        registration = ClientRegistration.objects.create(
            application=application,
            registered=now,
            ip_address=ip_address,
            policy=policy,
            initial_access_token=token_row,
            metadata=metadata.as_response(),
            registration_token_checksum=token_checksum(raw_token),
            approved=None if needs_approval else now,
        )
        if token_row is not None:
            token_row.uses += 1
            token_row.save(update_fields=["uses"])
    return Registered(
        registration=registration,
        client_secret=secret if metadata.confidential else None,
        registration_access_token=raw_token,
    )


def client_information(
    registration: ClientRegistration,
    *,
    registration_access_token: str,
    registration_client_uri: str,
    client_secret: str | None = None,
) -> dict[str, Any]:
    """The RFC 7591 §3.2.1 / RFC 7592 §3 client information response body.

    ``client_secret`` only when it was just issued (only its hash is kept,
    so a read never returns it).
    """
    application = registration.application
    body: dict[str, Any] = {
        "client_id": application.client_id,
        "client_id_issued_at": int(registration.registered.timestamp()),
    }
    if client_secret is not None:
        body["client_secret"] = client_secret
        body["client_secret_expires_at"] = 0
    body.update(registration.metadata)
    body["registration_access_token"] = registration_access_token
    body["registration_client_uri"] = registration_client_uri
    return body


def find_registration(client_id: str, registration_access_token: str | None) -> ClientRegistration:
    """The registration of ``client_id`` whose registration access token is the one given.

    Raises :class:`InvalidRegistrationToken` (401) for a missing or unknown
    token, or another client's (RFC 7592 §3: an unknown client is a 401 too).
    """
    registration: ClientRegistration | None = (
        ClientRegistration.objects.select_related("application")
        .filter(registration_token_checksum=token_checksum(registration_access_token))
        .first()
        if registration_access_token
        else None
    )
    if registration is None or registration.application.client_id != client_id:
        raise InvalidRegistrationToken
    return registration


def delete_registration(registration: ClientRegistration) -> None:
    """Delete the client (RFC 7592 §2.3): its application, policy, registration and tokens."""
    application = registration.application
    with transaction.atomic(using=router.db_for_write(type(application))):
        # DOT's tokens, grants and bearer_auth's sessions go with it (CASCADE).
        type(application).objects.filter(pk=application.pk).delete()


#: What a client may not send in an update (RFC 7592 §2.2): the server's own values.
SERVER_FIELDS: Final = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)


def update_registration(
    client_id: str, registration_access_token: str | None, body: bytes
) -> ClientRegistration:
    """Replace a client's metadata (RFC 7592 §2.2); return its registration, updated.

    The token is checked first (401). ``body``, the request's JSON, carries
    the client's full metadata, checked as a new registration under the
    policy it registered with; what is omitted takes
    its default. The body's ``client_id`` must be the client's, a
    ``client_secret`` (if sent) its current one, and the server's own fields
    are refused. The client type and grant cannot change (they decide how
    the client authenticates): ``invalid_client_metadata``. The registration
    row is locked: of racing updates, each applies in turn.
    """
    with transaction.atomic(using=router.db_for_write(ClientRegistration)):
        found = find_registration(client_id, registration_access_token)
        registration: ClientRegistration = (
            ClientRegistration.objects.select_for_update()
            .select_related("application")
            .get(pk=found.pk)
        )
        application = registration.application
        data = parse_body(body)
        if data.get("client_id") != client_id:
            raise InvalidClientMetadata(_("client_id must be the client's own client_id."))
        sent_server_fields = sorted(name for name in SERVER_FIELDS if name in data)
        if sent_server_fields:
            raise InvalidClientMetadata(
                _("These fields are the server's, not the client's: %(fields)s.")
                % {"fields": ", ".join(sent_server_fields)}
            )
        secret = data.get("client_secret")
        if secret is not None and not (
            isinstance(secret, str)
            and application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL
            and _secret_matches(application, secret)
        ):
            raise InvalidClientMetadata(_("client_secret is not the client's secret."))
        metadata = parse_metadata(data, policy=registration.policy)
        confidential = application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL
        if (
            metadata.confidential != confidential
            or metadata.dot_grant_type != application.authorization_grant_type
        ):
            raise InvalidClientMetadata(
                _(
                    "token_endpoint_auth_method and grant_types cannot change between public "
                    "and confidential or between grants: register a new client."
                )
            )
        application.name = metadata.client_name
        application.redirect_uris = " ".join(metadata.redirect_uris)
        application.save(update_fields=["name", "redirect_uris", "updated"])
        ApplicationPolicy.objects.update_or_create(
            application=application,
            defaults={
                "allowed_scopes": " ".join(metadata.scope),
                "dpop_bound_access_tokens": metadata.dpop_bound_access_tokens,
            },
        )
        registration.metadata = metadata.as_response()
        registration.save(update_fields=["metadata"])
    return registration


def _secret_matches(application: Any, secret: str) -> bool:
    """Whether ``secret`` is ``application``'s client secret (DOT stores its hash)."""
    if application.hash_client_secret:
        return bool(check_password(secret, application.client_secret))
    return bool(constant_time_compare(secret, application.client_secret))


# The administrator's decisions (the admin's actions).


def approve(registrations: Any) -> int:
    """Approve the waiting registrations among ``registrations``; return how many."""
    count: int = registrations.filter(approved__isnull=True).update(approved=timezone.now())
    return count


def disable(registrations: Any) -> int:
    """Disable clients and revoke their live tokens; return how many were disabled.

    Disabled clients are refused at ``/o/authorize/`` and ``/o/token/``
    (:func:`bearer_auth.policy.client_refusal`); their refresh tokens are
    revoked and their access tokens deleted, so they stop working at once in
    strict verification (stateless resource servers accept an access token
    until it expires).
    """
    count = 0
    for registration in registrations.filter(disabled__isnull=True).select_related("application"):
        with transaction.atomic(using=router.db_for_write(ClientRegistration)):
            ClientRegistration.objects.filter(pk=registration.pk).update(disabled=timezone.now())
            sign_out_client(registration.application)
        count += 1
    return count


def enable(registrations: Any) -> int:
    """Lift the disabling of ``registrations`` (their revoked tokens stay revoked)."""
    count: int = registrations.filter(disabled__isnull=False).update(disabled=None)
    return count
