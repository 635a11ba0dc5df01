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

Where the stop lands: on MariaDB the runner advances its ledger row after every statement,
so the trial polls it and stops the run right after statement k of bundle b (k drawn over
every statement of the three bundles). PostgreSQL and SQLite run a bundle in one
transaction that cannot be seen from outside: the trial waits for the run to start (its
backend appears; SQLite's rollback journal appears) and then a random delay within the run
window a calibration run measured.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import LedgerRow, bundle_states, read_rows, verify_chain
from reviewkit.db.runner import ApplyOptions, apply
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect, create_database, drop_database, parse_url
from reviewkit.dialects.splitter import split_statements
from reviewkit.diff.differences import schema_differences
from reviewkit.schema.state import Schema

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""

KILL, INTERRUPT, SERVER = "SIGKILL", "SIGINT", "server"
STOPS = {"sqlite": (KILL, INTERRUPT), "postgres": (KILL, INTERRUPT, SERVER), "mysql": (KILL, INTERRUPT, SERVER)}
SEEDED = {"customers": 3000, "products": 2000, "orders": 5000, "order_lines": 8000}
SESSION_GONE_TIMEOUT = 60.0


# -- the project: a base bundle with rows, then three bundles of a few hundred statements ----


def _base_models() -> str:
    return """\
CREATE TABLE customers (id bigserial PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL,
  city varchar(60), created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE products (id bigserial PRIMARY KEY, title varchar(200) NOT NULL, sku varchar(40) NOT NULL,
  price numeric(10,2) NOT NULL DEFAULT 0);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
  placed_at timestamptz NOT NULL DEFAULT now(), note text);
CREATE TABLE order_lines (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id),
  product_id bigint NOT NULL, quantity integer NOT NULL DEFAULT 1);
"""


def _family(prefix: str, count: int, parent: str, extra: bool = False) -> str:
    """`count` tables, each with a foreign key to the one before it (the first to `parent`), a unique key and indexes.

    `extra`: every third table has two more columns and an index on one (ALTERs of tables that exist).
    """
    tables = []
    for i in range(count):
        name = f"{prefix}_{i:02d}"
        up = f"{prefix}_{i - 1:02d}" if i else parent
        extra_here = extra and i % 3 == 0
        more = ",\n  rank integer, label varchar(80)" if extra_here else ""
        tables.append(
            f"CREATE TABLE {name} (id bigserial PRIMARY KEY, title varchar(100) NOT NULL, code varchar(32) NOT NULL,\n"
            f"  amount numeric(10,2), active boolean NOT NULL DEFAULT true, up_id bigint REFERENCES {up} (id){more},\n"
            f"  CONSTRAINT {name}_code_key UNIQUE (code));\n"
            f"CREATE INDEX {name}_title_idx ON {name} (title);\n"
            + (f"CREATE INDEX {name}_rank_idx ON {name} (rank, active);\n" if extra_here else ""))
    return "".join(tables)


def project_models(step: int) -> str:
    """The models after step 1 (base), 2 (a catalog), 3 (accounts, indexes on the rows) and 4 (links)."""
    models = _base_models()
    if step >= 2:
        models += _family("cat", 30, "products", extra=step >= 4)
    if step >= 3:
        models += _family("acc", 30, "customers")
        models += ("CREATE UNIQUE INDEX customers_email_key ON customers (email);\n"
                   "CREATE INDEX orders_placed_at_idx ON orders (placed_at, customer_id);\n"
                   "CREATE INDEX order_lines_product_idx ON order_lines (product_id, quantity);\n"
                   "CREATE INDEX products_sku_idx ON products (sku);\n")
    if step >= 4:
        models += _family("link", 30, "acc_29")
        models = models.replace("product_id bigint NOT NULL,", "product_id bigint NOT NULL REFERENCES products (id),")
        models = models.replace("placed_at timestamptz NOT NULL DEFAULT now(), note text",
                                "placed_at timestamptz NOT NULL DEFAULT now(), note text, channel varchar(20)")
    return models


def build_project(root: Path) -> Path:
    """Write the models step by step and generate a bundle each time with the real `reviewkit generate`."""
    project = root / "fault_project"
    (project / "models").mkdir(parents=True)
    (project / "bundles").mkdir()
    (project / "reviewkit.toml").write_text(CONFIG)
    for step, name in enumerate(("base", "catalog", "accounts", "links"), 1):
        (project / "models" / "schema.sql").write_text(project_models(step))
        made = cli(project, "generate", "--no-input", name)
        if made.returncode != 0:
            raise AssertionError(f"generate {name}: {made.stdout}{made.stderr}")
    return project


def cli(project: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run `python -m reviewkit ARGS` in the project, as a CI job would."""
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True, text=True,
                          env=_env(), timeout=timeout, stdin=subprocess.DEVNULL)


def _env() -> dict[str, str]:
    env = {**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "fault-runner"}
    env.pop("REVIEWKIT_DATABASE_URL", None)
    return env


def cli_url(url: DatabaseURL) -> str:
    return f"sqlite:///{url.path}" if url.dialect == "sqlite" else url.raw


def statements_of(bundle: Bundle, dialect: str) -> list:
    return split_statements(bundle.script(dialect, "up"), dialect)


# -- databases: the base bundle and its rows, made once per engine and copied per trial -------


def _seed(url: DatabaseURL) -> None:
    """A few thousand rows in the base tables, the same on every engine (the values are plain SQL)."""
    numbers = {"postgres": "generate_series(1, {n}) AS s(n)", "mysql": "(SELECT seq AS n FROM seq_1_to_{n}) AS s"}
    with connect(url) as conn:
        if url.dialect == "sqlite":
            conn.execute("CREATE TEMP TABLE s (n integer)")
            conn.execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000) "
                         "INSERT INTO s SELECT n FROM r")
            source = "s WHERE n <= {n}"
        else:
            source = numbers[url.dialect]
        rows = [("customers (id, name, email, city)", "n, 'customer ' || n, 'c' || n || '@example.org', 'city'"),
                ("products (id, title, sku, price)", "n, 'product ' || n, 'sku-' || n, n % 100"),
                ("orders (id, customer_id, note)", "n, 1 + n % 3000, 'note ' || n"),
                ("order_lines (id, order_id, product_id, quantity)", "n, 1 + n % 5000, 1 + n % 2000, 1 + n % 7")]
        for (target, values), count in zip(rows, SEEDED.values(), strict=True):
            if url.dialect == "mysql":  # || is OR on MariaDB unless PIPES_AS_CONCAT
                values = re.sub(r"'([^']*)' \|\| n \|\| '([^']*)'", r"CONCAT('\1', n, '\2')", values)
                values = re.sub(r"'([^']*)' \|\| n", r"CONCAT('\1', n)", values)
            conn.execute(f"INSERT INTO {target} SELECT {values} FROM {source.format(n=count)}")


def _apply_base(project: Path, url: DatabaseURL) -> None:
    """Apply bundle 1 in-process (the runner itself, not a child: it is not under test here)."""
    apply(load_settings(project), cli_url(url), ApplyOptions(target="1", actor="fault-setup"))


@dataclass
class Databases:
    """Fresh databases of one engine, each holding the base bundle and its rows."""

    engine: str
    project: Path
    server: DatabaseURL | None  # None for SQLite
    folder: Path
    made: list[DatabaseURL] = field(default_factory=list)
    template: DatabaseURL | None = None

    def fresh(self, name: str) -> DatabaseURL:
        if self.engine == "sqlite":
            if self.template is None:
                self.template = parse_url("sqlite:///template.sqlite3", self.folder)
                _apply_base(self.project, self.template)
                _seed(self.template)
            url = parse_url(f"sqlite:///{name}.sqlite3", self.folder)
            shutil.copyfile(self.template.path, url.path)
            return url
        if self.engine == "postgres":
            if self.template is None:  # CREATE DATABASE ... TEMPLATE copies it in a moment
                self.template = self._create(f"{name}_tpl")
                _apply_base(self.project, self.template)
                _seed(self.template)
            with connect(self.server) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template.database}"')
            url = self.server.with_database(name)
            self.made.append(url)
            return url
        url = self._create(name)  # MariaDB has no templates: the base bundle again, and its rows
        _apply_base(self.project, url)
        _seed(url)
        return url

    def _create(self, name: str) -> DatabaseURL:
        url = create_database(self.server, name)
        self.made.append(url)
        return url

    def drop(self, url: DatabaseURL) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(url.path + suffix).unlink(missing_ok=True)
            return
        drop_database(self.server, url.database)
        self.made = [u for u in self.made if u.database != url.database]

    def drop_all(self) -> None:
        for url in list(self.made):
            self.drop(url)


# -- a run and where it is ------------------------------------------------------------------


def start_apply(project: Path, url: DatabaseURL, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--yes", "--database", cli_url(url), *args],
                            cwd=project, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def runner_session(conn, url: DatabaseURL) -> int | None:
    """The session id of the runner on the trial's database (the only other client of it), or None."""
    if url.dialect == "postgres":
        rows = conn.query("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                          "AND backend_type = 'client backend'", [url.database])
    else:
        rows = conn.query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID() "
                          "ORDER BY ID", [url.database])
    return rows[0][0] if rows else None


def session_alive(conn, url: DatabaseURL, session: int) -> bool:
    sql = {"postgres": "SELECT 1 FROM pg_stat_activity WHERE pid = %s",
           "mysql": "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s"}[url.dialect]
    return bool(conn.query(sql, [session]))


def _writing(conn, session: int) -> bool:
    """Whether a PostgreSQL session is in a transaction that has written (a bundle's)."""
    rows = conn.query("SELECT backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = %s", [session])
    return bool(rows and rows[0][0])


def _latest_row(conn) -> tuple[str, str, int] | None:
    rows = conn.query("SELECT bundle_id, status, statements_done FROM reviewkit_ledger ORDER BY id DESC LIMIT 1")
    return tuple(rows[0]) if rows else None


def _journal(url: DatabaseURL) -> Path:
    return Path(url.path + "-journal")


@dataclass
class Point:
    """Where a trial stops the run.

    MariaDB: right after statement `after` of `bundle`. PostgreSQL: `delay` s after
    `bundle`'s transaction first wrote. SQLite: `delay` s after the run's first write.
    """

    kind: str
    bundle: str | None = None
    after: int = 0
    delay: float = 0.0

    def describe(self) -> str:
        if self.bundle is None:
            return f"{self.kind} {self.delay:.3f} s in"
        if self.after:
            return f"{self.kind} after statement {self.after} of {self.bundle}"
        return f"{self.kind} {self.delay:.3f} s into {self.bundle}"


def draw_point(rng: random.Random, kind: str, dialect: str, bundles: list[Bundle], windows: dict[str, float]) -> Point:
    """A random stop: a statement drawn over every statement of the bundles, and on PostgreSQL a moment in its
    bundle's window; on SQLite a moment in the whole run's window."""
    if dialect == "sqlite":
        return Point(kind, delay=rng.uniform(0, windows["run"]))
    counts = [(b.id, len(statements_of(b, dialect))) for b in bundles[1:]]
    pick = rng.randrange(sum(n for _, n in counts))
    for bundle_id, n in counts:
        if pick < n:
            if dialect == "postgres":
                return Point(kind, bundle=bundle_id, delay=rng.uniform(0, windows[bundle_id]))
            return Point(kind, bundle=bundle_id, after=pick)
        pick -= n
    raise AssertionError("unreachable")


def _wait_for_start(runner: subprocess.Popen, url: DatabaseURL, watcher) -> tuple[float, int | None]:
    """Wait until the first bundle has written something; return when, and the runner's session.

    PostgreSQL: the runner's transaction has an xid (a read-only query gets none); SQLite:
    the rollback journal exists (it does from the first write to the commit).
    """
    deadline = time.monotonic() + 60
    session = None
    while time.monotonic() < deadline and runner.poll() is None:
        if url.dialect == "sqlite":
            if _journal(url).exists():
                return time.monotonic(), None
        else:
            session = session or runner_session(watcher, url)
            if session is not None and (url.dialect == "mysql" or _writing(watcher, session)):
                return time.monotonic(), session
        time.sleep(0.001)
    return time.monotonic(), session


def _bundle_begun(runner: subprocess.Popen, watcher, session: int, before: int) -> float:
    """Wait until the PostgreSQL runner's transaction of the bundle after `before` committed ones has written; return when."""
    while runner.poll() is None:
        committed = watcher.query("SELECT count(*) FROM reviewkit_ledger")[0][0] - 1  # the base bundle's row
        if committed >= before and _writing(watcher, session):
            return time.monotonic()
        time.sleep(0.001)
    return time.monotonic()


def _reached(watcher, point: Point, order: list[str]) -> bool:
    """True once the MariaDB runner has done statement `point.after` of its bundle (or gone past the bundle)."""
    latest = _latest_row(watcher)
    if latest is None:
        return False
    bundle_id, status, done = latest
    if bundle_id not in order:
        return False
    here, goal = order.index(bundle_id), order.index(point.bundle)
    return here > goal or (here == goal and (done >= point.after or status != "running"))


def _mid_bundle(watcher, url: DatabaseURL, session: int | None) -> bool:
    """Whether, just before the stop, a bundle had started and not finished."""
    if url.dialect == "sqlite":
        return _journal(url).exists()
    if url.dialect == "postgres":
        return session is not None and _writing(watcher, session)
    latest = _latest_row(watcher)
    return latest is not None and latest[1] == "running"


def _stop(runner: subprocess.Popen, point: Point, url: DatabaseURL, session: int | None) -> None:
    if point.kind == KILL:
        runner.send_signal(signal.SIGKILL)
    elif point.kind == INTERRUPT:
        runner.send_signal(signal.SIGINT)
    else:
        with connect(url) as conn:
            end = "SELECT pg_terminate_backend({})" if url.dialect == "postgres" else "KILL {}"
            conn.execute(end.format(int(session)))


@dataclass
class Stopped:
    """What a stopped run left: how it ended, and how long its session outlived it."""

    point: Point
    exit_code: int | None
    stdout: str
    stderr: str
    mid_bundle: bool
    finished_first: bool  # the run ended before the stop reached it
    session_seconds: float = 0.0  # from the stop until the server let the runner's session go


def run_and_stop(project: Path, url: DatabaseURL, point: Point, order: list[str]) -> Stopped:
    """Start `apply`, stop it at `point`, wait until its session has left the server."""
    watcher = connect(url) if url.dialect != "sqlite" else None
    runner = start_apply(project, url)
    try:
        started, session = _wait_for_start(runner, url, watcher)
        if url.dialect == "mysql":
            while runner.poll() is None and not _reached(watcher, point, order):
                time.sleep(0.001)
        else:
            if url.dialect == "postgres":
                started = _bundle_begun(runner, watcher, session, order.index(point.bundle))
            while runner.poll() is None and time.monotonic() < started + point.delay:
                time.sleep(0.001)
        if url.dialect == "postgres" and session is None and runner.poll() is None:
            session = runner_session(watcher, url)
        finished_first = runner.poll() is not None
        mid = False
        stopped_at = time.monotonic()
        if not finished_first:
            mid = _mid_bundle(watcher, url, session)
            if point.kind == SERVER and session is None:
                session = runner_session(watcher, url)
            stopped_at = time.monotonic()
            _stop(runner, point, url, session)
        out, err = runner.communicate(timeout=120)
        result = Stopped(point, runner.returncode, out, err, mid, finished_first)
        if watcher is not None and session is not None:
            result.session_seconds = _wait_session_gone(watcher, url, session) - stopped_at
        return result
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
        if watcher is not None:
            watcher.close()


def _wait_session_gone(watcher, url: DatabaseURL, session: int) -> float:
    """Wait until the server has let the killed runner's session go; return when.

    MariaDB goes on with a DDL statement whose client died until the statement ends (and
    only then notices the dead socket), holding the session's GET_LOCK all along;
    PostgreSQL notices within client_connection_check_interval (the runner sets 1 s). The
    lock is judged after that: a lock that outlives its session would be stuck.
    """
    deadline = time.monotonic() + SESSION_GONE_TIMEOUT
    while session_alive(watcher, url, session):
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session} of the killed runner is still on the server after "
                                 f"{SESSION_GONE_TIMEOUT:g} s")
        time.sleep(0.01)
    return time.monotonic()


