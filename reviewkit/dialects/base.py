"""What every engine declares: its names, capability flags, and the parts that know its SQL.

A `Dialect` is the one place reviewkit asks how an engine differs (Django's `features.py`
and `DatabaseWrapper`, Atlas's per-dialect driver). Its three parts are loaded on first
use, so a command that needs none of them (`verify`, `--help`) never imports sqlglot or
a database driver:

- `compiler`: the SQL of each operation, the engine's type names, what it stores
  (`reviewkit.dialects.compiler.Compiler` and the engine's subclass); `online_compiler`,
  where the engine has lock-safe forms, the one `generate --online` uses;
- `driver`: connecting, the session a script runs in, the migration lock
  (`reviewkit.dialects.driver.Driver` and the engine's subclass);
- `introspection`: reading the live schema back (a module with `read_tables(conn)` and
  `read_views(conn)`, and for `baseline` `read_view_queries(conn)` and `read_unmodelled(conn)`; for
  `baseline` and `drift`, `read_unmodelled_properties(conn)`);
- `lock_table`, where every lock of a transaction takes a slot of one shared table of fixed
  size (PostgreSQL): how many slots a script's transaction takes, and how many a server has.

This module imports nothing heavy: the configuration reads the registry's names from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from reviewkit.dialects.compiler import Compiler
    from reviewkit.dialects.connection import Connection
    from reviewkit.dialects.driver import Driver
    from reviewkit.dialects.introspection import UnmodelledProperty
    from reviewkit.schema.state import Schema, Table, View


@dataclass(frozen=True)
class ScriptRules:
    """How the engine's own client (psql, mysql, sqlite3) reads a script: quotes and comments."""

    quotes: str  # characters that open a quoted string or identifier
    backslash_quotes: str = ""  # quotes inside which a backslash escapes the next character
    hash_comments: bool = False  # MySQL: `#` starts a comment
    dash_needs_space: bool = False  # MySQL: `--` starts a comment only before whitespace
    nested_comments: bool = False  # PostgreSQL: /* /* */ */ nests
    dollar_quotes: bool = False  # PostgreSQL: $$ ... $$ and $tag$ ... $tag$
    escape_strings: bool = False  # PostgreSQL: E'...' takes backslash escapes
    delimiter_command: bool = False  # mysql client: DELIMITER // changes the statement end
    trigger_bodies: bool = False  # sqlite3: a CREATE TRIGGER ends only at `END;`
    executable_comments: bool = False  # MySQL runs /*! ... */ as SQL
    backslash_commands: bool = False  # psql: a line starting with a backslash is a meta-command (`\\connect db`)
    copy_data: bool = False  # psql: `COPY ... FROM stdin;` is followed by its rows, up to a line `\\.`


class Introspection(Protocol):
    """The engine's catalog reader: every table and view of the connected database, engine internals left out."""

    def read_tables(self, conn: Connection) -> list[Table]: ...

    def read_views(self, conn: Connection) -> list[View]: ...

    def read_view_queries(self, conn: Connection) -> dict[str, str]: ...

    def read_unmodelled(self, conn: Connection) -> dict[str, int]: ...

    def read_unmodelled_properties(self, conn: Connection) -> list[UnmodelledProperty]: ...

    def read_table_rows(self, conn: Connection) -> dict[str, int]: ...


@dataclass(frozen=True)
class LockCapacity:
    """A server's shared lock table: its slots, and how many of them one transaction may take (`budget`)."""

    slots: int
    budget: int  # the rest is left for the other sessions

    def describe(self) -> str:
        """Say how many slots there are and which settings make them."""
        return f"{self.slots:,}"

    @property
    def remedy(self) -> str:
        """What a DBA changes on the server to make room."""
        return "give the server a larger lock table"


class LockCounter(Protocol):
    """Counts the slots one transaction takes, statement by statement."""

    total: int

    def add(self, sql: str) -> int: ...

    def reset(self) -> None: ...


class LockTable(Protocol):
    """An engine whose transactions keep their locks in one shared table of fixed size."""

    default: LockCapacity  # a server with the engine's default settings

    def counter(self, before: Callable[[], Schema | None]) -> LockCounter: ...

    def read(self, conn: Connection) -> LockCapacity: ...

    def full(self, message: str) -> bool:
        """Tell whether an error says the lock table had no room left."""
        ...


