"""Admin pages: users and their sessions, OAuth applications, issued tokens, signing keys.

Credentials are never rendered: tokens appear masked, a client secret is
shown once (at creation or regeneration) and only its hash is kept, private
keys are never shown. Every security operation is an admin action (POST,
CSRF-protected, permission-checked, 403 otherwise) calling the same function
the API uses.

DOT's own admin module registers its models with the classes its
``*_ADMIN_CLASS`` settings name: ``oauth2_provider_settings()`` names
:class:`ApplicationAdmin`, :class:`AccessTokenAdmin`,
:class:`RefreshTokenAdmin` (``bearer_auth.W005`` reports another class) and
:class:`IDTokenAdmin`. DOT
imports them by dotted path from this package, which never imports DOT's admin
module, so either module may be imported first. Grants keep DOT's admin;
the ID tokens page is neither listed nor reachable while ``OIDC_ENABLED`` is
off. This module registers bearer_auth's own models, the dynamic client
registrations and initial access tokens among them.
"""

from __future__ import annotations

from django.contrib import admin

from bearer_auth.admin.applications import ApplicationAdmin
from bearer_auth.admin.client_registrations import ClientRegistrationAdmin, InitialAccessTokenAdmin
from bearer_auth.admin.issued_tokens import (
    AccessTokenAdmin,
    IDTokenAdmin,
    RefreshTokenAdmin,
    TokenSessionAdmin,
)
from bearer_auth.admin.signing_keys import SigningKeyAdmin
from bearer_auth.admin.users import EmailUserAdmin
from bearer_auth.models import (
    ClientRegistration,
    InitialAccessToken,
    SigningKey,
    TokenSession,
    User,
)

__all__ = [
    "AccessTokenAdmin",
    "ApplicationAdmin",
    "ClientRegistrationAdmin",
    "EmailUserAdmin",
    "IDTokenAdmin",
    "InitialAccessTokenAdmin",
    "RefreshTokenAdmin",
    "SigningKeyAdmin",
    "TokenSessionAdmin",
]

admin.site.register(TokenSession, TokenSessionAdmin)
admin.site.register(SigningKey, SigningKeyAdmin)
admin.site.register(ClientRegistration, ClientRegistrationAdmin)
admin.site.register(InitialAccessToken, InitialAccessTokenAdmin)
if not User._meta.swapped:
    admin.site.register(User, EmailUserAdmin)
