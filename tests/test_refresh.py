"""Refresh at both entry points: rotation, reuse detection, the race rule, session checks.

``/auth/token/refresh/`` and ``/o/token/`` (``grant_type=refresh_token``)
run one implementation (``bearer_auth.services.rotation``); every rule is
tested through both (``entry``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.test import APIClient

from bearer_auth.models import TokenSession
from tests.first_party import (
    REFRESH_URL,
    REVOKE_URL,
    access_row,
    family_access_tokens,
    live_refresh_tokens,
    me_status,
    ownerless_refresh_token_insert,
    refresh_row,
    session_of,
    sign_in,
    store_other_clients_tokens,
)
from tests.refresh_entries import (
    ENTRY_POINTS,
    EntryPoint,
    FirstParty,
    OAuthClient,
    entry_point,
    past_reuse_interval,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(params=ENTRY_POINTS)
def entry(request: pytest.FixtureRequest) -> EntryPoint:
    return entry_point(request.param)


def assert_invalid_grant(response: Any) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_grant"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_refresh_rotates_both_tokens(entry, user, password):
    first = entry.start(user, password)
    response = entry.refresh(first["refresh_token"], user_agent="phone/2.0")

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert second["token_type"] == "Bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "read write"
    old, new = refresh_row(first["refresh_token"]), refresh_row(second["refresh_token"])
    assert old.revoked is not None
    assert new.revoked is None
    assert new.token_family == old.token_family
    assert new.token == ""  # RFC 9700 storage: the digest only
    assert me_status(second["access_token"]) == 200
    session = session_of(second["refresh_token"])
    assert session.user_agent == "phone/2.0"
    assert session.last_used > session.created


def test_both_entry_points_write_the_same_rows(user, password):
    def rows_after_a_refresh(entry: EntryPoint) -> dict[str, Any]:
        first = entry.start(user, password)
        second = entry.refresh(first["refresh_token"]).json()
        spent, successor = refresh_row(first["refresh_token"]), refresh_row(second["refresh_token"])
        access = access_row(second["access_token"])
        family = successor.token_family
        return {
            "spent revoked, unlinked": (spent.revoked is not None, spent.access_token_id),
            "successor live, same family": (successor.revoked, successor.token_family == family),
            "one access-token row, rewritten": (
                family_access_tokens(family),
                access.pk == access_row(second["access_token"]).pk,
                access_row(first["access_token"]),
                successor.access_token_id == access.pk,
                access.source_refresh_token_id == spent.pk,
                access.token,
            ),
            "refresh rows of the family": get_refresh_token_model()
            .objects.filter(token_family=family)
            .count(),
            "session": (
                TokenSession.objects.filter(token_family=family).count(),
                session_of(second["refresh_token"]).last_used
                > session_of(second["refresh_token"]).created,
            ),
        }

    assert rows_after_a_refresh(FirstParty()) == rows_after_a_refresh(OAuthClient())


def test_previous_access_token_stops_at_rotation_in_strict_mode(entry, user, password):
    first = entry.start(user, password)
    second = entry.refresh(first["refresh_token"]).json()
    assert access_row(first["access_token"]) is None
    assert me_status(first["access_token"]) == 401
    assert me_status(second["access_token"]) == 200


def test_replayed_refresh_token_revokes_its_whole_family_only(entry, user, password):
    rt1 = entry.start(user, password)
    other = entry.start(user, password)
    rt2 = entry.refresh(rt1["refresh_token"]).json()
    family = refresh_row(rt2["refresh_token"]).token_family

    with past_reuse_interval():
        assert_invalid_grant(entry.refresh(rt1["refresh_token"]))

        assert live_refresh_tokens(family) == 0
        assert family_access_tokens(family) == 0
        assert_invalid_grant(entry.refresh(rt2["refresh_token"]))
        assert me_status(rt2["access_token"]) == 401
        assert session_of(rt2["refresh_token"]).revoked is not None
        # The user's other sign-in is untouched.
        assert me_status(other["access_token"]) == 200
        assert entry.refresh(other["refresh_token"]).status_code == 200


def test_a_request_that_arrived_before_the_rotation_lost_a_race_not_a_replay(entry, user, password):
    rt1 = entry.start(user, password)
    arrived = timezone.now()
    rt2 = entry.refresh(rt1["refresh_token"]).json()
    family = refresh_row(rt2["refresh_token"]).token_family

    # A request that arrived before the rotation committed (it waited for the lock).
    with time_machine.travel(arrived, tick=False):
        assert_invalid_grant(entry.refresh(rt1["refresh_token"]))
    assert live_refresh_tokens(family) == 1
    assert me_status(rt2["access_token"]) == 200

    # The same token sent past the reuse interval is a replay.
    with past_reuse_interval():
        assert_invalid_grant(entry.refresh(rt1["refresh_token"]))
    assert live_refresh_tokens(family) == 0


def test_a_second_tab_within_the_reuse_interval_is_refused_and_the_session_lives(
    entry, user, password
):
    """Issue 19 item 18: the just-rotated token again, seconds later, ends nothing."""
    rt1 = entry.start(user, password)
    rt2 = entry.refresh(rt1["refresh_token"]).json()
    family = refresh_row(rt2["refresh_token"]).token_family

    with time_machine.travel(timezone.now() + timedelta(seconds=9)):
        assert_invalid_grant(entry.refresh(rt1["refresh_token"]))
    assert live_refresh_tokens(family) == 1  # no second live member either
    assert session_of(rt2["refresh_token"]).revoked is None
    assert me_status(rt2["access_token"]) == 200
    assert entry.refresh(rt2["refresh_token"]).status_code == 200


def test_an_older_generation_within_the_reuse_interval_is_a_replay(entry, user, password):
    """Only the family's just-rotated token is forgiven; one two rotations back is not."""
    rt1 = entry.start(user, password)
    rt2 = entry.refresh(rt1["refresh_token"]).json()
    rt3 = entry.refresh(rt2["refresh_token"]).json()

    assert_invalid_grant(entry.refresh(rt1["refresh_token"]))
    assert live_refresh_tokens(refresh_row(rt3["refresh_token"]).token_family) == 0
    assert_invalid_grant(entry.refresh(rt3["refresh_token"]))


