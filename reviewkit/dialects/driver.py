"""Talking to an engine: connecting, the session a script runs in, the migration lock.

Each engine's driver is a subclass overriding what its engine does differently; the
defaults here are what a transactional engine with nothing special needs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from reviewkit.errors import UsageError

# `SET name = value` / `SET SESSION name TO value`: a setting of the session, not of the schema.
_SESSION_SETTING = re.compile(
    r"\s*SET\s+(?:SESSION\s+)?(?!(?:PASSWORD|ROLE|TRANSACTION|CONSTRAINTS|LOCAL)\b)[\w@.]+\s*(?:=|TO\b)", re.IGNORECASE)

if TYPE_CHECKING:
    from reviewkit.dialects.base import Dialect
    from reviewkit.dialects.connection import Connection, DatabaseURL


class Driver:
    """Default runtime behaviour; subclasses say what their engine does differently."""

    # The DB-API package, and the reviewkit extra that installs it (None: in the standard library).
    module: str = ""
    extra: str | None = None

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect

    # -- connections ---------------------------------------------------------------------

    def connect(self, url: DatabaseURL, timeout: float) -> Connection:
        """Open a connection in autocommit mode, or raise OperationFailed naming the URL."""
        raise NotImplementedError

    def import_module(self) -> ModuleType:
        """Return the DB-API package, or raise UsageError saying which extra installs it."""
        try:
            return importlib.import_module(self.module)
        except ImportError:
            raise UsageError(f"{self.dialect.title} needs the {self.module} driver: "
                             f"pip install 'reviewkit[{self.extra}]'") from None

    def server_version(self, conn: Connection) -> str:
        """Return the engine and its version as a reviewer reads them: "PostgreSQL 16.2"."""
        raise NotImplementedError

    def create_database(self, conn: Connection, name: str) -> None:
        """Create database `name` on the server `conn` is connected to."""
        conn.execute(f"CREATE DATABASE {self.dialect.quote(name)}")

    def drop_database(self, conn: Connection, name: str) -> None:
        """Drop database `name` if it exists."""
        conn.execute(f"DROP DATABASE IF EXISTS {self.dialect.quote(name)}")

    # -- running scripts -----------------------------------------------------------------

    def prepare_session(self, conn: Connection) -> Callable[[], None]:
        """Set the session up to run a bundle script; return what restores it."""
        return lambda: None

    def statement_problem(self, sql: str, rows: list[tuple]) -> str | None:
        """Return why a statement that ran still failed (a check that returned rows), or None."""
        return None

    def needs_autocommit(self, sql: str) -> bool:
        """Return True for a statement that cannot run inside a transaction."""
        return False

    def session_setting(self, sql: str) -> bool:
        """Tell whether a statement only sets up the session (`SET lock_timeout = '5s'`).

        A resumed bundle runs on a new session: such statements before the resume point run again.
        """
        return bool(_SESSION_SETTING.match(sql))

    def clear_leftovers(self, conn: Connection, sql: str) -> str | None:
        """Remove what an interrupted earlier run of `sql` left in its way (an INVALID index); say what, or None.

        Called before every statement of a script; raise OperationFailed when what is in the way cannot go.
        """
        return None

    def cancel_statement(self, conn: Connection) -> None:
        """Stop the statement `conn` is running, after a Ctrl-C interrupted the wait for it.

        psycopg cancels it on its own and SQLite runs in the process: nothing to do. A
        server that would go on with it (MySQL) is asked from a second connection.
        """

    def interrupt(self, conn: Connection) -> None:
        """Stop, from another thread, the statement `conn` is running now (a fleet's Ctrl-C).

        Python gives Ctrl-C to the main thread only: a fleet's workers are stopped through
        their engines. Here as after a Ctrl-C, by default: a second connection, if any.
        """
        self.cancel_statement(conn)

    def table_exists(self, conn: Connection, name: str) -> bool:
        raise NotImplementedError

    def begin_bundle(self, conn: Connection) -> None:
        """Open the transaction one bundle and its ledger row commit in."""
        conn.begin()

    # -- the migration lock --------------------------------------------------------------

    def acquire_lock(self, conn: Connection, timeout: float) -> None:
        """Take the database-wide migration lock for this session, or raise LockTimeout."""
        raise NotImplementedError

    def release_lock(self, conn: Connection) -> None:
        raise NotImplementedError
