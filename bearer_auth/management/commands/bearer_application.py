"""``manage.py bearer_application create <name> ...``: register an OAuth client on the CLI.

The same validation as the admin's "add application" page (its forms): the
grants bearer_auth offers, client credentials for confidential clients only,
redirect URIs matched exactly, ``https``, or ``http`` for a native app's
loopback URI (RFC 8252 §7.3, which DOT's ``createapplication`` refuses), a
``client_id`` that is no user's ``sub``, allowed scopes from
``OAUTH2_PROVIDER["SCOPES"]``. The secret is generated, stored as its hash
and printed once (confidential clients).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import router, transaction
from django.forms import BaseForm
from oauth2_provider.generators import generate_client_id
from oauth2_provider.models import get_application_model

from bearer_auth.admin.applications import (
    OFFERED_GRANT_TYPES,
    ApplicationAdminForm,
    ApplicationPolicyForm,
)
from bearer_auth.oauth.registration import give_new_secret


class Command(BaseCommand):
    help = (
        "Register an OAuth client, validated as the admin validates it (http loopback "
        "redirect URIs for native apps included); prints its client_id and secret once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create}")
        create = actions.add_parser("create", help="Register a new client.")
        create.add_argument("name", help="The name the consent page shows.")
        create.add_argument(
            "--client-type",
            choices=("confidential", "public"),
            default="confidential",
            help="public: a native or browser app that cannot keep a secret (default: "
            "confidential).",
        )
        create.add_argument(
            "--grant-type",
            choices=[grant for grant, _label in OFFERED_GRANT_TYPES],
            default="authorization-code",
            help="default: authorization-code (with PKCE S256).",
        )
        create.add_argument(
            "--redirect-uri",
            action="append",
            default=[],
            help="A redirect URI, matched exactly (repeat for several): https, or http on "
            "127.0.0.1, [::1] or localhost, which then matches any port (RFC 8252).",
        )
        create.add_argument(
            "--client-id", help="The client_id (default: a generated one, as DOT makes)."
        )
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            help="A scope the client may ask for (repeat, or separate with spaces); none: "
            "what the server allows an application without a policy.",
        )
        create.add_argument(
            "--skip-authorization",
            action="store_true",
            help="Skip the consent page. Only for applications you run yourself.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [scope for value in options["scope"] for scope in value.split()]
        application_form = ApplicationAdminForm(
            data={
                "name": options["name"],
                "client_id": options["client_id"] or generate_client_id(),
                "client_type": options["client_type"],
                "authorization_grant_type": options["grant_type"],
                "redirect_uris": " ".join(options["redirect_uri"]),
                "skip_authorization": options["skip_authorization"],
            }
        )
        # A form's missing checkbox is "off": say the model's default (OpenID Connect allowed).
        policy_form = ApplicationPolicyForm(data={"allowed_scopes": scopes, "openid_connect": True})
        _raise_errors(application_form)
        _raise_errors(policy_form)
        with transaction.atomic(using=router.db_for_write(get_application_model())):
            application = application_form.save(commit=False)
            secret = give_new_secret(application)
            application.save()
            if scopes:
                policy = policy_form.save(commit=False)
                policy.application = application
                policy.save()
        self.stdout.write(self.style.SUCCESS(f"Application {application.name!r} registered."))
        self.stdout.write(f"client_id: {application.client_id}")
        if application.client_type == "confidential":
            self.stdout.write(f"client_secret: {secret}")
            self.stdout.write("The secret is shown only now; only its hash is stored.")


def _raise_errors(form: BaseForm) -> None:
    """Raise ``CommandError`` listing the form's errors, one line per field."""
    if form.is_valid():
        return
    lines = [
        f"{field}: {' '.join(str(message) for message in messages)}"
        for field, messages in form.errors.items()
    ]
    raise CommandError("Not registered:\n" + "\n".join(lines))