def calibrate(databases: Databases, name: str, bundles: list[Bundle], runs: int = 2) -> dict[str, float]:
    """Run the whole apply undisturbed `runs` times; return the shortest windows a stop is drawn in.

    SQLite: `run`, from the first write to the process's end. PostgreSQL: one per bundle, from
    the first write of its transaction to its ledger row's commit (rows seen as they commit).
    The shortest, so that a stop drawn in a window lands before its end in a quick run too.
    MariaDB: none, its stops are drawn by statement.
    """
    if databases.engine == "mysql":
        return {}
    measured: list[dict[str, float]] = []
    for run in range(runs):
        url = databases.fresh(f"{name}_{run}")
        watcher = connect(url) if url.dialect != "sqlite" else None
        runner = start_apply(databases.project, url)
        try:
            started, _ = _wait_for_start(runner, url, watcher)
            windows = _commit_windows(runner, watcher, started, bundles) if watcher else {}
            out, err = runner.communicate(timeout=300)
            windows["run"] = time.monotonic() - started
        finally:
            if watcher is not None:
                watcher.close()
        if runner.returncode != 0:
            raise AssertionError(f"the undisturbed apply failed: {out}{err}")
        measured.append(windows)
        databases.drop(url)
    return {key: min(m[key] for m in measured) for key in measured[0]}


