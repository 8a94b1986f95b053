"""``manage.py bearer_registration_token``: issue an initial access token (RFC 7591 §3).

Under ``BEARER_AUTH["CLIENT_REGISTRATION"] = "initial_access_token"`` a client
registers at ``/o/register/`` with ``Authorization: Bearer <token>``. The token
is printed once and stored as its SHA-256 digest; it expires (``--hours``,
default 24) and registers at most ``--uses`` clients (default 1). Revoke it in
the admin (Initial access tokens).
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bearer_auth.oauth.client_registration import issue_initial_access_token


class Command(BaseCommand):
    help = (
        "Issue an initial access token for dynamic client registration; prints it once "
        "(only its digest is stored)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--label", default="", help="What it is for (shown in the admin).")
        parser.add_argument(
            "--hours", type=int, default=24, help="Hours until it expires (default: 24)."
        )
        parser.add_argument(
            "--uses", type=int, default=1, help="How many clients it may register (default: 1)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        hours, uses = options["hours"], options["uses"]
        if hours < 1:
            raise CommandError("--hours must be at least 1.")
        if uses < 1:
            raise CommandError("--uses must be at least 1.")
        row, token = issue_initial_access_token(
            label=options["label"], lifetime=timedelta(hours=hours), max_uses=uses
        )
        self.stdout.write(token)
        self.stderr.write(
            f"Initial access token {row.pk}: expires {row.expires.isoformat()}, "
            f"registers at most {uses} client(s). Shown once: only its digest is kept."
        )
