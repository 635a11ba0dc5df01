"""Time `reviewkit drift` and `reviewkit baseline` on an existing 1,000-table database, against `alembic check`.

Run from anywhere (standard library only, plus reviewkit and its database drivers;
Alembic for the comparison rows; the PostgreSQL client programs psql, createdb and
dropdb on PATH):

    python benchmarks/bench_existing.py                 # everything, best of 3
    python benchmarks/bench_existing.py --repeat 5
    python benchmarks/bench_existing.py --skip mariadb  # no MariaDB server here
    python benchmarks/bench_existing.py --profile       # also cProfile drift and baseline on PostgreSQL

The synthetic schema of bench_generate.py (1,000 tables) is generated as a bundle and
applied with `reviewkit apply` to a fresh database of each engine (untimed). Then, each a
whole process, best of --repeat:

  PostgreSQL  `reviewkit drift`, `reviewkit baseline` (a fresh project each run) and
              `alembic check` against SQLAlchemy metadata declaring the same tables.
              Target: drift and baseline each at most 1/5 of alembic check's time.
  MariaDB     `reviewkit drift` and `reviewkit baseline` (context rows).
  SQLite      the same (context rows).
  psql        up.sql, down.sql and up.sql of the bundle, each by `psql -1 -f`, on a fresh
              PostgreSQL database: the engine's own DDL time for what a `prove` of the
              bundle runs (context row; down.sql without -1 when one transaction needs
              more locks than the server has room for).

Scratch databases are dropped and temporary folders removed at the end, even after a
failure (unless --keep). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from bench_apply import Postgres, build_apply_project, child_env, expect, print_table, profile_command, run, summary
from bench_generate import cpu_check, reviewkit_command

RATIO_TARGET = 0.2  # drift and baseline each at most 1/5 of alembic check
BASELINE_CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "{dialect}"
dialects = {dialects}
"""
# The dialects of the baseline project: the three `reviewkit init` writes, except on SQLite. There
# the keys are INTEGER (AUTOINCREMENT needs it) and the foreign keys to them BIGINT, which MySQL
# refuses, so a three-dialect baseline is refused (rightly); a SQLite project is baselined instead.
BASELINE_DIALECTS = {"postgres": '["postgres", "mysql", "sqlite"]', "mysql": '["postgres", "mysql", "sqlite"]',
                     "sqlite": '["sqlite"]'}
SQLITE_FILE = "existing.sqlite3"  # in the project that applied the bundle
ENGINE_TITLES = {"postgres": "PostgreSQL", "mysql": "MariaDB", "sqlite": "SQLite"}

# Tables in the current schema / database, reviewkit's ledger included.
TABLE_COUNT_SQL = {
    "postgres": "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
    "mysql": "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
             "AND TABLE_TYPE = 'BASE TABLE'",
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
}


# -- the SQLAlchemy side: the same schema as metadata, and an Alembic project -----------------

# Portable types of the synthetic schema and the SQLAlchemy type that PostgreSQL maps to them.
_SA_TYPES = [
    (re.compile(r"bigint"), lambda m: "BigInteger"),
    (re.compile(r"integer"), lambda m: "Integer"),
    (re.compile(r"varchar\((\d+)\)"), lambda m: f"String({m.group(1)})"),
    (re.compile(r"numeric\((\d+),\s*(\d+)\)"), lambda m: f"Numeric({m.group(1)}, {m.group(2)})"),
    (re.compile(r"boolean"), lambda m: "Boolean"),
    (re.compile(r"timestamptz"), lambda m: "DateTime(timezone=True)"),
    (re.compile(r"text"), lambda m: "Text"),
]


# Defaults as PostgreSQL shows the ones the bundle created (`DEFAULT CURRENT_TIMESTAMP`, `DEFAULT TRUE`),
# so that the metadata says what the database has; reviewkit's canonical form is CURRENT_TIMESTAMP() and TRUE.
_PG_DEFAULTS = {"CURRENT_TIMESTAMP()": "CURRENT_TIMESTAMP", "TRUE": "true", "FALSE": "false"}


