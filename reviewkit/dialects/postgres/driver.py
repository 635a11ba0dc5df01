"""PostgreSQL through psycopg 3: connections, the advisory migration lock, CONCURRENTLY and what it leaves.

URL query parameters are handed to libpq as connection parameters (`?sslmode=require`,
`?application_name=...`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from reviewkit.dialects.connection import Connection, DatabaseURL, driver_message
from reviewkit.dialects.driver import Driver
from reviewkit.errors import LockTimeout, OperationFailed

# One fixed key for pg_advisory_lock: "reviewkit" in the key's bytes.
LOCK_KEY = 0x7265766965776B
_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b", re.IGNORECASE)
_NAME = r'"(?:[^"]|"")+"|[^\s"(.;]+'
_BUILD_CONCURRENTLY = re.compile(
    rf"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?({_NAME})\s+ON\s+(?:ONLY\s+)?"
    rf"((?:{_NAME})(?:\s*\.\s*(?:{_NAME}))?)", re.IGNORECASE)


def _identifier(name: str) -> str:
    """Return an identifier as PostgreSQL stores it: a quoted one as written, any other folded to lower case."""
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()


class PostgresConnection(Connection):
    """A psycopg connection that can send queries ahead in pipeline mode (`prefetch`)."""

    def __init__(self, raw: Any, url: DatabaseURL, driver_errors: tuple[type[BaseException], ...]) -> None:
        super().__init__(raw, url, driver_errors)
        self._pipeline: Any = None  # open while queries sent ahead are unanswered
        self._ahead: dict[str, Any] = {}  # query -> its cursor, once sent ahead

    def prefetch(self, queries: tuple[str, ...]) -> None:
        if self._pipeline is not None or self._ahead:
            return
        try:
            self._pipeline = self.raw.pipeline()
            self._pipeline.__enter__()
            for sql in queries:
                self._ahead[sql] = cursor = self.raw.cursor()
                cursor.execute(sql)
        except self._errors:  # nothing is sent ahead: each query runs when asked for, and fails then if it must
            self._forget_ahead()

    def query(self, sql: str, params: tuple | list | None = None) -> list[tuple]:
        self._end_pipeline()
        cursor = self._ahead.pop(sql, None) if params is None else None
        if cursor is None:
            return super().query(sql, params)
        try:
            if cursor.pgresult is not None:  # answered (a pipeline that failed has forgotten every query)
                return [tuple(row) for row in cursor.fetchall()] if cursor.description is not None else []
        except self._errors:
            pass
        finally:
            cursor.close()
        return super().query(sql, params)  # as if never sent ahead: an error that stays is said as usual

    def _run(self, sql: str, params: tuple | list | None, fetch: bool) -> list[tuple]:
        self._end_pipeline()
        return super()._run(sql, params, fetch)

    def close(self) -> None:
        self._forget_ahead()
        super().close()

    def _end_pipeline(self) -> None:
        """Leave pipeline mode, which receives every answer; an answer that failed is asked for again, alone."""
        if self._pipeline is None:
            return
        pipeline, self._pipeline = self._pipeline, None
        try:
            pipeline.__exit__(None, None, None)
        except self._errors:
            self._forget_ahead()

    def _forget_ahead(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            with suppress(Exception):
                pipeline.__exit__(None, None, None)
        for cursor in self._ahead.values():
            with suppress(Exception):
                cursor.close()
        self._ahead.clear()


class PostgresDriver(Driver):
    module = "psycopg"
    extra = "postgres"

    def connect(self, url: DatabaseURL, timeout: float) -> Connection:
        psycopg = self.import_module()
        params = {"host": url.host, "port": url.port, "user": url.user, "password": url.password,
                  "dbname": url.database, "connect_timeout": max(1, round(timeout))}
        try:
            raw = psycopg.connect(**{**params, **dict(url.options)}, autocommit=True)
        except (psycopg.Error, OSError) as err:
            raise OperationFailed(f"cannot connect to {url.redacted()}: {driver_message(err, url)}") from None
        return PostgresConnection(raw, url, (psycopg.Error,))

    def server_version(self, conn: Connection) -> str:
        return f"PostgreSQL {conn.query('SHOW server_version')[0][0]}"

    def drop_database(self, conn: Connection, name: str) -> None:
        statement = f"DROP DATABASE IF EXISTS {self.dialect.quote(name)}"
        if conn.raw.info.server_version >= 130000:
            statement += " WITH (FORCE)"  # closes the sessions still attached to it
        conn.execute(statement)

    # -- running scripts -----------------------------------------------------------------

    def needs_autocommit(self, sql: str) -> bool:
        # The word is looked for first: the case-blind expression alone costs ten times as much,
        # and every statement of every script is asked (apply, and lint's lock-table rule).
        return "CONCURRENTLY" in sql.upper() and bool(_CONCURRENTLY.search(sql))

    def prepare_session(self, conn: Connection) -> Callable[[], None]:
        def restore() -> None:
            # An online script sets lock_timeout for the session: the bundles after it, and the
            # ledger, get the session's own back. A broken connection has no session to restore.
            with suppress(OperationFailed):
                conn.execute("RESET lock_timeout")

        return restore

    def clear_leftovers(self, conn: Connection, sql: str) -> str | None:
        """Drop the INVALID index an interrupted CREATE INDEX CONCURRENTLY left, so that it can be built again.

        A build that fails (a duplicate key, a lock timeout, a cancel, a killed runner) leaves
        its index behind, marked invalid (pg_index.indisvalid = false): unused by queries, yet
        updated by every write, and in the way of the same statement run again ("already
        exists"), or silently kept by IF NOT EXISTS.
        """
        match = _BUILD_CONCURRENTLY.match(sql)
        if match is None:
            return None
        index, table = _identifier(match.group(1)), match.group(2)
        rows = conn.query(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), i.indisvalid, c.oid FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.indrelid = to_regclass(%s) AND c.relname = %s", [table, index])
        if not rows or rows[0][1]:
            return None  # nothing there, or a valid index: the statement says "already exists" itself
        qualified, _, oid = rows[0]
        builder = self._building(conn, oid)
        if builder is not None:
            raise OperationFailed(f"index {index} is being built right now by backend pid {builder}; "
                                  "wait for that build to end, then run the statement again")
        conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified}")
        return f"dropped the INVALID index {index} that an interrupted CREATE INDEX CONCURRENTLY left, to build it again"

    @staticmethod
    def _building(conn: Connection, oid: int) -> int | None:
        """Return the backend building index `oid` right now (PostgreSQL 12+ reports builds), or None."""
        if conn.raw.info.server_version < 120000:
            return None
        rows = conn.query("SELECT pid FROM pg_stat_progress_create_index WHERE index_relid = %s AND pid <> pg_backend_pid()",
                          [oid])
        return rows[0][0] if rows else None

    def table_exists(self, conn: Connection, name: str) -> bool:
        return conn.query("SELECT to_regclass(%s)", [self.dialect.quote(name)])[0][0] is not None

    # -- the migration lock --------------------------------------------------------------

    def interrupt(self, conn: Connection) -> None:
        # libpq's cancel request, which psycopg lets another thread send.
        conn.raw.cancel()

    def acquire_lock(self, conn: Connection, timeout: float) -> None:
        # Polled rather than blocking so the wait honours --lock-timeout exactly; a
        # session lock dies with its connection, so a killed runner frees it.
        self._notice_dead_clients(conn)
        deadline = time.monotonic() + timeout
        while not conn.query("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])[0][0]:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"another runner holds the migration lock on {conn.url.redacted()}{self._holder(conn)}; "
                                  f"gave up after {timeout:g} s")
            time.sleep(0.1)

    @staticmethod
    def _notice_dead_clients(conn: Connection) -> None:
        # A backend busy with a long statement does not see its client die; without
        # this (PostgreSQL 14+) a killed runner's lock and transaction would outlive it
        # until the statement ends.
        if conn.query("SELECT current_setting('server_version_num')::int")[0][0] >= 140000:
            conn.execute("SET client_connection_check_interval = 1000")

    @staticmethod
    def _holder(conn: Connection) -> str:
        rows = conn.query(
            "SELECT a.pid, a.usename, a.application_name, a.client_addr FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND ((l.classid::bigint << 32) | l.objid::bigint) = %s",
            [LOCK_KEY],
        )
        if not rows:
            return ""
        pid, user, app, addr = rows[0]
        return f" (backend pid {pid}, user {user}{', ' + app if app else ''}{', from ' + str(addr) if addr else ''})"

    def release_lock(self, conn: Connection) -> None:
        conn.query("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
