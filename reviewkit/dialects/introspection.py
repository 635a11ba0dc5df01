"""What the engines' catalog readers share (each engine's `introspect` module reads its own).

Which tables belong to reviewkit itself, how expressions the engines echo back are
brought to the canonical form the models use, how a stored CREATE INDEX is read, and the
draft a reader fills in table by table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import sqlglot
from sqlglot import exp

from reviewkit.errors import UnsupportedType
from reviewkit.schema.expressions import canonical, quiet_sqlglot
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Table, Unique, View

if TYPE_CHECKING:
    from reviewkit.dialects.connection import Connection

# reviewkit's own tables (the ledger) are not part of any schema it manages.
OWN_TABLE_PREFIX = "reviewkit_"
_FK_ACTIONS = ("NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT")


@dataclass(frozen=True)
class UnmodelledProperty:
    """A property of a table, column, key or index that the models cannot say: an UNLOGGED table, a
    DEFERRABLE key. `baseline` refuses a schema with one (it would be lost), `drift` reports each."""

    object: str  # table, column, constraint, index: as `drift` names objects
    name: str  # "books", "books.isbn", "books.books_author_fkey"
    key: str  # what it is: persistence, storage, deferrable, match, nulls, collation, engine, options, typing
    value: str  # unlogged, "fillfactor=70", initially deferred, full, not distinct, de_DE

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[0]

    def describe(self) -> str:
        return f"{self.object} {self.name}: {self.key} {self.value}"


def in_order(properties: Iterable[UnmodelledProperty]) -> list[UnmodelledProperty]:
    """Return properties by the name of their object, then by what they are: as a reviewer reads them."""
    return sorted(properties, key=lambda p: (p.name, p.key))


class FoundWhileReading:
    """The properties an engine's `read_tables` finds while it reads the catalog, kept per connection for the
    `read_unmodelled_properties` that follows on it (`drift` and `baseline` ask for both): rows it would read twice."""

    def __init__(self) -> None:
        self._found: WeakKeyDictionary[Connection, list[UnmodelledProperty]] = WeakKeyDictionary()

    def keep(self, conn: Connection, found: Iterable[UnmodelledProperty]) -> None:
        self._found[conn] = in_order(found)

    def take(self, conn: Connection, read_tables: Callable[[Connection], object]) -> list[UnmodelledProperty]:
        """Return what `read_tables` found on `conn` just before, once; else read the tables now."""
        found = self._found.pop(conn, None)
        if found is None:
            read_tables(conn)
            found = self._found.pop(conn)
        return found


@dataclass
class TableDraft:
    """What a reader has learned about one table so far."""

    name: str
    columns: list[Column] = field(default_factory=list)
    comment: str | None = None
    primary_key: PrimaryKey | None = None
    uniques: list[Unique] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)

    def build(self) -> Table:
        """Return the table; primary key columns are NOT NULL, as the models say too."""
        pk_columns = set(self.primary_key.columns) if self.primary_key else set()
        columns = tuple(
            replace(c, nullable=False) if c.nullable and (c.name in pk_columns or c.identity) else c
            for c in self.columns
        )
        return Table(
            self.name, columns, self.primary_key, tuple(self.uniques), tuple(self.checks),
            tuple(self.foreign_keys), tuple(self.indexes), self.comment,
        )


def drafts_by_name(names: list[str]) -> dict[str, TableDraft]:
    """Return an empty draft for every table name, skipping reviewkit's own tables."""
    return {name: TableDraft(name) for name in names if not name.startswith(OWN_TABLE_PREFIX)}


def views_from_rows(rows: list[tuple]) -> list[View]:
    """Return views from (view, column, check option) rows in column order; a column of None adds nothing.

    A live view is known by what the engine shows of it: not its query, which every engine
    rewrites, but its name, the columns it returns and its check option ("NONE" is none).
    """
    columns: dict[str, list[str]] = {}
    options: dict[str, str | None] = {}
    for name, column, option in rows:
        if name.startswith(OWN_TABLE_PREFIX):
            continue
        columns.setdefault(name, [])
        if column is not None:
            columns[name].append(column)
        options[name] = option.lower() if option and option.upper() != "NONE" else None
    return [View(name, "", tuple(cols), options[name]) for name, cols in columns.items()]


def fk_action(text: str | None) -> str:
    """Return an ON DELETE / ON UPDATE action in the spelling the schema state uses."""
    action = " ".join((text or "NO ACTION").upper().split())
    if action not in _FK_ACTIONS:
        raise UnsupportedType(f"unknown foreign key action {text!r}")
    return action


UNMAPPED = "unmapped "  # the type of a column whose engine type has no portable name, before the engine's name


def unmapped_column(name: str, type_text: str, nullable: bool) -> Column:
    """Return a column whose type reviewkit has no portable name for, the engine's type name kept.

    Readers keep such a column rather than stop: `drift` names it as it is, and
    `introspect` refuses every one of them at once for the callers that need portable types.
    """
    return Column(name, UNMAPPED + type_text, nullable)


def unmapped_problems(tables: list[Table]) -> list[str]:
    """Return one line per column whose type has no portable name."""
    return [f"column {table.name}.{column.name} has type {column.type.removeprefix(UNMAPPED)}, "
            "which reviewkit cannot map to a portable type"
            for table in tables for column in table.columns if column.type.startswith(UNMAPPED)]


