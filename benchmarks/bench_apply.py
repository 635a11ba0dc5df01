"""Time `reviewkit apply` against psql, `reviewkit status` with many bundles, and bundle hashing.

Run from anywhere (standard library only; reviewkit must be installed, and the PostgreSQL
client programs psql, createdb and dropdb must be on PATH):

    python benchmarks/bench_apply.py                    # everything, 3 runs per measure
    python benchmarks/bench_apply.py --repeat 5 --top 30
    python benchmarks/bench_apply.py --skip apply       # no PostgreSQL needed

Steps:

  1 apply   the first bundle of the synthetic 1,000-table schema (see bench_generate.py),
            applied to a fresh PostgreSQL database by `reviewkit apply` (whole process,
            ledger included) and by `psql -X -1 -q -f up.sql` (another fresh database).
            Target: reviewkit within 1.1x of psql. Then one run under cProfile.
  2 status  `reviewkit status` and `reviewkit status --database sqlite:///...` with 500
            bundles, all applied to the SQLite database. Target: under 1 s each.
  3 hash    reviewkit.bundle.digest.sha256_hex over a 256 MB buffer, and verify_files on a bundle
            whose postgres/up.sql is 200 MB. Target: at least 1 GB/s (1 GB = 10^9 bytes).

Every scratch database and folder is removed at the end (unless --keep). See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from functools import partial
from pathlib import Path

from bench_generate import reviewkit_command, write_models

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
RATIO_TARGET = 1.1
STATUS_TARGET = 1.0
HASH_TARGET = 1.0  # GB/s
STATUS_URL = "sqlite:///status.sqlite3"  # relative to the project folder
GB = 10**9
MB = 10**6


# -- helpers ------------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    """The environment for reviewkit processes: no REVIEWKIT_DATABASE_URL to redirect `status`."""
    env = dict(os.environ)
    env.pop("REVIEWKIT_DATABASE_URL", None)
    return env


def run(argv: list[str], cwd: Path | None = None, what: str = "") -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run one process to completion; return its wall-clock time. Stop the benchmark when it fails."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{what or argv[0]} failed (exit {result.returncode}): {' '.join(argv)}\n"
                         f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed, result


def children_cpu() -> float:
    """CPU seconds (user + system) used so far by finished child processes; 0 where unknown."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def expect(condition: bool, message: str) -> None:
    """Refuse to report a time for a run that did something else than the step means."""
    if not condition:
        raise SystemExit(f"check failed: {message}")


class Postgres:
    """Scratch databases on one server, through the PostgreSQL client programs."""

    def __init__(self, host: str, port: int, user: str) -> None:
        self.args = ["-h", host, "-p", str(port), "-U", user]
        self.host, self.port, self.user = host, port, user
        self.created: set[str] = set()
        self.checkpoints = True

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{db}"

    def create(self, db: str) -> str:
        self.drop(db)
        run(["createdb", *self.args, db], what="createdb")
        self.created.add(db)
        return db

    def drop(self, db: str) -> None:
        subprocess.run(["dropdb", *self.args, "--if-exists", db], env=child_env(), capture_output=True, check=False)
        self.created.discard(db)

    def drop_all(self) -> None:
        for db in sorted(self.created):
            self.drop(db)

    def value(self, db: str, sql: str) -> str:
        _, result = run(["psql", *self.args, "-X", "-A", "-t", "-q", "-d", db, "-c", sql], what="psql")
        return result.stdout.strip()

    def checkpoint(self) -> None:
        """Flush the previous run's dirty pages now, so they are not written during the next timed run."""
        if not self.checkpoints:
            return
        result = subprocess.run(["psql", *self.args, "-X", "-q", "-d", "postgres", "-c", "CHECKPOINT"],
                                env=child_env(), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"note: CHECKPOINT refused ({result.stderr.strip()}); runs are not separated by checkpoints")
            self.checkpoints = False


def table_count(pg: Postgres, db: str) -> int:
    return int(pg.value(db, "SELECT count(*) FROM pg_class WHERE relkind = 'r' "
                            "AND relnamespace = 'public'::regnamespace"))


def summary(times: list[float]) -> tuple[float, float]:
    return min(times), statistics.median(times)


# -- step 1: apply ------------------------------------------------------------------------


