"""Prepare the demo: the cache table, a superuser and the demo OAuth client (printed each run)."""

from __future__ import annotations

import os
import secrets
from typing import Any, Final

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.urls import reverse
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from bearer_auth.models import ApplicationPolicy
from bearer_auth.policy import check_redirect_uri
from demo_project.client.models import ClientRegistration

#: The name users see on the consent page.
CLIENT_NAME: Final = "Notes client (demo)"
#: What the demo client may ask for: the notes API's two scopes (/client/) and
#: OpenID Connect's (/client/oidc/).
CLIENT_SCOPES: Final = "notes:read notes:write openid email profile"
#: The client answers on both loopback names; DOT matches any port on them (RFC 8252 §7.3).
LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost")


class Command(BaseCommand):
    help = (
        "Create the database cache's table if the cache is Django's database cache, create "
        "or update the demo superuser and the demo OAuth client, and print the "
        "superuser's credentials and the client's client_id. The email and password come "
        "from DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD; without a password in the "
        "environment a new random one is set on every run. The client gets a new secret on "
        "every run too; it is stored for /client/ (and /client/oidc/, OpenID Connect) and "
        "never printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--port",
            type=int,
            default=int(os.environ.get("PORT") or 8000),
            help="The port the demo serves on, for the printed URLs and the redirect URIs "
            "(default: $PORT, else 8000).",
        )
        parser.add_argument(
            "--spa-port",
            type=int,
            default=int(os.environ["SPA_PORT"]) if os.environ.get("SPA_PORT") else None,
            help="The port of the demo single-page app, for its printed URL "
            "(default: $SPA_PORT, else the port after --port).",
        )

    def handle(self, *args: Any, port: int, spa_port: int | None, **options: Any) -> None:
        # The embedded default cache (settings.CACHES) is a table; nothing to
        # do for Redis. Idempotent: an existing table is kept.
        call_command("createcachetable", verbosity=0)
        email, password = self._set_up_superuser()
        client_id, redirect_uris, logout_uris = self._register_client(port)
        self.stdout.write(
            self.style.SUCCESS(f"Demo superuser (sign in at http://127.0.0.1:{port}/admin/):")
        )
        self.stdout.write(f"  email:    {email}")
        self.stdout.write(f"  password: {password}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo OAuth client {CLIENT_NAME!r} (try it at http://127.0.0.1:{port}/client/):"
            )
        )
        self.stdout.write(f"  client_id:     {client_id}")
        self.stdout.write("  client_secret: stored server-side for /client/, not shown")
        self.stdout.write(f"  redirect URIs: {' '.join(redirect_uris)}")
        self.stdout.write(f"  post-logout:   {' '.join(logout_uris)}")
        self.stdout.write(f"  scopes:        {CLIENT_SCOPES}")
        self.stdout.write(
            self.style.SUCCESS(
                "OpenID Connect with the same client "
                f"(try it at http://127.0.0.1:{port}/client/oidc/):"
            )
        )
        self.stdout.write(
            f"  discovery:     http://127.0.0.1:{port}/.well-known/openid-configuration"
        )
        self.stdout.write(
            self.style.SUCCESS(
                "MCP server (the notes as tools list_notes and add_note; "
                "MCP clients register themselves):"
            )
        )
        # Its resource identifier follows the issuer (PORT, BEARER_AUTH_ISSUER), as
        # OpenID Connect's discovery does: `make demo PORT=...` sets both.
        self.stdout.write(f"  URL:           http://127.0.0.1:{port}/mcp")
        self.stdout.write(
            self.style.SUCCESS(
                "Single-page app on its own origin (cookie mode: the refresh token in an "
                "HttpOnly cookie):"
            )
        )
        self.stdout.write(f"  URL:           http://127.0.0.1:{spa_port or port + 1}/")

    def _set_up_superuser(self) -> tuple[str, str]:
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL") or "admin@example.com"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        user_model = get_user_model()
        with transaction.atomic():
            try:
                user = user_model._default_manager.get_by_natural_key(email)
            except user_model.DoesNotExist:
                user = user_model._default_manager.create_superuser(email, password)
            else:
                user.is_active = user.is_staff = user.is_superuser = True
                user.set_password(password)
                user.save()
        return user.get_username(), password

    def _register_client(self, port: int) -> tuple[str, list[str], list[str]]:
        """Create or update the confidential authorization-code client ``/client/`` plays.

        ``/client/`` and ``/client/oidc/`` each have their callback; the
        OpenID Connect variant's signed-out page is the client's
        post-logout redirect URI (RP-initiated logout). The authorization
        server keeps only the secret's hash (DOT hashes it on save); the
        plain secret goes to the client's own :class:`ClientRegistration` row.
        """
        redirect_uris = self._loopback_uris(
            port, "demo_client:callback", "demo_client:oidc-callback"
        )
        logout_uris = self._loopback_uris(port, "demo_client:oidc-signed-out")
        for uri in (*redirect_uris, *logout_uris):
            check_redirect_uri(uri)
        application_model = get_application_model()
        secret = generate_client_secret()
        with transaction.atomic():
            registration = ClientRegistration._default_manager.first()
            application = (
                application_model.objects.filter(client_id=registration.client_id).first()
                if registration is not None
                else None
            ) or application_model(name=CLIENT_NAME)
            application.client_type = application_model.CLIENT_CONFIDENTIAL
            application.authorization_grant_type = application_model.GRANT_AUTHORIZATION_CODE
            application.redirect_uris = " ".join(redirect_uris)
            application.post_logout_redirect_uris = " ".join(logout_uris)
            application.client_secret = secret
            application.hash_client_secret = True
            application.skip_authorization = False
            application.save()
            ApplicationPolicy.objects.update_or_create(
                application=application, defaults={"allowed_scopes": CLIENT_SCOPES}
            )
            ClientRegistration._default_manager.exclude(client_id=application.client_id).delete()
            ClientRegistration._default_manager.update_or_create(
                client_id=application.client_id, defaults={"client_secret": secret}
            )
        return str(application.client_id), redirect_uris, logout_uris

    @staticmethod
    def _loopback_uris(port: int, *url_names: str) -> list[str]:
        return [
            f"http://{host}:{port}{reverse(name)}" for name in url_names for host in LOOPBACK_HOSTS
        ]