def sa_type(portable: str) -> str:
    for pattern, make in _SA_TYPES:
        match = pattern.fullmatch(portable)
        if match:
            return make(match)
    raise SystemExit(f"bench_existing: no SQLAlchemy type for {portable!r}; extend _SA_TYPES")


def sqlalchemy_module(schema) -> str:
    """Return a Python module that declares `schema` (as reviewkit read the models) as SQLAlchemy metadata.

    One explicit `Table(...)` per table, as a hand-written models module has them: the same
    columns, types, nullability, server defaults, primary key, unique constraint, foreign
    key (with its ON DELETE) and indexes (with their DESC key parts), under the same names.
    """
    lines = [
        '"""The synthetic benchmark schema of bench_generate.py as SQLAlchemy metadata (generated)."""',
        "",
        "from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKeyConstraint, Identity, Index,",
        "                        Integer, MetaData, Numeric, PrimaryKeyConstraint, String, Table, Text,",
        "                        UniqueConstraint, text)",
        "",
        "metadata = MetaData()",
    ]
    for table in schema.tables:
        var = f"table_{table.name}"
        expect(table.name.isidentifier() and not table.checks and table.comment is None,
               f"table {table.name}: the generator only knows the synthetic schema's shape")
        lines += ["", f"{var} = Table(", f"    {table.name!r}, metadata,"]
        for col in table.columns:
            args = [repr(col.name), sa_type(col.type)]
            if not col.nullable and not (table.primary_key and col.name in table.primary_key.columns):
                args.append("nullable=False")
            if col.default is not None:
                args.append(f"server_default=text({_PG_DEFAULTS.get(col.default, col.default)!r})")
            if col.identity:  # the bundle creates `bigserial` as BIGINT GENERATED BY DEFAULT AS IDENTITY
                args.append("Identity()")
            elif table.primary_key and col.name in table.primary_key.columns:
                args.append("autoincrement=False")
            expect(col.identity == (table.primary_key is not None and table.primary_key.columns == (col.name,)
                                    and col.type == "bigint"),
                   f"column {table.name}.{col.name}: only a bigint primary key may be auto-increment here")
            expect(col.generated is None and col.on_update is None and col.comment is None and col.collation is None,
                   f"column {table.name}.{col.name}: not a plain column")
            lines.append(f"    Column({', '.join(args)}),")
        if table.primary_key:
            cols = ", ".join(repr(c) for c in table.primary_key.columns)
            lines.append(f"    PrimaryKeyConstraint({cols}, name={table.primary_key.name!r}),")
        for unique in table.uniques:
            cols = ", ".join(repr(c) for c in unique.columns)
            lines.append(f"    UniqueConstraint({cols}, name={unique.name!r}),")
        for fk in table.foreign_keys:
            refs = [f"{fk.ref_table}.{c}" for c in fk.ref_columns]
            actions = "".join(f", {key}={value!r}"
                              for key, value in (("ondelete", fk.on_delete), ("onupdate", fk.on_update))
                              if value != "NO ACTION")
            lines.append(f"    ForeignKeyConstraint({list(fk.columns)!r}, {refs!r}, name={fk.name!r}{actions}),")
        lines.append(")")
        for index in table.indexes:
            expect(index.where is None and index.method is None and not index.include
                   and all(p.is_column and p.opclass is None for p in index.parts),
                   f"index {index.name}: only plain column indexes are generated")
            parts = [f"{var}.c.{p.expression}" + (".desc()" if p.descending else "") for p in index.parts]
            unique = ", unique=True" if index.unique else ""
            lines.append(f"Index({index.name!r}, {', '.join(parts)}{unique})")
    expect(not schema.views, "the synthetic schema has no views")
    return "\n".join(lines) + "\n"


ALEMBIC_INI = """\
[alembic]
script_location = migrations
prepend_sys_path = .
sqlalchemy.url = {url}
"""