def build_apply_project(root: Path, tables: int) -> Path:
    """The synthetic schema and its first bundle, generated in-process (untimed)."""
    from reviewkit.config import load_settings
    from reviewkit.generate import GenerateOptions, generate

    project = root / "apply_project"
    project.mkdir()
    (project / "reviewkit.toml").write_text(CONFIG, encoding="utf-8")
    write_models(project, tables, changed=False)
    bundle = generate(load_settings(project), GenerateOptions(author="bench"))
    expect(bundle is not None and len(bundle.manifest["operations"]) == tables,
           f"the first bundle should hold {tables} create_table operations")
    return bundle.path


def bench_apply(pg: Postgres, command: list[str], bundle: Path, tables: int, repeat: int) -> dict:
    from reviewkit.dialects.splitter import split_statements

    project = bundle.parent.parent
    up_sql = bundle / "postgres" / "up.sql"
    prefix = f"rk_bench_{os.getpid()}"
    times: dict[str, list[float]] = {"reviewkit": [], "psql": []}
    cpu: dict[str, list[float]] = {"reviewkit": [], "psql": []}
    pairs = []
    last_rk_db = None
    for r in range(repeat):
        rk_db = pg.create(f"{prefix}_rk{r}")
        psql_db = pg.create(f"{prefix}_psql{r}")

        # Alternate which goes first: the server and the disk are never quite the same twice.
        order = [("psql", psql_db), ("reviewkit", rk_db)]
        if r % 2:
            order.reverse()
        pair = {}
        for name, db in order:
            pg.checkpoint()
            cpu_before = children_cpu()
            if name == "psql":
                pair[name], _ = run(["psql", *pg.args, "-d", db, "-X", "-1", "-q", "-f", str(up_sql)], what="psql -f")
            else:
                # --batch auto: on a server with default settings the bundle's one transaction would not fit
                # the lock table, and apply refuses it (psql -1 gets through on the room the server does not promise).
                pair[name], result = run([*command, "apply", "--database", pg.url(db), "--batch", "auto"], cwd=project,
                                         what="reviewkit apply")
                expect("Applied 1 bundle:" in result.stdout, f"reviewkit apply output:\n{result.stdout}")
            cpu[name].append(children_cpu() - cpu_before)
            times[name].append(pair[name])
        pairs.append(pair)

        expect(table_count(pg, psql_db) == tables, f"psql: expected {tables} tables in {psql_db}")
        expect(table_count(pg, rk_db) == tables + 1, f"reviewkit: expected {tables} tables and the ledger in {rk_db}")
        ledger = pg.value(rk_db, "SELECT count(*) || ' ' || min(status) FROM reviewkit_ledger")
        expect(ledger == "1 applied", f"reviewkit: expected one 'applied' ledger row, got {ledger!r}")
        pg.drop(psql_db)
        if last_rk_db:
            pg.drop(last_rk_db)
        last_rk_db = rk_db

    # The fixed cost: start-up, loading and verifying bundles, connecting, locking, reading the ledger.
    noop, noop_cpu = [], []
    for _ in range(max(repeat, 3)):
        cpu_before = children_cpu()
        elapsed, result = run([*command, "apply", "--database", pg.url(last_rk_db)], cwd=project, what="reviewkit apply")
        expect("Nothing to do" in result.stdout, f"second apply should do nothing:\n{result.stdout}")
        noop.append(elapsed)
        noop_cpu.append(children_cpu() - cpu_before)
    connect = []
    for _ in range(max(repeat, 3)):
        elapsed, _ = run(["psql", *pg.args, "-d", last_rk_db, "-X", "-q", "-c", "SELECT 1"], what="psql -c")
        connect.append(elapsed)
    pg.drop(last_rk_db)
    return {"times": times, "cpu": cpu, "pairs": pairs, "noop": noop, "noop_cpu": noop_cpu, "connect": connect,
            "statements": len(split_statements(up_sql.read_text(encoding="utf-8"), "postgres")),
            "bytes": up_sql.stat().st_size}


PROFILE_CHILD = textwrap.dedent("""\
    import cProfile, sys
    stats_file = sys.argv[1]
    sys.argv = ["reviewkit", *sys.argv[2:]]
    profiler = cProfile.Profile()
    code = 0
    profiler.enable()
    try:
        from reviewkit.cli import main
        main()
    except SystemExit as exit_:
        code = exit_.code
    profiler.disable()
    profiler.dump_stats(stats_file)
    sys.exit(code)
""")

