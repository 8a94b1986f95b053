"""The ``BEARER_AUTH`` settings object: every default in one place, read lazily.

Read settings inside functions (``bearer_settings.ISSUER``), never at import
time. Values are cached until Django's ``setting_changed`` signal fires for
``BEARER_AUTH`` (pytest-django's ``settings`` fixture and ``override_settings``
both send it). Values are validated by :mod:`bearer_auth.checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: Final[dict[str, Any]] = {
    # Who issues the tokens and for whom (RFC 9068 §2.2 ``iss`` / ``aud``).
    # ``None``: DEBUG_ISSUER in DEBUG; otherwise issuing refuses to work and
    # check --deploy reports bearer_auth.E009.
    "ISSUER": None,
    "AUDIENCE": None,
    # Lifetimes.
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    # A refresh token presented again this soon after its rotation (a second
    # tab, a retried request) is refused without revoking its family; later,
    # it is a replay and the family is revoked. timedelta(0): always a replay.
    "REFRESH_REUSE_INTERVAL": timedelta(seconds=10),
    "LEEWAY": timedelta(seconds=0),
    # Signing.
    "SIGNING_ALGORITHM": "RS256",
    "SIGNING_KEYS": None,
    "KEY_ENCRYPTION_KEY": None,
    "KEY_CACHE_SECONDS": 30,
    "JWKS_MAX_AGE_SECONDS": 60,
    # Access-token contents: the dotted path of a function returning the
    # project's own claims for each token (bearer_auth.claims); None: none.
    "EXTRA_CLAIMS_HOOK": None,
    # Verification.
    "VERIFY_MODE": "strict",
    "ACCESS_TOKEN_FORMAT": "jwt",
    # Accept DOT's opaque access tokens too (strict mode), e.g. while moving
    # from plain DOT: tokens issued before the switch keep working.
    "ACCEPT_OPAQUE_TOKENS": False,
    "JWKS_URL": None,
    # Access tokens each process remembers as verified (signature and claims),
    # so a client's next request with the same token skips the signature
    # check; dates, the key and (strict mode) the token row are still checked
    # on every request. 0 turns it off.
    "VERIFIED_TOKEN_CACHE_SIZE": 4096,
    # First-party sign-in.
    "FIRST_PARTY_CLIENT_ID": "bearer-auth-first-party",
    "DEFAULT_SCOPES": ["read", "write"],
    # The scopes a first-party sign-in may ask for: None = every scope
    # OAUTH2_PROVIDER["SCOPES"] defines; a list restricts it to those.
    "FIRST_PARTY_SCOPES": None,
    # Failed password checks (every password form) per account and per IP.
    "SIGN_IN_THROTTLE_RATES": {"account": "5/min", "ip": "30/min"},
    # Browser apps (bearer_auth.browser, docs/browser-apps.md): where the
    # first-party endpoints put the refresh token. "request": in the body,
    # unless the request sends ``Refresh-Token-Delivery: cookie``; then in an
    # HttpOnly cookie. "cookie": always the cookie (requests without the
    # header are refused). "body": never the cookie.
    "REFRESH_TOKEN_DELIVERY": "request",
    # Origins ("https://app.example.com") of browser apps that may use the
    # refresh cookie, besides the API's own origin.
    "BROWSER_APP_ORIGINS": [],
    # The refresh cookie: the browser sees "__Host-" + the name while the path
    # is "/", "__Secure-" + the name for another path.
    "REFRESH_COOKIE_NAME": "bearer_refresh",
    "REFRESH_COOKIE_PATH": "/",
    # Failed refreshes and first-party revocations per client IP.
    "REFRESH_THROTTLE_RATE": "60/min",
    # OAuth endpoints (/o/token/, /o/revoke_token/, /o/introspect/): failed
    # requests allowed per client IP, counted in the shared cache; once over,
    # every request to that endpoint is answered 429 until the window passes.
    "OAUTH_THROTTLE_RATES": {"token": "20/min", "revoke": "20/min", "introspect": "60/min"},
    # The same endpoints' failures per confidential client that authenticated
    # (its secret proved): counted apart from its IP's, so a busy backend's
    # few failures neither lock it out nor are spent by other users.
    "OAUTH_CLIENT_THROTTLE_RATES": {
        "token": "300/min",
        "revoke": "60/min",
        "introspect": "600/min",
    },
    # The request header holding the client IP set by a trusted proxy, e.g.
    # "HTTP_X_FORWARDED_FOR". ``None``: use REMOTE_ADDR only.
    "CLIENT_IP_HEADER": None,
    # Protected resources (RFC 9728) besides the default one, whose identifier
    # is AUDIENCE (else the issuer): {canonical URI: {"name": ..., "scopes":
    # [...], "documentation": URL}}. A client asks for a token for one with
    # RFC 8707's ``resource``; the token's ``aud`` is then that URI
    # (bearer_auth.resources).
    "RESOURCES": {},
    # Every challenge of BearerTokenAuthentication names the resource's RFC 9728
    # metadata document (``resource_metadata="<url>"``).
    "RESOURCE_METADATA_IN_CHALLENGE": True,
    # Dynamic client registration (RFC 7591) at /o/register/: "closed" (no
    # endpoint), "initial_access_token" (a token an administrator issued), or
    # "open" (anyone; public clients only).
    "CLIENT_REGISTRATION": "closed",
    # The scopes a registered client may be allowed; None: DOT's DEFAULT_SCOPES.
    "REGISTRATION_SCOPES": None,
    # Registrations per client IP (counted in Django's cache).
    "REGISTRATION_THROTTLE_RATE": "10/hour",
    # Under "open": a registered client can be used only once an administrator
    # approves it in the admin.
    "REGISTRATION_REQUIRES_APPROVAL": False,
    # DPoP (RFC 9449, bearer_auth.dpop): the proof algorithms accepted, at the
    # token endpoints and by BearerTokenAuthentication. Empty: DPoP is off
    # (a DPoP header is ignored at the token endpoints, tokens are Bearer).
    "DPOP_SIGNING_ALGORITHMS": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    # How far a proof's ``iat`` may be from the server's clock, either way;
    # a proof's ``jti`` is remembered (DPOP_REPLAY_CACHE) for twice as long.
    "DPOP_PROOF_LIFETIME": timedelta(seconds=60),
    # Where server-provided nonces (DPoP-Nonce) are required: "token" (the
    # token endpoints), "resource" (BearerTokenAuthentication), both or none.
    "DPOP_NONCE_REQUIRED": [],
    # How long a nonce the server handed out stays acceptable.
    "DPOP_NONCE_LIFETIME": timedelta(minutes=5),
    # The Django cache alias that remembers each proof's jti (shared by every
    # process: Redis or memcached in production).
    "DPOP_REPLAY_CACHE": "default",
}


#: The issuer while ``ISSUER`` is unset and ``DEBUG`` is on.
DEBUG_ISSUER: Final = "http://localhost:8000"


class BearerAuthSettings:
    """Attribute access to ``settings.BEARER_AUTH`` with :data:`DEFAULTS`."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid BEARER_AUTH setting: {name!r}")
        value = user_settings().get(name, DEFAULTS[name])
        setattr(self, name, value)  # cached until reload()
        return value

    def reload(self) -> None:
        """Forget every cached value; the next access reads settings again."""
        self.__dict__.clear()


