"""Database URLs and connections: one small interface over every engine's DB-API driver.

Every connection runs in autocommit mode and opens transactions explicitly with
`begin()`, so the runner decides where a transaction starts and ends, and SQLite's DDL
is transactional (Python's sqlite3 would otherwise commit implicitly before DDL).
Queries take `%s` placeholders on every engine; a driver that wants another style
translates them (`Connection.adapt_placeholders`).

A URL's scheme picks the dialect (each declares its `url_schemes`); what the query string
means is the driver's business (PostgreSQL hands it to libpq). Passwords never appear in
`DatabaseURL.redacted()`, in `repr`, or in errors.
"""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from reviewkit.dialects import dialect_for_scheme, get_dialect, url_schemes
from reviewkit.dialects.base import Dialect
from reviewkit.errors import ConfigError, OperationFailed, UsageError

_SECRET_KEYS = re.compile(r"pass|secret|token|key", re.IGNORECASE)
_PORT_LIKE = re.compile(r"[^/:@]*:[0-9]*(/|$)")  # host:5432/db: a colon that is a port's, not a password's


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed database URL; `raw` is the URL as given (it may hold the password)."""

    dialect: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None
    path: str | None = None
    raw: str = field(default="", repr=False)
    options: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def redacted(self) -> str:
        """Return the URL with the password (and any secret query value) replaced by ***."""
        return redact(self.raw)

    def with_database(self, name: str) -> DatabaseURL:
        """Return the same server URL pointing at database `name` (PostgreSQL, MySQL)."""
        if get_dialect(self.dialect).file_based:
            raise UsageError(f"a {get_dialect(self.dialect).title} URL names a file, not a database on a server")
        parts = urlsplit(self.raw)
        return replace(self, database=name, raw=urlunsplit(parts._replace(path="/" + name)))

    def __str__(self) -> str:
        return self.redacted()


def redact(raw: str) -> str:
    """Return `raw` with the password in its user info and secret query values hidden."""
    scheme, sep, rest = raw.partition("://")
    if not sep:
        return "<database URL without a scheme>"
    main, question, query = rest.partition("?")
    if "@" not in main and "@" in query and not _PORT_LIKE.match(main):
        # An unencoded "?" in the password ("user:pa?ss@host/db"): the user info runs to the last "@".
        before, _, after = rest.rpartition("@")
        host, question, query = after.partition("?")
        main = f"{before}@{host}"
    # The last "@" ends the user info: an unencoded "@" in a password stays hidden too.
    userinfo, at, hostpart = main.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    query = "&".join(
        f"{key}=***" if _SECRET_KEYS.search(key) else f"{key}{eq}{value}"
        for key, eq, value in (pair.partition("=") for pair in query.split("&") if pair)
    )
    return f"{scheme}{sep}{userinfo}{at}{hostpart}{question}{query}"


def parse_url(url: str, base_dir: Path) -> DatabaseURL:
    """Parse a database URL; a relative SQLite path is taken relative to `base_dir`."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ConfigError("a database URL has no scheme (write it like sqlite:///file.db or postgresql://host/db)")
    dialect = dialect_for_scheme(scheme)
    if dialect is None:
        raise ConfigError(f"unsupported database URL scheme {scheme!r} (known: {', '.join(url_schemes())})")
    if dialect.file_based:
        return _parse_file_url(url, dialect, base_dir)
    return _parse_server_url(url, dialect)


def _parse_file_url(url: str, dialect: Dialect, base_dir: Path) -> DatabaseURL:
    scheme, _, rest = url.partition("://")
    if rest and not rest.startswith("/"):
        raise ConfigError(f"{dialect.title} URL {url!r} must look like {scheme}:///relative.db or {scheme}:////absolute.db")
    path = unquote(rest[1:].split("?", 1)[0])
    if path in ("", ":memory:"):
        return DatabaseURL(dialect.name, path=":memory:", raw=url)
    file = Path(path)
    if not file.is_absolute():
        file = base_dir / file
    return DatabaseURL(dialect.name, path=str(file), raw=url)


def _parse_server_url(url: str, dialect: Dialect) -> DatabaseURL:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        # Python's words would quote the "port", which is a password's start when it holds
        # an unencoded "/", "?" or "#" (user:pa/ss@host): say what is wrong without them.
        if "out of range" in str(err):
            raise ConfigError(f"database URL {redact(url)}: its port is not a number from 0 to 65535") from None
        what = "its port is not a number" if "port" in str(err).lower() else "it is not a valid URL"
        raise ConfigError(f"database URL {redact(url)}: {what} (characters such as / ? # @ : in a user name or "
                          "password must be URL-encoded: %2F %3F %23 %40 %3A)") from None
    userinfo, at, _ = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    database = unquote(parts.path.lstrip("/")) or None
    return DatabaseURL(
        dialect=dialect.name,
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port or dialect.default_port,
        user=unquote(user) if at and user else None,
        password=unquote(password) if at and colon else None,
        database=database,
        raw=url,
        options=tuple(parse_qsl(parts.query)),
    )


class Connection:
    """A DB-API connection in autocommit mode with explicit transactions and `%s` parameters."""

    def __init__(self, raw: Any, url: DatabaseURL, driver_errors: tuple[type[BaseException], ...]) -> None:
        self.raw = raw
        self.url = url
        self.dialect = url.dialect
        self._errors = driver_errors
        self._closed = False

    def execute(self, sql: str, params: tuple | list | None = None) -> None:
        """Run one statement; raise OperationFailed with the driver's message when it fails."""
        self._run(sql, params, fetch=False)

    def query(self, sql: str, params: tuple | list | None = None) -> list[tuple]:
        """Run one statement and return all its rows as tuples."""
        return self._run(sql, params, fetch=True)

    def prefetch(self, queries: tuple[str, ...]) -> None:
        """Send `queries` (without parameters) now, where the driver can without waiting for the answers: the server
        works on them while this process does something else, and `query` of each reads its rows.

        Here nothing is sent ahead: each query runs when `query` asks for it.
        """

    def begin(self) -> None:
        """Open a transaction; until `commit()` or `rollback()`, nothing is autocommitted."""
        self.execute("BEGIN")

    def commit(self) -> None:
        """Commit the open transaction."""
        self.execute("COMMIT")

    def rollback(self) -> None:
        """Roll the open transaction back (on MySQL, DDL in it stays: it commits implicitly)."""
        self.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection (once); a transaction still open is rolled back by the server."""
        if self._closed:
            return
        self._closed = True
        self.raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def adapt_placeholders(self, sql: str) -> str:
        """Return `sql` with its `%s` placeholders in the driver's own style."""
        return sql

    def _run(self, sql: str, params: tuple | list | None, fetch: bool) -> list[tuple]:
        if params is not None:
            sql = self.adapt_placeholders(sql)
        try:
            cursor = self.raw.cursor()  # refused at once when the connection is gone
        except self._errors as err:
            raise OperationFailed(self.error_message(err)) from err
        try:
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, tuple(params))
            if fetch and cursor.description is not None:
                return [tuple(row) for row in cursor.fetchall()]
            return []
        except self._errors as err:
            if self.ends_session(err):
                self.close_quietly()
            raise OperationFailed(self.error_message(err)) from err
        finally:
            if not self._closed:
                cursor.close()

    def ends_session(self, err: BaseException) -> bool:
        """Tell whether the server said, in an error of its own, that it ended this session (MySQL's KILL)."""
        return False

    def close_quietly(self) -> None:
        """Close a connection the server has ended: nothing more can be said on it."""
        with suppress(Exception):
            self.close()

    def error_message(self, err: BaseException) -> str:
        """Return what a failed call says: the driver's message, password masked.

        When the call failed because the connection is gone (the server ended the session,
        the network dropped it), that is what is said, whatever words the driver had for it.
        """
        message = driver_message(err, self.url)
        if not self.is_gone():
            return message
        said = "" if message in (type(err).__name__, "the connection is closed") else f": {message}"
        return f"the connection to {self.url.redacted()} was closed{said}"

    def is_gone(self) -> bool:
        """Tell whether the connection can no longer be used (psycopg: closed or broken; PyMySQL: not open)."""
        raw = self.raw
        if self._closed or getattr(raw, "broken", False) or getattr(raw, "closed", False) is True:
            return True
        return getattr(raw, "open", True) is False


