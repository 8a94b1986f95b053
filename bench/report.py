"""The benchmark's ratios, their targets, and ``docs/performance.md``."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
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
    "mcp": "mcp",
    "asgiref": "asgiref",
    "django-ninja": "Ninja",
    "uvicorn": "uvicorn",
}


def installed_versions() -> dict[str, str]:
    """The installed version of each of :data:`PACKAGES`, in the running interpreter.

    The ``mcp`` SDK and django-ninja are optional extras: "not installed" when they are not.
    """
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def run_label(result: Mapping[str, Any]) -> str:
    """A run's column heading: its database and the ``major.minor`` of its Django."""
    database = str(DATABASE_LABELS.get(result["database"], result["database"]))
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
    ``"queries"`` (the numerator's query count, less the denominator's when
    there is one: the statements one case adds to the other).

    ``probe`` (time only) names a :class:`bench.timing.Probe` both cases
    carry: each repeat's sample of a case is first divided by its probe's
    sample of the same batch (``"per"``: the machine's speed of that batch
    cancels out) or has it taken off (``"less"``: the work around the probed
    call alone), then the two cases are divided as usual.
    """

    section: str
    label: str
    numerator: str
    denominator: str | None = None
    target: float | None = None
    at_most: bool = True
    kind: str = "time"
    probe: str | None = None
    #: ``"per"`` or ``"less"``: what the probe's sample does to its case's (see above).
    probe_use: str = "per"

    def value(self, measurements: Mapping[str, Any]) -> float | None:
        top = measurements.get(self.numerator)
        if top is None:
            return None
        if self.kind == "queries":
            if self.denominator is None:
                return float(top["queries"])
            bottom = measurements.get(self.denominator)
            return None if bottom is None else float(top["queries"] - bottom["queries"])
        bottom = measurements.get(self.denominator or "")
        if bottom is None or not bottom["median"]:
            return None
        if self.probe is None:
            return paired_ratio(top, bottom)
        sides = [self._net(name, measurements) for name in (self.numerator, self.denominator)]
        if sides[0] is None or sides[1] is None:
            return None
        return paired_ratio({"samples": sides[0]}, {"samples": sides[1]})

    def _net(self, name: str | None, measurements: Mapping[str, Any]) -> list[float] | None:
        """``name``'s samples, each divided by (or less) its probe's in the same batch."""
        case, probed = measurements.get(name or ""), measurements.get(f"{name}:{self.probe}")
        if case is None or probed is None:
            return None
        pairs = zip(case["samples"], probed["samples"], strict=True)
        if self.probe_use == "less":
            return [whole - part for whole, part in pairs]
        return [whole / part for whole, part in pairs]

    def instruction_ratio(self, counts: Mapping[str, float]) -> float | None:
        """``numerator ÷ denominator`` of instructions per call; ``None`` if either is missing.

        Counts are not timed, so a probe's part of them is not known: a ratio
        that takes its probe off has none.
        """
        if self.kind != "time" or (self.probe is not None and self.probe_use == "less"):
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
        number = f"{self.target:g}"
        if self.kind != "queries":
            number = f"{number}x" if "." in number else f"{number}.0x"
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
OIDC = "OpenID Connect, per request"
MCP = "MCP tool call's token check (RFC 8707 resource), strict RS256, per call"
COOKIE = "Cookie mode for browser apps (the refresh token in an HttpOnly cookie), per request"
DPOP = "DPoP (RFC 9449): a DPoP-bound token with a new ES256 proof per request, strict mode"
FRAMEWORKS = (
    "Frameworks: Django Ninja beside DRF (strict, per call); async views under uvicorn "
    "(stateless, requests/s, one process each)"
)
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
    Ratio(OIDC, "code exchange with `openid` ÷ without", "oidc/exchange-openid",
          "oidc/exchange"),
    Ratio(OIDC, "UserInfo ÷ `/auth/me/`", "oidc/userinfo", "oidc/me"),
    Ratio(OIDC, "queries per code exchange with `openid`", "oidc/exchange-openid", None,
          kind="queries"),
    Ratio(OIDC, "queries per code exchange without `openid`", "oidc/exchange", None,
          kind="queries"),
    Ratio(OIDC, "UserInfo queries (strict mode)", "oidc/userinfo", None, 1, kind="queries"),
    Ratio(OIDC, "`/auth/me/` queries (strict mode)", "oidc/me", None, kind="queries"),
    Ratio(MCP, "`authenticate()` for a resource ÷ for the default resource",
          "mcp/bearer-strict-resource", "mcp/bearer-strict", 1.05),
    Ratio(MCP, "`BearerTokenVerifier.verify_token` (MCP SDK) ÷ `authenticate()`, default resource",
          "mcp/verifier", "mcp/bearer-strict", 1.05),
    Ratio(MCP, "an empty coroutine on the same event loop ÷ `authenticate()`, default resource",
          "mcp/loop", "mcp/bearer-strict"),
    Ratio(MCP, "an empty thread-sensitive `sync_to_async` hop, the same way ÷ `authenticate()`, "
          "default resource", "mcp/hop", "mcp/bearer-strict"),
    Ratio(MCP, "`verify_token` ÷ `authenticate()` for the resource awaited through the same hop",
          "mcp/verifier", "mcp/bearer-strict-resource-hop"),
    Ratio(MCP, "`verify_token` queries (strict mode)", "mcp/verifier", None, 1, kind="queries"),
    Ratio(COOKIE, "sign-in, cookie ÷ body mode, each ÷ the `check_password` inside it",
          "signin/bearer-cookie", "signin/bearer-body", 1.05, probe="check-password"),
    Ratio(COOKIE, "sign-in less the `check_password` inside it, cookie ÷ body mode",
          "signin/bearer-cookie", "signin/bearer-body", probe="check-password",
          probe_use="less"),
    Ratio(COOKIE, "refresh, cookie ÷ body mode", "refresh/bearer-cookie", "refresh/bearer-body",
          1.05),
    Ratio(COOKIE, "queries a cookie-mode sign-in adds to body mode's", "signin/bearer-cookie",
          "signin/bearer-body", 0, kind="queries"),
    Ratio(COOKIE, "queries a cookie-mode refresh adds to body mode's", "refresh/bearer-cookie",
          "refresh/bearer-body", 0, kind="queries"),
    Ratio(DPOP, "request, DPoP-bound token and proof ÷ Bearer token, through the view",
          "dpop/view-dpop", "dpop/view-bearer", 1.6),
    Ratio(DPOP, "`authenticate()` alone, DPoP ÷ Bearer", "dpop/authenticate-dpop",
          "dpop/authenticate-bearer"),
    Ratio(DPOP, "`verify_proof` ÷ PyJWT ES256 decode of the same kind of proof, no claim checked",
          "dpop/verify-proof", "dpop/pyjwt-ES256", 2.0),
    Ratio(DPOP, "the jti's cache write (one `cache.add`) ÷ `verify_proof`", "dpop/jti-cache-add",
          "dpop/verify-proof"),
    Ratio(DPOP, "queries a DPoP request adds to a Bearer request's", "dpop/view-dpop",
          "dpop/view-bearer", 0, kind="queries"),
    Ratio(FRAMEWORKS, "Ninja `BearerAuth` ÷ DRF `BearerTokenAuthentication.authenticate`, "
          "one strict request", "frameworks/ninja-authenticate", "frameworks/drf-authenticate",
          1.1),
    Ratio(FRAMEWORKS, "Ninja operation ÷ DRF `APIView`, through the test client",
          "frameworks/ninja-view", "frameworks/drf-view"),
    Ratio(FRAMEWORKS, "Ninja operation ÷ the same without authentication",
          "frameworks/ninja-view", "frameworks/ninja-none"),
    Ratio(FRAMEWORKS, "DRF `APIView` ÷ the same without authentication", "frameworks/drf-view",
          "frameworks/drf-none"),
    Ratio(FRAMEWORKS, "`async def` ÷ `def` view, both under uvicorn",
          "frameworks/http-async-uvicorn", "frameworks/http-sync-uvicorn", 1.0, at_most=False,
          kind="rate"),
    Ratio(FRAMEWORKS, "`async def` view, uvicorn ÷ `def` view, one gunicorn sync worker",
          "frameworks/http-async-uvicorn", "frameworks/http-sync-gunicorn", kind="rate"),
    Ratio(FRAMEWORKS, "`async def` view ÷ the same without authentication, uvicorn",
          "frameworks/http-async-uvicorn", "frameworks/http-none-async-uvicorn", kind="rate"),
    Ratio(FRAMEWORKS, "`def` view ÷ the same without authentication, gunicorn",
          "frameworks/http-sync-gunicorn", "frameworks/http-none-gunicorn", kind="rate"),
    Ratio(FRAMEWORKS, "no-auth `async def` view, uvicorn ÷ no-auth `def` view, gunicorn",
          "frameworks/http-none-async-uvicorn", "frameworks/http-none-gunicorn", kind="rate"),
    Ratio(FRAMEWORKS, "Ninja `AsyncBearerAuth` operation ÷ plain `async def` view, uvicorn",
          "frameworks/http-ninja-async-uvicorn", "frameworks/http-async-uvicorn", kind="rate"),
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

- **Runs.** `make bench` measures the oldest and the newest Django of the CI
  matrix, Django 5.2 LTS on Python 3.11 (`.venv`) and Django 6.1 on Python
  3.13 (`.venv-bench-django61`, which the target creates), each on SQLite and
  on PostgreSQL: four runs, one after the other, each in a worker process of
  its own (`python -m bench --python … --python …`; gunicorn's servers run on
  the same interpreter). Runs, above, gives each run's versions. Every target
  is judged in every run: `--check` fails when any run misses one.
- **Interleaving.** Each repeat runs every case once, in an order rotated by one
  per repeat; a case runs a batch of calls sized to about the same time for all.
  The figure of a case is the median of its batches' mean times; the table above
  shows the median and the min-max over repeats. A ratio is paired: the median,
  over repeats, of the two cases' ratio within that repeat (both ran in it,
  seconds apart), so a slow spell of the machine weighs on both sides of each
  repeat's ratio instead of on whichever case it happened to hit. Sign-in runs
  61 repeats of one call each, and so do the cookie-mode phase's sign-ins
  (the other phases 31 batches; cookie mode's refreshes 244).
- **Sign-in ÷ the password check inside it.** This machine's CPU switches
  between two speeds several times a minute (the same PBKDF2 hash takes about
  315 or 465 ms), so a sign-in and a separate `check_password` call, within
  a second of each other, often run at different speeds: one repeat's ratio
  of the two ranged from 0.71 to 1.55, and the median of 61 moved between
  1.02 and 1.06 from run to run, as wide as the 1.05x target's margin. The
  judged ratio pairs each sign-in with its own check instead: while a
  sign-in is timed, `django.contrib.auth.base_user.check_password` (what
  `AbstractBaseUser.check_password`, and so Django's `ModelBackend`, calls)
  is wrapped to time itself, and `signin/…:check-password` is that time per
  call in the same batches, so both sides of each ratio ran at the same
  speed. Every timed call must check the password exactly once or the run
  fails: a sign-in that hashed twice, or never, is not averaged into one.
  The ratio to a separate `check_password` call is still shown, without a
  target, and so is the check inside a sign-in ÷ a separate one (as noisy):
  near 1, it shows that a sign-in does not slow its own hash down, which
  would flatter the judged ratio. The hash is Django's default PBKDF2, whose
  iterations grow with Django (1,000,000 in 5.2, 1,500,000 in 6.1): the same
  work beside it is a smaller share of a sign-in on the newer Django.
- **Floors.** `PyJWT …` is `jwt.decode(token, key, algorithms=[alg], audience=…,
  issuer=…)` of a token with bearer_auth's claims and a key object loaded once:
  the parse + verify cost below which no verifier gets. `ORM pk get` is
  `User.objects.get(pk=…)`; `raw SELECT` is the same row through a cursor.
  `PyJWT RS256 decode only` is the floor of a whole request: a DRF view with
  `IsAuthenticated` whose authentication class (`bench.peers.PyJWTAuthentication`)
  does that same `jwt.decode` and nothing else (no header or claim checks of
  its own), with simplejwt's `TokenUser` over the claims.
- **Setup shared by all cases.** One Django project (`bench/settings.py`) with
  bearer_auth, simplejwt (+ `token_blacklist`) and DOT installed, and
  `OAUTH2_PROVIDER = oauth2_provider_settings(…)` as bearer_auth's
  documentation configures it; Security and Common middleware; persistent
  database connections (`CONN_MAX_AGE = None`); local-memory cache; Django's
  default password hasher (PBKDF2). bearer_auth's keys come from
  `SIGNING_KEYS` (RSA 2048, P-256, Ed25519); simplejwt signs HS256 with
  `SIGNING_KEY` and RS256 with its own `TokenBackend`; DOT's tokens are opaque
  and stored hashed, and DOT's `OAuth2Authentication` checks them with the
  project's validator, bearer_auth's subclass of DOT's, whose
  `validate_bearer_token` is DOT's own. Every call of every case is checked to
  succeed (a user, a 200), so no failure path is ever timed. Query counts are
  the SQL statements of one call, leaving out transaction control (`BEGIN`,
  `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE SAVEPOINT`).
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
- **Sign-in and refresh** go through the test client. Sign-in: bearer_auth's
  `/auth/token/` and simplejwt's `TokenObtainPairView`. Refresh: bearer_auth's
  `/auth/token/refresh/` (a first-party sign-in's family) and `/o/token/`
  (`bearer_auth.oauth_urls`, for an OAuth client's family with its session, as
  an authorization-code exchange leaves it), simplejwt's `TokenRefreshView`
  (rotation + blacklist), and DOT's own refresh grant: DOT's `TokenView` with
  oauthlib's `Server` and DOT's `OAuth2Validator` (`bench.views.DOTTokenView`),
  for a public client. The access tokens of every refresh but simplejwt's are
  bearer_auth's RS256 JWTs (`OAUTH2_PROVIDER`'s `ACCESS_TOKEN_GENERATOR`, which
  DOT's case uses too); simplejwt's are HS256. Each refresh spends the token
  the last one returned.
- **OpenID Connect** (`bench/oidc.py`): the authorization-code exchange at
  bearer_auth's `/o/token/` for a public client (PKCE, no client secret, whose
  check is a password hash), asking for `openid profile email` and for the
  same without `openid`, so their ratio is what an ID token adds. Each call
  redeems a code of its own, issued before its batch, outside the timed
  calls, by bearer_auth's authorization view called with the user on the
  request (the client skips the consent page), each with its own PKCE pair
  (and a nonce with `openid`). UserInfo (`/o/userinfo/`) and `/auth/me/` are
  sent the same access token, from an `openid` exchange, so they differ by
  their views alone. `bench/settings.py` turns OpenID Connect on (DOT's
  `OIDC_ENABLED`, the `openid`, `profile` and `email` scopes); no other case
  asks for `openid`.
- **MCP** (`bench/mcp.py`): what the token check of an MCP tool call costs
  beside strict `authenticate()` of today, RS256, one token per case presented
  again and again. `authenticate()` of a token of the default resource (the
  `auth` phase's case, again, so the three pair up in the same repeats); the
  same class with `resource=` the benchmark's MCP server
  (`BEARER_AUTH["RESOURCES"]`), sent a token minted for it (`aud` is the
  resource, and DOT's row names it): the audience comparison alone, judged
  ≤ 1.05x; and `bearer_auth.mcp.BearerTokenVerifier(resource).verify_token`,
  what the `mcp` SDK calls for a tool call's token, judged ≤ 1.05x too: the
  same check with strict mode's query sent to asgiref's thread-sensitive
  thread (`sync_to_async`, whose database connection is persistent like the
  main thread's) and back, and the SDK's `AccessToken`. Each call is one
  `run_until_complete` on one event loop that lives as long as the phase;
  its query is counted in that thread. Two more cases show where the
  difference goes: an empty coroutine run the same way (what driving a call
  from outside the loop costs, which a server does not pay) and an empty
  thread-sensitive `sync_to_async` hop run the same way (the loop and the
  hop, without the check); and `authenticate()` for the resource awaited
  through that hop, as a sync view served by Django's ASGI handler pays it,
  which the verifier is also divided by. A server's own
  `ThreadSensitiveContext` per request (`bearer_auth.mcp.with_mcp`, Django's
  ASGI handler: a new thread, and so a new database connection, per request)
  is not in these cases.
- **Cookie mode** (`bench/cookie.py`): bearer_auth's first-party sign-in
  and refresh as a browser app sends them in cookie mode (the
  `Refresh-Token-Delivery: cookie` header and the API's own `Origin`; the
  refresh token in the `__Host-bearer_refresh` cookie, which the test
  client's cookie jar sends back as a browser does), beside the same
  requests in body mode: all four over https, each from a client of its
  own, in a phase of their own so that each pair runs in the same repeats
  (the sign-ins 61, as sign-in's; the refreshes, milliseconds each, 244 by
  themselves, where 61 left the median of their ratio within about ±5% of
  1 on this machine). Each answer is checked for its mode: a cookie-mode
  answer that is not 200, carries `refresh_token` in its body, or sets no
  new `HttpOnly`, `Secure`, `SameSite=Strict` cookie fails the run, as does
  a body-mode answer that sets a cookie. The sign-ins are judged as sign-in
  is, each ÷ the `check_password` inside it, so that the machine's speed
  cancels; the sign-ins less their check, cookie ÷ body, is the part cookie
  mode could change (a few percent of a sign-in, so its ratio moves more
  between runs; no target). The `queries … adds` rows are the cookie-mode
  case's statements less the body-mode case's: 0 is the promise that cookie
  mode adds no query. What an app on another origin adds (an origin of
  `BROWSER_APP_ORIGINS` instead of the API's own, django-cors-headers) is
  not in these cases.
- **DPoP** (`bench/dpop.py`): the benchmark's strict `BearerTokenAuthentication`
  view sent a DPoP-bound access token as `Authorization: DPoP` with a new
  ES256 proof each request (its `jti` spent in the replay cache, the
  benchmark's local-memory cache), beside the same view sent a Bearer token:
  both RS256 tokens from a first-party sign-in, one with a proof
  (`token_type: DPoP`, `cnf.jkt`), one without; judged ≤ 1.6x, and 0 statements
  added. The same two requests through strict `authenticate()` alone are
  shown without a target: there the verified-token cache leaves the Bearer
  side its one query, and the proof's signature is the larger part of the
  DPoP side. `verify_proof` of a new proof is judged ≤ 2x PyJWT's `jwt.decode`
  of the same kind of proof with the key object loaded once and no claim
  checked; one `cache.add` of a new key shows what spending a `jti` costs.
  The proofs are signed by joserfc (the client's side) with one P-256 key,
  before each batch and outside the timed calls, so each is milliseconds
  old when it is sent and `DPOP_PROOF_LIFETIME` keeps its default; a case
  sent a proof twice fails the run.
- **Frameworks** (`bench/frameworks.py`): Django Ninja's `BearerAuth`
  beside DRF's `BearerTokenAuthentication` on one strict request (the same
  `HttpRequest`, wrapped once in a DRF `Request` for DRF's class), judged
  ≤ 1.1x; the whole request through the test client, a Ninja operation
  beside the DRF `APIView`, and each beside its framework's view without
  authentication, without a target. Then requests per second with wrk, as
  the gunicorn rows, one server process each, in stateless mode: the
  `async def` view of `bearer_required` under uvicorn (Django's ASGI
  handler; the token checked on the event loop) judged ≥ 1.0x the same view
  written `def` under the same uvicorn (which Django runs in a thread): the
  same server, process and middleware, sync against async verification.
  Beside them, without a target: the `def` view under one gunicorn sync
  worker (Django's WSGI handler, the sync deployment), each server's view
  without authentication (what the server costs, told apart from the
  check), and Ninja's `AsyncBearerAuth`. One gunicorn worker, as uvicorn
  serves from one process and one event loop. uvicorn runs with what the
  environment has installed (`bench/frameworks.py` names it); the access
  log is off, as gunicorn's.
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
## What the profiles showed

Strict mode, RS256:

- Strict mode reads DOT's token row and its user in one query, by the
  token's unique SHA-256 digest. Around a query, Django costs more than the
  database: `User.objects.get(pk=…)` takes about ten times a raw cursor
  `SELECT` of the same row (the `ORM … ÷ raw cursor SELECT` row), building and
  compiling the queryset, then the model instance. Before the verified-token
  cache, two thirds of a strict-mode `authenticate()` was Django building and
  compiling its `select_related` queryset on every request.
- PyJWT's parser checks every character of every segment in Python.
  `jwt.get_unverified_header(token)` parsed the whole token (payload and
  signature too) only to find `kid`, and `jwt.decode` parsed it all again. Only
  the header segment is parsed now, and its checked `kid` is remembered by the
  segment's exact text (every token of one key has the same header).
- What is left is PyJWT's decode (the floor, on a token's first request in a
  process), the one query, the password-fingerprint HMAC and the model
  instances.

Statements through Django's public API only (history):

- bearer_auth once compiled its hot statements once per database connection
  through Django's SQL compiler (`bearer_auth/prepared.py`: strict mode's
  query, the user look-up of a sign-in, a refresh's reads and writes, a
  sign-in's inserts), and sent a refresh's two locking reads in one round trip
  and its four writes in another on PostgreSQL. Those are Django internals,
  which change between releases (on Django 6.1 it failed: a function it
  called takes a new argument there), and the hand-built rows sent none of
  DOT's model signals. They were removed: every statement now goes through
  Django's public query API, and every token row is saved through DOT's
  models. The refresh target went from 0.6x to 1.0x simplejwt's for it, and
  the sign-in target from 1.03x to 1.05x its own `check_password`.

Refresh:

- One implementation serves `/auth/token/refresh/` and `/o/token/`:
  oauthlib's refresh-token grant on the server DOT builds from
  `OAUTH2_PROVIDER`, with bearer_auth's validator
  (`bearer_auth/services/rotation.py`), in one transaction. A first-party
  refresh is seven statements: DOT's look-up of the client; the family's
  session, locked, with its user; the presented refresh token, locked, with
  its access token and the client's policy; then the spent token's `UPDATE`,
  the family's access-token row rewritten in place with the new access token,
  the successor's `INSERT` and the session's `UPDATE`, each a model `save()`
  (so DOT's model signals are sent for its rows). `/o/token/` adds one: DOT's
  `TokenView` reads the new access token back for its `app_authorized`
  signal. simplejwt's rotation with blacklist is nine statements (the user is
  read three times) and two commits, each write in a transaction of its own
  (an `fsync` each on SQLite). DOT's own grant is fourteen statements, its
  writes in one transaction with a savepoint: it deletes the old access token
  and inserts a new one.
- What a refresh cannot leave out: the RSA signature of the new access token
  (RS256 is the default), the commit, and on PostgreSQL a round trip per
  statement, nine with `BEGIN` and `COMMIT`, to a server on the same two
  cores: 0.2 ms for a bare `SELECT 1` here and 0.5 to 1 ms for these, part of
  it planning the joined reads. psycopg's server-side binding with
  prepared statements removes the planning of statements it has seen
  (`docs/deployment.md`; `BENCH_POSTGRES_OPTIONS` measures it); Django's
  default does not use them. Tried and not kept: the statements in one psycopg
  pipeline (no measurable gain here), and one statement for both locking reads
  (on PostgreSQL, planning the six-table join took 0.85 ms against 0.36 ms for
  the two reads, and the pair was faster, 1.0 against 1.25 ms).
- A first attempt joined the application in the session subquery: SQLite's
  planner, without statistics, then walked the `application_id` index, and a
  refresh at 100,000 sessions was 3.5x slower than at 1,000. The scale case
  found it; both locking reads find their row by the token's unique digest
  alone.
- The benchmark's refresh throttle counted over a minute and locmem pickled
  thousands of timestamps per call (1 to 2%); its window is a second now, as
  `docs/design.md` ("Benchmark") says.

OpenID Connect:

- A code exchange without `openid` is sixteen statements: the
  client; the code's grant, locked (bearer_auth), then read again by each of
  DOT's validator hooks that needs it (the code's check, which also reads the
  user; the redirect URI; the PKCE challenge; its method; the RFC 8707
  resources when the tokens are saved): one row read five times; the client's
  policy; the access and refresh tokens' `INSERT`s, the new family read back
  and the session's `INSERT`; the grant locked again and deleted; and DOT's
  `TokenView` reading the access token back for its `app_authorized` signal.
  `openid` adds one statement, DOT's `IDToken` row (the session's `INSERT`
  carries its link), and the ID token's signature: the user, whose claims it
  carries, is read by every exchange. In instructions (callgrind, SQLite,
  Django 6.1), an exchange is about 38 million without `openid` and 46
  million with it; 6.3 million of the 8 more are the ID token's RSA signature
  (OpenSSL, which retires several instructions per cycle, so the time ratio
  is smaller than the instruction ratio).
- UserInfo in strict mode is the token check's one query (the token row with
  its user), as `/auth/me/` is; the claims are built from that user.

Sign-in:

- A first-party sign-in is eight statements and one commit: the first-party
  application with its policy (the scopes and lifetime it may grant), the
  account's throttle key folded by the database's own `LOWER()` (so that every
  spelling the look-up folds together spends one budget), the user
  (Django's `authenticate()`: `ModelBackend`'s `get_by_natural_key`, then the
  hash), and, in one transaction, the access token's and the refresh token's
  `INSERT` by DOT's validator (`save_bearer_token`, after oauthlib's
  `BearerToken` minted the pair with DOT's generators: bearer_auth's JWT and a
  random refresh token), the new family read back by the refresh token's digest
  (DOT's validator does not hand back the rows it saved), the family's session
  and `last_login` (Django's `user_logged_in` receiver). simplejwt's sign-in is
  two statements, the user and its outstanding token, and is configured not to
  write `last_login`.
- Each of those carries behaviour: the policy read (caching it across
  requests would keep old scopes and lifetimes in other processes after an
  admin edit), the rows through DOT's validator (DOT's signals, one write
  path for every client), `last_login`, the transaction (`BEGIN`, `COMMIT`:
  the only `fsync`), and the RSA signature (about 1.1 ms; RS256 is the
  default).
- Instructions are not time beside PBKDF2 (history, measured before the rows
  were written through DOT's validator): a sign-in was 1.002x its
  `check_password` in instructions (16 million of its own beside the hash's 6.9
  billion) but 1.02 to 1.04x in time, because OpenSSL's PBKDF2 retires several
  instructions per cycle and Python about one: those 16 million took 7 to 9 ms
  beside a 230 to 460 ms hash, one commit's `fsync` included. On PostgreSQL the
  overhead was 11 to 15 ms (simplejwt's: 7 to 8), each statement after the
  hash a round trip.

Stateless mode, RS256 (in-process, then a whole request):

- Nine tenths of a stateless `authenticate()` is `jwt.decode` itself, the
  floor: mostly PyJWT's per-character base64url alphabet check, a Python
  generator over the token's ~800 characters, then the RSA verify. bearer_auth
  once added about 6 µs to the floor's 56: the RFC 6750 syntax regex plus
  DRF's `request.META`, which `Request.__getattr__` serves after a failed
  lookup (1.7 µs); a frozen six-field `BearerToken` and its `datetime` (1.4 µs);
  the claim-type checks (0.6 µs); the key look-up (0.3 µs). The syntax check is
  one `bytes.translate` since, and `BearerToken` holds the claims and reads
  `scope`, `client_id`, `jti` and `expires_at` from them on first use. The
  success path sends no signal, reads no uncached setting, imports nothing and
  adds no header.
- Through Django's WSGI handler, a view with a do-nothing authentication class
  and `IsAuthenticated` costs about 6 µs more than the no-auth view; the rest
  of a stateless request is the decode, which costs about 10 µs more inside a
  request than in a tight loop (the request pushes PyJWT out of the caches).
- Through gunicorn, the `PyJWT RS256 decode only` view is the floor of the
  ≥ 0.8x target, and on this 2-core machine it reaches only about 0.7x of the
  no-auth view (CPU time per request, gunicorn workers plus wrk: ~400 µs for
  the no-auth view, ~150 µs more with the decode). A verifier that runs PyJWT's
  full decode on every request cannot meet the target; the verified-token
  cache (below) is what meets it.

The verified-token cache (`VERIFIED_TOKEN_CACHE_SIZE`, `docs/design.md`):

- A client presents the same access token until it expires, and everything
  PyJWT checks but the dates depends on the token's bytes, the key and the
  settings alone. bearer_auth checks a token's signature on its first request
  in a process; each later request looks the key up again, compares
  `iat`/`nbf`/`exp` with the clock as PyJWT does and, in strict mode, runs
  the row-and-user query. In-process, a stateless `authenticate()` of a token
  seen before costs about a twentieth of PyJWT's RS256 decode (a dictionary
  look-up, the dates, a copy of the claims, and the b64token syntax check of
  the header, which still runs first), and strict mode loses the decode from
  its cost, leaving the one query. Through gunicorn the stateless view then
  serves about as many requests per second as the no-auth view. The
  `verifying every call` rows show the first request's cost, with the cache
  off.
"""
