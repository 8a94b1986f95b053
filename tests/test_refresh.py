"""POST /auth/token/refresh/: rotation, reuse detection, absolute lifetime."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import sqlparse
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from rest_framework.test import APIClient

from bearer_auth import services
from bearer_auth.exceptions import InvalidGrant
from bearer_auth.models import TokenSession
from bearer_auth.services import store
from tests.first_party import (
    REFRESH_URL,
    REVOKE_URL,
    access_row,
    family_access_tokens,
    live_refresh_tokens,
    me_status,
    refresh,
    refresh_row,
    session_of,
    sign_in,
    store_other_clients_tokens,
)

pytestmark = pytest.mark.django_db

INVALID_GRANT = {
    "error": "invalid_grant",
    "error_description": "The grant is invalid, expired or revoked.",
}


def assert_invalid_grant(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json() == INVALID_GRANT
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_refresh_rotates_both_tokens(user, password):
    first = sign_in(user, password)
    response = refresh(first["refresh_token"], headers={"HTTP_USER_AGENT": "phone/2.0"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "read write"
    old, new = refresh_row(first["refresh_token"]), refresh_row(second["refresh_token"])
    assert old.revoked is not None
    assert new.revoked is None
    assert new.token_family == old.token_family
    assert new.token == ""
    assert me_status(second["access_token"]) == 200
    session = session_of(second["refresh_token"])
    assert session.user_agent == "phone/2.0"
    assert session.last_used > session.created


def test_previous_access_token_is_revoked_by_rotation_in_strict_mode(user, password):
    # Decision (docs/api.md): DOT's rotation revokes the pair it replaces, so
    # the previous access token stops at once in strict mode.
    first = sign_in(user, password)
    second = refresh(first["refresh_token"]).json()
    assert access_row(first["access_token"]) is None
    assert me_status(first["access_token"]) == 401
    assert me_status(second["access_token"]) == 200


def test_replayed_refresh_token_revokes_its_whole_family_only(user, password):
    rt1 = sign_in(user, password)
    other = sign_in(user, password)
    rt2 = refresh(rt1["refresh_token"]).json()
    family = refresh_row(rt2["refresh_token"]).token_family

    assert_invalid_grant(refresh(rt1["refresh_token"]))

    assert live_refresh_tokens(family) == 0
    assert family_access_tokens(family) == 0
    assert_invalid_grant(refresh(rt2["refresh_token"]))
    assert me_status(rt2["access_token"]) == 401
    assert session_of(rt2["refresh_token"]).revoked is not None
    # The user's other sign-in is untouched.
    assert me_status(other["access_token"]) == 200
    assert refresh(other["refresh_token"]).status_code == 200


def test_a_request_that_arrived_before_the_rotation_lost_a_race_not_a_replay(user, password):
    rt1 = sign_in(user, password)
    arrived = timezone.now()
    rt2 = refresh(rt1["refresh_token"]).json()
    family = refresh_row(rt2["refresh_token"]).token_family
    client = services.ClientInfo(ip_address=None, user_agent="")

    with pytest.raises(InvalidGrant):
        services.refresh(rt1["refresh_token"], scope=None, client=client, requested_at=arrived)

    assert live_refresh_tokens(family) == 1
    assert me_status(rt2["access_token"]) == 200
    # The same token sent after the rotation is a replay.
    with pytest.raises(InvalidGrant):
        services.refresh(rt1["refresh_token"], scope=None, client=client)
    assert live_refresh_tokens(family) == 0


def test_refresh_within_the_absolute_lifetime_never_extends_it(user, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tokens = sign_in(user, password)
    expires = session_of(tokens["refresh_token"]).expires
    assert expires == start + timedelta(days=14)
    with time_machine.travel(start + timedelta(days=13, hours=23), tick=False):
        response = refresh(tokens["refresh_token"])
        assert response.status_code == 200
        tokens = response.json()
    assert session_of(tokens["refresh_token"]).expires == expires
    with time_machine.travel(start + timedelta(days=14, seconds=1), tick=False):
        assert_invalid_grant(refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_lifetime_comes_from_refresh_token_lifetime(settings, user, password):
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "REFRESH_TOKEN_LIFETIME": timedelta(hours=1)}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tokens = sign_in(user, password)
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert_invalid_grant(refresh(tokens["refresh_token"]))


def test_unknown_and_malformed_refresh_tokens(user, password):
    sign_in(user, password)
    assert_invalid_grant(refresh("not-a-token"))
    response = refresh("x" * 8193)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    response = refresh("")
    assert response.json()["error"] == "invalid_request"


def test_access_token_sent_as_refresh_token_is_invalid_grant(user, password):
    tokens = sign_in(user, password)
    assert_invalid_grant(refresh(tokens["access_token"]))
    assert me_status(tokens["access_token"]) == 200


def test_revoked_refresh_token_is_invalid_grant(user, password):
    tokens = sign_in(user, password)
    refresh_row(tokens["refresh_token"]).revoke()
    assert_invalid_grant(refresh(tokens["refresh_token"]))


def test_another_clients_refresh_token_is_invalid_grant_and_untouched(user):
    _access, other = store_other_clients_tokens(
        user, access_token="oauth-access", refresh_token="oauth-refresh"
    )
    assert_invalid_grant(refresh("oauth-refresh"))
    other.refresh_from_db()
    assert other.revoked is None


def test_inactive_user_cannot_refresh_and_the_family_is_revoked(user, password):
    tokens = sign_in(user, password)
    # A queryset update bypasses the deactivation receiver: refresh catches it.
    get_user_model()._default_manager.filter(pk=user.pk).update(is_active=False)
    assert_invalid_grant(refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_deleted_user_refresh_is_invalid_grant(user, password):
    tokens = sign_in(user, password)
    user.delete()
    assert_invalid_grant(refresh(tokens["refresh_token"]))


def test_password_change_by_queryset_update_stops_refresh(user, password):
    tokens = sign_in(user, password)
    get_user_model()._default_manager.filter(pk=user.pk).update(password="md5$new$hash")
    assert_invalid_grant(refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_narrower_scope_is_honoured_wider_is_invalid_scope(user, password):
    tokens = sign_in(user, password, scope="read")
    response = refresh(tokens["refresh_token"], scope="read write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    # A refused scope does not consume the token.
    assert refresh_row(tokens["refresh_token"]).revoked is None

    wide = sign_in(user, password)
    narrowed = refresh(wide["refresh_token"], scope="read")
    assert narrowed.status_code == 200
    assert narrowed.json()["scope"] == "read"
    assert access_row(narrowed.json()["access_token"]).scope == "read"


def test_the_successor_row_is_what_dots_validator_would_write(user, password):
    # rotation_writes inserts the new refresh row itself (one prepared INSERT):
    # every column must be what DOT's _create_refresh_token + save() write.
    tokens = sign_in(user, password)
    spent = refresh_row(tokens["refresh_token"])
    rotated = refresh(tokens["refresh_token"]).json()
    stored = refresh_row(rotated["refresh_token"])
    assert stored.pk is not None
    assert stored.token == ""  # RFC 9700 storage: the digest only

    model = get_refresh_token_model()
    request = store.token_request(stored.application, user=user, scopes=rotated["scope"].split())
    validator = store.oauth_server().request_validator
    with mock.patch.object(model, "save", autospec=True) as save:
        built = validator._create_refresh_token(
            request, rotated["refresh_token"], stored.access_token, spent
        )
    save.assert_called_once()
    written = {
        field.attname: field.pre_save(built, True)
        for field in model._meta.concrete_fields
        if field.attname not in ("id", "created", "updated")
    }
    assert written == {name: getattr(stored, name) for name in written}
    assert set(written) >= {"token_checksum", "token_family", "access_token_id", "user_id"}
    assert stored.created is not None
    assert stored.updated is not None


def test_database_error_mid_refresh_rolls_everything_back(user, password):
    tokens = sign_in(user, password)
    family = refresh_row(tokens["refresh_token"]).token_family
    counts = (get_access_token_model().objects.count(), get_refresh_token_model().objects.count())
    last_used = session_of(tokens["refresh_token"]).last_used

    # The old refresh token is spent and the access-token row rewritten, then
    # the database refuses the new refresh token's insert (NOT NULL): a
    # failure inside the batch of writes, after the first two ran (one round
    # trip on PostgreSQL, one by one elsewhere).
    refresh_row_of = store._refresh_row

    def ownerless(request: Any, raw_token: str, **fields: Any) -> Any:
        built = refresh_row_of(request, raw_token, **fields)
        built.user_id = None
        return built

    with (
        mock.patch.object(store, "_refresh_row", side_effect=ownerless),
        CaptureQueriesContext(connection) as queries,
    ):
        response = refresh(tokens["refresh_token"])
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
    retry = refresh(tokens["refresh_token"])
    assert retry.status_code == 200
    assert live_refresh_tokens(family) == 1
    assert get_refresh_token_model().objects.filter(access_token__isnull=True).count() == 1
    assert get_refresh_token_model().objects.get(access_token__isnull=True).revoked is not None


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


def _executed(queries) -> list[str]:
    """The SQL of each ``execute()`` of a capture, leaving out transaction control."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
    return [q["sql"] for q in queries if not q["sql"].upper().startswith(control)]


