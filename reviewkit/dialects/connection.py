"""Database URLs and connections: one small interface over sqlite3, psycopg and PyMySQL.

Every connection runs in autocommit mode and opens transactions explicitly with
`begin()`, so the runner decides where a transaction starts and ends, and SQLite's DDL
is transactional (Python's sqlite3 would otherwise commit implicitly before DDL).
Queries take `%s` placeholders on every engine.

URL query strings: for PostgreSQL, the parameters are handed to libpq as connection
parameters (`?sslmode=require`, `?application_name=...`); for MySQL and SQLite they are
ignored. Passwords never appear in `DatabaseURL.redacted()`, in `repr`, or in errors.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from sqlglot import exp

from reviewkit.errors import ConfigError, OperationFailed, UsageError

_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgres",
    "postgres": "postgres",
    "postgresql+psycopg": "postgres",
    "postgresql+psycopg3": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
    "mariadb+pymysql": "mysql",
}
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
_DRIVERS = {"postgres": ("psycopg", "PostgreSQL", "postgres"), "mysql": ("pymysql", "MySQL", "mysql")}
_SECRET_KEYS = re.compile(r"pass|secret|token|key", re.IGNORECASE)


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
        if self.dialect == "sqlite":
            raise UsageError("a SQLite URL names a file, not a database on a server")
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
    dialect = _SCHEMES.get(scheme.lower())
    if dialect is None:
        known = "sqlite, postgresql, postgres, mysql, mariadb (with +psycopg or +pymysql)"
        raise ConfigError(f"unsupported database URL scheme {scheme!r} (known: {known})")
    if dialect == "sqlite":
        return _parse_sqlite(url, base_dir)
    return _parse_server(url, dialect)


def _parse_sqlite(url: str, base_dir: Path) -> DatabaseURL:
    rest = url.partition("://")[2]
    if rest and not rest.startswith("/"):
        raise ConfigError(f"SQLite URL {url!r} must look like sqlite:///relative.db or sqlite:////absolute.db")
    path = unquote(rest[1:].split("?", 1)[0])
    if path in ("", ":memory:"):
        return DatabaseURL("sqlite", path=":memory:", raw=url)
    file = Path(path)
    if not file.is_absolute():
        file = base_dir / file
    return DatabaseURL("sqlite", path=str(file), raw=url)


def _parse_server(url: str, dialect: str) -> DatabaseURL:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise ConfigError(f"database URL {redact(url)}: {err}") from None
    userinfo, at, _ = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    database = unquote(parts.path.lstrip("/")) or None
    return DatabaseURL(
        dialect=dialect,
        host=unquote(parts.hostname) if parts.hostname else None,
        port=port or _DEFAULT_PORTS[dialect],
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

    def execute(self, sql: str, params: tuple | list | None = None) -> None:
        """Run one statement; raise OperationFailed with the driver's message when it fails."""
        self._run(sql, params, fetch=False)

    def query(self, sql: str, params: tuple | list | None = None) -> list[tuple]:
        """Run one statement and return all its rows as tuples."""
        return self._run(sql, params, fetch=True)

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
        """Close the connection; a transaction still open is rolled back by the server."""
        self.raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _run(self, sql: str, params: tuple | list | None, fetch: bool) -> list[tuple]:
        if params is not None and self.dialect == "sqlite":
            sql = _qmark(sql)
        cursor = self.raw.cursor()
        try:
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, tuple(params))
            if fetch and cursor.description is not None:
                return [tuple(row) for row in cursor.fetchall()]
            return []
        except self._errors as err:
            raise OperationFailed(driver_message(err, self.url)) from err
        finally:
            cursor.close()


def _qmark(sql: str) -> str:
    """Turn `%s` placeholders (and `%%`) into sqlite3's `?` style.

    As with psycopg and PyMySQL, a literal `%` must be written `%%` when parameters are given.
    """
    return re.sub(r"%[s%]", lambda m: "?" if m.group() == "%s" else "%", sql)


def driver_message(err: BaseException, url: DatabaseURL) -> str:
    """Return the first line of a driver's error message, with the password masked."""
    args = getattr(err, "args", ())
    # PyMySQL errors carry (code, message); the others a single message.
    text = str(args[1]) if len(args) == 2 and isinstance(args[0], int) else str(err)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[0] if lines else type(err).__name__
    if url.password:
        message = message.replace(url.password, "***")
    return message


def connect(url: DatabaseURL, connect_timeout: float = 10) -> Connection:
    """Open a connection, or raise UsageError (no driver) or OperationFailed (cannot connect)."""
    if url.dialect == "sqlite":
        return _connect_sqlite(url, connect_timeout)
    driver = _driver(url.dialect)
    try:
        if url.dialect == "postgres":
            params = {"host": url.host, "port": url.port, "user": url.user, "password": url.password,
                      "dbname": url.database, "connect_timeout": max(1, round(connect_timeout))}
            raw = driver.connect(**{**params, **dict(url.options)}, autocommit=True)
        else:
            raw = driver.connect(
                host=url.host, port=url.port, user=url.user or "", password=url.password or "",
                database=url.database, connect_timeout=connect_timeout, autocommit=True, charset="utf8mb4",
            )
    except (driver.Error, OSError) as err:
        raise OperationFailed(f"cannot connect to {url.redacted()}: {driver_message(err, url)}") from None
    return Connection(raw, url, (driver.Error,))


def _connect_sqlite(url: DatabaseURL, timeout: float) -> Connection:
    path = url.path or ":memory:"
    if path != ":memory:" and not Path(path).parent.is_dir():
        raise OperationFailed(f"cannot open {url.redacted()}: folder {str(Path(path).parent)!r} does not exist")
    try:
        raw = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as err:
        raise OperationFailed(f"cannot open {url.redacted()}: {driver_message(err, url)}") from None
    return Connection(raw, url, (sqlite3.Error,))


def _driver(dialect: str) -> ModuleType:
    module, engine, extra = _DRIVERS[dialect]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UsageError(f"{engine} needs the {module} driver: pip install 'reviewkit[{extra}]'") from None


def create_database(server_url: DatabaseURL, name: str) -> DatabaseURL:
    """Create database `name` on the server `server_url` points to; return its URL."""
    with connect(server_url) as conn:
        conn.execute(f"CREATE DATABASE {_quoted(name, conn.dialect)}")
    return server_url.with_database(name)


def drop_database(server_url: DatabaseURL, name: str) -> None:
    """Drop database `name` if it exists, closing PostgreSQL sessions still attached to it."""
    with connect(server_url) as conn:
        statement = f"DROP DATABASE IF EXISTS {_quoted(name, conn.dialect)}"
        if conn.dialect == "postgres" and conn.raw.info.server_version >= 130000:
            statement += " WITH (FORCE)"
        conn.execute(statement)


def _quoted(name: str, dialect: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)