def _commit_windows(runner: subprocess.Popen, watcher, started: float, bundles: list[Bundle]) -> dict[str, float]:
    """The time from one bundle's commit (the first: the run's first write) to the next, per bundle."""
    windows, last, seen = {}, started, 1  # the base bundle's row is there already
    while seen < len(bundles) and (runner.poll() is None or seen < _row_count(watcher)):
        count = _row_count(watcher)
        if count > seen:
            now = time.monotonic()
            windows[bundles[seen].id] = (now - last) / (count - seen)  # two commits in one poll: shared
            for extra in range(seen + 1, count):
                windows[bundles[extra].id] = windows[bundles[seen].id]
            last, seen = now, count
        time.sleep(0.001)
    return windows


def _row_count(watcher) -> int:
    return watcher.query("SELECT count(*) FROM reviewkit_ledger")[0][0]


# -- the checks after a stop ----------------------------------------------------------------


def ledger(url: DatabaseURL) -> list[LedgerRow]:
    with connect(url) as conn:
        return read_rows(conn)


def live_schema(url: DatabaseURL) -> Schema:
    with connect(url) as conn:
        return introspect(conn)


def stored(url: DatabaseURL, bundle: Bundle | None) -> Schema:
    return get_dialect(url.dialect).compiler.stored_form(bundle.schema() if bundle else Schema())


