"""``manage.py cleartokens``: DOT's clean-up, then what bearer_auth adds to the token store.

DOT's command deletes expired and revoked tokens and expired codes; this one
runs it unchanged, then deletes the sessions (:class:`~bearer_auth.models.TokenSession`)
of families that have ended for good and prunes the signing keys that no
longer verify anything (:func:`bearer_auth.keys.prune_signing_keys`).

Django runs the ``cleartokens`` of the app listed first in ``INSTALLED_APPS``,
and projects list ``oauth2_provider`` first (it is installed before
bearer_auth, and DOT projects migrating to bearer_auth already have it).
:func:`serve_as_dot_cleartokens`, called when bearer_auth is ready, points
DOT's command module at this command too, so operators' existing cron line
runs it whatever the order.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from oauth2_provider.management.commands import cleartokens as dot_cleartokens
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from bearer_auth import keys
from bearer_auth.models import TokenSession


class Command(dot_cleartokens.Command):  # type: ignore[misc]
    help = (
        "Run as a cron job: DOT's clean-up of expired and revoked tokens, then delete "
        "the sessions of ended sign-ins and the signing keys that no longer verify anything."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **options)  # DOT's clear_expired(), and its warnings
        sessions = delete_ended_sessions()
        pruned = keys.prune_signing_keys()
        if options["verbosity"] >= 2:
            self.stdout.write(
                f"Deleted {sessions} ended session(s); pruned {pruned} expired signing key(s)."
            )


def serve_as_dot_cleartokens() -> None:
    """Make ``manage.py cleartokens`` run :class:`Command` whatever the ``INSTALLED_APPS`` order.

    With ``oauth2_provider`` listed first, Django loads DOT's command module;
    its ``Command`` becomes this one, which still runs DOT's clean-up first.
    """
    dot_cleartokens.Command = Command


def delete_ended_sessions() -> int:
    """Delete the sessions of token families that have ended for good; return how many.

    A session goes once it is revoked or past its absolute lifetime *and*
    DOT holds no live (unrevoked) refresh token of its family, checked in the
    same statement. Such a family can never mint a token again, so its
    session has nothing left to decide; a session whose family still has a
    live refresh token stays, because that token's refresh must still find
    it to be refused (and to revoke the family). DOT's own revoked refresh
    tokens are left to DOT. Deletes in batches of
    ``OAUTH2_PROVIDER["CLEAR_EXPIRED_TOKENS_BATCH_SIZE"]``, pausing
    ``CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL`` seconds between them, as DOT does.
    """
    ended = _ended_sessions()
    batch_size = int(oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_SIZE)
    deleted = 0
    while batch := list(ended.values_list("pk", flat=True)[:batch_size]):
        count: int = ended.filter(pk__in=batch).delete()[0]
        deleted += count
        if count < len(batch):  # the rest changed under us: leave it to the next run
            break
        time.sleep(float(oauth2_settings.CLEAR_EXPIRED_TOKENS_BATCH_INTERVAL))
    return deleted


def _ended_sessions() -> QuerySet[TokenSession]:
    live_refresh_token = get_refresh_token_model().objects.filter(
        token_family=OuterRef("token_family"), revoked__isnull=True
    )
    ended: QuerySet[TokenSession] = TokenSession.objects.filter(
        Q(revoked__isnull=False) | Q(expires__lte=timezone.now()),
        ~Exists(live_refresh_token),
    )
    return ended
