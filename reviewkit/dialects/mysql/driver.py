"""MySQL and MariaDB through PyMySQL: connections and the GET_LOCK migration lock."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

from reviewkit.dialects.connection import Connection, DatabaseURL, driver_message
from reviewkit.dialects.driver import Driver
from reviewkit.errors import LockTimeout, OperationFailed

# The server ended the session: killed (1927), gone away (2006), lost mid-query (2013, 2055).
_SESSION_ENDED = frozenset({1927, 2006, 2013, 2055})


class MySQLConnection(Connection):
    def ends_session(self, err: BaseException) -> bool:
        # A KILL reaches the client as an error packet (1927) or as a closed socket (2013),
        # depending on timing: either way the session is over.
        args = getattr(err, "args", ())
        return bool(args) and args[0] in _SESSION_ENDED


class MySQLDriver(Driver):
    module = "pymysql"
    extra = "mysql"

    def connect(self, url: DatabaseURL, timeout: float) -> Connection:
        pymysql = self.import_module()
        try:
            raw = pymysql.connect(
                host=url.host, port=url.port, user=url.user or "", password=url.password or "",
                database=url.database, connect_timeout=timeout, autocommit=True, charset="utf8mb4",
            )
        except (pymysql.Error, OSError) as err:
            raise OperationFailed(f"cannot connect to {url.redacted()}: {driver_message(err, url)}") from None
        return MySQLConnection(raw, url, (pymysql.Error,))

    def server_version(self, conn: Connection) -> str:
        version = conn.query("SELECT VERSION()")[0][0]  # MariaDB says so in it: 10.11.6-MariaDB-0+deb12u1
        return f"{'MariaDB' if 'mariadb' in version.lower() else 'MySQL'} {version}"

    def cancel_statement(self, conn: Connection) -> None:
        # The server goes on with a statement whose client stopped reading, holding the
        # session and its migration lock until it ends: KILL QUERY stops it now.
        with self.connect(conn.url, timeout=5) as other:
            other.execute(f"KILL QUERY {int(conn.raw.thread_id())}")

    def prepare_session(self, conn: Connection) -> Callable[[], None]:
        def restore() -> None:
            # An online script sets lock_wait_timeout for the session: the bundles after it get the server's back.
            with suppress(OperationFailed):
                conn.execute("SET SESSION lock_wait_timeout = DEFAULT")

        return restore

    def table_exists(self, conn: Connection, name: str) -> bool:
        rows = conn.query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", [name])
        return bool(rows)

    # -- the migration lock --------------------------------------------------------------

    def acquire_lock(self, conn: Connection, timeout: float) -> None:
        # GET_LOCK is server-wide: name the lock after the database. It is released
        # when the session ends, so a killed runner frees it.
        name = self._lock_name(conn)
        if conn.query("SELECT GET_LOCK(%s, %s)", [name, timeout])[0][0] != 1:
            raise LockTimeout(f"another runner holds the migration lock on {conn.url.redacted()}{self._holder(conn, name)}; "
                              f"gave up after {timeout:g} s")

    @staticmethod
    def _holder(conn: Connection, name: str) -> str:
        holder = conn.query("SELECT IS_USED_LOCK(%s)", [name])[0][0]
        if holder is None:
            return ""
        rows = conn.query("SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE ID = %s", [holder])
        return f" (connection {holder}" + (f", {rows[0][0]}@{rows[0][1]}" if rows else "") + ")"

    def release_lock(self, conn: Connection) -> None:
        conn.query("SELECT RELEASE_LOCK(%s)", [self._lock_name(conn)])

    @staticmethod
    def _lock_name(conn: Connection) -> str:
        return f"reviewkit:{conn.query('SELECT DATABASE()')[0][0]}"[:64]
