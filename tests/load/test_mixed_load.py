"""The 20-second mixed load run against gunicorn + PostgreSQL + Redis (``tests/load/mixed.py``).

1% sign-in, 5% refresh, 94% API from 16 client threads, with the signing key
rotated from another process mid-run: zero 5xx, zero lost sessions (no
unexpected 401); p50/p99 per operation are printed (``pytest -s``) and attached to
any failure.
"""

from __future__ import annotations

import os
from typing import Any

import jwt
import pytest
import requests
from django.db import connection

from bearer_auth import keys
from bearer_auth.models import SigningKey
from tests.factories import UserFactory
from tests.load.mixed import free_port, gunicorn, key_rotation_after, run_mixed_load

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

PASSWORD = "load-password-0123"


def _test_database_url() -> str:
    """The URL of the database this test runs on, for gunicorn's workers."""
    database = connection.settings_dict
    credentials = database["USER"] or "postgres"
    if database["PASSWORD"]:
        credentials += f":{database['PASSWORD']}"
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{database['NAME']}"


def test_twenty_second_mixed_load_has_no_5xx_and_loses_no_session(db: Any) -> None:
    accounts = [(UserFactory(password=PASSWORD).get_username(), PASSWORD) for _ in range(32)]
    first_kid = keys.current_signing_key().kid
    database_url, redis_url = _test_database_url(), os.environ["REDIS_URL"]
    with gunicorn(database_url=database_url, redis_url=redis_url, port=free_port()) as base_url:
        # Rotated from another process 7 s in: no request may notice.
        with key_rotation_after(7, database_url=database_url, redis_url=redis_url):
            report = run_mixed_load(base_url, accounts, seconds=20)
        signed_in = requests.post(
            base_url + "/auth/token/",
            json={"email": accounts[0][0], "password": PASSWORD},
            timeout=30,
        )
    print(report.summary())
    new_kid = SigningKey.objects.get(active=True).kid
    assert new_kid != first_kid
    # Every worker picked the new key up through the key-set version in the database.
    assert jwt.get_unverified_header(signed_in.json()["access_token"])["kid"] == new_kid
    assert report.total > 200, report.summary()
    assert report.server_errors == 0, report.summary()
    assert report.lost_sessions == [], report.summary()
    operations = {operation for operation, _ in report.answers}
    assert operations == {"sign-in", "refresh", "api"}, report.summary()
