"""Fault injection for `reviewkit apply`: a project of a few hundred statements, a run stopped at a
random point, and what must hold after the stop.

Shared by tests/test_fault_injection.py and benchmarks/bench_faults.py. A trial:

1. a fresh database holds the base bundle and a few thousand rows (so that an index on them,
   or SQLite's rebuild of a table, takes a moment);
2. `reviewkit apply` runs the three bundles after it as a child process and is stopped at a
   random moment (a seeded `random.Random`): by SIGKILL, by SIGINT (Ctrl-C) or by the server
   ending its connection;
3. once the killed session has left the server, the checks: the ledger's chain holds and
   agrees with the live schema, `status --json` says the same, a new runner gets the lock
   within a second, and the documented recovery (`apply`, or `apply --resume` where status
   shows a half-applied bundle) reaches the head with no hand step.

The project and its databases are in tests/fault_project.py, the stops in
tests/fault_stops.py, the checks in tests/fault_checks.py; this module runs trials of them.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from reviewkit.bundle.store import Bundle
from tests.fault_checks import Outcome, check_after_stop
from tests.fault_project import Databases, build_project, load_project_bundles
from tests.fault_stops import KILL, STOPS, Point, calibrate, draw_point, run_and_stop

__all__ = ["KILL", "STOPS", "Databases", "Outcome", "build_project", "calibrate", "describe", "draw_points",
           "load_project_bundles", "run_trials"]


# -- trials ---------------------------------------------------------------------------------


def draw_points(rng: random.Random, engine: str, bundles: list[Bundle], windows: dict[str, float], count: int,
                kinds: tuple[str, ...]) -> list[Point]:
    """`count` stops, the kinds taken in turn, all drawn before any runs (the same seed, the same points)."""
    return [draw_point(rng, kinds[i % len(kinds)], engine, bundles, windows) for i in range(count)]


def run_trial(databases: Databases, bundles: list[Bundle], point: Point, name: str) -> Outcome:
    """One stop on a fresh database, the checks after it, and the database dropped."""
    url = databases.fresh(name)
    try:
        stopped = run_and_stop(databases.project, url, point, [b.id for b in bundles[1:]])
        return check_after_stop(databases.project, url, stopped, bundles)
    finally:
        databases.drop(url)


def run_trials(databases: Databases, bundles: list[Bundle], points: list[Point], prefix: str) -> list[Outcome]:
    """Run the trials in order; on MariaDB three at a time.

    A MariaDB trial spends its time waiting for the server to sync each DDL statement and
    ledger update to disk, not on the CPU, and its stop is chosen by statement, so other
    trials beside it change nothing but the wall clock. PostgreSQL's and SQLite's stops are
    timed: one at a time.
    """
    def trial(numbered: tuple[int, Point]) -> Outcome:
        return run_trial(databases, bundles, numbered[1], f"{prefix}_{numbered[0]}")

    if databases.engine != "mysql":
        return [trial(numbered) for numbered in enumerate(points)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(trial, enumerate(points)))


def describe(index: int, outcome: Outcome) -> str:
    """One line per trial: the stop, how the run ended, where it landed, how long its session stayed."""
    s = outcome.stopped
    landed = "mid-bundle" if s.mid_bundle else ("finished" if s.finished_first else "between bundles")
    recovery = " ".join(a for a in outcome.recovery_args if a not in ("--yes", "--lock-timeout", "1"))
    return (f"{index:3d} {s.point.describe():<42} exit {s.exit_code!s:>4}  {landed:<15} session gone after "
            f"{s.session_seconds:.2f} s; {recovery}: {'ok' if not outcome.problems() else 'PROBLEM'}")