def _tables(differences) -> set[str]:
    return {d.name.split(".")[0] for d in differences}


def _created(sql: str) -> str | None:
    """The table or index a CREATE statement makes, as `table name` / `index name`, else None."""
    found = re.match(r"\s*CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"]?(\w+)", sql, re.I)
    return f"{found.group(1).lower()} {found.group(2)}" if found else None


def _live_names(live: Schema) -> set[str]:
    names = {f"table {t.name}" for t in live.tables}
    return names | {f"index {ix.name}" for t in live.tables for ix in t.indexes}


def consistency_problems(url: DatabaseURL, bundles: list[Bundle]) -> list[str]:
    """Return how the ledger disagrees with itself or with the live schema (none: consistent).

    Bundles applied form a prefix; with no bundle half-applied, the live schema is the last
    applied bundle's. A bundle at statement k (MariaDB: `running` or `failed`) leaves a live
    schema between its parent's and its own, with every table or index its statements 1..k
    create present and none that statements k+2.. create (statement k+1 may have finished on
    the server after its client died).
    """
    rows = ledger(url)
    problems = list(verify_chain(rows))
    states = bundle_states(rows)
    live = live_schema(url)
    last_applied, half = None, None
    for position, bundle in enumerate(bundles):
        state = states.get(bundle.id)
        if state is not None and state.is_applied:
            if half is not None or (position and last_applied is not bundles[position - 1]):
                problems.append(f"{bundle.id} is applied after a bundle that is not")
            last_applied = bundle
        elif state is not None and state.state == "failed":
            if state.row.statements_done == 0 and get_dialect(url.dialect).transactional_ddl:
                continue  # a transactional failure left nothing behind
            if not get_dialect(url.dialect).transactional_ddl or half is None:
                half = (bundle, state.row)
    if half is None:
        differences = schema_differences(stored(url, last_applied), live)
        if differences:
            problems.append(f"the ledger says {last_applied.id if last_applied else 'nothing'} is the last applied, "
                            f"the live schema differs: {'; '.join(d.describe() for d in differences[:5])}")
        return problems
    bundle, row = half
    parent = bundles[bundles.index(bundle) - 1] if bundles.index(bundle) else None
    before, after = stored(url, parent), stored(url, bundle)
    # A table the bundle creates may be there without its indexes yet: tables are compared, not their parts.
    touched = _tables(schema_differences(before, after))
    foreign = (_tables(schema_differences(before, live)) | _tables(schema_differences(live, after))) - touched
    if foreign:
        problems.append(f"{bundle.id} at statement {row.statements_done}: the live schema differs from its parent and "
                        f"itself beyond the bundle's changes: {sorted(foreign)[:5]}")
    statements = statements_of(bundle, url.dialect)
    names = _live_names(live)
    new = {_created(s.sql) for s in statements} - _live_names(before) - {None}  # made by this bundle, kept
    made_before = {_created(s.sql) for s in statements[:row.statements_done]} & new
    made_after = {_created(s.sql) for s in statements[row.statements_done + 1:]} & new
    if made_before - names:
        problems.append(f"{bundle.id}: the ledger says {row.statements_done} statements are done, but "
                        f"{sorted(made_before - names)[:3]} are not in the database")
    if made_after & names:
        problems.append(f"{bundle.id}: the ledger says {row.statements_done} statements are done, but "
                        f"{sorted(made_after & names)[:3]} of later statements are in the database")
    return problems


