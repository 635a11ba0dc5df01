"""Kill `reviewkit apply` with SIGKILL at random points and count what a DBA would have to fix by hand.

Run from the repository (it shares its project and checks with tests/test_fault_injection.py,
so it needs the repository's tests/ folder; standard library and reviewkit with its postgres
and mysql extras otherwise; PostgreSQL and MariaDB must be running):

    python benchmarks/bench_faults.py                     # 50 points per engine, seed 1
    python benchmarks/bench_faults.py --points 200 --seed 7
    python benchmarks/bench_faults.py --engine mysql      # one engine

A project of 94 tables in four bundles (tests/fault_support.py): the base bundle with
18,000 rows, then 216 statements in three bundles. For each point, a fresh database
holding the base bundle and its rows; `reviewkit apply` as a child process, killed with
SIGKILL at a seeded random point (MariaDB: right after statement k of a bundle, read from
its ledger row; PostgreSQL: a random moment into a bundle's transaction, measured by two
undisturbed runs first). Once the killed session has left the server, the counts:

  consistent ledger   the hash chain holds; applied bundles form a prefix whose schema is
                      the live one, or a bundle half-applied at statement k (MariaDB)
                      leaves the live schema between its parent's and its own, with what
                      statements 1..k create present and what statements k+2.. create
                      absent; and `status --json` says the same. Target: every point.
  stuck lock          a new runner (`apply --lock-timeout 1`) could not get the migration
                      lock within 1 s of the killed session's end. Target: 0.
  recovered           the documented recovery (`apply`, or `apply --resume` where status
                      shows a half-applied bundle) exited 0 and left the head's schema and
                      every bundle applied, with no hand step. Target: every point.

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/fault_support.py

from reviewkit.dialects.connection import parse_url  # noqa: E402
from tests.fault_support import (  # noqa: E402
    KILL,
    Databases,
    Outcome,
    build_project,
    calibrate,
    describe,
    draw_points,
    load_project_bundles,
    run_trials,
)

SERVERS = {
    "postgres": ("REVIEWKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": ("REVIEWKIT_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}


def counts(outcomes: list[Outcome]) -> dict[str, int]:
    return {
        "consistent": sum(not (o.consistency or o.status or o.output_problems) for o in outcomes),
        "stuck": sum(o.stuck_lock for o in outcomes),
        "recovered": sum(o.recovered_without_hand_step for o in outcomes),
        "mid": sum(o.stopped.mid_bundle for o in outcomes),
        "resumed": sum("--resume" in o.recovery_args for o in outcomes),
        # MariaDB finished the statement its killed client sent: the resume read it from the live schema.
        "skipped": sum(o.recovery is not None and "took effect before the run stopped" in o.recovery.stdout
                       for o in outcomes),
    }


def bench_engine(engine: str, project: Path, root: Path, points: int, seed: int) -> tuple[list[Outcome], dict, float]:
    env_var, default = SERVERS[engine]
    server = parse_url(os.environ.get(env_var, default), Path.cwd())
    bundles = load_project_bundles(project)
    databases = Databases(engine, project, server, root)
    prefix = f"rk_bench_faults_{secrets.token_hex(3)}"
    started = time.perf_counter()
    try:
        windows = calibrate(databases, f"{prefix}_calibration", bundles)
        drawn = draw_points(random.Random(f"{seed}-{engine}"), engine, bundles, windows, points, (KILL,))
        outcomes = run_trials(databases, bundles, drawn, prefix)
    finally:
        databases.drop_all()
    return outcomes, windows, time.perf_counter() - started


def rows_for(engine: str, outcomes: list[Outcome], seconds: float) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    n = len(outcomes)
    c = counts(outcomes)
    rows = [
        (f"{engine}: consistent ledgers", f"{c['consistent']}/{n}", f"{n}/{n}", "OK" if c["consistent"] == n else "FAIL"),
        (f"{engine}: stuck locks", str(c["stuck"]), "0", "OK" if c["stuck"] == 0 else "FAIL"),
        (f"{engine}: recoveries without a hand step", f"{c['recovered']}/{n}", f"{n}/{n}",
         "OK" if c["recovered"] == n else "FAIL"),
    ]
    gone = [o.stopped.session_seconds for o in outcomes]
    context = [
        (f"{engine}: kills that landed mid-bundle", f"{c['mid']}/{n}", "-", "context"),
        (f"{engine}: recoveries by apply --resume", f"{c['resumed']}/{n}", "-", "context"),
        (f"{engine}: resumes that skipped a statement the server finished", f"{c['skipped']}/{n}", "-", "context"),
        (f"{engine}: killed session gone, median / max s", f"{statistics.median(gone):.2f} / {max(gone):.2f}", "-",
         "context"),
        (f"{engine}: wall clock per point, s", f"{seconds / n:.2f}", "-", "context"),
    ]
    return rows, context


def print_table(rows: list[tuple[str, ...]], context_from: int) -> None:
    header = ("measure", "result", "target", "status")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    rule = "  ".join("-" * w for w in widths)
    print()
    print(line(header))
    print(rule)
    for i, r in enumerate(rows):
        if i == context_from:
            print(rule)
        print(line(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=50, help="kill points per engine (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random points (default 1)")
    parser.add_argument("--engine", action="append", choices=tuple(SERVERS), default=[],
                        help="an engine to run (repeatable; default: postgres and mysql)")
    parser.add_argument("--verbose", action="store_true", help="print one line per point")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project and print where it is")
    args = parser.parse_args()
    if args.points < 1:
        parser.error("--points must be at least 1")
    engines = args.engine or list(SERVERS)
    root = Path(tempfile.mkdtemp(prefix="reviewkit-bench-faults-"))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    rows: list[tuple[str, ...]] = []
    context: list[tuple[str, ...]] = []
    problems: list[str] = []
    try:
        print(f"CPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; {args.points} SIGKILL points per engine, "
              f"seed {args.seed}" + (f"; load average at start {load[0]:.2f}" if load else ""))
        project = build_project(root)
        for engine in engines:
            outcomes, windows, seconds = bench_engine(engine, project, root, args.points, args.seed)
            if windows:
                print(f"{engine}: kill windows (shortest of 2 undisturbed runs): "
                      + ", ".join(f"{key} {value:.3f} s" for key, value in windows.items()))
            if args.verbose:
                for index, outcome in enumerate(outcomes):
                    print(f"{engine} {describe(index, outcome)}")
            engine_rows, engine_context = rows_for(engine, outcomes, seconds)
            rows += engine_rows
            context += engine_context
            problems += [f"{engine} point {index} ({o.stopped.point.describe()}): {p}"
                         for index, o in enumerate(outcomes) for p in o.problems()]
        print_table(rows + context, len(rows))
        print("\nconsistent: the ledger agrees with itself, the live schema and status --json after the kill; "
              "stuck: `apply --lock-timeout 1` timed out once the killed session had ended; recovered: the "
              "documented recovery reached the head with no hand step.")
        for problem in problems:
            print(problem)
        if load:
            print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep:
            print(f"\nproject kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