class Dialect:
    """One engine. Subclasses set the class attributes and say where their parts live."""

    name: ClassVar[str]  # as sqlglot names the dialect; also the bundle's folder name
    title: ClassVar[str]  # for people: "PostgreSQL"
    url_schemes: ClassVar[tuple[str, ...]]  # database URL schemes that mean this engine
    default_port: ClassVar[int | None] = None
    file_based: ClassVar[bool] = False  # a URL names a file (SQLite), not a database on a server
    lexer: ClassVar[str] = "sql"  # the Pygments lexer `show` highlights the scripts with
    # sqlglot's identifier quotes for the dialect (a test holds them equal): the runtime
    # quotes the ledger's names without importing sqlglot.
    identifier_quotes: ClassVar[tuple[str, str]] = ('"', '"')
    script_rules: ClassVar[ScriptRules]

    # Capability flags.
    transactional_ddl: ClassVar[bool] = True  # a bundle and its ledger row commit together
    # Lock-safe forms for `generate --online` (`online_compiler`); an online bundle then runs
    # statement by statement here. Without them an engine's online scripts are its plain ones.
    online_forms: ClassVar[bool] = False
    batch_size: ClassVar[int] = 1  # statements sent per round trip inside a bundle's transaction
    partial_indexes: ClassVar[bool] = True  # CREATE INDEX ... WHERE
    expression_indexes: ClassVar[bool] = True  # index keys on expressions
    index_names_per_table: ClassVar[bool] = False  # MySQL: two tables may each have an index `idx_name`
    # The fractional-second digits TIME and TIMESTAMP keep when a model file gives none
    # (MySQL: 0, whole seconds); None: the portable default, PostgreSQL's microseconds.
    default_time_precision: ClassVar[int | None] = None
    # A type a model file in this dialect declares (sqlglot's name of it) -> the portable type it
    # means here, where that is not what it means everywhere (MySQL: UUID is MariaDB's own).
    declared_types: ClassVar[dict[str, str]] = {}

    key_prefixes: ClassVar[bool] = False  # a key may hold a column's leading characters: `KEY (name(10))` (MySQL)

    def key_prefix(self, type_name: str) -> int | None:
        """Return how many leading characters a bundle's key on a column of this portable type holds, where the engine
        keys such a column only by a prefix (MySQL: text, blob, json); None: the whole value."""
        return None

    def read_model_statement(self, sql: str, tokens: list) -> tuple[str, list[str]]:
        """Return a model statement as sqlglot should read it, and notes on what the engine's own reading changed.

        Most engines need nothing; SQLite reads any run of words as a column type.
        """
        return sql, []

    def unreadable_model_statement(self, sql: str) -> str | None:
        """Return why a model statement sqlglot reads only as an opaque command is refused, where this engine knows
        the clause (SQLite's WITHOUT ROWID); None for the general message."""
        return None

    def quote(self, name: str) -> str:
        """Quote an identifier, doubling the closing quote inside it."""
        start, end = self.identifier_quotes
        return f"{start}{name.replace(end, end + end)}{end}"

    @cached_property
    def compiler(self) -> Compiler:
        return self._load_compiler()

    @cached_property
    def online_compiler(self) -> Compiler | None:
        """The compiler of `generate --online`'s lock-safe forms; None where the engine has none (its plain SQL serves)."""
        return self._load_online_compiler() if self.online_forms else None

    @cached_property
    def driver(self) -> Driver:
        return self._load_driver()

    @cached_property
    def introspection(self) -> Introspection:
        return self._load_introspection()

    def catalog_queries(self, conn: Connection) -> tuple[str, ...]:
        """Return the catalog queries introspection runs without parameters on `conn`'s server, which a caller may
        send ahead (`Connection.prefetch`); loading them loads no parser."""
        return ()

    @cached_property
    def lock_table(self) -> LockTable | None:
        """The shared table of fixed size a transaction's locks take slots in; None where there is none to fill."""
        return self._load_lock_table()

    def _load_lock_table(self) -> LockTable | None:
        return None

    @cached_property
    def lint_rules(self) -> list:
        """The engine's `lint` rules (`reviewkit.lint.engine.Rule`), each a function of a statement and its script."""
        return self._load_lint_rules()

    def _load_lint_rules(self) -> list:
        return []

    def _load_compiler(self) -> Compiler:
        raise NotImplementedError

    def _load_online_compiler(self) -> Compiler | None:
        return None  # an engine with `online_forms` loads its online compiler here

    def _load_driver(self) -> Driver:
        raise NotImplementedError

    def _load_introspection(self) -> Introspection:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<dialect {self.name}>"
