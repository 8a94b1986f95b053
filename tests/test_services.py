"""The runs that claim PostgreSQL and Redis really use them."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_run_uses_postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone()
    assert version.startswith("PostgreSQL")


@pytest.mark.redis
def test_redis_url_switches_the_cache_to_redis() -> None:
    assert isinstance(caches["default"], RedisCache)
    cache.set("bearer-auth-probe", "pong", timeout=5)
    assert cache.get("bearer-auth-probe") == "pong"