def status_report(project: Path, url: DatabaseURL) -> dict:
    shown = cli(project, "status", "--json", "--database", cli_url(url))
    if shown.returncode != 0:
        raise AssertionError(f"status --json exited {shown.returncode}: {shown.stdout}{shown.stderr}")
    return json.loads(shown.stdout)


def status_problems(report: dict, url: DatabaseURL) -> list[str]:
    """Return where `status --json` is not true to the ledger (none: it is)."""
    problems = [f"status lists a ledger problem: {p}" for p in report["ledger_problems"]]
    states = bundle_states(ledger(url))
    for entry in report["bundles"]:
        state = states.get(entry["id"])
        expected = state.state if state else "pending"
        if entry["state"] != expected:
            problems.append(f"status says {entry['id']} is {entry['state']}, the ledger {expected}")
        if expected == "failed" and not get_dialect(url.dialect).transactional_ddl:
            row = state.row
            said = (f"at statement {row.statements_done + 1} of {row.statements_total}"
                    if row.statements_done < row.statements_total else "after its last statement")
            if said not in entry["detail"]:
                problems.append(f"status detail of {entry['id']} does not say {said!r}: {entry['detail']!r}")
            if not entry["explanation"] or any("not in the bundle" in line for line in entry["explanation"]):
                problems.append(f"status explanation of {entry['id']}: {entry['explanation']!r}")
    return problems


