"""``manage.py bearer_keys rotate|list|prune``: a thin wrapper over :mod:`bearer_auth.keys`."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from bearer_auth import keys


class Command(BaseCommand):
    help = (
        "Manage the keys that sign access tokens: rotate (new active key, the old one "
        "keeps verifying until its tokens expired), list, prune (drop expired keys)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{rotate,list,prune}")
        rotate = actions.add_parser("rotate", help="Make a new active key; retire the current one.")
        rotate.add_argument(
            "--algorithm",
            choices=keys.GENERATED_ALGORITHMS,
            help="Algorithm of the new key (default: BEARER_AUTH['SIGNING_ALGORITHM']).",
        )
        actions.add_parser("list", help="Show every key: kid, algorithm, state, dates.")
        actions.add_parser("prune", help="Delete retired keys that no longer verify anything.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "rotate":
            self._rotate(options["algorithm"])
        elif action == "list":
            self._list()
        else:
            count = keys.prune_signing_keys()
            if options["verbosity"]:
                self.stdout.write(f"Pruned {count} expired signing key(s).")

    def _rotate(self, algorithm: str | None) -> None:
        try:
            key = keys.rotate_signing_key(algorithm=algorithm)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"New active signing key {key.kid} ({key.algorithm}).")
        )

    def _list(self) -> None:
        statuses = keys.describe_signing_keys()
        if not statuses:
            self.stdout.write("No signing keys yet; the first is created on first use.")
            return
        rows = [("KID", "ALG", "STATE", "CREATED", "VERIFIES-UNTIL")]
        rows += [
            (s.kid, s.algorithm, s.state, _when(s.created), _when(s.verify_until)) for s in statuses
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else "-"