def _statements(queries) -> list[str]:
    """The SQL statements of a capture (an ``execute()`` may send several)."""
    return [
        statement.rstrip(";") for sql in _executed(queries) for statement in sqlparse.split(sql)
    ]


def test_refresh_is_two_locking_reads_and_four_writes(user, password):
    tokens = sign_in(user, password)
    with CaptureQueriesContext(connection) as captured:
        response = refresh(tokens["refresh_token"])
    assert response.status_code == 200
    kinds = [sql.split(None, 1)[0].upper() for sql in _statements(captured.captured_queries)]
    # Session + user, the presented token + access token + policy; then spend
    # it, rewrite the access-token row, insert the successor, touch the session.
    assert kinds == ["SELECT", "SELECT", "UPDATE", "UPDATE", "INSERT", "UPDATE"]
    # The two reads are one round trip and the four writes another where the
    # driver takes several statements at once: PostgreSQL with client-side
    # binding (the default).
    client_side = connection.vendor == "postgresql" and not connection.settings_dict["OPTIONS"].get(
        "server_side_binding"
    )
    assert len(_executed(captured.captured_queries)) == (2 if client_side else 6)


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
            response = refresh(tokens["refresh_token"], client=client)
        else:
            response = client.post(REVOKE_URL, {"token": tokens["refresh_token"]}, format="json")
    assert response.status_code == 200
    plans = []
    with connection.cursor() as cursor:
        for sql in _statements(captured.captured_queries):
            if sql.split(None, 1)[0].upper() in {"SELECT", "UPDATE", "DELETE"}:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plans.extend(row[-1] for row in cursor.fetchall())
    assert not [step for step in plans if step.startswith("SCAN")], plans
    # DOT's token tables (U0 is the family subquery's alias): by a unique
    # digest, the primary key, the family, or the one-to-one access token;
    # never by application_id.
    tables = {
        model._meta.db_table for model in (get_refresh_token_model(), get_access_token_model())
    }
    keys = ("(token_checksum=?)", "(rowid=?)", "(token_family=?)", "(access_token_id=?)")
    token_steps = [step for step in plans if step.split()[1] in tables | {"U0"}]
    assert any("(token_checksum=?)" in step for step in token_steps), plans
    assert [
        step for step in token_steps if not step.removesuffix(" LEFT-JOIN").endswith(keys)
    ] == [], plans