# Where the time of a profiled command goes: (label, [(file the function is in, function name), ...]).
# Cumulative times; an indented line is part of the line above it.
APPLY_BREAKDOWN = [
    ("imports (reviewkit, typer, rich, sqlglot)", [("<frozen importlib._bootstrap>", "_find_and_load")]),
    ("load_bundles (read every manifest)", [("reviewkit/bundle/store.py", "load_bundles")]),
    ("connect (incl. importing psycopg)", [("reviewkit/dialects/connection.py", "connect")]),
    ("plan (incl. split_statements)", [("reviewkit/db/runner.py", "plan")]),
    ("  split_statements", [("reviewkit/dialects/splitter.py", "split_statements")]),
    ("verify_steps (sha256 of the bundle files)", [("reviewkit/db/runner.py", "verify_steps")]),
    ("check_lock_table (the lock estimate)", [("reviewkit/db/batches.py", "check_lock_table")]),
    ("Runner.run (statements + ledger row)", [("reviewkit/db/runner.py", "run")]),
    ("  psycopg waiting for the server", [("psycopg/connection.py", "wait")]),
    ("  psycopg sending the statements", [("psycopg/_cursor_base.py", "_execute_send")]),
    ("  ledger: read_rows + insert_row", [("reviewkit/db/ledger.py", "read_rows"), ("reviewkit/db/ledger.py", "insert_row")]),
]
STATUS_BREAKDOWN = [
    ("imports (reviewkit, typer, rich, sqlglot)", [("<frozen importlib._bootstrap>", "_find_and_load")]),
    ("collect_status", [("reviewkit/db/status.py", "collect_status")]),
    ("  load_bundles (read every manifest)", [("reviewkit/bundle/store.py", "load_bundles")]),
    ("  verify_files (every bundle)", [("reviewkit/bundle/digest.py", "verify_files")]),
    ("    sha256_hex", [("reviewkit/bundle/digest.py", "file_sha256")]),
    ("    signed_files (the walk over the folder)", [("reviewkit/bundle/digest.py", "signed_files")]),
    ("  read_rows + verify_chain (ledger)", [("reviewkit/db/ledger.py", "read_rows"), ("reviewkit/db/ledger.py", "verify_chain")]),
    ("_print_status (rich table)", [("reviewkit/cli/database.py", "_print_status")]),
]


