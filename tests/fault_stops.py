"""Run `reviewkit apply` as a child process and stop it at a chosen point: SIGKILL, SIGINT or the server.

Where the stop lands: on MariaDB the runner advances its ledger row after every statement,
so the run is stopped right after statement k of bundle b, read from that row. PostgreSQL
and SQLite run a bundle in one transaction that cannot be seen from outside: PostgreSQL's
stop comes a random delay after the bundle's transaction first wrote (the bundles before
it committed, their rows seen), within that bundle's window as undisturbed runs measured;
SQLite's a random delay after the run's first write (its rollback journal appears),
within the whole run's window.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from reviewkit.bundle.store import Bundle
from reviewkit.dialects.connection import DatabaseURL, connect
from tests.fault_project import Databases, child_env, cli_url, statements_of

KILL, INTERRUPT, SERVER = "SIGKILL", "SIGINT", "server"
STOPS = {"sqlite": (KILL, INTERRUPT), "postgres": (KILL, INTERRUPT, SERVER), "mysql": (KILL, INTERRUPT, SERVER)}
SESSION_GONE_TIMEOUT = 60.0


# -- a run and where it is ------------------------------------------------------------------


def start_apply(project: Path, url: DatabaseURL, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--yes", "--database", cli_url(url), *args],
                            cwd=project, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
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


