"""The benchmark's OpenID Connect cases (``bench.oidc``), run in the test project.

The benchmark reports how many SQL statements each case sends
(``tests/test_bench_smoke.py`` checks its report); here the same cases, run
in process as the benchmark runs them, show which statements those are: an
ID token costs one statement, its row (the user is read by every code
exchange), and UserInfo in strict mode is the one query of the token check.
"""

from __future__ import annotations

import re
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_id_token_model

from bench.oidc import oidc_cases
from bench.timing import Case, statement_count
from tests.bench_support import warm_statements
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_VERB = re.compile(r"^(SELECT|INSERT|UPDATE|DELETE)\b")
_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE) "(\w+)"')


def _cases() -> dict[str, Case]:
    fixtures: Any = SimpleNamespace(user=UserFactory())  # the one member the cases read
    return {case.name: case for case in oidc_cases(fixtures)}


def _kinds(queries: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """Each statement as (verb, first table), transaction control left out."""
    found: Counter[tuple[str, str]] = Counter()
    for query in queries:
        verb, table = _VERB.match(query["sql"]), _TABLE.search(query["sql"])
        if verb and table:
            found[(verb.group(1), table.group(1))] += 1
    assert sum(found.values()) == statement_count(queries)  # every statement has its kind
    return found


@pytest.mark.usefixtures("oidc")
def test_an_openid_code_exchange_adds_one_statement_its_id_token_row() -> None:
    cases = _cases()
    with_openid = warm_statements(cases["oidc/exchange-openid"])
    without = warm_statements(cases["oidc/exchange"])
    assert statement_count(with_openid) == statement_count(without) + 1
    id_tokens = get_id_token_model()._meta.db_table
    assert _kinds(with_openid) - _kinds(without) == Counter({("INSERT", id_tokens): 1})
    assert not _kinds(without) - _kinds(with_openid)
    # The user is read by every exchange, with or without an ID token.
    users = get_user_model()._meta.db_table
    assert _kinds(without)[("SELECT", users)] == 1


@pytest.mark.usefixtures("oidc")
def test_userinfo_is_one_statement_in_strict_mode_as_auth_me_is() -> None:
    cases = _cases()
    for name in ("oidc/userinfo", "oidc/me"):
        assert statement_count(warm_statements(cases[name])) == 1, name
