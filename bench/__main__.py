"""Run the benchmark: ``python -m bench [--short] [--check] [--databases sqlite,postgres]``.

``--only`` picks phases and ``--cases`` picks cases by name prefix, for a
quick look at a few ratios (the report shows the rest as not measured).

Starts one :mod:`bench.worker` process per database and interpreter
(``--python``, repeated: each interpreter's environment is one Django and
its packages; the running one by default), one after the other, then prints
the table of ratios and writes it, with the measurements, each run's
versions and the machine, to ``docs/performance.md``. ``make bench`` passes
two: ``.venv``'s (the oldest Django of the CI matrix) and
``.venv-bench-django61``'s (the newest). ``--check`` exits non-zero when a
target is missed, or could not be measured, in any run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import instructions, report
from bench.worker import DEFAULT_DIR

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/ba_bench"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the quick CI smoke run")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument(
        "--python",
        action="append",
        dest="pythons",
        type=Path,
        help="an interpreter to run the workers with, one run per database each; repeat it "
        "to measure several Djangos (default: this interpreter)",
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument(
        "--only",
        default="",
        help="phases: auth,signin,refresh,oidc,mcp,cookie,dpop,frameworks,http,scale",
    )
    parser.add_argument(
        "--cases",
        default="",
        help="case-name prefixes, e.g. auth/bearer-stateless,floor/pyjwt,http/none (default: all)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per call under valgrind's callgrind (minutes more)",
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="keys, SQLite, logs")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the report (default: docs/performance.md; none with --short)",
    )
    args = parser.parse_args(argv)
    # Not resolved: a venv's interpreter is a symbolic link, and its venv is where it is.
    pythons = [python.absolute() for python in args.pythons or [Path(sys.executable)]]
    for python in pythons:
        if not os.access(python, os.X_OK):
            parser.error(f"--python {python}: no interpreter there (make bench creates its venv)")
    output = args.output or (None if args.short else ROOT / "docs" / "performance.md")
    args.dir.mkdir(parents=True, exist_ok=True)
    load = [os.getloadavg()[0]]
    results = []
    for number, python in enumerate(pythons, start=1):
        for database in filter(None, args.databases.split(",")):
            run = Run(python=python, database=database, name=f"{number}-{database}")
            result = _run_worker(run, args)
            if args.instructions:
                result["instructions"] = _run_worker(run, args, count=True)["instructions"]
            results.append(result)
    load.append(os.getloadavg()[0])
    text = report.render(results, machine=report.describe_machine(load), short=args.short)
    print(text)
    if output is not None:
        output.write_text(text)
        print(f"\nWritten to {output}", file=sys.stderr)
    missed = report.misses(results)
    for miss in missed:
        shown = "not measured" if miss.value is None else f"{miss.value:.3f}"
        print(
            f"MISSED [{miss.run}] {miss.ratio.label}: {shown}, target {miss.ratio.target_text}",
            file=sys.stderr,
        )
    return 1 if args.check and missed else 0


@dataclass(frozen=True)
class Run:
    """One worker's run: a database, on the Django of ``python``'s environment."""

    python: Path
    database: str
    #: Names its files in the benchmark directory.
    name: str


def _run_worker(run: Run, args: argparse.Namespace, *, count: bool = False) -> dict[str, Any]:
    """Run one worker; with ``count``, under callgrind, counting instructions."""
    result_file = args.dir / f"result-{run.name}{'-instructions' if count else ''}.json"
    environment = dict(os.environ)
    prefix: list[str] = []
    if count:
        callgrind_dir = args.dir / "callgrind"
        shutil.rmtree(callgrind_dir, ignore_errors=True)
        callgrind_dir.mkdir(parents=True)
        out_file = callgrind_dir / f"{run.name}.%p.out"
        environment[instructions.OUT_FILE_VARIABLE] = str(out_file)
        prefix = instructions.valgrind_command(out_file)
    command = [
        *prefix,
        str(run.python),
        "-m",
        "bench.worker",
        "--database",
        run.database,
        "--postgres-url",
        args.postgres_url,
        "--dir",
        str(args.dir),
        "--output",
        str(result_file),
    ]
    if args.short:
        command.append("--short")
    if args.only:
        command += ["--only", args.only]
    if args.cases:
        command += ["--cases", args.cases]
    if count:
        command.append("--instructions")
    subprocess.run(command, cwd=ROOT, env=environment, check=True)
    result: dict[str, Any] = json.loads(result_file.read_text())
    return result


if __name__ == "__main__":
    sys.exit(main())
