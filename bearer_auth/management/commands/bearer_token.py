"""``manage.py bearer_token <username> [--scope ...] [--lifetime ...]``: a token for local testing.

Prints one RFC 9068 access token, issued to the built-in first-party
application and stored in DOT's token table like any other, so it works in
strict mode and can be revoked (``DELETE /auth/sessions/``, the admin, a
password change). Refused while ``DEBUG`` is off unless ``--force`` is given.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import router, transaction
from django.utils.dateparse import parse_duration
from oauth2_provider.models import get_access_token_model, set_token_value
from oauth2_provider.scopes import get_scopes_backend

from bearer_auth import policy
from bearer_auth.jwt import mint_access_token
from bearer_auth.services import first_party_application


class Command(BaseCommand):
    help = (
        "Print an access token for a user, for local testing (curl, HTTPie, Swagger UI). "
        "Refused while DEBUG is off unless --force is given."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "username",
            help="The user's USERNAME_FIELD value (the email address with bearer_auth.User).",
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            help=(
                "A scope from OAUTH2_PROVIDER['SCOPES']; repeat it or separate scopes with "
                "spaces. Default: BEARER_AUTH['DEFAULT_SCOPES']."
            ),
        )
        parser.add_argument(
            "--lifetime",
            help=(
                "How long the token is valid: seconds ('3600'), 'HH:MM:SS' or ISO 8601 "
                "('PT1H'). Default: BEARER_AUTH['ACCESS_TOKEN_LIFETIME']."
            ),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Issue the token even though DEBUG is off.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to print a token while DEBUG is off; pass --force if you mean it."
            )
        user = _active_user(options["username"])
        lifetime = _lifetime(options["lifetime"])
        application = first_party_application()
        scope = _scope(options["scope"], application)
        access_token_model = get_access_token_model()
        try:
            with transaction.atomic(using=router.db_for_write(access_token_model)):
                minted = mint_access_token(
                    user=user, client_id=application.client_id, scope=scope, lifetime=lifetime
                )
                # Stored like DOT's validator stores it: only the digest, so the
                # strict check finds the row and every revocation path applies.
                row = access_token_model(
                    user=user, application=application, scope=scope, expires=minted.expires_at
                )
                set_token_value(row, minted.token)
                row.save()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(minted.token)
        if options["verbosity"] >= 1:
            self.stderr.write(
                f"Access token for {user.get_username()}, scope {scope!r}, "
                f"expires {minted.expires_at.isoformat()}. "
                'Send it as "Authorization: Bearer <token>".'
            )


def _active_user(username: str) -> Any:
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get_by_natural_key(username)
    except user_model.DoesNotExist as exc:
        raise CommandError(f"No user {username!r}.") from exc
    if not getattr(user, "is_active", True):
        raise CommandError(f"User {username!r} is inactive; its tokens would be refused.")
    return user


def _lifetime(value: str | None) -> timedelta | None:
    if value is None:
        return None
    lifetime = parse_duration(value)
    if lifetime is None or lifetime <= timedelta(0):
        raise CommandError(f"--lifetime {value!r} is not a positive duration.")
    return lifetime


def _scope(requested: list[str], application: Any) -> str:
    """Return the space-separated scope: the requested ones, or the sign-in defaults."""
    scopes = [name for value in requested for name in value.split()]
    if not scopes:
        scopes = sorted(policy.default_scopes(application))
    known = get_scopes_backend().get_all_scopes()
    unknown = [name for name in scopes if name not in known]
    if unknown:
        raise CommandError(
            f"Unknown scope(s) {', '.join(unknown)}; define them in OAUTH2_PROVIDER['SCOPES']."
        )
    if not scopes:
        raise CommandError("No scope: pass --scope or set BEARER_AUTH['DEFAULT_SCOPES'].")
    return " ".join(dict.fromkeys(scopes))