def driver_message(err: BaseException, url: DatabaseURL) -> str:
    """Return the first line of a driver's error message, and PostgreSQL's detail and hint, with the password masked."""
    args = getattr(err, "args", ())
    # PyMySQL errors carry (code, message); the others a single message.
    text = str(args[1]) if len(args) == 2 and isinstance(args[0], int) else str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[0] if lines else type(err).__name__
    # PostgreSQL's DETAIL names the row or object ("Key (email)=(a@b) already exists") and
    # its HINT is often the remedy ("increase max_locks_per_transaction"): keep both.
    for label in ("DETAIL", "HINT"):
        said = next((" ".join(line.split()[1:]) for line in lines[1:] if line.startswith(f"{label}:")), None)
        if said:
            message += f" ({label.lower()}: {said})"
    if url.password:
        message = message.replace(url.password, "***")
    return message


def connect(url: DatabaseURL, connect_timeout: float = 10) -> Connection:
    """Open a connection, or raise UsageError (no driver) or OperationFailed (cannot connect)."""
    return get_dialect(url.dialect).driver.connect(url, connect_timeout)


def create_database(server_url: DatabaseURL, name: str) -> DatabaseURL:
    """Create database `name` on the server `server_url` points to; return its URL."""
    with connect(server_url) as conn:
        get_dialect(conn.dialect).driver.create_database(conn, name)
    return server_url.with_database(name)


def drop_database(server_url: DatabaseURL, name: str) -> None:
    """Drop database `name` if it exists, closing sessions still attached to it where the engine can."""
    with connect(server_url) as conn:
        get_dialect(conn.dialect).driver.drop_database(conn, name)
