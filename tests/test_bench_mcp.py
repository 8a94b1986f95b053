"""The benchmark's MCP cases (``bench.mcp``), run in the test project.

The ``mcp`` phase pairs strict ``authenticate()`` of a default-resource token
with the same class for an RFC 8707 resource, and with the MCP SDK's token
verifier (``bearer_auth.mcp.BearerTokenVerifier``) awaited on an event loop.
These tests show that each case does what its ratio says: the two tokens
differ by their audience alone, each is refused where the other is
accepted, every check is strict mode's one statement (the verifier's, sent
from asgiref's thread, counted there), and a missed target fails ``--check``.
Without the ``mcp`` package the verifier's tests are skipped, except under
``CI=true``, where it is part of the ``test`` extra and must be there.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from oauth2_provider.models import get_access_token_model

from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.exceptions import InvalidToken
from bearer_auth.jwt import audience
from bench import report
from bench.mcp import RESOURCE, Tokens, cases_for, issue_tokens
from bench.report import MCP, RATIOS, misses
from bench.timing import Case, CaseFailed, checked, statement_count
from tests.bench_support import measured, warm_statements
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the verifier queries from another thread


@pytest.fixture(autouse=True)
def _executor_connection_closed() -> Iterator[None]:
    """Close the connection the verifier's query opened in asgiref's shared thread.

    That thread outlives the test; its connection would keep PostgreSQL from
    dropping the test database.
    """
    yield
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


@pytest.fixture
def tokens() -> Tokens:
    application = ApplicationFactory()
    # The two members the phase reads.
    fixtures: Any = SimpleNamespace(user=UserFactory(), dot_client_id=application.client_id)
    return issue_tokens(fixtures)


def _by_name(tokens: Tokens) -> dict[str, Case]:
    return {case.name: case for case in cases_for(tokens)}


def test_the_two_tokens_differ_by_their_audience_alone(tokens: Tokens) -> None:
    default = jwt.decode(tokens.default, options={"verify_signature": False})
    resource = jwt.decode(tokens.resource, options={"verify_signature": False})
    assert (default["aud"], resource["aud"]) == (audience(), RESOURCE)
    assert jwt.get_unverified_header(tokens.default) == jwt.get_unverified_header(tokens.resource)
    same = {"iss", "sub", "client_id", "scope", "pfp"}
    assert {claim: default[claim] for claim in same} == {claim: resource[claim] for claim in same}
    # Stored as DOT stores a token issued for a resource: the row names it.
    rows = get_access_token_model().objects.filter(user=tokens.user)
    assert sorted(tuple(row.resource) for row in rows) == [(), (RESOURCE,)]


def test_each_authenticate_case_accepts_its_token_and_the_other_class_refuses_it(
    tokens: Tokens,
) -> None:
    cases = _by_name(tokens)
    for name in ("mcp/bearer-strict", "mcp/bearer-strict-resource"):
        user, _ = checked(cases[name])
        assert user.pk == tokens.user.pk
    # The resource case runs the audience comparison: each token only where it belongs.
    with pytest.raises(InvalidToken):
        BearerTokenAuthentication().authenticate_credentials(tokens.resource)
    with pytest.raises(InvalidToken):
        BearerTokenAuthentication(resource=RESOURCE).authenticate_credentials(tokens.default)


def test_every_check_is_strict_modes_one_statement_the_verifiers_counted_in_its_thread(
    tokens: Tokens,
) -> None:
    pytest.importorskip("mcp", reason="the verifier's cases need the mcp extra")
    cases = _by_name(tokens)
    found = {name: warm_statements(case) for name, case in cases.items()}
    counts = {name: statement_count(queries) for name, queries in found.items()}
    assert counts == {
        "mcp/bearer-strict": 1,
        "mcp/bearer-strict-resource": 1,
        "mcp/bearer-strict-resource-hop": 1,
        "mcp/loop": 0,
        "mcp/hop": 0,
        "mcp/verifier": 1,
    }
    # The same statement: the token's row with its user, by the token's digest.
    [strict] = found["mcp/bearer-strict-resource"]
    table = get_access_token_model()._meta.db_table
    assert f'FROM "{table}"' in strict["sql"]
    shape = strict["sql"].split(" WHERE ")[0]
    for name in ("mcp/bearer-strict-resource-hop", "mcp/verifier"):
        [there] = found[name]
        assert there["sql"].split(" WHERE ")[0] == shape, name


def test_the_verifier_case_fails_the_run_when_the_token_is_refused(tokens: Tokens) -> None:
    pytest.importorskip("mcp", reason="the verifier's cases need the mcp extra")
    verifier = _by_name(tokens)["mcp/verifier"]
    access = checked(verifier)
    assert (access.resource, access.user.pk) == (RESOURCE, tokens.user.pk)
    get_access_token_model().objects.filter(user=tokens.user).delete()  # revoked: strict refuses
    with pytest.raises(CaseFailed, match="mcp/verifier"):
        checked(verifier)


def test_without_the_mcp_package_only_the_verifiers_cases_are_left_out(
    tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bearer_auth.mcp", None)  # import raises ImportError
    assert list(_by_name(tokens)) == [
        "mcp/bearer-strict",
        "mcp/bearer-strict-resource",
        "mcp/bearer-strict-resource-hop",
        "mcp/loop",
        "mcp/hop",
    ]


def test_a_missed_mcp_target_is_a_miss_as_every_target_is() -> None:
    by_label = {ratio.label: ratio for ratio in RATIOS if ratio.section == MCP}
    resource = by_label["`authenticate()` for a resource ÷ for the default resource"]
    verifier = by_label[
        "`BearerTokenVerifier.verify_token` (MCP SDK) ÷ `authenticate()`, default resource"
    ]
    assert (resource.target, verifier.target) == (1.05, 1.05)
    measurements = {
        "mcp/bearer-strict": measured(100),
        "mcp/bearer-strict-resource": measured(104),
        "mcp/verifier": measured(104),
        "mcp/bearer-strict-resource-hop": measured(130),
        "mcp/loop": measured(10),
        "mcp/hop": measured(30),
    }
    run = {"database": "sqlite", "measurements": measurements}
    assert not [miss for miss in misses([run]) if miss.ratio.section == MCP]
    measurements["mcp/bearer-strict-resource"] = measured(106)
    measurements["mcp/verifier"] = measured(150)
    missed = {miss.ratio.label: miss.value for miss in misses([run]) if miss.ratio.section == MCP}
    assert missed == {resource.label: pytest.approx(1.06), verifier.label: pytest.approx(1.5)}


def test_a_run_without_the_mcp_package_names_it_not_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def version(name: str) -> str:
        if name == "mcp":
            raise PackageNotFoundError(name)
        return installed_version(name)

    monkeypatch.setattr(report, "version", version)
    versions = report.installed_versions()
    assert versions["mcp"] == "not installed"
    assert versions["Django"] == installed_version("Django")