def recovery_args(report: dict) -> list[str]:
    """The documented recovery: `apply --resume` where status shows a bundle half-applied, else `apply`.

    `--lock-timeout 1`: the new runner must get the lock within a second of the killed
    session's end.
    """
    half = [b for b in report["bundles"] if b["state"] == "failed" and b["explanation"]]
    return ["apply", "--yes", "--lock-timeout", "1", *(["--resume"] if half else [])]


@dataclass
class Outcome:
    """Everything a trial found, for a test's assertion or the benchmark's counts."""

    stopped: Stopped
    consistency: list[str]
    status: list[str]
    recovery: subprocess.CompletedProcess | None = None
    recovery_args: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # problems after the recovery (none: at the head)

    @property
    def stuck_lock(self) -> bool:
        return self.recovery is not None and self.recovery.returncode == 1 and "migration lock" in self.recovery.stderr

    @property
    def output_problems(self) -> list[str]:
        """How the stopped run's own output falls short: a traceback, an internal error, an unexpected exit."""
        s = self.stopped
        problems = []
        if "Traceback" in s.stderr or "internal error" in s.stderr:
            problems.append(f"the stopped run printed a traceback or internal error: {s.stderr[-600:]}")
        allowed = {0} if s.finished_first else {KILL: {-signal.SIGKILL}, INTERRUPT: {130}, SERVER: {1}}[s.point.kind]
        if s.exit_code not in allowed:
            problems.append(f"the stopped run exited {s.exit_code} (expected one of {sorted(allowed)}): {s.stderr[-600:]}")
        return problems

    @property
    def recovered_without_hand_step(self) -> bool:
        return self.recovery is not None and self.recovery.returncode == 0 and not self.recovered

    def problems(self) -> list[str]:
        found = self.output_problems + self.consistency + self.status
        if self.recovery is None or self.recovery.returncode != 0:
            said = "" if self.recovery is None else f"{self.recovery.stdout[-800:]}{self.recovery.stderr[-800:]}"
            found.append(f"{' '.join(self.recovery_args)} did not finish: {said}")
        return found + self.recovered


