"""The ratios of issue 7, their targets, and ``docs/performance.md``."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

DATABASE_LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
#: The distributions whose versions each run records, and their short names in the report.
PACKAGES = {
    "Django": "Django",
    "djangorestframework": "DRF",
    "django-oauth-toolkit": "DOT",
    "oauthlib": "oauthlib",
    "PyJWT": "PyJWT",
    "djangorestframework-simplejwt": "simplejwt",
    "cryptography": "cryptography",
    "gunicorn": "gunicorn",
}


def installed_versions() -> dict[str, str]:
    """The installed version of each of :data:`PACKAGES`, in the running interpreter."""
    return {name: version(name) for name in PACKAGES}


def run_label(result: Mapping[str, Any]) -> str:
    """A run's column heading: its database and the ``major.minor`` of its Django."""
    database = DATABASE_LABELS.get(result["database"], result["database"])
    django = result.get("packages", {}).get("Django")
    if django is None:
        return database
    return f"{database}, Django {'.'.join(django.split('.')[:2])}"


def run_labels(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every run's heading, numbered when two runs would share one (the same Django twice)."""
    labels = [run_label(result) for result in results]
    return [
        label if labels.count(label) == 1 else f"{label} #{labels[:index].count(label) + 1}"
        for index, label in enumerate(labels)
    ]


@dataclass(frozen=True)
class Ratio:
    """One row of the table: ``numerator ÷ denominator`` of two cases' medians.

    ``kind`` is ``"time"`` (µs per call), ``"rate"`` (requests/s) or
    ``"queries"`` (the numerator's query count; no denominator).
    """

    section: str
    label: str
    numerator: str
    denominator: str | None = None
    target: float | None = None
    at_most: bool = True
    kind: str = "time"

    def value(self, measurements: Mapping[str, Any]) -> float | None:
        top = measurements.get(self.numerator)
        if top is None:
            return None
        if self.kind == "queries":
            return float(top["queries"])
        bottom = measurements.get(self.denominator or "")
        if bottom is None or not bottom["median"]:
            return None
        return paired_ratio(top, bottom)

    def instruction_ratio(self, counts: Mapping[str, float]) -> float | None:
        """``numerator ÷ denominator`` of instructions per call; ``None`` if either is missing."""
        if self.kind != "time":
            return None
        top, bottom = counts.get(self.numerator), counts.get(self.denominator or "")
        if top is None or not bottom:
            return None
        return top / bottom

    def met(self, value: float | None) -> bool | None:
        if self.target is None:
            return None
        if value is None:
            return False
        return value <= self.target if self.at_most else value >= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return ""
        number = f"{self.target:g}" if self.kind == "queries" else f"{self.target:g}x"
        return f"{'≤' if self.at_most else '≥'} {number}"


def paired_ratio(top: Mapping[str, Any], bottom: Mapping[str, Any]) -> float:
    """The median over repeats of ``top ÷ bottom`` measured in the same repeat.

    Both cases ran in every repeat, seconds apart at most, so what the
    machine did between repeats (another tenant, a frequency change) weighs
    on both sides of each repeat's ratio alike.
    """
    pairs = zip(top["samples"], bottom["samples"], strict=True)
    return statistics.median(numerator / denominator for numerator, denominator in pairs)


AUTH = "In-process `authenticate()`, per call"
CLIENT = "Whole stack through Django's test client, time per request ÷ the no-auth view"
HTTP = "gunicorn (2 sync workers) + wrk on 127.0.0.1, requests/s"
SIGN_IN = "Sign-in, per request"
REFRESH = "Refresh with rotation, per request"
SCALE = "Scale: stored sessions (token families)"

RATIOS: tuple[Ratio, ...] = (
    Ratio(AUTH, "strict RS256 ÷ simplejwt HS256", "auth/bearer-strict-RS256",
          "auth/simplejwt-HS256", 0.9),
    Ratio(AUTH, "strict RS256 ÷ DOT", "auth/bearer-strict-RS256", "auth/dot", 0.4),
    Ratio(AUTH, "strict ES256 ÷ simplejwt HS256", "auth/bearer-strict-ES256",
          "auth/simplejwt-HS256"),
    Ratio(AUTH, "strict EdDSA ÷ simplejwt HS256", "auth/bearer-strict-EdDSA",
          "auth/simplejwt-HS256"),
    Ratio(AUTH, "strict RS256 ÷ (PyJWT RS256 decode)", "auth/bearer-strict-RS256",
          "floor/pyjwt-RS256"),
    Ratio(AUTH, "strict RS256, verifying every call ÷ simplejwt HS256",
          "auth/bearer-strict-verify-RS256", "auth/simplejwt-HS256"),
    Ratio(AUTH, "strict RS256, verifying every call ÷ DOT", "auth/bearer-strict-verify-RS256",
          "auth/dot"),
    Ratio(AUTH, "stateless RS256, verifying every call ÷ PyJWT RS256 decode",
          "auth/bearer-stateless-verify-RS256", "floor/pyjwt-RS256", 1.15),
    Ratio(AUTH, "stateless ES256, verifying every call ÷ PyJWT ES256 decode",
          "auth/bearer-stateless-verify-ES256", "floor/pyjwt-ES256", 1.15),
    Ratio(AUTH, "stateless EdDSA, verifying every call ÷ PyJWT EdDSA decode",
          "auth/bearer-stateless-verify-EdDSA", "floor/pyjwt-EdDSA", 1.15),
    Ratio(AUTH, "stateless RS256 ÷ PyJWT RS256 decode", "auth/bearer-stateless-RS256",
          "floor/pyjwt-RS256"),
    Ratio(AUTH, "stateless ES256 ÷ PyJWT ES256 decode", "auth/bearer-stateless-ES256",
          "floor/pyjwt-ES256"),
    Ratio(AUTH, "stateless EdDSA ÷ PyJWT EdDSA decode", "auth/bearer-stateless-EdDSA",
          "floor/pyjwt-EdDSA"),
    Ratio(AUTH, "opaque (DOT token) ÷ DOT", "auth/bearer-opaque", "auth/dot"),
    Ratio(AUTH, "simplejwt HS256 ÷ (PyJWT HS256 + ORM pk get)", "auth/simplejwt-HS256",
          "floor/pyjwt-HS256+orm-get"),
    Ratio(AUTH, "simplejwt RS256 ÷ simplejwt HS256", "auth/simplejwt-RS256",
          "auth/simplejwt-HS256"),
    Ratio(AUTH, "simplejwt stateless ÷ PyJWT HS256 decode", "auth/simplejwt-stateless",
          "floor/pyjwt-HS256"),
    Ratio(AUTH, "DOT ÷ simplejwt HS256", "auth/dot", "auth/simplejwt-HS256"),
    Ratio(AUTH, "ORM `User.objects.get(pk=…)` ÷ raw cursor SELECT", "floor/orm-get",
          "floor/raw-select"),
    Ratio(CLIENT, "bearer_auth strict RS256", "client/bearer-strict-RS256", "client/none"),
    Ratio(CLIENT, "bearer_auth stateless RS256", "client/bearer-stateless-RS256",
          "client/none"),
    Ratio(CLIENT, "simplejwt HS256", "client/simplejwt-HS256", "client/none"),
    Ratio(CLIENT, "simplejwt stateless", "client/simplejwt-stateless", "client/none"),
    Ratio(CLIENT, "DOT", "client/dot", "client/none"),
    Ratio(CLIENT, "PyJWT RS256 decode only (the floor)", "client/pyjwt-RS256", "client/none"),
    Ratio(HTTP, "strict RS256 ÷ simplejwt HS256", "http/bearer-strict-RS256",
          "http/simplejwt-HS256", 1.1, at_most=False, kind="rate"),
    Ratio(HTTP, "stateless RS256 ÷ no-auth view", "http/bearer-stateless-RS256", "http/none",
          0.8, at_most=False, kind="rate"),
    Ratio(HTTP, "strict RS256, verifying every request ÷ simplejwt HS256",
          "http/bearer-strict-verify-RS256", "http/simplejwt-HS256", kind="rate"),
    Ratio(HTTP, "stateless RS256, verifying every request ÷ no-auth view",
          "http/bearer-stateless-verify-RS256", "http/none", kind="rate"),
    Ratio(HTTP, "strict RS256 ÷ no-auth view", "http/bearer-strict-RS256", "http/none",
          kind="rate"),
    Ratio(HTTP, "simplejwt HS256 ÷ no-auth view", "http/simplejwt-HS256", "http/none",
          kind="rate"),
    Ratio(HTTP, "simplejwt stateless ÷ no-auth view", "http/simplejwt-stateless", "http/none",
          kind="rate"),
    Ratio(HTTP, "DOT ÷ no-auth view", "http/dot", "http/none", kind="rate"),
    Ratio(HTTP, "PyJWT RS256 decode only ÷ no-auth view", "http/pyjwt-RS256", "http/none",
          kind="rate"),
    Ratio(HTTP, "stateless RS256 ÷ PyJWT RS256 decode only", "http/bearer-stateless-RS256",
          "http/pyjwt-RS256", kind="rate"),
    Ratio(HTTP, "stateless RS256, verifying every request ÷ PyJWT RS256 decode only",
          "http/bearer-stateless-verify-RS256", "http/pyjwt-RS256", kind="rate"),
    Ratio(SIGN_IN, "bearer_auth `/auth/token/` ÷ the `check_password` inside it",
          "signin/bearer", "signin/bearer:check-password", 1.05),
    Ratio(SIGN_IN, "simplejwt `TokenObtainPairView` ÷ the `check_password` inside it",
          "signin/simplejwt", "signin/simplejwt:check-password"),
    Ratio(SIGN_IN, "bearer_auth `/auth/token/` ÷ a separate `check_password` call",
          "signin/bearer", "signin/check-password"),
    Ratio(SIGN_IN, "simplejwt `TokenObtainPairView` ÷ a separate `check_password` call",
          "signin/simplejwt", "signin/check-password"),
    Ratio(SIGN_IN, "the `check_password` inside bearer_auth's sign-in ÷ a separate call",
          "signin/bearer:check-password", "signin/check-password"),
    Ratio(REFRESH, "bearer_auth ÷ simplejwt rotate + blacklist", "refresh/bearer",
          "refresh/simplejwt", 1.0),
    Ratio(REFRESH, "bearer_auth ÷ DOT's own refresh grant", "refresh/bearer", "refresh/dot"),
    Ratio(REFRESH, "bearer_auth `/o/token/` ÷ `/auth/token/refresh/`", "refresh/bearer-oauth",
          "refresh/bearer"),
    Ratio(REFRESH, "bearer_auth queries per refresh", "refresh/bearer", None, 8, kind="queries"),
    Ratio(REFRESH, "bearer_auth `/o/token/` queries per refresh", "refresh/bearer-oauth", None,
          kind="queries"),
    Ratio(REFRESH, "simplejwt queries per refresh", "refresh/simplejwt", None, kind="queries"),
    Ratio(REFRESH, "DOT queries per refresh", "refresh/dot", None, kind="queries"),
    Ratio(SCALE, "authenticate, large ÷ small", "scale/authenticate-large",
          "scale/authenticate-small", 1.2),
    Ratio(SCALE, "refresh, large ÷ small", "scale/refresh-large", "scale/refresh-small", 1.2),
)  # fmt: skip


@dataclass(frozen=True)
class Miss:
    #: The run's heading (:func:`run_labels`): its database and Django.
    run: str
    ratio: Ratio
    value: float | None


def misses(results: Sequence[Mapping[str, Any]]) -> list[Miss]:
    """Every target missed (or not measured) in any run: any database, any Django."""
    found = []
    for label, result in zip(run_labels(results), results, strict=True):
        for ratio in RATIOS:
            value = ratio.value(result["measurements"])
            if ratio.met(value) is False:
                found.append(Miss(label, ratio, value))
    return found


def render(results: Sequence[Mapping[str, Any]], *, machine: Mapping[str, str], short: bool) -> str:
    """Return ``docs/performance.md``: one column per run (a database on one Django)."""
    runs = run_labels(results)
    lines = [
        "# Performance",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. A run is one",
        "database on one Django: `make bench` measures SQLite and PostgreSQL on the",
        "oldest and the newest Django of the CI matrix, each run in a process of its own",
        "(Runs, below). The ratios are the figures that hold across machines: every case",
        "of a run runs in the same process, interleaved, so both sides of a ratio saw the",
        "same machine. A target is met when it is met in every run.",
    ]
    if short:
        lines += [
            "",
            "**Short smoke run** (`--short`): too few repeats for the figures to mean much.",
        ]
    lines += ["", "## Ratios and targets", ""]
    lines += _ratio_table(results, runs)
    lines += ["", "## Measurements", ""]
    lines += _measurement_table(results, runs)
    lines += _instruction_tables(results, runs)
    lines += ["", "## Runs", ""]
    lines += _run_table(results, runs)
    lines += ["", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += ["", METHOD.strip(), "", LESSONS.strip(), ""]
    return "\n".join(lines)


def _run_table(results: Sequence[Mapping[str, Any]], runs: list[str]) -> list[str]:
    """Each run's Python, package versions and database server."""
    lines = [
        f"| run | Python | {' | '.join(PACKAGES.values())} | database |",
        f"|---|---|{'---|' * len(PACKAGES)}---|",
    ]
    for label, result in zip(runs, results, strict=True):
        packages = result.get("packages", {})
        versions = [packages.get(name, "unknown") for name in PACKAGES]
        cells = [result.get("python", "unknown"), *versions, result.get("server", "unknown")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def _ratio_table(results: Sequence[Mapping[str, Any]], runs: list[str]) -> list[str]:
    lines = [
        f"| | target | {' | '.join(runs)} |",
        f"|---|---|{'---|' * len(runs)}",
    ]
    section = None
    for ratio in RATIOS:
        if ratio.section != section:
            section = ratio.section
            lines.append(f"| **{section}** | | {' | '.join('' for _ in runs)} |")
        cells = []
        for result in results:
            value = ratio.value(result["measurements"])
            met = ratio.met(value)
            text = "not measured" if value is None else _number(value, ratio.kind)
            cells.append(text + {True: " ✓", False: " ✗", None: ""}[met])
        lines.append(f"| {ratio.label} | {ratio.target_text} | {' | '.join(cells)} |")
    return lines


def _number(value: float, kind: str) -> str:
    return f"{value:.0f}" if kind == "queries" else f"{value:.2f}x"


def _measurement_table(results: Sequence[Mapping[str, Any]], runs: list[str]) -> list[str]:
    names: list[str] = []
    for result in results:
        names += [name for name in result["measurements"] if name not in names]
    lines = [
        "Per call: the median (min-max) over repeats, then the SQL statements of one call.",
        "",
        f"| case | {' | '.join(runs)} |",
        f"|---|{'---|' * len(runs)}",
    ]
    for name in names:
        cells = []
        for result in results:
            found = result["measurements"].get(name)
            if found is None:
                cells.append("not measured")
            elif "count" in found:
                cells.append(f"{found['count']:,}")
            else:
                unit = found["unit"]
                queries = "" if found["queries"] is None else f", {found['queries']} q"
                cells.append(
                    f"{found['median']:,.1f} {unit} ({found['low']:,.1f}-{found['high']:,.1f})"
                    f"{queries}"
                )
        lines.append(f"| `{name}` | {' | '.join(cells)} |")
    return lines


def _instruction_tables(results: Sequence[Mapping[str, Any]], runs: list[str]) -> list[str]:
    """The ``--instructions`` section: instruction ratios, then instructions per call."""
    counted = [result.get("instructions") or {} for result in results]
    if not any(counted):
        return []
    lines = ["", "## Instructions per call (callgrind, `--instructions`)", "", INSTRUCTIONS.strip()]
    lines += ["", f"| | {' | '.join(runs)} |", f"|---|{'---|' * len(runs)}"]
    section = None
    for ratio in RATIOS:
        values = [ratio.instruction_ratio(counts) for counts in counted]
        if all(value is None for value in values):
            continue
        if ratio.section != section:
            section = ratio.section
            lines.append(f"| **{section}** | {' | '.join('' for _ in runs)} |")
        cells = ["not counted" if value is None else f"{value:.3f}x" for value in values]
        lines.append(f"| {ratio.label} | {' | '.join(cells)} |")
    names: list[str] = []
    for counts in counted:
        names += [name for name in counts if name not in names]
    lines += ["", f"| case | {' | '.join(runs)} |", f"|---|{'---|' * len(runs)}"]
    for name in names:
        cells = [
            "not counted" if name not in counts else f"{counts[name]:,.0f}" for counts in counted
        ]
        lines.append(f"| `{name}` | {' | '.join(cells)} |")
    return lines


def describe_machine(load: Sequence[float]) -> dict[str, str]:
    """The machine the runs shared (each run's software is in its result: Runs)."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = models[0] if models else cpu
    return {
        "date": datetime.now(tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": f"{cpu}, {os.cpu_count()} logical cores",
        "memory": _memory(),
        "OS": platform.platform(),
        "load average (1 min) at start and end": " / ".join(f"{value:.2f}" for value in load),
        "PostgreSQL OPTIONS (`BENCH_POSTGRES_OPTIONS`)": (
            os.environ.get("BENCH_POSTGRES_OPTIONS") or "none (Django's defaults)"
        ),
    }


def _memory() -> str:
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return "unknown"
    kilobytes = int(meminfo.read_text().split()[1])
    return f"{kilobytes / 1024 / 1024:.1f} GiB"


METHOD = """
## Method

- **Interleaving.** Each repeat runs every case once, in an order rotated by one
  per repeat; a case runs a batch of calls sized to about the same time for all.
  The figure of a case is the median of its batches' mean times; the table above
  shows the median and the min-max over repeats. A ratio is paired: the median,
  over repeats, of the two cases' ratio within that repeat (both ran in it,
  seconds apart), so a slow spell of the machine weighs on both sides of each
  repeat's ratio instead of on whichever case it happened to hit. Sign-in runs
  61 repeats of one call each (the other phases 31 batches).
- **Sign-in ÷ the password check inside it.** This machine's CPU switches
  between two speeds several times a minute (the same PBKDF2 hash takes about
  315 or 465 ms), so a sign-in and a separate `check_password` call, within
  a second of each other, often run at different speeds: one repeat's ratio
  of the two ranged from 0.71 to 1.55, and the median of 61 moved between
  1.02 and 1.06 from run to run, as wide as the 1.05x target's margin. The
  judged ratio pairs
  each sign-in with its own check instead: while a sign-in is timed,
  `django.contrib.auth.base_user.check_password` (what
  `AbstractBaseUser.check_password`, and so Django's `ModelBackend`, calls)
  is wrapped to time itself, and `signin/…:check-password` is that time per
  call in the same batches, so both sides of each ratio ran at the same
  speed. Every timed call must check the password exactly once or the run
  fails: a sign-in that hashed twice, or never, is not averaged into one.
  The ratio to a separate `check_password` call is still shown, without a
  target, and so is the check inside a sign-in ÷ a separate one (as noisy):
  near 1, it shows that a sign-in does not slow its own hash down, which
  would flatter the judged ratio.
- **Floors.** `PyJWT …` is `jwt.decode(token, key, algorithms=[alg], audience=…,
  issuer=…)` of a token with bearer_auth's claims and a prepared key object: the
  parse + verify cost below which no verifier gets. `ORM pk get` is
  `User.objects.get(pk=…)`; `raw SELECT` is the same row through a cursor.
  `PyJWT RS256 decode only` is the floor of a whole request: a DRF view with
  `IsAuthenticated` whose authentication class (`bench.peers.PyJWTAuthentication`)
  does that same `jwt.decode` and nothing else (no header or claim checks of
  its own), with simplejwt's `TokenUser` over the claims.
- **Setup shared by all cases.** One Django project (`bench/settings.py`) with
  bearer_auth, simplejwt (+ `token_blacklist`) and DOT installed; Security and
  Common middleware; persistent database connections (`CONN_MAX_AGE = None`);
  local-memory cache; Django's default password hasher (PBKDF2). bearer_auth's
  keys come from `SIGNING_KEYS` (RSA 2048, P-256, Ed25519); simplejwt signs HS256
  with `SIGNING_KEY` and RS256 with its own `TokenBackend`; DOT's tokens are
  opaque and stored hashed. Every call of every case is checked to succeed (a
  user, a 200), so no failure path is ever timed. Query counts are the SQL
  statements of one call, leaving out transaction control (`BEGIN`, `COMMIT`,
  `SAVEPOINT`, `RELEASE SAVEPOINT`); one `execute()` that sends several
  statements (bearer_auth's refresh writes on PostgreSQL) counts each.
- **One token, presented again and again.** Every authentication case sends
  the same access token on every call, as a client does until its token
  expires, so bearer_auth's cases meet its verified-token cache
  (`VERIFIED_TOKEN_CACHE_SIZE`, `docs/design.md`): the signature of that token
  was checked once, and each call checks the key, the dates and, in strict
  mode, the token row and user. The `verifying every call` (`-verify`) cases
  turn the cache off, so each call costs what a token's first use costs; the
  stateless ≤ 1.15x target, whose reference is PyJWT's verification itself,
  is judged on them. simplejwt and DOT have no such cache.
- **gunicorn.** Four servers (bearer_auth strict and stateless mode, each
  also with the verified-token cache off), 2 sync workers each, `wrk -t1 -c4`
  for a fixed time per URL and repeat; any non-2xx answer or socket error
  fails the run. wrk shares the 2 cores with gunicorn. The stateless server
  also serves the `PyJWT RS256 decode only` view.
- **Sign-in and refresh** go through the test client: bearer_auth's
  `/auth/token/` and `/auth/token/refresh/`, simplejwt's `TokenObtainPairView`
  and `TokenRefreshView` (rotation + blacklist), DOT's own `TokenView` with the
  refresh-token grant of a public client. Each refresh spends the token the last
  one returned.
- **Instructions** (`--instructions`, optional): the in-process cases once
  more, in a worker under valgrind's callgrind that counts only each case's
  calls; see the section above when it is there.
- **Scale** bulk-inserts sessions (a `TokenSession`, DOT access and refresh
  token rows per family, over 100 users) into two extra databases of the same
  schema, one with the small and one with the large count; a database router
  sends each case's queries to its database, so both sizes interleave. On
  PostgreSQL both databases are `VACUUM ANALYZE`d once loaded, as autovacuum
  would do, so no autovacuum worker starts on the new rows mid-measurement.
"""

INSTRUCTIONS = """
The user-space instructions of the benchmark process per call, counted by
valgrind's callgrind around each case's calls only (`bench/instructions.py`),
less the cost of counting an empty call. For the same code they agree within
about 1% between runs (hash seeds, garbage collection, PostgreSQL's answers),
where the timings of one case move by a third on this machine, so they show a
change's effect that the timings' spread hides. They leave out what the
process waits for (PostgreSQL's server, `fsync`) and they are not time:
OpenSSL's RSA and PBKDF2 retire several instructions per cycle, Python far
fewer. No target is judged on them.
"""

LESSONS = """
## What the profile showed (cProfile, before the optimisations)

Strict mode, RS256:

- Two thirds of a strict-mode `authenticate()` was Django building and
  compiling the same `select_related` queryset on every request
  (`filter()`, `get()`, `SQLCompiler.as_sql`/`get_select`/`get_related_selections`),
  not the database: the raw `SELECT` of the same row costs about a tenth of
  `User.objects.get(pk=…)`. The query is now prepared (`bearer_auth/prepared.py`):
  an ordinary queryset with a `Param` for the digest, compiled by Django once
  per connection and then sent as the same SQL with a new parameter; rows
  become model instances through Django's own `from_db` and `select_related`
  populators (the user complete, the token row with the columns read, the
  rest deferred).
- PyJWT's parser checks every character of every segment in Python.
  `jwt.get_unverified_header(token)` parsed the whole token (payload and
  signature too) only to find `kid`, and `jwt.decode` parsed it all again. Only
  the header segment is parsed now, and its checked `kid` is remembered by the
  segment's exact text (every token of one key has the same header).
- What is left is PyJWT's decode (the floor), the one query, the password
  fingerprint HMAC and the model instances.

Refresh (cProfile and pyinstrument of `/auth/token/refresh/` through the test client):

- oauthlib's refresh grant re-read the application, the refresh token and its
  access token several times: 19 statements. The rotation now runs on DOT's
  rows itself (two locking reads, four writes; `docs/design.md`, "Refresh
  internals") with the same rules.
- Then 40% of a refresh was Django building and compiling the two locking
  `select_related` reads (`filter()`, `as_sql`, `get_order_by`), and another
  10% the three `update()`/`save()` calls. All five are prepared now, like
  strict mode's read; DOT's oauthlib server, which DOT builds anew (with every
  grant type) per call and a refresh asked for twice, is built once per process.
- Then, on SQLite: the commit (its `fsync`, about a fifth), the RSA
  signature of the new access token (about an eighth), DOT's `save()` of the
  new refresh token (an eighth), DRF's request parsing, serializer and
  throttle, and the test client. DOT's `save()` built and compiled its
  `INSERT` on every refresh: 0.44 ms against 0.21 ms for the prepared
  `UPDATE` beside it (SQLite), 0.70 against 0.39 ms (PostgreSQL). The insert
  is prepared too now (`PreparedInsert`), the row built as DOT builds it.
  The benchmark's refresh throttle counted over a minute and locmem pickled
  thousands of timestamps per call (1 to 2%); its window is a second now, as
  `docs/design.md` ("Benchmark") says. On PostgreSQL each of the six
  statements plus `BEGIN` and `COMMIT` is a round trip to a server on the same
  two cores, 0.2 ms for a bare `SELECT 1` here and 0.5 to 1 ms for these (the
  joined reads spend 0.3 ms of it planning): about 60% of a refresh. Sending
  the statements in one psycopg pipeline was tried: it saved no measurable
  time here and was not kept. Sending several in one `execute()` did: with
  Django's default client-side binding psycopg sends a simple-protocol
  query, which may hold several statements, run in order; four such
  `UPDATE`s took 0.57 ms one by one and 0.34 ms together. The two locking
  reads now go in one round trip and the four writes in another
  (`prepared.fetch_together` / `execute_together`): four round trips with
  `BEGIN` and `COMMIT` instead of eight. One statement for both locking reads (the
  session, its user, the token, its application, policy and access token,
  `FOR UPDATE OF` two of them) was tried by hand on PostgreSQL: planning the
  six-table join took 0.85 ms against 0.36 ms for the two, and the pair of
  reads was faster (1.0 against 1.25 ms). Not kept.
- A first attempt joined the application in the session subquery: SQLite's
  planner, without statistics, then walked the `application_id` index, and a
  refresh at 100,000 sessions was 3.5x slower than at 1,000. The scale case
  found it; both look-ups go by the token's unique digest alone.
- The two locking reads fetched every column of five tables (22 and 43),
  and Django converted each (SQLite's text datetimes, DOT's JSON `resource`
  columns) for nothing. They fetch the 10 and 13 a refresh reads now: 6%
  fewer instructions per refresh (callgrind: 12.9 → 12.0 million on SQLite),
  a change the timings of this machine could not tell from noise.
- Counted in instructions (`--instructions`), a bearer_auth refresh does
  about 0.9x simplejwt's work in the benchmark's own process on both
  databases, and half of it is OpenSSL's RSA signature, which runs at several
  instructions per cycle. Its time is a smaller share of simplejwt's than
  that because it waits less: one commit instead of simplejwt's several
  autocommitted writes (each an `fsync`), six statements instead of nine,
  and on PostgreSQL four round trips. On PostgreSQL, `EXPLAIN ANALYZE` puts the server's part of
  the two joined reads at 0.12 and 0.19 ms of planning and 0.04 ms of
  execution each, the writes at about 0.06 ms each; psycopg's prepared
  statements remove the planning (`docs/deployment.md`: 10-15% off a refresh,
  about 15% off strict authentication), but Django's default does not use them.

Sign-in (pyinstrument and cProfile, with a fast hasher so that what is not hashing shows):

- Of what was not hashing, a fifth was the first-party application's
  `select_related` read; it is prepared now. The rest is Django's
  `authenticate()` (the user read), the two token inserts and the session's,
  the commit, the RSA signature and `user_logged_in` (`last_login`, which the
  simplejwt case is configured not to write).
- In instructions a sign-in was 1.002x `check_password` (16 million of its
  own beside PBKDF2's 6.9 billion; simplejwt's: 6 million), but in time
  1.02 to 1.04x: PBKDF2 in OpenSSL retires several instructions per cycle,
  Python about one, so those 16 million took 7 to 9 ms beside the hash's
  230 to 460 ms here, one commit's `fsync` included (more right after the
  hash than in a warm loop: 10 ms against 6 to 7 with a fast hasher).
  Against a separate `check_password` call the ratio moved between 1.02 and
  1.06 from run to run with this machine's two speeds; against the check
  inside the same sign-in it is steady (Method).
- On PostgreSQL that overhead was about 13 to 15 ms (simplejwt's: 7 to 8),
  1.033x and 1.036x in two full runs: a miss. The first statement after
  the hash took 1.4 to 3.9 ms, the next ones 0.55 to 0.7 ms each, and
  between DOT's `save()` calls Python ran 0.8 ms each. Two changes, each
  keeping every check: the three inserts are prepared, built as DOT's
  validator builds the rows, and sent in one round trip on PostgreSQL
  (`docs/design.md`, "Sign-in internals": they no longer send `post_save`),
  and `UserManager.get_by_natural_key` is prepared (Django's
  `alias().get()` built and compiled its `LOWER()` query on every sign-in:
  1.5 million instructions, for simplejwt's sign-in on the same user model
  too). With a fast hasher a sign-in went from 15.9 to 13.0 million
  instructions (simplejwt: 5.5 to 3.9) and from 2.1x to 1.8x simplejwt's
  time; with the real hash, on PostgreSQL, from 13 to 15 ms beside it to 11.4
  (simplejwt: 7.1), 1.028x, in a sign-in-only run; the full run is in the
  table above. What is left carries behaviour: the application's policy read (caching it
  across requests would keep old scopes and lifetimes in other processes
  after an admin edit), `last_login` (Django's `user_logged_in` receiver,
  a `save()` of its own), the transaction (`BEGIN`, `COMMIT`: the only
  `fsync`), and the RSA signature (about 1.1 ms; RS256 is the default).

Stateless mode, RS256 (in-process, then a whole request):

- Nine tenths of a stateless `authenticate()` is `jwt.decode` itself, the
  floor: mostly PyJWT's per-character base64url alphabet check, a Python
  generator over the token's ~800 characters, then the RSA verify. bearer_auth
  added about 6 µs to the floor's 56: the RFC 6750 syntax regex plus DRF's
  `request.META`, which `Request.__getattr__` serves after a failed lookup
  (1.7 µs); a frozen six-field `BearerToken` and its `datetime` (1.4 µs); the
  claim-type checks (0.6 µs); the key look-up (0.3 µs). Now the syntax check is
  one `bytes.translate`, `META` is the `HttpRequest`'s own, and `BearerToken`
  holds the claims and reads `scope`, `client_id`, `jti` and `expires_at` from
  them on first use: about 3 µs are left. The success path sends no signal,
  reads no uncached setting, imports nothing and adds no header.
- Through Django's WSGI handler, a view with a do-nothing authentication class
  and `IsAuthenticated` costs about 6 µs more than the no-auth view; the rest
  of a stateless request is the decode, which costs about 10 µs more inside a
  request than in a tight loop (the request pushes PyJWT out of the caches).
- Through gunicorn, the `PyJWT RS256 decode only` view is the floor of the
  ≥ 0.8x target, and on this 2-core machine it reaches only about 0.7x of the
  no-auth view (CPU time per request, gunicorn workers plus wrk: ~400 µs for
  the no-auth view, ~150 µs more with the decode). bearer_auth's stateless
  view is level with that floor view, within the run-to-run noise; simplejwt's
  stateless view, whose HS256 decode costs 40% less than RS256, lands between
  0.75x and 0.8x. Meeting the target would take a verifier that does not run
  PyJWT's full decode on every request.

The verified-token cache (`VERIFIED_TOKEN_CACHE_SIZE`, `docs/design.md`):

- A client presents the same access token until it expires, and everything
  PyJWT checks but the dates depends on the token's bytes, the key and the
  settings alone. bearer_auth now checks a token's signature on its first
  request in a process; each later request looks the key up again, compares
  `iat`/`nbf`/`exp` with the clock as PyJWT does and, in strict mode, runs
  the row-and-user query. In-process, a stateless `authenticate()` of a token
  seen before costs about a twentieth of PyJWT's RS256 decode (a dictionary
  look-up, the dates, a copy of the claims, and the b64token syntax check of
  the header, which still runs first), and strict mode loses the decode from
  its cost, leaving the one query. Through gunicorn the stateless view then
  serves about as many requests per second as the no-auth view. The
  `verifying every call` rows show the first request's cost, with the cache
  off: the same as before it existed.
"""