def profile_command(project: Path, argv: list[str], label: str, root: Path, top: int,
                    breakdown: list[tuple[str, list[tuple[str, str]]]]) -> None:
    """Run one reviewkit command under cProfile in a fresh process (so imports count) and summarise it."""
    import pstats

    stats_file = root / "profile.prof"
    start = time.perf_counter()
    run([sys.executable, "-c", PROFILE_CHILD, str(stats_file), *argv], cwd=project, what=f"profiled {label}")
    wall = time.perf_counter() - start
    stats = pstats.Stats(str(stats_file))
    print(f"\n=== {label} under cProfile (in-process; wall clock {wall:.2f} s, profiled): top {top} by tottime ===")
    pstats.Stats(str(stats_file), stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(top)

    def cumulative(path: str, name: str) -> float:
        return sum(ct for (file, _, func), (_, _, _, ct, _) in stats.stats.items()
                   if func == name and file.replace("\\", "/").endswith(path))

    print(f"where the time goes (cumulative s, profiled; total {stats.total_tt:.3f} s):")
    for title, functions in breakdown:
        print(f"  {title:<44} {sum(cumulative(path, name) for path, name in functions):7.3f}")
    stats_file.unlink()


def profile_apply(pg: Postgres, bundle: Path, root: Path, top: int, tables: int) -> None:
    db = pg.create(f"rk_bench_{os.getpid()}_profile")
    try:
        pg.checkpoint()
        profile_command(bundle.parent.parent, ["apply", "--database", pg.url(db), "--batch", "auto"],
                        f"reviewkit apply ({tables} tables)", root, top, APPLY_BREAKDOWN)
    finally:
        pg.drop(db)


# -- step 2: status with many bundles -------------------------------------------------------


def build_status_project(root: Path, count: int) -> tuple[Path, float]:
    """`count` bundles, each adding one column to a one-table schema, generated in-process."""
    from reviewkit.config import load_settings
    from reviewkit.generate import GenerateOptions, generate

    project = root / "status_project"
    (project / "models").mkdir(parents=True)
    (project / "reviewkit.toml").write_text(CONFIG, encoding="utf-8")
    model = project / "models" / "items.sql"
    start = time.perf_counter()
    for i in range(count):
        columns = "".join(f",\n    c{k:04d} integer" for k in range(1, i + 1))
        model.write_text(f"CREATE TABLE items (\n    id bigserial PRIMARY KEY,\n    name text NOT NULL{columns}\n);\n",
                         encoding="utf-8")
        bundle = generate(load_settings(project), GenerateOptions(author="bench"))
        expect(bundle is not None and bundle.number == i + 1, f"generate step {i + 1} wrote no bundle")
    return project, time.perf_counter() - start


def bench_status(command: list[str], project: Path, count: int, repeat: int) -> dict:
    url = STATUS_URL
    apply_time, result = run([*command, "apply", "--database", url], cwd=project, what="reviewkit apply")
    expect(f"Applied {count} bundles:" in result.stdout, f"apply of {count} bundles:\n{result.stdout[-500:]}")
    _, result = run([*command, "status", "--database", url, "--json"], cwd=project, what="reviewkit status --json")
    report = json.loads(result.stdout)
    states = [b["state"] for b in report["bundles"]]
    expect(len(states) == count and set(states) == {"applied"} and not report["needs_attention"],
           f"status --json: expected {count} applied bundles and nothing flagged")
    runs: dict[str, list[float]] = {"plain": [], "database": [], "verify": []}
    for _ in range(repeat):
        elapsed, result = run([*command, "status"], cwd=project, what="reviewkit status")
        expect(f"{count:04d}_" in result.stdout and "not created yet" in result.stdout, "status (no database) output")
        runs["plain"].append(elapsed)
        elapsed, result = run([*command, "status", "--database", url], cwd=project, what="reviewkit status --database")
        expect(f"{count:04d}_" in result.stdout and "database: sqlite" in result.stdout, "status --database output")
        runs["database"].append(elapsed)
        elapsed, result = run([*command, "verify", "--database", url], cwd=project, what="reviewkit verify --database")
        expect(f"{count:04d}_" in result.stdout, "verify --database output")
        runs["verify"].append(elapsed)
    return {"runs": runs, "apply": apply_time}


# -- step 3: hashing ------------------------------------------------------------------------


def best_of(repeat: int, fn) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def bench_hash(first_bundle: Path | None, root: Path, buffer_mb: int, file_mb: int, repeat: int) -> dict:
    from reviewkit.bundle.digest import sha256_hex, verify_files
    from reviewkit.bundle.seal import seal_bundle
    from reviewkit.bundle.store import Bundle, read_manifest

    results = {}
    buffer = bytes(buffer_mb * MB)  # sha256 costs the same for any bytes
    expect(sha256_hex(buffer) == hashlib.sha256(buffer).hexdigest(), "sha256_hex disagrees with hashlib")
    results["sha256_hex"] = (len(buffer), best_of(repeat, partial(sha256_hex, buffer)))
    results["hashlib"] = (len(buffer), best_of(repeat, partial(hashlib.sha256, buffer)))
    del buffer

    # A bundle whose postgres/up.sql is `file_mb` MB of real statements, resealed.
    folder = root / "verify_project" / "bundles"
    folder.mkdir(parents=True)
    if first_bundle is None:
        first_bundle = build_apply_project(root, 50)
    bundle_dir = folder / first_bundle.name
    shutil.copytree(first_bundle, bundle_dir)
    big = bundle_dir / "postgres" / "up.sql"
    chunk = big.read_bytes()
    data = chunk * math.ceil(file_mb * MB / len(chunk))
    big.write_bytes(data)
    del data
    bundle = seal_bundle(Bundle(bundle_dir, read_manifest(bundle_dir))).bundle
    problems = verify_files(bundle.path, bundle.manifest)
    expect(not problems, f"the resealed bundle does not verify: {problems}")
    listed = sum((bundle_dir / rel).stat().st_size for rel in bundle.manifest["files"])
    results["verify_files"] = (listed, best_of(repeat, lambda: verify_files(bundle.path, bundle.manifest)))

    def file_digest() -> None:
        with open(big, "rb") as f:
            hashlib.file_digest(f, "sha256")

    results["read_bytes"] = (big.stat().st_size, best_of(repeat, big.read_bytes))
    results["file_digest"] = (big.stat().st_size, best_of(repeat, file_digest))
    results["file_mb"] = big.stat().st_size / MB
    return results


# -- the table --------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, ...]], context_from: int) -> None:
    header = ("measure", "best", "median", "unit", "target", "status")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i in (0, 3) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

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
    parser.add_argument("--tables", type=int, default=1000, help="tables in the applied bundle (default 1000)")
    parser.add_argument("--bundles", type=int, default=500, help="bundles for the status step (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measure; best and median (default 3)")
    parser.add_argument("--host", default="127.0.0.1", help="PostgreSQL host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5432, help="PostgreSQL port (default 5432)")
    parser.add_argument("--user", default="postgres", help="PostgreSQL user; it must be allowed to create databases")
    parser.add_argument("--buffer-mb", type=int, default=256, help="buffer hashed by sha256_hex, MB (default 256)")
    parser.add_argument("--file-mb", type=int, default=200, help="size of the big up.sql for verify_files, MB (default 200)")
    parser.add_argument("--skip", action="append", choices=("apply", "status", "hash"), default=[],
                        help="leave a step out (repeatable)")
    parser.add_argument("--no-profile", action="store_true", help="do not cProfile the apply of step 1")
    parser.add_argument("--profile-status", action="store_true", help="also cProfile `status --database` of step 2")
    parser.add_argument("--no-checkpoint", action="store_true",
                        help="do not run CHECKPOINT before each timed PostgreSQL run")
    parser.add_argument("--top", type=int, default=20, help="functions listed per profile (default 20)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects and print where they are")
    args = parser.parse_args()
    if min(args.tables, args.bundles, args.repeat, args.buffer_mb, args.file_mb) < 1:
        parser.error("--tables, --bundles, --repeat, --buffer-mb and --file-mb must be at least 1")
    if "apply" not in args.skip:
        missing = [p for p in ("psql", "createdb", "dropdb") if shutil.which(p) is None]
        if missing:
            parser.error(f"step 1 needs {', '.join(missing)} on PATH (or pass --skip apply)")

    command = reviewkit_command()
    pg = Postgres(args.host, args.port, args.user)
    pg.checkpoints = not args.no_checkpoint
    root = Path(tempfile.mkdtemp(prefix="reviewkit-bench-apply-"))
    rows: list[tuple[str, ...]] = []
    context: list[tuple[str, ...]] = []
    notes: list[str] = []
    profiles = []  # run after the table is printed
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    try:
        print(f"CPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; runs per measure: {args.repeat}"
              + (f"; load average at start {load[0]:.2f}" if load else ""))
        first_bundle = None
        if "apply" not in args.skip:
            server = pg.value("postgres", "SELECT current_setting('server_version') || ', fsync ' || "
                                          "current_setting('fsync') || ', synchronous_commit ' || "
                                          "current_setting('synchronous_commit')")
            print(f"PostgreSQL {server}")
            first_bundle = build_apply_project(root, args.tables)
            a = bench_apply(pg, command, first_bundle, args.tables, args.repeat)
            rk, ps = summary(a["times"]["reviewkit"]), summary(a["times"]["psql"])
            ratio_best, ratio_median = rk[0] / ps[0], rk[1] / ps[1]
            name = f"1 apply {args.tables} tables"
            rows.append((f"{name}: reviewkit apply", f"{rk[0]:.3f}", f"{rk[1]:.3f}", "s", "-", ""))
            rows.append((f"{name}: psql -1 -f up.sql", f"{ps[0]:.3f}", f"{ps[1]:.3f}", "s", "-", ""))
            rows.append((f"{name}: ratio reviewkit/psql", f"{ratio_best:.3f}", f"{ratio_median:.3f}", "x",
                         f"<= {RATIO_TARGET:.2f}", "OK" if ratio_best <= RATIO_TARGET else "SLOW"))
            noop, connect = summary(a["noop"]), summary(a["connect"])
            runs = "; ".join(f"psql {p['psql']:.2f} / reviewkit {p['reviewkit']:.2f}" for p in a["pairs"])
            notes.append(f"step 1: {a['statements']} statements, {a['bytes'] / MB:.2f} MB of SQL; runs (s): {runs}")
            notes.append(f"step 1: reviewkit minus psql, best runs: {rk[0] - ps[0]:+.3f} s; "
                         f"a no-op apply costs {noop[0]:.3f} s, a psql connection {connect[0]:.3f} s")
            context.append(("reviewkit apply, nothing pending", f"{noop[0]:.3f}", f"{noop[1]:.3f}", "s", "-", "context"))
            rk_cpu, ps_cpu, noop_cpu = summary(a["cpu"]["reviewkit"]), summary(a["cpu"]["psql"]), summary(a["noop_cpu"])
            if rk_cpu[0] > 0:
                context.append(("reviewkit apply: CPU of the process", f"{rk_cpu[0]:.3f}", f"{rk_cpu[1]:.3f}", "s", "-",
                                "context"))
                context.append(("psql -1 -f up.sql: CPU of the process", f"{ps_cpu[0]:.3f}", f"{ps_cpu[1]:.3f}", "s", "-",
                                "context"))
                context.append(("reviewkit apply, nothing pending: CPU", f"{noop_cpu[0]:.3f}", f"{noop_cpu[1]:.3f}", "s",
                                "-", "context"))
                extra = rk_cpu[1] - ps_cpu[1]
                notes.append(f"step 1: reviewkit uses {extra:.3f} s more client CPU than psql (medians), "
                             f"{extra / ps[0]:.1%} of psql's best time; the budget for 1.1x is {0.1 * ps[0]:.3f} s. "
                             "The server's work is the same for both, so this is the part reviewkit controls.")
            context.append(("psql -c 'SELECT 1' (connect)", f"{connect[0]:.3f}", f"{connect[1]:.3f}", "s", "-", "context"))

        if "status" not in args.skip:
            project, generated = build_status_project(root, args.bundles)
            s = bench_status(command, project, args.bundles, args.repeat)
            for key, label in (("plain", "status (no database)"), ("database", "status --database sqlite"),
                               ("verify", "verify --database sqlite")):
                best, median = summary(s["runs"][key])
                rows.append((f"2 {args.bundles} bundles: {label}", f"{best:.3f}", f"{median:.3f}", "s",
                             f"< {STATUS_TARGET:.1f}", "OK" if best < STATUS_TARGET else "SLOW"))
            notes.append(f"step 2: {args.bundles} bundles generated in-process in {generated:.1f} s; "
                         f"applied to SQLite in one `reviewkit apply` in {s['apply']:.2f} s")
            if args.profile_status:
                profiles.append(lambda: profile_command(
                    project, ["status", "--database", STATUS_URL], f"reviewkit status --database ({args.bundles} bundles)",
                    root, args.top, STATUS_BREAKDOWN))

        if "hash" not in args.skip:
            h = bench_hash(first_bundle, root, args.buffer_mb, args.file_mb, args.repeat)

            def rate(key: str) -> tuple[float, float]:
                size, times = h[key]
                return size / min(times) / GB, size / statistics.median(times) / GB

            for key, label in (("sha256_hex", f"3 sha256_hex, {args.buffer_mb} MB buffer"),
                               ("verify_files", f"3 verify_files, {h['file_mb']:.0f} MB up.sql")):
                best, median = rate(key)
                rows.append((label, f"{best:.2f}", f"{median:.2f}", "GB/s", f">= {HASH_TARGET:.1f}",
                             "OK" if best >= HASH_TARGET else "SLOW"))
            for key, label in (("hashlib", "hashlib.sha256, same buffer"),
                               ("read_bytes", "Path.read_bytes of the big up.sql"),
                               ("file_digest", "hashlib.file_digest of the big up.sql")):
                best, median = rate(key)
                context.append((label, f"{best:.2f}", f"{median:.2f}", "GB/s", "-", "context"))

        for label, argv in (("python -c pass", [sys.executable, "-c", "pass"]),
                            ("import reviewkit.cli", [sys.executable, "-c", "import reviewkit.cli"])):
            best, median = summary([run(argv)[0] for _ in range(max(args.repeat, 5))])
            context.append((label, f"{best:.3f}", f"{median:.3f}", "s", "-", "context"))

        print_table(rows + context, len(rows))
        print("\nstatus: OK when the best run meets the target; the ratio row compares the best runs (median "
              "column: the medians). 1 GB = 10^9 bytes.")
        for note in notes:
            print(note)
        if load:
            print(f"load average at end {os.getloadavg()[0]:.2f} (a busy machine makes the PostgreSQL times noisy)")

        if "apply" not in args.skip and not args.no_profile:
            profile_apply(pg, first_bundle, root, args.top, args.tables)
        for profile in profiles:
            profile()
    finally:
        pg.drop_all()
        if args.keep:
            print(f"\nprojects kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