ALEMBIC_ENV = '''\
"""Online autogenerate against the benchmark database; `-x compare_server_default=1` compares defaults too."""

from alembic import context
from sqlalchemy import create_engine

import bench_models


def include_name(name, type_, parent_names):
    """reviewkit's ledger is the migration tool's own table, as alembic_version is Alembic's."""
    return not (type_ == "table" and name.startswith("reviewkit_"))


x_args = context.get_x_argument(as_dictionary=True)
engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=bench_models.metadata,
        include_name=include_name,
        compare_server_default=x_args.get("compare_server_default") == "1",
    )
    with context.begin_transaction():
        context.run_migrations()
'''


def alembic_command() -> list[str]:
    """The `alembic` console script next to this interpreter, else `python -m alembic`."""
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "alembic", scripts / "alembic.exe"):
        if candidate.is_file():
            return [str(candidate)]
    return [sys.executable, "-m", "alembic"]


def build_alembic_project(root: Path, models_project: Path, sa_url: str, tables: int) -> Path:
    """An Alembic project without revisions whose metadata declares the models of `models_project`.

    Before any time is taken, reviewkit's own SQLAlchemy model reader reads the generated
    metadata back: it must give the schema the DDL models give, object by object.
    """
    from reviewkit.config import load_settings
    from reviewkit.diff.differences import schema_differences
    from reviewkit.models import load_models
    from reviewkit.models.sqlalchemy import load_metadata

    ddl_schema = load_models(load_settings(models_project))
    expect(len(ddl_schema.tables) == tables, f"the models should declare {tables} tables")
    project = root / "alembic_project"
    (project / "migrations" / "versions").mkdir(parents=True)
    (project / "alembic.ini").write_text(ALEMBIC_INI.format(url=sa_url.replace("%", "%%")), encoding="utf-8")
    (project / "migrations" / "env.py").write_text(ALEMBIC_ENV, encoding="utf-8")
    (project / "bench_models.py").write_text(sqlalchemy_module(ddl_schema), encoding="utf-8")
    differences = schema_differences(ddl_schema, load_metadata("bench_models:metadata", project))
    sys.modules.pop("bench_models", None)
    expect(not differences, "the SQLAlchemy metadata does not declare the DDL models' schema: "
                            + "; ".join(d.describe() for d in differences[:5]))
    return project


def alembic_said(result: subprocess.CompletedProcess[str]) -> str:
    """The verdict of one `alembic check`: its last line, with the operations counted when there are any."""
    text = (result.stdout + result.stderr).strip()
    last = text.splitlines()[-1] if text else "(nothing)"
    if "New upgrade operations detected" in text:
        # Each diff is a tuple that starts with the operation's name: ('modify_default', None, 't0001', ...).
        found = text[text.index("New upgrade operations detected"):]
        ops = Counter(re.findall(r"\(\s*'(add|remove|modify)_(\w+)'", found))
        listed = ", ".join(f"{a}_{b} x{n}" for (a, b), n in sorted(ops.items()))
        first = re.search(r"\('(?:add|remove|modify)_\w+'.*?\)", found)
        return (f"exit {result.returncode}: New upgrade operations detected: {listed or '?'}"
                + (f"; first: {first.group(0)[:160]}" if first else ""))
    return f"exit {result.returncode}: {last[:200]}"


