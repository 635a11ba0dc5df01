"""SQLite through Python's sqlite3: one file per database, its write lock as the migration lock."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from reviewkit.dialects.connection import Connection, DatabaseURL, driver_message
from reviewkit.dialects.driver import Driver
from reviewkit.errors import LockTimeout, OperationFailed
from reviewkit.plural import counted


class SQLiteConnection(Connection):
    def adapt_placeholders(self, sql: str) -> str:
        """Turn `%s` placeholders (and `%%`) into sqlite3's `?` style.

        As with psycopg and PyMySQL, a literal `%` must be written `%%` when parameters are given.
        """
        return re.sub(r"%[s%]", lambda m: "?" if m.group() == "%s" else "%", sql)

    def error_message(self, err: BaseException) -> str:
        """Name the file when the error is the file's (read-only, full, damaged), not a statement's."""
        message = super().error_message(err)
        if _FILE_ERRORS.search(message):
            return f"{self.url.path}: {message}"
        return message


_FILE_ERRORS = re.compile(r"readonly database|unable to open|disk I/O error|malformed|not a database|disk is full",
                          re.IGNORECASE)


class SQLiteDriver(Driver):
    module = "sqlite3"

    def connect(self, url: DatabaseURL, timeout: float) -> Connection:
        path = url.path or ":memory:"
        if path != ":memory:" and not Path(path).parent.is_dir():
            raise OperationFailed(f"cannot open {url.redacted()}: folder {str(Path(path).parent)!r} does not exist")
        try:
            raw = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as err:
            raise OperationFailed(f"cannot open {url.redacted()}: {driver_message(err, url)}") from None
        return SQLiteConnection(raw, url, (sqlite3.Error,))

    def server_version(self, conn: Connection) -> str:
        return f"SQLite {conn.query('SELECT sqlite_version()')[0][0]}"

    # -- running scripts -----------------------------------------------------------------

    def prepare_session(self, conn: Connection) -> Callable[[], None]:
        # A rebuild drops the old table; with enforcement on, that would cascade deletes
        # into child tables. The pragma is ignored inside a transaction, so set it first.
        was_on = conn.query("PRAGMA foreign_keys")[0][0]
        conn.execute("PRAGMA foreign_keys = OFF")
        return lambda: conn.execute(f"PRAGMA foreign_keys = {'ON' if was_on else 'OFF'}")

    def table_exists(self, conn: Connection, name: str) -> bool:
        return bool(conn.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [name]))

    def statement_problem(self, sql: str, rows: list[tuple]) -> str | None:
        # A rebuild ends with PRAGMA foreign_key_check: the rows it returns are violations.
        if rows and sql.lstrip().upper().startswith("PRAGMA FOREIGN_KEY_CHECK"):
            table, rowid, parent, _ = rows[0]
            return f"foreign key check failed: {counted(len(rows), 'row')} of {table} (first rowid {rowid}) with no matching {parent} row"
        return None

    # -- the migration lock --------------------------------------------------------------

    def interrupt(self, conn: Connection) -> None:
        # sqlite3_interrupt, the one call sqlite3 allows from another thread.
        conn.raw.interrupt()

    def acquire_lock(self, conn: Connection, timeout: float) -> None:
        # SQLite's lock is its write lock: each bundle runs in BEGIN IMMEDIATE, which
        # waits this long for another writer to finish.
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def release_lock(self, conn: Connection) -> None:
        return None

    def begin_bundle(self, conn: Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except OperationFailed as err:
            if "locked" in str(err) or "busy" in str(err):
                raise LockTimeout(f"another runner holds the write lock on {conn.url.redacted()}") from None
            raise
