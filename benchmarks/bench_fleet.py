"""Time `reviewkit apply --fleet` on 16 PostgreSQL databases against 16 `reviewkit apply` run one after another.

Run from anywhere (reviewkit and psycopg installed, a PostgreSQL server at
REVIEWKIT_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres):

    python benchmarks/bench_fleet.py                          # 16 databases, --jobs 4, 200 tables, 3 runs
    python benchmarks/bench_fleet.py --databases 32 --jobs 8 --tables 50 --repeat 5

The project is bench_generate.py's synthetic schema (`--tables` tables, each with its
indexes and a foreign key: about 3 statements per table), one PostgreSQL bundle. Each run
creates 2 x N fresh databases, then times, in the same run:

  sequential  N processes `reviewkit apply --database URL`, one after the other
  fleet       one process `reviewkit apply --fleet bench --jobs J` over the other N

and checks that every database has the bundle in its ledger and every table. Target: the
fleet within 0.4x of the sequential applies. Every scratch database and folder is removed
at the end (unless --keep). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_generate import write_models

from reviewkit.dialects.connection import DatabaseURL, connect, create_database, drop_database, parse_url

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
RATIO_TARGET = 0.4


def reviewkit(project: Path, *args: str) -> float:
    """Run one reviewkit process to completion; return its wall-clock time. Stop the benchmark when it fails."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"reviewkit {' '.join(args)} failed (exit {result.returncode}):\n"
                         f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed


def check_applied(url: DatabaseURL, tables: int) -> None:
    """Refuse to report a time for a database that did not get the bundle."""
    with connect(url) as conn:
        count = conn.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'reviewkit_ledger'")
        ledger = conn.query("SELECT status FROM reviewkit_ledger")
    if count[0][0] != tables or [row[0] for row in ledger] != ["applied"]:
        raise SystemExit(f"check failed: {url.redacted()} has {count[0][0]} tables and ledger {ledger}")


def one_run(project: Path, server: DatabaseURL, databases: int, jobs: int, tables: int) -> tuple[float, float]:
    """Create 2 x `databases` fresh databases; return (sequential seconds, fleet seconds)."""
    names = [f"rk_fleet_{secrets.token_hex(4)}" for _ in range(2 * databases)]
    try:
        urls = [create_database(server, name) for name in names]
        sequential, fleet = urls[:databases], urls[databases:]
        (project / "reviewkit.toml").write_text(CONFIG + f"\n[fleets]\nbench = {json.dumps([u.raw for u in fleet])}\n")
        one_by_one = sum(reviewkit(project, "apply", "--database", url.raw) for url in sequential)
        at_once = reviewkit(project, "apply", "--fleet", "bench", "--jobs", str(jobs))
        for url in urls:
            check_applied(url, tables)
        return one_by_one, at_once
    finally:
        for name in names:
            drop_database(server, name)


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("measure", "best", "median", "unit", "target", "status")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the project folder")
    args = parser.parse_args()
    server = parse_url(os.environ.get("REVIEWKIT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                       Path.cwd())
    folder = Path(tempfile.mkdtemp(prefix="rk_bench_fleet_"))
    try:
        project = folder / "project"
        project.mkdir()
        (project / "reviewkit.toml").write_text(CONFIG)
        write_models(project, args.tables, changed=False)
        reviewkit(project, "generate", "--no-input", "initial")
        statements = sum(1 for line in next(project.glob("bundles/*/postgres/up.sql")).read_text().splitlines()
                         if line.rstrip().endswith(";"))
        runs = [one_run(project, server, args.databases, args.jobs, args.tables) for _ in range(args.repeat)]
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    sequential = [s for s, _ in runs]
    fleet = [f for _, f in runs]
    ratios = [f / s for s, f in runs]
    n, j = args.databases, args.jobs
    print(f"{n} PostgreSQL databases, one bundle of {args.tables} tables (about {statements} statements), "
          f"{args.repeat} runs, {os.cpu_count()} cores")
    print_table([
        (f"{n} x reviewkit apply --database, one after another", f"{min(sequential):.3f}",
         f"{statistics.median(sequential):.3f}", "s", "-", ""),
        (f"reviewkit apply --fleet ({n} databases) --jobs {j}", f"{min(fleet):.3f}", f"{statistics.median(fleet):.3f}",
         "s", "-", ""),
        ("fleet / sequential, same run", f"{min(ratios):.3f}", f"{statistics.median(ratios):.3f}", "x",
         f"<= {RATIO_TARGET}", "OK" if statistics.median(ratios) <= RATIO_TARGET else "SLOW"),
    ])


if __name__ == "__main__":
    main()