def time_alembic(pg: Postgres, db: str, command: list[str], project: Path, extra: list[str] = ()) -> tuple[float, str]:
    """Run `alembic check` once; return its time and what it said. It must run to completion.

    Like any Alembic command on a database that has no `alembic_version` table yet, check
    creates it (env.py commits as Alembic's template does). It is dropped again, untimed, so
    that drift and baseline see the schema the bundle built, and every check the same database.
    """
    start = time.perf_counter()
    result = subprocess.run([*command, "-c", "alembic.ini", *extra, "check"], cwd=project, env=child_env(),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    said = alembic_said(result)
    completed = result.returncode == 0 or "New upgrade operations detected" in result.stdout + result.stderr
    expect(completed, f"alembic check did not run to completion ({said}):\n{result.stderr[-3000:]}")
    pg.value(db, "DROP TABLE IF EXISTS alembic_version")
    return elapsed, said


# -- reviewkit on each engine -----------------------------------------------------------------


def table_count(url: str, dialect: str, base: Path) -> int:
    from reviewkit.dialects.connection import connect, parse_url

    with connect(parse_url(url, base)) as conn:
        return int(conn.query(TABLE_COUNT_SQL[dialect])[0][0])


def apply_bundle(command: list[str], project: Path, url: str, dialect: str, tables: int) -> float:
    """Bring the scratch database to bundle 0001 with `reviewkit apply` (untimed) and check it."""
    # --batch auto: a default PostgreSQL's lock table is too small for this bundle in one transaction.
    elapsed, result = run([*command, "apply", "--database", url, "--batch", "auto"], cwd=project,
                          what=f"reviewkit apply ({dialect})")
    expect("Applied 1 bundle:" in result.stdout, f"reviewkit apply ({dialect}) output:\n{result.stdout}")
    count = table_count(url, dialect, project)
    expect(count == tables + 1, f"{dialect}: expected {tables} tables and the ledger, found {count}")
    return elapsed


def time_drift(command: list[str], project: Path, url: str, dialect: str) -> float:
    elapsed, result = run([*command, "drift", "--database", url], cwd=project, what=f"reviewkit drift ({dialect})")
    expect(re.search(r"against bundle 0001_\S+: no differences$", result.stdout.strip()) is not None,
           f"reviewkit drift ({dialect}) should find no difference:\n{result.stdout[-2000:]}")
    return elapsed


def time_baseline(command: list[str], root: Path, url: str, dialect: str, tables: int, r: int) -> float:
    """`reviewkit baseline` in a fresh project without bundles, models in the database's own dialect."""
    project = root / f"baseline_{dialect}_{r}"
    (project / "bundles").mkdir(parents=True)
    config = BASELINE_CONFIG.format(dialect=dialect, dialects=BASELINE_DIALECTS[dialect])
    (project / "reviewkit.toml").write_text(config, encoding="utf-8")
    elapsed, result = run([*command, "baseline", "--database", url], cwd=project,
                          what=f"reviewkit baseline ({dialect})")
    expect((project / "bundles" / "0001_baseline" / "manifest.json").is_file(),
           f"reviewkit baseline ({dialect}) wrote no bundles/0001_baseline:\n{result.stdout[-2000:]}")
    expect(f"Wrote models/baseline.sql and bundle bundles/0001_baseline ({tables} operations)" in result.stdout,
           f"reviewkit baseline ({dialect}) should write {tables} create_table operations:\n{result.stdout[-2000:]}")
    shutil.rmtree(project)
    return elapsed


def bench_engine(command: list[str], project: Path, root: Path, url: str, dialect: str, tables: int,
                 repeat: int, alembic: tuple | None = None) -> dict:
    """Drift, baseline (and alembic check) in turn, `repeat` rounds after one untimed round; the same database.

    The untimed round writes the bytecode of every module the commands import (see
    `main`) and warms the server's and the OS's caches, so the first timed run is no outlier.
    """
    times: dict[str, list[float]] = {"drift": [], "baseline": [], "alembic": []}
    said = set()
    for r in range(repeat + 1):
        round_times = {"drift": time_drift(command, project, url, dialect),
                       "baseline": time_baseline(command, root, url, dialect, tables, r)}
        if alembic:
            round_times["alembic"], verdict = time_alembic(*alembic)
            said.add(verdict)
        if r:
            for key, elapsed in round_times.items():
                times[key].append(elapsed)
    return {"times": times, "alembic_said": sorted(said)}


# -- psql: the engine's own DDL time for up, down, up -------------------------------------------


def bench_psql_prove(pg: Postgres, bundle: Path, tables: int, repeat: int) -> tuple[list[float], str]:
    """up.sql, down.sql, up.sql, each by `psql -1 -f` (one transaction per script), on a fresh database per run.

    This is the engine's own DDL time for what a `prove` of the bundle runs; it returns the
    times and the row's label. Dropping 1,000 tables in one transaction can take more locks
    than the server has room for (max_locks_per_transaction, 64 by default: about 640 of these
    tables). When the first run's down.sql fails so, it is run again without -1 (statement by
    statement, as psql does by default) in every run, and the label says so.
    """
    names = ("up.sql", "down.sql", "up.sql")
    expect(all((bundle / "postgres" / n).is_file() for n in names),
           f"{bundle.name} has no postgres/up.sql and down.sql")
    expected = (tables, 0, tables)
    down_in_one = True
    times = []
    for r in range(repeat):
        db = pg.create(f"rk_bench_{os.getpid()}_prove{r}")
        pg.checkpoint()
        total = 0.0
        for step, (name, count) in enumerate(zip(names, expected, strict=True)):
            argv = ["psql", *pg.args, "-d", db, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-f", str(bundle / "postgres" / name)]
            one = step != 1 or down_in_one
            start = time.perf_counter()
            result = subprocess.run(argv + (["-1"] if one else []), env=child_env(), stdin=subprocess.DEVNULL,
                                    capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
            if result.returncode != 0 and step == 1 and r == 0 and "max_locks_per_transaction" in result.stderr:
                down_in_one = False  # rolled back: the tables are all there still; run it again, statement by statement
                elapsed, result = run(argv, what=f"psql -f {name}")
            expect(result.returncode == 0, f"psql {'-1 ' if one else ''}-f {name} failed:\n{result.stderr[-2000:]}")
            total += elapsed
            found = int(pg.value(db, TABLE_COUNT_SQL["postgres"]))  # untimed
            expect(found == count, f"psql -f {name}: expected {count} tables in {db}, found {found}")
        times.append(total)
        pg.drop(db)
    label = "psql -1 -f up.sql + down.sql + up.sql" if down_in_one else "psql -1 -f up.sql + -f down.sql + -1 -f up.sql"
    return times, label


# -- profiling ----------------------------------------------------------------------------------

DRIFT_BREAKDOWN = [
    ("imports (reviewkit, typer, rich, sqlglot)", [("<frozen importlib._bootstrap>", "_find_and_load")]),
    ("check_drift", [("reviewkit/db/drift.py", "check_drift")]),
    ("  load_bundles", [("reviewkit/bundle/store.py", "load_bundles")]),
    ("  connect (incl. importing the driver)", [("reviewkit/dialects/connection.py", "connect")]),
    ("  read_rows (ledger)", [("reviewkit/db/ledger.py", "read_rows")]),
    ("  Bundle.schema (schema.json)", [("reviewkit/bundle/store.py", "schema")]),
    ("  introspect", [("reviewkit/db/introspect.py", "introspect")]),
    ("    queries (Connection.query)", [("reviewkit/dialects/connection.py", "query")]),
    ("  stored_form", [("reviewkit/dialects/compiler.py", "stored_form")]),
    ("  schema_differences", [("reviewkit/diff/differences.py", "schema_differences")]),
]
BASELINE_BREAKDOWN = [  # under a profiler, baseline reads the models back in its own process (no fork)
    ("imports (reviewkit, typer, rich, sqlglot)", [("<frozen importlib._bootstrap>", "_find_and_load")]),
    ("baseline", [("reviewkit/generate/baseline.py", "baseline")]),
    ("  connect (incl. importing the driver)", [("reviewkit/dialects/connection.py", "connect")]),
    ("  introspect", [("reviewkit/db/introspect.py", "introspect")]),
    ("    queries (answers of the queries sent ahead)", [("reviewkit/dialects/postgres/driver.py", "query")]),
    ("  models_ddl", [("reviewkit/generate/baseline_bundle.py", "models_ddl")]),
    ("  read back: load_models", [("reviewkit/models/__init__.py", "load_models")]),
    ("  compare with the live schema", [("reviewkit/generate/baseline_bundle.py", "differences")]),
    ("  plan_bundle (generate, in memory)", [("reviewkit/generate/generator.py", "plan_bundle")]),
    ("  write the bundle", [("reviewkit/generate/generator.py", "write")]),
]


def bench_prove(command: list[str], project: Path, pg: Postgres, args: argparse.Namespace, mysql_url: str | None,
                notes: list[str]) -> list[tuple[str, ...]]:
    """Time `reviewkit prove 1 --dialect D` (up, down, up again on a scratch database, each compared) once per engine.

    A failed proof is reported with its reason: on a default PostgreSQL, down.sql of this
    bundle needs more locks in one transaction than the server's lock table holds.
    """
    env = {**os.environ, "REVIEWKIT_PROVE_POSTGRES_URL": pg.url("postgres")}
    if mysql_url:
        env["REVIEWKIT_PROVE_MYSQL_URL"] = mysql_url
    found = []
    for dialect in ("sqlite", "postgres", *(("mysql",) if mysql_url else ())):
        started = time.perf_counter()
        result = subprocess.run([*command, "prove", "1", "--dialect", dialect, "--json"], cwd=project, env=env,
                                capture_output=True, text=True, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        title = ENGINE_TITLES[dialect]
        status = "proven" if result.returncode == 0 else "failed"
        found.append((f"{title}: reviewkit prove 1 (up, down, up)", f"{elapsed:.3f}", f"{elapsed:.3f}", "s", "-", status))
        if result.returncode != 0:
            notes.append(f"{title}: prove failed: {_prove_failure(result)[:300]}")
    return found


def _prove_failure(result: subprocess.CompletedProcess[str]) -> str:
    """Return why a proof failed: the failing step and its error, from `prove --json`."""
    try:
        for entry in json.loads(result.stdout)["dialects"]:
            if entry.get("reason"):
                return entry["reason"]
            for step in (entry.get("proof") or {}).get("steps", []):
                error = step.get("error")
                if isinstance(error, dict):
                    return f"{step['name']}: {error.get('file')} statement {error.get('statement')}: {error.get('message')}"
                if error:
                    return f"{step['name']}: {error}"
    except (ValueError, KeyError, TypeError):
        pass
    return result.stderr.strip() or result.stdout.strip()[:200]


def profile_postgres(project: Path, root: Path, url: str, top: int, tables: int) -> None:
    profile_command(project, ["drift", "--database", url], f"reviewkit drift ({tables} tables, PostgreSQL)",
                    root, top, DRIFT_BREAKDOWN)
    fresh = root / "profile_baseline"
    (fresh / "bundles").mkdir(parents=True)
    config = BASELINE_CONFIG.format(dialect="postgres", dialects=BASELINE_DIALECTS["postgres"])
    (fresh / "reviewkit.toml").write_text(config, encoding="utf-8")
    profile_command(fresh, ["baseline", "--database", url], f"reviewkit baseline ({tables} tables, PostgreSQL)",
                    root, top, BASELINE_BREAKDOWN)
    shutil.rmtree(fresh)


# -- main -----------------------------------------------------------------------------------------


def mysql_server_url(args: argparse.Namespace, database: str = "") -> str:
    password = f":{quote(args.mysql_password, safe='')}" if args.mysql_password else ""
    return f"mysql://{quote(args.mysql_user, safe='')}{password}@{args.mysql_host}:{args.mysql_port}/{database}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=1000, help="tables in the schema (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measure; best and median (default 3)")
    parser.add_argument("--host", default="127.0.0.1", help="PostgreSQL host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5432, help="PostgreSQL port (default 5432)")
    parser.add_argument("--user", default="postgres", help="PostgreSQL user; it must be allowed to create databases")
    parser.add_argument("--mysql-host", default="127.0.0.1", help="MariaDB host (default 127.0.0.1)")
    parser.add_argument("--mysql-port", type=int, default=3306, help="MariaDB port (default 3306)")
    parser.add_argument("--mysql-user", default="root", help="MariaDB user (default root)")
    parser.add_argument("--mysql-password", default="", help="MariaDB password (default empty)")
    parser.add_argument("--skip", action="append", choices=("alembic", "mariadb", "sqlite", "psql", "prove"), default=[],
                        help="leave a part out (repeatable)")
    parser.add_argument("--profile", action="store_true", help="also cProfile drift and baseline on PostgreSQL")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile (default 25)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects and print where they are")
    args = parser.parse_args()
    if args.tables < 2 or args.repeat < 1:
        parser.error("--tables must be at least 2 and --repeat at least 1")
    missing = [p for p in ("psql", "createdb", "dropdb") if shutil.which(p) is None]
    if missing:
        parser.error(f"needs {', '.join(missing)} on PATH (the PostgreSQL client programs)")

    from reviewkit.dialects.connection import create_database, drop_database, parse_url
    from reviewkit.errors import ReviewkitError

    skip = set(args.skip)
    if "alembic" not in skip:
        try:
            import alembic
        except ImportError:
            print("alembic is not installed: the alembic check rows and the ratio targets are left out "
                  "(pip install alembic)")
            skip.add("alembic")
        else:
            alembic_version = alembic.__version__
    command = reviewkit_command()
    pg = Postgres(args.host, args.port, args.user)
    prefix = f"rk_bench_{os.getpid()}"
    mysql_db = None
    mysql_server = parse_url(mysql_server_url(args), Path.cwd())
    root = Path(tempfile.mkdtemp(prefix="reviewkit-bench-existing-"))
    # Every process started from here on keeps the bytecode of what it imports under root (and
    # reads it there), as an installed package and a project run before have it: reviewkit's
    # modules, and Alembic's bench_models.py, are not compiled again in each timed run, even
    # under PYTHONDONTWRITEBYTECODE=1 or over a source tree. Nothing is written outside root.
    os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    rows: list[tuple[str, ...]] = []
    context: list[tuple[str, ...]] = []
    notes: list[str] = []
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    try:
        import sqlalchemy

        server = pg.value("postgres", "SELECT current_setting('server_version')")
        print(f"CPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; runs per measure: {args.repeat}; "
              f"{args.tables} tables; PostgreSQL {server}; SQLAlchemy {sqlalchemy.__version__}"
              + ("" if "alembic" in skip else f"; Alembic {alembic_version}")
              + (f"; load average at start {load[0]:.2f}" if load else "") + f"; {cpu_check()}")
        print("bytecode: written on the first (untimed) run of each command to a cache in the temporary folder "
              "(PYTHONPYCACHEPREFIX) and read from there by the timed runs")
        if "mariadb" not in skip:  # before anything else, so that an unreachable server stops the run at once
            try:
                drop_database(mysql_server, f"{prefix}_existing")
                create_database(mysql_server, f"{prefix}_existing")
            except ReviewkitError as err:
                raise SystemExit(f"MariaDB at {args.mysql_host}:{args.mysql_port}: {err} "
                                 "(pass --skip mariadb to leave it out)") from None
            mysql_db = f"{prefix}_existing"
        start = time.perf_counter()
        bundle = build_apply_project(root, args.tables)  # three dialects, approvals = 0
        project = bundle.parent.parent
        notes.append(f"bundle {bundle.name} generated in-process in {time.perf_counter() - start:.1f} s (untimed)")

        # PostgreSQL: drift, baseline and alembic check on one database.
        pg_db = pg.create(f"{prefix}_existing")
        pg_url = pg.url(pg_db)
        elapsed = apply_bundle(command, project, pg_url, "postgres", args.tables)
        notes.append(f"PostgreSQL: reviewkit apply took {elapsed:.1f} s (untimed)")
        alembic_run = None
        if "alembic" not in skip:
            sa_url = f"postgresql+psycopg://{quote(args.user, safe='')}@{args.host}:{args.port}/{pg_db}"
            alembic_project = build_alembic_project(root, project, sa_url, args.tables)
            alembic_run = (pg, pg_db, alembic_command(), alembic_project)
        pg_times = bench_engine(command, project, root, pg_url, "postgres", args.tables, args.repeat, alembic_run)
        t = pg_times["times"]
        drift, base = summary(t["drift"]), summary(t["baseline"])
        rows.append(("PostgreSQL: reviewkit drift", f"{drift[0]:.3f}", f"{drift[1]:.3f}", "s", "-", ""))
        rows.append(("PostgreSQL: reviewkit baseline", f"{base[0]:.3f}", f"{base[1]:.3f}", "s", "-", ""))
        if alembic_run:
            check = summary(t["alembic"])
            rows.append(("PostgreSQL: alembic check", f"{check[0]:.3f}", f"{check[1]:.3f}", "s", "-", ""))
            for label, own in (("drift", drift), ("baseline", base)):
                ratio = own[0] / check[0]
                rows.append((f"PostgreSQL: {label} / alembic check", f"{ratio:.3f}", f"{own[1] / check[1]:.3f}", "x",
                             f"<= {RATIO_TARGET:.2f}", "OK" if ratio <= RATIO_TARGET else "SLOW"))
            notes.append(f"alembic check said: {' | '.join(pg_times['alembic_said'])}")
            # The same check asked to compare server defaults too, as drift does (the first run untimed).
            with_defaults = [time_alembic(*alembic_run, ["-x", "compare_server_default=1"])
                             for _ in range(args.repeat + 1)][1:]
            best, median = summary([e for e, _ in with_defaults])
            context.append(("PostgreSQL: alembic check, server defaults too", f"{best:.3f}", f"{median:.3f}", "s",
                            "-", "context"))
            notes.append(f"alembic check -x compare_server_default=1 said: "
                         f"{' | '.join(sorted({s for _, s in with_defaults}))}")

        # MariaDB and SQLite: the same database work, no alembic.
        others = []
        if mysql_db:
            others.append(("mysql", mysql_server_url(args, mysql_db)))
        if "sqlite" not in skip:
            others.append(("sqlite", f"sqlite:///{SQLITE_FILE}"))
        for dialect, url in others:
            title = ENGINE_TITLES[dialect]
            elapsed = apply_bundle(command, project, url, dialect, args.tables)
            notes.append(f"{title}: reviewkit apply took {elapsed:.1f} s (untimed)")
            if dialect == "sqlite":
                url = f"sqlite:///{project / SQLITE_FILE}"  # baseline runs in another folder
            times = bench_engine(command, project, root, url, dialect, args.tables, args.repeat)["times"]
            for key in ("drift", "baseline"):
                best, median = summary(times[key])
                context.append((f"{title}: reviewkit {key}", f"{best:.3f}", f"{median:.3f}", "s", "-", "context"))

        if "psql" not in skip:
            times, label = bench_psql_prove(pg, bundle, args.tables, args.repeat)
            best, median = summary(times)
            context.append((f"PostgreSQL: {label}", f"{best:.3f}", f"{median:.3f}", "s", "-", "context"))
            if "-f down.sql +" in label:
                locks = pg.value("postgres", "SELECT current_setting('max_locks_per_transaction')")
                notes.append(f"psql: down.sql in one transaction ran out of lock slots (max_locks_per_transaction = "
                             f"{locks}), so it runs statement by statement; `apply --to 0` of this bundle fails alike")

        if "prove" not in skip:
            context += bench_prove(command, project, pg, args, mysql_server_url(args) if mysql_db else None, notes)

        for label, argv in (("python -c pass", [sys.executable, "-c", "pass"]),
                            ("import reviewkit.cli", [sys.executable, "-c", "import reviewkit.cli"])):
            best, median = summary([run(argv)[0] for _ in range(max(args.repeat, 5))])
            context.append((label, f"{best:.3f}", f"{median:.3f}", "s", "-", "context"))

        print_table(rows + context, len(rows))
        print(f"\nstatus: OK when the best run meets the target; a ratio row divides the best runs (median column: "
              f"the medians). drift must print 'no differences' (exit 0); baseline must write bundles/0001_baseline "
              f"with {args.tables} operations, each run in a fresh project.")
        for note in notes:
            print(note)
        if load:
            print(f"load average at end {os.getloadavg()[0]:.2f} (a busy machine makes the database times noisy); "
                  f"{cpu_check()}")
        if args.profile:
            profile_postgres(project, root, pg_url, args.top, args.tables)
    finally:
        pg.drop_all()
        if mysql_db:
            try:
                drop_database(mysql_server, mysql_db)
            except ReviewkitError as err:
                print(f"could not drop MariaDB database {mysql_db}: {err}")
        if args.keep:
            print(f"\nprojects kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
