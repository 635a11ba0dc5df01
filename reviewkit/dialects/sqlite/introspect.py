"""Read a SQLite schema from its PRAGMAs and the CREATE statements it stores.

The PRAGMAs give the structure (columns, keys, indexes, foreign keys); only the stored
CREATE TABLE text knows constraint names and check expressions, so that text is parsed
too and matched to the PRAGMA data by column list. Unnamed constraints get the names the
models would give them (`reviewkit.schema.naming`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError

from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.introspection import (
    OWN_TABLE_PREFIX,
    FoundWhileReading,
    TableDraft,
    UnmodelledProperty,
    canonical_expression,
    default_expression,
    drafts_by_name,
    fk_action,
    generated,
    index_from_sql,
    unmapped_column,
)
from reviewkit.dialects.sqlite.affinity import read_declared_types
from reviewkit.errors import OperationFailed, UnsupportedType
from reviewkit.schema import naming, types
from reviewkit.schema.expressions import blank_not_deferrable, quiet_sqlglot
from reviewkit.schema.state import Check, Column, ForeignKey, PrimaryKey, Table, Unique, View

_MASTER = "SELECT type, name, sql, tbl_name FROM sqlite_master WHERE type IN ('table', 'index', 'trigger') ORDER BY name"
# hidden: 0 an ordinary column, 1 a virtual table's hidden one, 2 and 3 generated columns
_COLUMNS = 'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(%s) WHERE hidden <> 1 ORDER BY cid'
_INDEX_LIST = "SELECT name, origin FROM pragma_index_list(%s)"
_INDEX_COLUMNS = "SELECT name FROM pragma_index_xinfo(%s) WHERE key = 1 ORDER BY seqno"
_FOREIGN_KEYS = 'SELECT id, "table", "from", "to", on_delete, on_update FROM pragma_foreign_key_list(%s) ORDER BY id, seq'

_VIEWS = "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name"
_VIEW_COLUMNS = "SELECT name FROM pragma_table_info(%s) ORDER BY cid"

Key = tuple[str, ...]  # a column list, lowercased: SQLite compares names without case


@dataclass
class _Declared:
    """What only the CREATE TABLE text says: constraint names, checks, AUTOINCREMENT."""

    primary_key: str | None = None
    uniques: dict[Key, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    foreign_keys: dict[Key, str] = field(default_factory=dict)
    autoincrement: set[str] = field(default_factory=set)
    generated: dict[str, str] = field(default_factory=dict)  # column (lowercased) -> expression
    collations: dict[str, str] = field(default_factory=dict)  # column -> a COLLATE other than BINARY (NOCASE, RTRIM)
    deferred: set[Key] = field(default_factory=set)  # the foreign keys checked at commit


# The triggers reviewkit writes for ON UPDATE CURRENT_TIMESTAMP name the column they set.
_TOUCHED_COLUMN = re.compile(r'\bSET\s+("(?:[^"]|"")+"|\w+)\s*=\s*CURRENT_TIMESTAMP', re.IGNORECASE)


def read_tables(conn: Connection) -> list[Table]:
    """Return every table of the database."""
    master = conn.query(_MASTER)
    tables = {name: sql for kind, name, sql, _ in master if kind == "table" and not _is_internal(name, sql)}
    index_sql = {name: sql for kind, name, sql, _ in master if kind == "index" and sql}
    drafts = drafts_by_name(sorted(tables))
    properties = []
    for name, draft in drafts.items():
        declared = _declared(name, tables[name])
        properties += [UnmodelledProperty("column", f"{name}.{column}", "collation", collation)
                       for column, collation in declared.collations.items()]
        _read_columns(conn, draft, declared)
        _read_keys(conn, draft, declared, index_sql)
        _read_foreign_keys(conn, draft, declared)
        properties += [UnmodelledProperty("constraint", f"{name}.{fk.name}", "deferrable", "initially deferred")
                       for fk in draft.foreign_keys if _key(fk.columns) in declared.deferred]
        draft.checks.extend(declared.checks)
    for kind, name, sql, table in master:
        if kind == "trigger" and name.startswith("reviewkit_touch_") and table in drafts:
            _mark_touched(drafts[table], sql)
    _FOUND.keep(conn, properties + _table_properties(conn))
    return [draft.build() for draft in drafts.values()]


def read_views(conn: Connection) -> list[View]:
    """Return every view of the database: its name and the columns it returns (SQLite has no check option)."""
    views = []
    for (name,) in conn.query(_VIEWS):
        try:
            columns = tuple(row[0] for row in conn.query(_VIEW_COLUMNS, (name,)))
        except OperationFailed as err:  # SQLite resolves a view's columns only now, and may fail to
            raise UnsupportedType(f"view {name} does not work on this database: {err}") from None
        views.append(View(name, "", columns))
    return views


# What the models cannot say is found while read_tables reads each stored CREATE TABLE (a
# column's COLLATE NOCASE or RTRIM compares otherwise than the models' text): `drift` and
# `baseline` ask for both on one connection, and parsing the statements is read_tables' largest part.
_FOUND = FoundWhileReading()


def read_unmodelled_properties(conn: Connection) -> list[UnmodelledProperty]:
    """Return what the models cannot say of the tables they hold: a column collated otherwise than BINARY, a STRICT
    table (SQLite 3.37+ refuses a value of another type there) or one WITHOUT ROWID, a foreign key checked at commit;
    as read_tables found them on this connection just before, else read now."""
    return _FOUND.take(conn, read_tables)


def _table_properties(conn: Connection) -> list[UnmodelledProperty]:
    try:
        rows = conn.query("SELECT name, strict, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table'")
    except OperationFailed:  # SQLite before 3.37 has neither
        return []
    found = []
    for name, strict, without_rowid in rows:
        if name.startswith(("sqlite_", OWN_TABLE_PREFIX)):
            continue
        if strict:
            found.append(UnmodelledProperty("table", name, "typing", "strict"))
        if without_rowid:
            found.append(UnmodelledProperty("table", name, "storage", "without rowid"))
    return found


def read_unmodelled(conn: Connection) -> dict[str, int]:
    """Count the objects of the database reviewkit does not model: triggers (not reviewkit's own)."""
    rows = conn.query("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name NOT LIKE 'reviewkit\\_touch\\_%' ESCAPE '\\'")
    return {"trigger": rows[0][0]} if rows[0][0] else {}


def read_table_rows(conn: Connection) -> dict[str, int]:
    """Return each table's row count: SQLite keeps no estimate, and its databases are small enough to count."""
    names = [name for (name,) in conn.query("SELECT name FROM sqlite_master WHERE type = 'table'")
             if not name.startswith("sqlite_")]
    return {name: conn.query(f"SELECT count(*) FROM {get_dialect(conn.dialect).quote(name)}")[0][0] for name in names}


def read_view_queries(conn: Connection) -> dict[str, str]:
    """Return each view's query as its CREATE VIEW statement was written (for `baseline`)."""
    queries = {}
    for name, sql in conn.query("SELECT name, sql FROM sqlite_master WHERE type = 'view'"):
        created = sqlglot.parse_one(sql, read="sqlite")
        queries[name] = created.expression.sql(dialect="sqlite")
    return queries


def _mark_touched(draft: TableDraft, sql: str) -> None:
    """Mark the column whose ON UPDATE CURRENT_TIMESTAMP this reviewkit trigger does."""
    match = _TOUCHED_COLUMN.search(sql or "")
    if match:
        name = match.group(1)
        name = name[1:-1].replace('""', '"') if name.startswith('"') else name
        draft.columns = [replace(c, on_update="CURRENT_TIMESTAMP") if c.name == name else c for c in draft.columns]


def _is_internal(name: str, sql: str) -> bool:
    """SQLite's own tables (sqlite_sequence, sqlite_stat1) and virtual tables are not schema to manage."""
    return name.startswith("sqlite_") or sql.startswith("CREATE VIRTUAL")


@lru_cache(maxsize=1024)
def portable_type(declared: str) -> str | None:
    """Return the portable type for a declared column type like `NUMERIC(10, 2)`, or None.

    Kept per declared text: a schema spells its types the same way table after table.
    """
    text = re.sub(r"\s*([(),])\s*", r"\1", " ".join(declared.lower().split()))
    if text.endswith(" unsigned") and text[:-9] in ("tinyint", "smallint", "mediumint", "integer"):
        return "u" + text[:-9]
    try:
        return str(types.parse_type(text))
    except UnsupportedType:
        pass
    try:
        return types.from_sqlglot(exp.DataType.build(declared, dialect="sqlite"), declared)[0]
    except (UnsupportedType, ParseError, ValueError):
        return None


def _read_columns(conn: Connection, draft: TableDraft, declared: _Declared) -> None:
    pk_columns = []
    for name, type_text, not_null, default, pk, hidden in conn.query(_COLUMNS, (draft.name,)):
        portable = portable_type(type_text) if type_text else None
        if portable is None:
            draft.columns.append(unmapped_column(name, type_text or "(none declared)", not not_null))
            continue
        if hidden:  # 2: a VIRTUAL generated column, 3: a STORED one
            if name.lower() not in declared.generated:
                raise generated(draft.name, name)
            draft.columns.append(Column(name, portable, not not_null, generated=declared.generated[name.lower()],
                                        stored=hidden == 3))
            continue
        identity = name.lower() in declared.autoincrement
        draft.columns.append(Column(name, portable, not not_null, default_expression(default, portable, "sqlite"), identity))
        if pk:
            pk_columns.append((pk, name))
    if pk_columns:
        columns = tuple(name for _, name in sorted(pk_columns))
        draft.primary_key = PrimaryKey(declared.primary_key or naming.constraint_name(draft.name, (), "pkey"), columns)


def _read_keys(conn: Connection, draft: TableDraft, declared: _Declared, index_sql: dict[str, str]) -> None:
    """Add unique constraints (indexes of origin 'u') and CREATE INDEX indexes (origin 'c')."""
    for name, origin in sorted(conn.query(_INDEX_LIST, (draft.name,))):
        if origin == "u":
            columns = tuple(row[0] for row in conn.query(_INDEX_COLUMNS, (name,)))
            key = _key(columns)
            unique_name = declared.uniques.get(key) or naming.constraint_name(draft.name, columns, "key")
            draft.uniques.append(Unique(unique_name, columns))
        elif origin == "c":
            draft.indexes.append(index_from_sql(name, index_sql[name], "sqlite"))


def _read_foreign_keys(conn: Connection, draft: TableDraft, declared: _Declared) -> None:
    grouped: dict[int, list[tuple]] = {}
    for row in conn.query(_FOREIGN_KEYS, (draft.name,)):
        grouped.setdefault(row[0], []).append(row)
    for rows in grouped.values():
        columns, ref_table = tuple(r[2] for r in rows), rows[0][1]
        ref_columns = tuple(r[3] for r in rows)
        if None in ref_columns:  # REFERENCES t without columns: t's primary key
            ref_columns = _primary_key_of(conn, ref_table)
        name = declared.foreign_keys.get(_key(columns)) or naming.constraint_name(draft.name, columns, "fkey")
        draft.foreign_keys.append(ForeignKey(name, columns, ref_table, ref_columns, fk_action(rows[0][4]), fk_action(rows[0][5])))


def _primary_key_of(conn: Connection, table: str) -> Key:
    rows = conn.query("SELECT pk, name FROM pragma_table_info(%s) WHERE pk > 0", (table,))
    return tuple(name for _, name in sorted(rows))


def _key(columns: Key) -> Key:
    return tuple(c.lower() for c in columns)


# -- the stored CREATE TABLE text -------------------------------------------------------


_TABLE_OPTIONS = re.compile(r"\)\s*(?:(?:WITHOUT\s+ROWID|STRICT)\s*,?\s*)+$", re.IGNORECASE)


def _declared(table: str, sql: str) -> _Declared:
    """Read names, checks and AUTOINCREMENT from a stored CREATE TABLE statement."""
    try:
        # Types sqlglot cannot read (sakila's `BLOB SUB_TYPE TEXT`) by their affinity, as the models read them;
        # STRICT and WITHOUT ROWID, which sqlglot does not read, are told by read_unmodelled_properties.
        tokens = SQLite.Tokenizer().tokenize(sql)
        plain = blank_not_deferrable(sql, tokens)
        if plain is not sql:
            sql, tokens = plain, SQLite.Tokenizer().tokenize(plain)
        readable, _ = read_declared_types(sql, tokens)
        with quiet_sqlglot():
            node = sqlglot.parse_one(_TABLE_OPTIONS.sub(")", readable), read="sqlite")
    except (ParseError, TokenError) as err:
        raise UnsupportedType(f"table {table}: cannot read its stored CREATE TABLE: {str(err).splitlines()[0]}") from None
    if not isinstance(node, exp.Create) or not isinstance(node.this, exp.Schema):
        raise UnsupportedType(f"table {table}: cannot read its stored CREATE TABLE: {sql[:80]}")
    collected = _Collected()
    for item in node.this.expressions:
        if isinstance(item, exp.ColumnDef):
            _collect_column(collected, item)
        else:
            name = _ident(item.this) if isinstance(item, exp.Constraint) else None
            for constraint in item.expressions if isinstance(item, exp.Constraint) else [item]:
                _collect_table_constraint(collected, name, constraint)
    return collected.named(table)


@dataclass
class _Collected:
    """Constraints in the order they are declared, names not yet given to the unnamed."""

    has_primary_key: bool = False
    primary_key: str | None = None
    uniques: list[tuple[str | None, Key]] = field(default_factory=list)
    checks: list[tuple[str | None, exp.Expression, Key]] = field(default_factory=list)
    foreign_keys: list[tuple[str | None, Key]] = field(default_factory=list)
    autoincrement: set[str] = field(default_factory=set)
    generated: dict[str, str] = field(default_factory=dict)
    collations: dict[str, str] = field(default_factory=dict)
    deferred: set[Key] = field(default_factory=set)

    def named(self, table: str) -> _Declared:
        """Name the unnamed constraints the way the models' SchemaBuilder does, in its order."""
        used: set[str] = set()

        def pick(name: str | None, columns: Key, suffix: str) -> str:
            if name:
                used.add(name)
                return name
            return naming.unique_among(naming.constraint_name(table, columns, suffix), used)

        declared = _Declared(autoincrement=self.autoincrement, generated=self.generated, collations=self.collations,
                             deferred=self.deferred)
        if self.has_primary_key:
            declared.primary_key = pick(self.primary_key, (), "pkey")
        for name, columns in self.uniques:
            declared.uniques[_key(columns)] = pick(name, columns, "key")
        for name, expression, columns in self.checks:
            declared.checks.append(Check(pick(name, columns, "check"), canonical_expression(expression, "sqlite")))
        for name, columns in self.foreign_keys:
            declared.foreign_keys[_key(columns)] = pick(name, columns, "fkey")
        return declared


def _collect_column(collected: _Collected, column: exp.ColumnDef) -> None:
    name = _ident(column.this)
    for constraint in column.constraints:
        kind, cname = constraint.args.get("kind"), _ident(constraint.this) if constraint.this else None
        if isinstance(kind, exp.PrimaryKeyColumnConstraint):
            collected.has_primary_key, collected.primary_key = True, cname
        elif isinstance(kind, exp.UniqueColumnConstraint):
            collected.uniques.append((cname, (name,)))
        elif isinstance(kind, exp.CheckColumnConstraint):
            collected.checks.append((cname, kind.this, (name,)))
        elif isinstance(kind, exp.Reference):
            collected.foreign_keys.append((cname, (name,)))
            if _checked_at_commit(kind):
                collected.deferred.add(_key((name,)))
        elif isinstance(kind, exp.AutoIncrementColumnConstraint):
            collected.autoincrement.add(name.lower())
        elif isinstance(kind, exp.ComputedColumnConstraint):
            collected.generated[name.lower()] = canonical_expression(kind.this, "sqlite")
        elif isinstance(kind, exp.CollateColumnConstraint) and kind.this.name.upper() != "BINARY":
            collected.collations[name] = kind.this.name.upper()


def _collect_table_constraint(collected: _Collected, name: str | None, node: exp.Expression) -> None:
    if isinstance(node, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        collected.has_primary_key, collected.primary_key = True, name
    elif isinstance(node, exp.UniqueColumnConstraint):
        collected.uniques.append((name, tuple(_ident(e) for e in node.this.expressions)))
    elif isinstance(node, exp.CheckColumnConstraint):
        collected.checks.append((name, node.this, ()))
    elif isinstance(node, exp.ForeignKey):
        columns = tuple(_ident(e) for e in node.expressions)
        collected.foreign_keys.append((name, columns))
        if _checked_at_commit(node.args.get("reference")):
            collected.deferred.add(_key(columns))


def _checked_at_commit(reference: exp.Reference | None) -> bool:
    """Tell whether a key is deferred: SQLite defers only DEFERRABLE INITIALLY DEFERRED; DEFERRABLE alone,
    INITIALLY IMMEDIATE and NOT DEFERRABLE are all checked per statement (https://sqlite.org/foreignkeys.html, 4.2)."""
    options = {" ".join(str(o).upper().split()) for o in (reference.args.get("options") or [])} if reference else set()
    return {"DEFERRABLE", "INITIALLY DEFERRED"} <= options


def _ident(node: exp.Expression) -> str:
    return node.name
