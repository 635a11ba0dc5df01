"""Apply a large hand-written data bundle: reviewkit's time and peak memory against the engines' own clients.

Run from the repository (standard library only; the clients psql, mariadb and sqlite3
must be on PATH, PostgreSQL at 127.0.0.1:5432 as postgres and MariaDB at 127.0.0.1:3306
as root, both without a password, or as --postgres / --mysql say):

    python benchmarks/bench_stream.py                       # a 1 GB bundle, all three engines
    python benchmarks/bench_stream.py --size 100M           # a quick run
    python benchmarks/bench_stream.py --engines postgres,sqlite

Steps:

  1 write   a project: bundle 1 creates `items`, bundle 2 is `generate --empty` with an
            up.sql of --size bytes (INSERTs of 500 rows, an UPDATE of those rows after
            every tenth INSERT), the same file hard-linked for the three dialects; then
            `reviewkit seal 2` (hashes it; lint names it too large to read statement by
            statement).
  2 verify  `reviewkit verify 2`: every file hashed in 1 MB reads.
  3 apply   per engine, on a fresh database: `reviewkit apply` (verification, the counting
            pass, the run and the ledger), then the engine's client on another fresh
            database: `psql -X -1 -q -f up.sql`, `mariadb DB < up.sql`, `sqlite3 DB` with
            the file between BEGIN and COMMIT (reviewkit runs it in one transaction too).
            The rows are counted after each. Target: reviewkit's peak RSS under 200 MB.

Peak RSS is the process's VmHWM, read from /proc while it runs. Everything is removed at
the end (unless --keep). Check the free space first: the file is written once (about
--size), the databases take about 2x --size each while they exist.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
MODEL = "CREATE TABLE items (id bigint PRIMARY KEY, name varchar(100) NOT NULL, qty integer NOT NULL);\n"
ROWS_PER_INSERT = 500
RSS_TARGET = 200 << 20
MB = 1 << 20
ENGINES = ("postgres", "mysql", "sqlite")


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


# -- the data ------------------------------------------------------------------------------


def write_data_script(path: Path, size: int) -> tuple[int, int]:
    """Write INSERTs and UPDATEs up to `size` bytes; return the statement and row counts."""
    statements = rows = written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("-- backfill: hand-written, applied as it is\n")
        while written < size:
            first = rows + 1
            values = ",\n".join(f"({i}, 'item {i}: it''s; fine', {i % 97})" for i in range(first, first + ROWS_PER_INSERT))
            text = f"INSERT INTO items (id, name, qty) VALUES\n{values};\n"
            rows += ROWS_PER_INSERT
            statements += 1
            if statements % 11 == 10:
                text += f"UPDATE items SET qty = qty + 1 WHERE id BETWEEN {first} AND {rows};\n"
                statements += 1
            written += out.write(text)
    return statements, rows


def make_project(root: Path, size: int) -> tuple[Path, int, int]:
    """Write the project and its sealed data bundle; return the script, its statements and rows."""
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    (root / "models" / "schema.sql").write_text(MODEL)
    reviewkit(root, "generate", "--no-input", "items")
    reviewkit(root, "generate", "--empty", "backfill")
    folder = next((root / "bundles").glob("0002_*"))
    script = folder / "postgres" / "up.sql"
    statements, rows = write_data_script(script, size)
    for dialect in ("mysql", "sqlite"):
        (folder / dialect / "up.sql").unlink()
        os.link(script, folder / dialect / "up.sql")
    for dialect in ENGINES:
        (folder / dialect / "down.sql").write_text("DELETE FROM items;\n")
    reviewkit(root, "seal", "2")
    return script, statements, rows


# -- running and measuring -----------------------------------------------------------------


def measured(argv: list[str], cwd: Path | None = None, stdin: Path | None = None, shell: bool = False) -> tuple[float, int]:
    """Run a process to completion; return its wall time and peak RSS (bytes). Stop the benchmark if it fails."""
    source = stdin.open("rb") if stdin else subprocess.DEVNULL
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE, shell=shell)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_peak(process.pid))
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    out, err = process.communicate()
    if stdin:
        source.close()
    if process.returncode != 0:
        raise SystemExit(f"failed (exit {process.returncode}): {argv}\n{out[-2000:]!r}\n{err[-2000:]!r}")
    return elapsed, peak


def _tree_peak(pid: int) -> int:
    """The largest VmHWM of the process and its children (a shell pipeline's client)."""
    peaks = [_high_water_mark(pid)]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return max(peaks + [_tree_peak(int(child)) for child in children])


def _high_water_mark(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reviewkit(root: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"reviewkit {' '.join(args)} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")


class Engine:
    """A fresh database per run on one engine, its URL for reviewkit and its client's command."""

    def __init__(self, name: str, options: argparse.Namespace, scratch: Path) -> None:
        self.name, self.options, self.scratch, self.count = name, options, scratch, 0

    def fresh(self) -> str:
        self.count += 1
        db = f"rk_bench_stream_{os.getpid()}_{self.count}"
        if self.name == "sqlite":
            return str(self.scratch / f"{db}.sqlite3")
        self.sql(f"DROP DATABASE IF EXISTS {db}", None)
        self.sql(f"CREATE DATABASE {db}", None)
        return db

    def url(self, db: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{db}"
        return f"{self.options.postgres}/{db}" if self.name == "postgres" else f"{self.options.mysql}/{db}"

    def client(self, db: str, script: Path) -> tuple[list[str] | str, Path | None, bool]:
        """The engine's own client applying `script`: argv (or a shell line), stdin, shell."""
        if self.name == "postgres":
            return ["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", self.url(db), "-f", str(script)], None, False
        if self.name == "mysql":
            return ["mariadb", *self._mysql_args(), db], script, False
        return f"(echo 'BEGIN;'; cat '{script}'; echo 'COMMIT;') | sqlite3 -bail '{db}'", None, True

    def sql(self, statement: str, db: str | None) -> str:
        if self.name == "postgres":
            argv = ["psql", "-X", "-A", "-t", "-q", "-d", self.url(db or "postgres"), "-c", statement]
        elif self.name == "mysql":
            argv = ["mariadb", *self._mysql_args(), "-N", "-e", statement, *([db] if db else [])]
        else:
            argv = ["sqlite3", db or ":memory:", statement]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()

    def drop(self, db: str) -> None:
        if self.name == "sqlite":
            Path(db).unlink(missing_ok=True)
        else:
            self.sql(f"DROP DATABASE IF EXISTS {db}", None)

    def _mysql_args(self) -> list[str]:
        host_port = self.options.mysql.split("@")[-1]
        host, _, port = host_port.partition(":")
        user = self.options.mysql.split("://")[1].split("@")[0]
        return ["-h", host, "-P", port or "3306", "-u", user]


def bench_engine(engine: Engine, root: Path, script: Path, rows: int) -> list[tuple[str, str, float, int]]:
    """Apply the bundle with reviewkit, then the script with the engine's client; check the rows of each."""
    results = []
    db = engine.fresh()
    seconds, peak = measured([sys.executable, "-m", "reviewkit", "apply", "--database", engine.url(db)], cwd=root)
    _check_rows(engine, db, rows)
    engine.drop(db)
    results.append((engine.name, "reviewkit apply", seconds, peak))
    db = engine.fresh()
    engine.sql(MODEL, db)
    argv, stdin, shell = engine.client(db, script)
    seconds, peak = measured(argv, stdin=stdin, shell=shell)
    _check_rows(engine, db, rows)
    engine.drop(db)
    results.append((engine.name, {"postgres": "psql -1 -f", "mysql": "mariadb <", "sqlite": "sqlite3 < (1 txn)"}[engine.name],
                    seconds, peak))
    return results


def _check_rows(engine: Engine, db: str, rows: int) -> None:
    found = int(engine.sql("SELECT COUNT(*) FROM items", db))
    if found != rows:
        raise SystemExit(f"{engine.name}: {found} rows in items after the run, {rows} expected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="1G", help="size of the data script (1G, 200M, ...; default 1G)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: postgres,mysql,sqlite")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1:3306")
    parser.add_argument("--dir", default=None, help="where to write the project (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the project folder")
    options = parser.parse_args()
    size = parse_size(options.size)
    scratch = Path(tempfile.mkdtemp(prefix="rk-bench-stream-", dir=options.dir))
    free = shutil.disk_usage(scratch).free
    if free < 4 * size:
        raise SystemExit(f"{scratch}: {free / MB:,.0f} MB free, {4 * size / MB:,.0f} MB wanted for a {size / MB:,.0f} MB run")
    try:
        run(options, scratch, size)
    finally:
        if not options.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def run(options: argparse.Namespace, scratch: Path, size: int) -> None:
    root = scratch / "project"
    start = time.perf_counter()
    script, statements, rows = make_project(root, size)
    written = time.perf_counter() - start
    megabytes = script.stat().st_size / MB
    print(f"data bundle: {megabytes:,.0f} MB, {statements:,} statements, {rows:,} rows "
          f"(written and sealed in {written:.1f} s)", flush=True)
    results = [("-", "reviewkit verify 2", *measured([sys.executable, "-m", "reviewkit", "verify", "2"], cwd=root))]
    for name in options.engines.split(","):
        results += bench_engine(Engine(name.strip(), options, scratch), root, script, rows)
    print(f"\n{'engine':<9} {'run':<20} {'seconds':>9} {'MB/s':>8} {'peak RSS MB':>12}")
    for engine, what, seconds, peak in results:
        print(f"{engine:<9} {what:<20} {seconds:>9.1f} {megabytes / seconds:>8.1f} {peak / MB:>12.0f}")
    worst = max(peak for _, what, _, peak in results if what.startswith("reviewkit"))
    verdict = "met" if worst < RSS_TARGET else "MISSED"
    print(f"\nreviewkit's peak RSS: {worst / MB:.0f} MB (target under {RSS_TARGET / MB:.0f} MB: {verdict})")


if __name__ == "__main__":
    main()