def generated(table: str, column: str) -> UnsupportedType:
    """Return the error for a generated (computed) column, which the schema state cannot hold."""
    return UnsupportedType(f"column {table}.{column} is a generated column, which reviewkit cannot map")


# -- expressions ------------------------------------------------------------------------

Rewrite = Callable[[exp.Expression], exp.Expression]


def canonical_expression(source: str | exp.Expression, dialect: str, rewrite: Rewrite | None = None) -> str:
    """Return the canonical text of an expression an engine echoed back.

    `rewrite` first undoes an engine's own rewrites (PostgreSQL's `= ANY (ARRAY[...])`);
    `canonical` drops the parentheses engines add of their own (`((a > 0) AND (b > 0))`).
    """
    if isinstance(source, str):
        return _canonical_source(source, dialect, rewrite)
    return _canonical_node(source.copy(), rewrite)


@lru_cache(maxsize=4096)
def _canonical_source(source: str, dialect: str, rewrite: Rewrite | None) -> str:
    """The same text gives the same answer: a schema repeats its defaults (`0`, `now()`) table after table."""
    return _canonical_node(sqlglot.parse_one(source, read=dialect), rewrite)


def _canonical_node(node: exp.Expression, rewrite: Rewrite | None) -> str:
    if rewrite is not None:
        node = node.transform(rewrite)
    return canonical(node)


def default_expression(text: str | None, column_type: str, dialect: str, rewrite: Rewrite | None = None) -> str | None:
    """Return the canonical column default, as the models normalise it (`reviewkit.schema.defaults`).

    1 and 0 on a boolean column read as TRUE and FALSE (MySQL stores BOOLEAN as TINYINT(1)),
    and DEFAULT NULL as no default (SQLite keeps the NULL it was given; the others do not).
    """
    if text is None:
        return None
    value = canonical_expression(text, dialect, rewrite)
    if value == "NULL":
        return None
    if column_type == "boolean" and value in ("1", "0"):
        return "TRUE" if value == "1" else "FALSE"
    return value


# -- indexes ----------------------------------------------------------------------------


# The start of a stored CREATE INDEX, up to its key: the index's name and its table's (quoted or not,
# the table's maybe qualified), as PostgreSQL's pg_get_indexdef and reviewkit's own statements write them.
_NAME = r'(?:"(?:[^"]|"")*"|[^\s"(.]+)'
_INDEX_HEAD = re.compile(rf"CREATE (UNIQUE )?INDEX {_NAME} ON (ONLY )?(?:{_NAME}\.)?{_NAME} ")


def index_from_sql(name: str, sql: str, dialect: str, rewrite: Rewrite | None = None) -> Index:
    """Read a stored CREATE INDEX statement into an Index named `name`.

    What is read (method, key parts, filter, INCLUDE) does not depend on the index's and the
    table's names, so they are left out of the statement that is parsed: the indexes of a
    schema repeat a handful of shapes (`USING btree (title)`), each then parsed once.
    """
    head = _INDEX_HEAD.match(sql)
    if head is not None:
        # ONLY (a partitioned table's index, its partitions not modelled) is left out: sqlglot cannot read it.
        sql = f"CREATE {head.group(1) or ''}INDEX i ON t {sql[head.end():]}"
    try:
        with quiet_sqlglot():
            parts, unique, where_text, method, include = _index_body(sql, dialect, rewrite)
    except sqlglot.errors.ParseError as err:
        raise UnsupportedType(f"index {name}: cannot read its definition: {str(err).splitlines()[0]}") from None
    return Index(name, parts, unique, where_text, method, include)


@lru_cache(maxsize=1024)
def _index_body(
    sql: str, dialect: str, rewrite: Rewrite | None,
) -> tuple[tuple[IndexPart, ...], bool, str | None, str | None, tuple[str, ...]]:
    node = sqlglot.parse_one(sql, read=dialect)
    if not isinstance(node, exp.Create) or not isinstance(node.this, exp.Index):
        # sqlglot read it as an opaque command: a clause it does not know (PostgreSQL 15's NULLS NOT DISTINCT)
        raise sqlglot.errors.ParseError(f"{sql[sql.index(' ON t ') + 6:] if ' ON t ' in sql else sql} is not supported")
    params = node.this.args.get("params")
    parts = tuple(_index_part(key, dialect, rewrite) for key in params.args.get("columns") or [])
    where = params.args.get("where")
    where_text = canonical_expression(where.this, dialect, rewrite) if where is not None else None
    using = params.args.get("using")
    method = using.name.lower() if using is not None and using.name.lower() != "btree" else None
    include = tuple(_ident_name(e) for e in params.args.get("include") or ())
    return parts, bool(node.args.get("unique")), where_text, method, include


def _index_part(ordered: exp.Expression, dialect: str, rewrite: Rewrite | None) -> IndexPart:
    key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
    descending = bool(isinstance(ordered, exp.Ordered) and ordered.args.get("desc"))
    opclass = None
    if isinstance(key, exp.Opclass):
        key, opclass = key.this, key.expression.name.lower()
    if isinstance(key, exp.Column) and not key.table:
        return IndexPart(_ident_name(key.this), True, descending, opclass)
    node = key.transform(rewrite) if rewrite is not None else key
    return IndexPart(canonical(node), False, descending, opclass)


def _ident_name(ident: exp.Expression) -> str:
    return ident.name if isinstance(ident, exp.Identifier) and ident.quoted else ident.name.lower()