def user_settings() -> dict[str, Any]:
    """Return the project's ``BEARER_AUTH`` dict (empty when unset)."""
    value = getattr(settings, "BEARER_AUTH", None)
    return value if isinstance(value, dict) else {}


bearer_settings = BearerAuthSettings()


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "BEARER_AUTH":
        bearer_settings.reload()


# What bearer_auth needs from django-oauth-toolkit, whatever BEARER_AUTH says
# (oauth2_provider_settings() adds what follows from BEARER_AUTH). ``checks.py``
# verifies these in the project's OAUTH2_PROVIDER and names the fix.
OAUTH2_PROVIDER_REQUIRED: Final[dict[str, Any]] = {
    # Every access token, first-party or OAuth, is bearer_auth's RFC 9068 JWT.
    "ACCESS_TOKEN_GENERATOR": "bearer_auth.oauth.generate_access_token",
    # Refresh tokens stay opaque random strings (without this, oauthlib would
    # use the JWT generator for them too).
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    # Token lifetimes come from BEARER_AUTH (and per-application policy).
    "OAUTH2_SERVER_CLASS": "bearer_auth.oauth.Server",
    "OAUTH2_VALIDATOR_CLASS": "bearer_auth.oauth.OAuth2Validator",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Hashed token storage requires a zero grace period (DOT refuses otherwise).
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # https only (RFC 9700 §2.1, no oauth2_provider.W008); plain http is
    # accepted for loopback redirect URIs alone (RFC 8252 §7.3), by
    # bearer_auth.policy.check_redirect_uri and the authorization view.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    # "none": public clients (PKCE) at the token and revocation endpoints.
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ],
    # DOT's admin module registers bearer_auth's pages for its applications and
    # tokens (secret shown once, tokens masked, revoked with the whole sign-in).
    "APPLICATION_ADMIN_CLASS": "bearer_auth.admin.ApplicationAdmin",
    "ACCESS_TOKEN_ADMIN_CLASS": "bearer_auth.admin.AccessTokenAdmin",
    "REFRESH_TOKEN_ADMIN_CLASS": "bearer_auth.admin.RefreshTokenAdmin",
    # No ID-token page while OIDC_ENABLED is off (the server issues none).
    "ID_TOKEN_ADMIN_CLASS": "bearer_auth.admin.IDTokenAdmin",
}


