"""One write path: every token row bearer_auth writes goes through DOT's models, signals and all.

A project that connected a receiver to DOT's ``AccessToken`` or
``RefreshToken`` saves (an audit log, a cache) hears every row a sign-in, a
code exchange or a refresh (at either entry point) creates or changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db.models.signals import post_save
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from bearer_auth.models import TokenSession
from tests.first_party import sign_in
from tests.refresh_entries import ENTRY_POINTS, entry_point

pytestmark = pytest.mark.django_db

MODELS = (get_access_token_model(), get_refresh_token_model(), TokenSession)


def _rows() -> dict[tuple[str, Any], Any]:
    """Every token and session row, by (model, pk), with what changes when it is written."""
    rows: dict[tuple[str, Any], Any] = {}
    for model in MODELS:
        changed = "last_used" if model is TokenSession else "updated"
        for pk, value in model.objects.values_list("pk", changed):
            rows[(model.__name__, pk)] = value
    return rows


@contextmanager
def saves() -> Iterator[list[tuple[str, Any, bool]]]:
    """Record each post_save of DOT's token models and of ``TokenSession``."""
    heard: list[tuple[str, Any, bool]] = []

    def receiver(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
        heard.append((sender.__name__, instance.pk, created))

    for model in MODELS:
        post_save.connect(receiver, sender=model, weak=False)
    try:
        yield heard
    finally:
        for model in MODELS:
            post_save.disconnect(receiver, sender=model)


def _written_during(action: Callable[[], Any]) -> tuple[set[tuple[str, Any]], list[Any]]:
    before = _rows()
    with saves() as heard:
        action()
    after = _rows()
    written = {key for key, value in after.items() if before.get(key) != value}
    return written, heard


def test_a_sign_in_sends_post_save_for_each_row_it_creates(user, password):
    written, heard = _written_during(lambda: sign_in(user, password))
    assert {name for name, _pk in written} == {"AccessToken", "RefreshToken", "TokenSession"}
    assert {(name, pk) for name, pk, _created in heard} == written
    assert all(created for _name, _pk, created in heard)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_a_refresh_sends_post_save_for_each_row_it_writes(name, user, password):
    entry = entry_point(name)
    tokens = entry.start(user, password)

    def refresh() -> None:
        assert entry.refresh(tokens["refresh_token"]).status_code == 200

    written, heard = _written_during(refresh)
    # The spent refresh token, the rewritten access token, the successor, the session.
    assert sorted(name for name, _pk in written) == [
        "AccessToken",
        "RefreshToken",
        "RefreshToken",
        "TokenSession",
    ]
    assert {(name, pk) for name, pk, _created in heard} == written
    assert [name for name, _pk, created in heard if created] == ["RefreshToken"]


def test_an_authorization_code_exchange_sends_post_save_for_each_row(user, password):
    entry = entry_point("oauth")
    written, heard = _written_during(lambda: entry.start(user, password))
    assert {name for name, _pk in written} == {"AccessToken", "RefreshToken", "TokenSession"}
    assert {(name, pk) for name, pk, _created in heard} == written
