"""Admin pages: users and their sessions, OAuth applications, issued tokens, signing keys.

Credentials are never rendered: tokens appear masked, a client secret is
shown once (at creation or regeneration) and only its hash is kept, private
keys are never shown. Every security operation is an admin action (POST,
CSRF-protected, permission-checked, 403 otherwise) calling the same function
the API uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import oauth2_provider.admin  # noqa: F401  DOT registers its admins first; some are replaced below
from django.contrib import admin
from django.db.models import Model
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_refresh_token_model,
)

from bearer_auth.admin.applications import ApplicationAdmin
from bearer_auth.admin.issued_tokens import AccessTokenAdmin, RefreshTokenAdmin, TokenSessionAdmin
from bearer_auth.admin.signing_keys import SigningKeyAdmin
from bearer_auth.admin.users import EmailUserAdmin
from bearer_auth.models import SigningKey, TokenSession, User

__all__ = [
    "AccessTokenAdmin",
    "ApplicationAdmin",
    "EmailUserAdmin",
    "RefreshTokenAdmin",
    "SigningKeyAdmin",
    "TokenSessionAdmin",
]


def _replace(models_and_admins: Iterable[tuple[type[Model], type[admin.ModelAdmin[Any]]]]) -> None:
    for model, model_admin in models_and_admins:
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)


_replace(
    [
        (get_application_model(), ApplicationAdmin),
        (get_access_token_model(), AccessTokenAdmin),
        (get_refresh_token_model(), RefreshTokenAdmin),
        (TokenSession, TokenSessionAdmin),
        (SigningKey, SigningKeyAdmin),
    ]
)

if not User._meta.swapped:
    admin.site.register(User, EmailUserAdmin)