def oauth2_provider_settings(
    bearer_auth: Mapping[str, Any] | None = None, /, **overrides: Any
) -> dict[str, Any]:
    """Return the ``OAUTH2_PROVIDER`` dict for the project's ``BEARER_AUTH``, plus ``overrides``.

    Pass the project's ``BEARER_AUTH`` dict (a settings module cannot read
    ``bearer_settings`` yet): DOT then states bearer_auth's issuer and keeps
    refresh tokens as long as bearer_auth does::

        BEARER_AUTH = {"ISSUER": "https://auth.example.com"}
        OAUTH2_PROVIDER = oauth2_provider_settings(BEARER_AUTH, SCOPES={"read": "Read your data"})

    Without it, the :data:`DEFAULTS` are used; ``bearer_auth.E012`` and
    ``bearer_auth.W003`` report an ``OAUTH2_PROVIDER`` that disagrees with
    ``BEARER_AUTH``.
    """
    values = {**DEFAULTS, **(bearer_auth or {})}
    derived: dict[str, Any] = {
        # DOT writes it verbatim as the RFC 9207 ``iss`` of authorization
        # responses and as the RFC 8414 ``issuer``, with the endpoint URLs on
        # its origin, never on the request's Host. Without ISSUER it is the
        # DEBUG issuer, as for tokens (outside DEBUG nothing is issued then,
        # and check --deploy reports bearer_auth.E009).
        "OIDC_ISS_ENDPOINT": values["ISSUER"] or DEBUG_ISSUER,
    }
    access_lifetime = values["ACCESS_TOKEN_LIFETIME"]
    if isinstance(access_lifetime, timedelta):
        # OpenID Connect ID tokens live as long as access tokens (DOT's default
        # is 10 hours): an RP reads one at sign-in, and a retired signing key
        # must verify every token it signed until it expires
        # (bearer_auth.keys.deadlines), so a longer ID-token lifetime would keep
        # retired keys in the JWKS that much longer. Expired ID tokens are still
        # accepted as id_token_hint while their key verifies.
        derived["ID_TOKEN_EXPIRE_SECONDS"] = int(access_lifetime.total_seconds())
    lifetime = values["REFRESH_TOKEN_LIFETIME"]
    if isinstance(lifetime, timedelta):  # anything else is bearer_auth.E006
        # DOT's idle expiry: a family ends this long after its last access
        # token expired. Equal to the absolute lifetime, it never ends a session
        # early, and it lets `cleartokens` delete rotated refresh tokens once
        # they are that old (unset, DOT keeps them forever for reuse detection).
        derived["REFRESH_TOKEN_EXPIRE_SECONDS"] = int(lifetime.total_seconds())
    return {**OAUTH2_PROVIDER_REQUIRED, **derived, **overrides}