def test_a_zero_reuse_interval_makes_every_reuse_a_replay(entry, settings, user, password):
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_REUSE_INTERVAL": timedelta(0)}
    rt1 = entry.start(user, password)
    rt2 = entry.refresh(rt1["refresh_token"]).json()

    assert_invalid_grant(entry.refresh(rt1["refresh_token"]))
    assert live_refresh_tokens(refresh_row(rt2["refresh_token"]).token_family) == 0
    assert_invalid_grant(entry.refresh(rt2["refresh_token"]))


def test_refresh_within_the_absolute_lifetime_never_extends_it(entry, user, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tokens = entry.start(user, password)
    expires = session_of(tokens["refresh_token"]).expires
    assert expires == start + timedelta(days=14)
    with time_machine.travel(start + timedelta(days=13, hours=23), tick=False):
        response = entry.refresh(tokens["refresh_token"])
        assert response.status_code == 200
        tokens = response.json()
    assert session_of(tokens["refresh_token"]).expires == expires
    with time_machine.travel(start + timedelta(days=14, seconds=1), tick=False):
        assert_invalid_grant(entry.refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_lifetime_comes_from_refresh_token_lifetime(entry, settings, user, password):
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_LIFETIME": timedelta(hours=1)}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tokens = entry.start(user, password)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert_invalid_grant(entry.refresh(tokens["refresh_token"]))


def test_unknown_refresh_token_is_invalid_grant(entry, user, password):
    entry.start(user, password)
    assert_invalid_grant(entry.refresh("not-a-token"))


def test_a_first_party_refresh_before_any_sign_in_is_invalid_grant():
    # No sign-in yet: the first-party application does not exist, and no
    # refresh token of it can; oauthlib's invalid_client is not the answer.
    response = FirstParty().refresh("never-issued")
    assert_invalid_grant(response)
    assert response.json()["error_description"] == "The grant is invalid, expired or revoked."


def test_malformed_first_party_refresh_tokens_are_invalid_request(user, password):
    response = APIClient().post(REFRESH_URL, {"refresh_token": "x" * 8193}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    response = APIClient().post(REFRESH_URL, {"refresh_token": ""}, format="json")
    assert response.json()["error"] == "invalid_request"


def test_access_token_sent_as_refresh_token_is_invalid_grant(entry, user, password):
    tokens = entry.start(user, password)
    assert_invalid_grant(entry.refresh(tokens["access_token"]))
    assert me_status(tokens["access_token"]) == 200


def test_revoked_refresh_token_is_invalid_grant(entry, user, password):
    tokens = entry.start(user, password)
    refresh_row(tokens["refresh_token"]).revoke()  # DOT's own revocation
    assert_invalid_grant(entry.refresh(tokens["refresh_token"]))


def test_another_clients_refresh_token_is_invalid_grant_and_untouched(entry, user, password):
    entry.start(user, password)
    if isinstance(entry, FirstParty):
        _access, other = store_other_clients_tokens(
            user, access_token="oauth-access", refresh_token="oauth-refresh"
        )
        foreign = "oauth-refresh"
    else:
        foreign = sign_in(user, password)["refresh_token"]
        other = refresh_row(foreign)
    assert_invalid_grant(entry.refresh(foreign))
    other.refresh_from_db()
    assert other.revoked is None


def test_inactive_user_cannot_refresh_and_the_family_is_revoked(entry, user, password):
    tokens = entry.start(user, password)
    # A queryset update bypasses the deactivation receiver: refresh catches it.
    get_user_model()._default_manager.filter(pk=user.pk).update(is_active=False)
    assert_invalid_grant(entry.refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_deleted_user_refresh_is_invalid_grant(entry, user, password):
    tokens = entry.start(user, password)
    user.delete()
    assert_invalid_grant(entry.refresh(tokens["refresh_token"]))


def test_password_change_by_queryset_update_stops_refresh(entry, user, password):
    tokens = entry.start(user, password)
    get_user_model()._default_manager.filter(pk=user.pk).update(password="md5$new$hash")
    assert_invalid_grant(entry.refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_narrower_scope_is_honoured_wider_is_invalid_scope(entry, user, password):
    tokens = entry.start(user, password, scope="read")
    response = entry.refresh(tokens["refresh_token"], scope="read write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    # A refused scope does not consume the token.
    assert refresh_row(tokens["refresh_token"]).revoked is None

    wide = entry.start(user, password)
    narrowed = entry.refresh(wide["refresh_token"], scope="read")
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "read"
    assert access_row(narrowed.json()["access_token"]).scope == "read"


def test_a_write_refused_by_the_database_rolls_the_whole_refresh_back(entry, user, password):
    tokens = entry.start(user, password)
    family = refresh_row(tokens["refresh_token"]).token_family
    counts = (get_access_token_model().objects.count(), get_refresh_token_model().objects.count())
    last_used = session_of(tokens["refresh_token"]).last_used
    model = get_refresh_token_model()

    # The presented token is spent and the access-token row rewritten, then
    # the database refuses the successor's insert.
    with (
        mock.patch.object(model, "save", ownerless_refresh_token_insert(model.save)),
        CaptureQueriesContext(connection) as queries,
    ):
        response = entry.refresh(tokens["refresh_token"])
    sent = " ".join(query["sql"].upper() for query in queries.captured_queries)
    assert (
        sent.index('UPDATE "OAUTH2_PROVIDER_REFRESHTOKEN"')
        < sent.index('UPDATE "OAUTH2_PROVIDER_ACCESSTOKEN"')
        < sent.index('INSERT INTO "OAUTH2_PROVIDER_REFRESHTOKEN"')
    )

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert (
        get_access_token_model().objects.count(),
        get_refresh_token_model().objects.count(),
    ) == counts
    assert refresh_row(tokens["refresh_token"]).revoked is None
    assert access_row(tokens["access_token"]) is not None
    assert session_of(tokens["refresh_token"]).last_used == last_used
    # The old refresh token still works on retry, and leaves one live successor.
    retry = entry.refresh(tokens["refresh_token"])
    assert retry.status_code == 200
    assert live_refresh_tokens(family) == 1


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{bad", "application/json"),
        (b"refresh_token=x", "text/plain"),
        (b"[]", "application/json"),
        (b'{"refresh_token": "a\\u0000b"}', "application/json"),
        ("&".join(f"f{i}=x" for i in range(100_000)).encode(), "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_refresh_requests_are_invalid_request(client, data, content_type):
    response = client.post(REFRESH_URL, data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert set(response.json()) == {"error", "error_description"}


_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def _statements(queries: list[dict[str, Any]]) -> list[str]:
    """The SQL of each statement of a capture, leaving out transaction control."""
    return [q["sql"] for q in queries if not q["sql"].upper().startswith(_TRANSACTION_CONTROL)]


def _touched(sql: str) -> tuple[str, str]:
    """A statement's kind and the table it reads or writes first."""
    table = re.search(r'(?:FROM|UPDATE|INTO) "([^"]+)"', sql)
    return sql.split(None, 1)[0].upper(), table.group(1) if table else ""


def test_a_first_party_refresh_is_three_reads_and_four_writes(user, password):
    tokens = sign_in(user, password)
    with CaptureQueriesContext(connection) as captured:
        response = FirstParty().refresh(tokens["refresh_token"])
    assert response.status_code == 200
    application, session, refresh_token, access_token = (
        model._meta.db_table
        for model in (
            get_refresh_token_model()._meta.get_field("application").related_model,
            TokenSession,
            get_refresh_token_model(),
            get_access_token_model(),
        )
    )
    # DOT's client look-up; the session with its user (locked), then the
    # presented token with its access token and policy (locked); spend it,
    # rewrite the access-token row, insert the successor, touch the session.
    assert [_touched(sql) for sql in _statements(captured.captured_queries)] == [
        ("SELECT", application),
        ("SELECT", session),
        ("SELECT", refresh_token),
        ("UPDATE", refresh_token),
        ("UPDATE", access_token),
        ("INSERT", refresh_token),
        ("UPDATE", session),
    ]
    # One transaction and nothing nested in it: the one savepoint is the
    # refresh's transaction inside the test's own.
    assert [q["sql"].split()[0] for q in captured.captured_queries if "SAVEPOINT" in q["sql"]] == [
        "SAVEPOINT",
        "RELEASE",
    ]


def test_an_oauth_refresh_is_at_most_nine_statements(user, password):
    entry = OAuthClient()
    tokens = entry.start(user, password)
    with CaptureQueriesContext(connection) as captured:
        response = entry.refresh(tokens["refresh_token"])
    assert response.status_code == 200
    # The first-party seven, and DOT's view reading the new access token back
    # for its app_authorized signal.
    assert len(_statements(captured.captured_queries)) <= 8, _statements(captured.captured_queries)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's query planner")
@pytest.mark.parametrize("endpoint", ["refresh", "revoke"])
def test_sqlite_reaches_token_rows_by_digest_or_primary_key(user, password, endpoint):
    # Without ANALYZE statistics SQLite plans by the query's shape alone, so
    # a plan chosen here is the plan at 100,000 sessions. Joined to the
    # application, the token lookup once walked the application_id index:
    # every first-party token, per request (found by the bench's scale case).
    tokens = sign_in(user, password)
    client = APIClient()
    with CaptureQueriesContext(connection) as captured:
        if endpoint == "refresh":
            response = client.post(
                REFRESH_URL, {"refresh_token": tokens["refresh_token"]}, format="json"
            )
        else:
            response = client.post(REVOKE_URL, {"token": tokens["refresh_token"]}, format="json")
    assert response.status_code == 200
    plans = []
    with connection.cursor() as cursor:
        for sql in _statements(captured.captured_queries):
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plans.extend(row[-1] for row in cursor.fetchall())
    assert not [step for step in plans if step.startswith("SCAN")], plans


def test_the_family_keeps_one_access_token_row_rewritten_in_place(entry, user, password):
    first = entry.start(user, password)
    row = access_row(first["access_token"])
    second = entry.refresh(first["refresh_token"]).json()
    third = entry.refresh(second["refresh_token"]).json()
    family = refresh_row(third["refresh_token"]).token_family
    assert family_access_tokens(family) == 1
    rewritten = access_row(third["access_token"])
    assert rewritten.pk == row.pk
    assert rewritten.source_refresh_token_id == refresh_row(second["refresh_token"]).pk
    assert rewritten.expires >= row.expires
    assert refresh_row(third["refresh_token"]).access_token_id == row.pk
    assert refresh_row(second["refresh_token"]).access_token_id is None
    assert [me_status(t["access_token"]) for t in (first, second, third)] == [401, 401, 200]


def test_an_orphaned_refresh_token_is_refused_and_its_family_revoked(entry, user, password):
    # DOT's rule: a live refresh token whose access token was deleted out of
    # band (e.g. by hand in DOT's admin) must not mint a new one.
    tokens = entry.start(user, password)
    family = refresh_row(tokens["refresh_token"]).token_family
    get_access_token_model().objects.filter(pk=access_row(tokens["access_token"]).pk).delete()
    assert_invalid_grant(entry.refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(family) == 0
    assert session_of(tokens["refresh_token"]).revoked is not None


def test_dots_idle_expiry_ends_a_family(entry, settings, user, password):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": 3600}
    start = timezone.now()
    tokens = entry.start(user, password)
    # Alive until an hour after its 5-minute access token expired ...
    with time_machine.travel(start + timedelta(minutes=5, seconds=3599)):
        kept = entry.refresh(tokens["refresh_token"])
    assert kept.status_code == 200
    # ... and the expiry slides with each new access token; then it ends.
    with time_machine.travel(start + timedelta(minutes=10, seconds=7201)):
        assert_invalid_grant(entry.refresh(kept.json()["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_replay_query_count(entry, django_assert_max_num_queries, user, password):
    tokens = entry.start(user, password)
    entry.refresh(tokens["refresh_token"])
    with past_reuse_interval(), django_assert_max_num_queries(17):
        assert_invalid_grant(entry.refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_session_row_is_kept_for_the_family(entry, user, password):
    tokens = entry.start(user, password)
    refreshed = entry.refresh(tokens["refresh_token"]).json()
    assert TokenSession.objects.count() == 1
    assert session_of(refreshed["refresh_token"]) == session_of(tokens["refresh_token"])
