"""PostgreSQL through psycopg 3: connections, the advisory migration lock, CONCURRENTLY.

URL query parameters are handed to libpq as connection parameters (`?sslmode=require`,
`?application_name=...`).
"""

from __future__ import annotations

import re
import time

from reviewkit.dialects.connection import Connection, DatabaseURL, driver_message
from reviewkit.dialects.driver import Driver
from reviewkit.errors import LockTimeout, OperationFailed

# One fixed key for pg_advisory_lock: "reviewkit" in the key's bytes.
LOCK_KEY = 0x7265766965776B
_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b", re.IGNORECASE)


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
        return Connection(raw, url, (psycopg.Error,))

    def server_version(self, conn: Connection) -> str:
        return f"PostgreSQL {conn.query('SHOW server_version')[0][0]}"

    def drop_database(self, conn: Connection, name: str) -> None:
        statement = f"DROP DATABASE IF EXISTS {self.dialect.quote(name)}"
        if conn.raw.info.server_version >= 130000:
            statement += " WITH (FORCE)"  # closes the sessions still attached to it
        conn.execute(statement)

    # -- running scripts -----------------------------------------------------------------

    def needs_autocommit(self, sql: str) -> bool:
        return bool(_CONCURRENTLY.search(sql))

    def table_exists(self, conn: Connection, name: str) -> bool:
        return conn.query("SELECT to_regclass(%s)", [self.dialect.quote(name)])[0][0] is not None

    # -- the migration lock --------------------------------------------------------------

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