def test_the_family_keeps_one_access_token_row_rewritten_in_place(user, password):
    first = sign_in(user, password)
    row = access_row(first["access_token"])
    second = refresh(first["refresh_token"]).json()
    third = refresh(second["refresh_token"]).json()
    family = refresh_row(third["refresh_token"]).token_family
    assert family_access_tokens(family) == 1
    rewritten = access_row(third["access_token"])
    assert rewritten.pk == row.pk
    assert rewritten.source_refresh_token_id == refresh_row(second["refresh_token"]).pk
    assert rewritten.expires > row.expires
    assert refresh_row(third["refresh_token"]).access_token_id == row.pk
    assert refresh_row(second["refresh_token"]).access_token_id is None
    assert [me_status(t["access_token"]) for t in (first, second, third)] == [401, 401, 200]


def test_an_orphaned_refresh_token_is_refused_and_its_family_revoked(user, password):
    # DOT's rule: a live refresh token whose access token was deleted out of
    # band (e.g. by hand in DOT's admin) must not mint a new one.
    tokens = sign_in(user, password)
    family = refresh_row(tokens["refresh_token"]).token_family
    get_access_token_model().objects.filter(pk=access_row(tokens["access_token"]).pk).delete()
    assert_invalid_grant(refresh(tokens["refresh_token"]))
    assert live_refresh_tokens(family) == 0
    assert session_of(tokens["refresh_token"]).revoked is not None


def test_dots_idle_expiry_ends_a_family(settings, user, password):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_EXPIRE_SECONDS": 3600}
    start = timezone.now()
    tokens = sign_in(user, password)
    # Alive until an hour after its 5-minute access token expired ...
    with time_machine.travel(start + timedelta(minutes=5, seconds=3599)):
        kept = refresh(tokens["refresh_token"])
    assert kept.status_code == 200
    # ... and the expiry slides with each new access token; then it ends.
    with time_machine.travel(start + timedelta(minutes=10, seconds=7201)):
        assert_invalid_grant(refresh(kept.json()["refresh_token"]))
    assert live_refresh_tokens(refresh_row(tokens["refresh_token"]).token_family) == 0


def test_replay_query_count(django_assert_max_num_queries, user, password):
    tokens = sign_in(user, password)
    refresh(tokens["refresh_token"])
    with django_assert_max_num_queries(17):
        assert_invalid_grant(refresh(tokens["refresh_token"]))


def test_session_row_is_kept_for_the_family(user, password):
    tokens = sign_in(user, password)
    refreshed = refresh(tokens["refresh_token"]).json()
    assert TokenSession.objects.count() == 1
    assert session_of(refreshed["refresh_token"]) == session_of(tokens["refresh_token"])
