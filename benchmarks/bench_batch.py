"""A 10,000-table bundle on a PostgreSQL server with default settings: refused in one transaction, applied with `--batch`.

Run from anywhere (standard library, plus reviewkit and psycopg; the PostgreSQL client
program psql must be on PATH for the context rows):

    python benchmarks/bench_batch.py                     # 10,000 tables, one run per measure
    python benchmarks/bench_batch.py --tables 2000 --repeat 3
    python benchmarks/bench_batch.py --skip psql         # no context rows

The server is REVIEWKIT_BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
each measure gets a fresh database `rk_batch_<pid>_...`, dropped at the end. Every measure
is one whole `python -m reviewkit ...` process, timed by wall clock, with its peak
resident memory. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generate import bytecode_note, write_models  # noqa: E402

SERVER = os.environ.get("REVIEWKIT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
SETTINGS = ("max_locks_per_transaction", "max_connections", "max_prepared_transactions")


def measured(argv: list[str], cwd: Path, expect: int = 0) -> tuple[float, float, str, str]:
    """Run `argv`; return (wall seconds, peak RSS in MB, stdout, stderr). Stop when it exits otherwise than `expect`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != expect:
        raise SystemExit(f"{' '.join(argv[2:])}: exit {code}, expected {expect}:\n{stdout[-2000:]}{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, stdout, stderr


def reviewkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "reviewkit", *args]


class Server:
    """Fresh databases on the benchmark's server, each dropped at the end."""

    def __init__(self, url: str) -> None:
        from reviewkit.dialects.connection import parse_url

        self.server = parse_url(url, Path.cwd())
        self.made: list[str] = []

    def fresh(self, label: str) -> str:
        from reviewkit.dialects.connection import create_database

        name = f"rk_batch_{os.getpid()}_{label}"
        self.made.append(name)
        return create_database(self.server, name).raw

    def value(self, url: str, sql: str):
        from reviewkit.dialects.connection import connect, parse_url

        with connect(parse_url(url, Path.cwd())) as conn:
            return conn.query(sql)[0][0]

    def settings(self) -> dict[str, str]:
        return {name: str(self.value(self.server.raw, f"SHOW {name}")) for name in SETTINGS}

    def drop_all(self) -> None:
        from reviewkit.dialects.connection import drop_database

        for name in self.made:
            drop_database(self.server, name)


def tables_in(server: Server, url: str) -> int:
    return int(server.value(url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                                 "AND tablename <> 'reviewkit_ledger'"))


def ledger(server: Server, url: str) -> str:
    return str(server.value(url, "SELECT string_agg(direction || ' ' || status || ' ' || statements_done, ', ' "
                                 "ORDER BY id) FROM reviewkit_ledger"))


def reviewkit_rows(server: Server, project: Path, tables: int, statements: int, repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for r in range(repeat):
        db = server.fresh(f"rk{r}")
        seconds, rss, _, stderr = measured(reviewkit("apply", "--database", db), project, expect=1)
        if "nothing was run" not in stderr or tables_in(server, db):
            raise SystemExit(f"apply without --batch should be refused before it runs:\n{stderr}")
        rows.append(("apply (refused: lock table)", f"{seconds:.2f}", f"{rss:.0f}", stderr.splitlines()[0][7:90] + "..."))
        seconds, rss, stdout, _ = measured(reviewkit("apply", "--dry-run", "--batch", "auto", "--database", db), project)
        groups = re.search(r"commits (\d+) groups", stdout)
        rows.append(("apply --dry-run --batch auto", f"{seconds:.2f}", f"{rss:.0f}", groups.group(0) if groups else "?"))
        seconds, rss, stdout, _ = measured(reviewkit("apply", "--batch", "auto", "--database", db), project)
        if tables_in(server, db) != tables or ledger(server, db) != f"up applied {statements}":
            raise SystemExit(f"apply --batch auto: expected {tables} tables and one applied row:\n{stdout[-1000:]}")
        rows.append(("apply --batch auto", f"{seconds:.2f}", f"{rss:.0f}", f"{tables} tables, ledger: applied"
                     + _run_again(stdout)))
        seconds, rss, stdout, _ = measured(reviewkit("apply", "--to", "0", "--yes", "--batch", "auto", "--database", db),
                                           project)
        if tables_in(server, db) or not ledger(server, db).endswith(f"down applied {tables}"):
            raise SystemExit(f"apply --to 0 --batch auto: expected no table left:\n{stdout[-1000:]}")
        rows.append(("apply --to 0 --batch auto (rollback)", f"{seconds:.2f}", f"{rss:.0f}",
                     "no table left" + _run_again(stdout)))
    return rows


def _run_again(stdout: str) -> str:
    """How many groups found no room in the lock table (other sessions held it) and ran again in halves."""
    count = stdout.count("had no room")
    return f"; {count} group(s) run again in halves: other sessions held the lock table" if count else ""


def psql_rows(server: Server, up_sql: Path, tables: int) -> list[tuple[str, ...]]:
    """Context: the engine's own client, statement by statement (autocommit), and in one transaction (-1)."""
    rows = []
    for label, flags in (("psql -f up.sql (autocommit)", []), ("psql -1 -f up.sql (one transaction)", ["-1"])):
        db = server.fresh("psql" + "".join(flags).replace("-", ""))
        start = time.perf_counter()
        done = subprocess.run(["psql", db, "-X", "-q", "-v", "ON_ERROR_STOP=1", *flags, "-f", str(up_sql)],
                              capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        if done.returncode == 0:
            said = f"{tables_in(server, db)} tables"
        else:
            at = re.search(r"up\.sql:(\d+): ERROR:\s+(.*)", done.stderr)
            said = f"failed at line {at.group(1)}: {at.group(2)}" if at else done.stderr.strip()[:80]
        rows.append((label, f"{seconds:.2f}", "-", said))
    return rows


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("measure", "seconds", "peak RSS MB", "result")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *rows):
        print("  ".join(c.ljust(w) if i in (0, 3) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=10_000, help="tables in the bundle (default 10000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the reviewkit measures (default 1)")
    parser.add_argument("--skip", action="append", default=[], choices=["psql"], help="leave the context rows out")
    args = parser.parse_args()
    if args.tables < 1 or args.repeat < 1:
        parser.error("--tables and --repeat must be at least 1")
    server = Server(SERVER)
    settings = server.settings()
    print(f"python -m reviewkit; CPUs: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"{bytecode_note()}; server {server.server.redacted()}: "
          + ", ".join(f"{k} {v}" for k, v in settings.items()))
    root = Path(tempfile.mkdtemp(prefix="reviewkit-batch-"))
    try:
        project = root / "project"
        (project / "bundles").mkdir(parents=True)
        (project / "reviewkit.toml").write_text(CONFIG, encoding="utf-8")
        write_models(project, args.tables, changed=False)
        seconds, rss, stdout, _ = measured(reviewkit("generate", "--no-input"), project)
        up_sql = next((project / "bundles").glob("0001_*/postgres/up.sql"))
        statements = int(re.search(r"(\d+) statements", up_sql.read_text(encoding="utf-8")[:400]).group(1))
        rows = [("generate (postgres only, untimed setup)", f"{seconds:.2f}", f"{rss:.0f}",
                 f"{statements} statements, up.sql {up_sql.stat().st_size / 2**20:.1f} MB")]
        rows += reviewkit_rows(server, project, args.tables, statements, args.repeat)
        if "psql" not in args.skip:
            rows += psql_rows(server, up_sql, args.tables)
        print()
        print_table(rows)
    finally:
        server.drop_all()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