def check_after_stop(project: Path, url: DatabaseURL, stopped: Stopped, bundles: list[Bundle]) -> Outcome:
    """Run the checks (a)-(d) on a stopped run; the database ends at the head when all went well."""
    report = status_report(project, url)
    outcome = Outcome(stopped, consistency_problems(url, bundles), status_problems(report, url))
    outcome.recovery_args = recovery_args(report)
    outcome.recovery = cli(project, *outcome.recovery_args, "--database", cli_url(url))
    if outcome.recovery.returncode == 0:
        outcome.recovered = head_problems(url, bundles)
    return outcome


def head_problems(url: DatabaseURL, bundles: list[Bundle]) -> list[str]:
    """Return how the database falls short of the head: schema, ledger chain, every bundle applied."""
    rows = ledger(url)
    problems = list(verify_chain(rows))
    states = bundle_states(rows)
    if any(not (states.get(b.id) and states[b.id].is_applied) for b in bundles):
        problems.append(f"not every bundle is applied after the recovery: "
                        f"{ {b.id: states[b.id].state if b.id in states else 'pending' for b in bundles} }")
    differences = schema_differences(stored(url, bundles[-1]).ignoring_column_order(),
                                     live_schema(url).ignoring_column_order())
    if differences:
        problems.append(f"after the recovery the live schema is not the head's: "
                        f"{'; '.join(d.describe() for d in differences[:5])}")
    return problems


def load_project_bundles(project: Path) -> list[Bundle]:
    return load_bundles(project / "bundles")


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
    """Run the trials in order; on MariaDB two at a time.

    A MariaDB trial spends its time waiting for the server to sync each DDL statement and
    ledger update to disk, not on the CPU, and its stop is chosen by statement, so a second
    trial beside it changes nothing but the wall clock. PostgreSQL's and SQLite's stops are
    timed: one at a time.
    """
    def trial(numbered: tuple[int, Point]) -> Outcome:
        return run_trial(databases, bundles, numbered[1], f"{prefix}_{numbered[0]}")

    if databases.engine != "mysql":
        return [trial(numbered) for numbered in enumerate(points)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(trial, enumerate(points)))


def describe(index: int, outcome: Outcome) -> str:
    """One line per trial: the stop, how the run ended, where it landed, how long its session stayed."""
    s = outcome.stopped
    landed = "mid-bundle" if s.mid_bundle else ("finished" if s.finished_first else "between bundles")
    recovery = " ".join(a for a in outcome.recovery_args if a not in ("--yes", "--lock-timeout", "1"))
    return (f"{index:3d} {s.point.describe():<42} exit {s.exit_code!s:>4}  {landed:<15} session gone after "
            f"{s.session_seconds:.2f} s; {recovery}: {'ok' if not outcome.problems() else 'PROBLEM'}")
