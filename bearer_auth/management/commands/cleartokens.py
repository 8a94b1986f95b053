"""``manage.py cleartokens``: DOT's clean-up, then what bearer_auth adds to the token store.

DOT's command deletes expired and revoked tokens, expired codes and expired
OpenID Connect ID tokens not linked to an access token (bearer_auth links
them to the session instead, so every expired one goes; its session stays,
with ``id_token`` set to ``NULL``). This one runs it unchanged, then deletes
the sessions (:class:`~bearer_auth.models.TokenSession`) of families that
have ended for good (:func:`bearer_auth.services.delete_ended_sessions`) and
prunes the signing keys that no longer verify anything
(:func:`bearer_auth.keys.prune_signing_keys`).

Django runs the command of the app listed first in ``INSTALLED_APPS``, so
projects list ``bearer_auth`` above ``oauth2_provider`` (``bearer_auth.W004``
reports the other order), and the cron line of a DOT project runs this one.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.management.commands import cleartokens as dot_cleartokens

from bearer_auth import keys, services


class Command(dot_cleartokens.Command):  # type: ignore[misc]
    help = (
        "Run as a cron job: DOT's clean-up of expired and revoked tokens and expired ID "
        "tokens, then delete the sessions of ended sign-ins and the signing keys that no "
        "longer verify anything."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)  # DOT's clear_expired(), and its warnings
        sessions = services.delete_ended_sessions()
        pruned = keys.prune_signing_keys()
        if options["verbosity"] >= 2:
            self.stdout.write(
                f"Deleted {sessions} ended session(s); pruned {pruned} expired signing key(s)."
            )
