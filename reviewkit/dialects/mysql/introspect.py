"""Read a MariaDB / MySQL schema (the connection's current database) from information_schema.

Written against MariaDB 10.2+, where COLUMN_DEFAULT holds an SQL expression (`'x'`,
`NULL`, `current_timestamp(6)`) and CHECK_CONSTRAINTS names the table of each check.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

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
    unmapped_column,
    views_from_rows,
)
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Table, Unique, View

# information_schema's tables are read one by one and put together here: MariaDB answers a join
# of two of them by reading the second again for every row of the first (COLUMNS joined to
# TABLES: 1.7 s for 1,000 tables, against 0.07 s for the two read apart).
_COLUMNS = """
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA,
       GENERATION_EXPRESSION, COLUMN_COMMENT, COLLATION_NAME
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION
"""

_TABLES = """
SELECT TABLE_NAME, TABLE_COMMENT, ENGINE, CREATE_OPTIONS, TABLE_COLLATION
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
"""

_CHECKS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, CONSTRAINT_NAME
"""

# A foreign key's columns, and its actions (0.2 s joined, 0.03 s apart, for 1,000 foreign keys).
_FOREIGN_KEYS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
"""

_FOREIGN_KEY_ACTIONS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE, UPDATE_RULE
FROM information_schema.REFERENTIAL_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE()
"""

# Primary keys, unique constraints and indexes are all indexes to InnoDB.
_INDEXES = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION, SUB_PART, INDEX_TYPE
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"""

# A view that no longer works (a table under it was dropped) has no columns: it is read with none.
_VIEWS = """
SELECT v.TABLE_NAME, c.COLUMN_NAME, v.CHECK_OPTION
FROM information_schema.VIEWS v
LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = v.TABLE_SCHEMA AND c.TABLE_NAME = v.TABLE_NAME
WHERE v.TABLE_SCHEMA = DATABASE()
ORDER BY v.TABLE_NAME, c.ORDINAL_POSITION
"""

_TYPE = re.compile(r"^(?P<name>[a-z]+)(?:\((?P<params>\d+(?:,\d+)?)\))?(?P<unsigned> unsigned)?(?: zerofill)?$")
_VALUES = re.compile(r"^(?P<kind>enum|set)\((?P<values>.*)\)$", re.DOTALL)
_KINDS = {
    "tinyint": "tinyint", "smallint": "smallint", "mediumint": "mediumint", "int": "integer", "integer": "integer",
    "bigint": "bigint", "year": "year",
    "decimal": "numeric", "numeric": "numeric", "float": "real", "double": "double",
    "varchar": "varchar", "char": "char", "tinytext": "text", "text": "text", "mediumtext": "text",
    "longtext": "text", "date": "date", "time": "time", "datetime": "timestamp", "timestamp": "timestamptz",
    "json": "json", "uuid": "uuid", "tinyblob": "blob", "blob": "blob", "mediumblob": "blob", "longblob": "blob",
}
_FRACTIONAL_SECONDS = {"time", "timestamp", "timestamptz"}
_KEEPS_PARAMS = {"numeric", "varchar", "char", "time", "timestamp", "timestamptz"}


def read_tables(conn: Connection) -> list[Table]:
    """Return every base table of the current database."""
    tables = conn.query(_TABLES)
    comments = {row[0]: row[1] for row in tables}
    rows = [row for row in conn.query(_COLUMNS) if row[0] in comments]  # the columns of views left out
    drafts = drafts_by_name(sorted({row[0] for row in rows}))
    json_checks = _read_checks(conn, drafts)
    for table, name, type_text, nullable, default, extra, expression, comment, collation in rows:
        if table in drafts:
            drafts[table].comment = comments[table] or None
            is_json = (table, name) in json_checks
            column = _column(table, name, type_text, nullable, default, extra, is_json, expression)
            collation = _collation(collation) if column.type.split("(")[0] in _TEXT_KINDS else None
            drafts[table].columns.append(replace(column, comment=comment or None, collation=collation))
    fk_names = _read_foreign_keys(conn, drafts)
    prefixes = _read_indexes(conn, drafts, fk_names)
    _FOUND.keep(conn, _properties(tables, rows) + prefixes)
    return [draft.build() for draft in drafts.values()]


def read_views(conn: Connection) -> list[View]:
    """Return every view of the current database: its name, the columns it returns, its check option."""
    return views_from_rows(conn.query(_VIEWS))


def _innodb_action(text: str | None) -> str:
    """Read NO ACTION as RESTRICT: InnoDB checks both at once, and reports RESTRICT unless NO ACTION was written."""
    action = fk_action(text)
    return "RESTRICT" if action == "NO ACTION" else action


_UNMODELLED = """
SELECT 'trigger', count(*) FROM information_schema.TRIGGERS
 WHERE TRIGGER_SCHEMA = DATABASE() AND TRIGGER_NAME NOT LIKE 'reviewkit\\_touch\\_%'
UNION ALL
SELECT lower(ROUTINE_TYPE), count(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() GROUP BY ROUTINE_TYPE
UNION ALL
SELECT 'event', count(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()
"""


# A bundle's CREATE TABLE names no engine, options or collations: it takes the server's
# default engine (InnoDB) and the table's collation. A live table of another engine (MyISAM
# has no transactions and no foreign keys), with options (ROW_FORMAT=COMPRESSED, partitions)
# or a column that compares otherwise than its table (other than a _bin one, which the models
# say) is one the bundle would not build alike. They are found in the rows read_tables reads:
# `drift` and `baseline` ask for both on one connection, and information_schema.COLUMNS is the
# slowest of MariaDB's catalog reads (60 ms at 1,000 tables), so it is read once.
_FOUND = FoundWhileReading()


def read_unmodelled_properties(conn: Connection) -> list[UnmodelledProperty]:
    """Return what the models cannot say of the tables and columns they hold: another engine, table options and
    column collations; as read_tables found them on this connection just before, else read now."""
    return _FOUND.take(conn, read_tables)


def _properties(tables: list[tuple], columns: list[tuple]) -> list[UnmodelledProperty]:
    """Read the properties from _TABLES' and _COLUMNS' rows."""
    found, collations = [], {}
    for table, _comment, engine, options, collation in tables:
        if table.startswith(OWN_TABLE_PREFIX):
            continue
        collations[table] = collation
        if engine and engine.lower() != "innodb":
            found.append(UnmodelledProperty("table", table, "engine", engine))
        if options and options.strip():
            found.append(UnmodelledProperty("table", table, "options", options.strip()))
    for table, column, _type, _null, _default, extra, *_, collation in columns:
        if table not in collations:
            continue
        if collation and not collation.endswith("_bin") and _comparison(collation) != _comparison(collations[table]):
            found.append(UnmodelledProperty("column", f"{table}.{column}", "collation", collation))
        if "invisible" in (extra or "").lower():  # left out of SELECT *
            found.append(UnmodelledProperty("column", f"{table}.{column}", "visibility", "invisible"))
    return found


def _comparison(collation: str | None) -> str | None:
    """Return how a collation compares, without its character set: NVARCHAR's utf8mb3_general_ci compares as the
    table's utf8mb4_general_ci (the models hold no character sets; a bundle's columns take the table's)."""
    return collation.split("_", 1)[-1] if collation else collation


def read_unmodelled(conn: Connection) -> dict[str, int]:
    """Count the objects of the database reviewkit does not model (triggers, routines, events)."""
    return {kind: count for kind, count in conn.query(_UNMODELLED) if count}


def read_table_rows(conn: Connection) -> dict[str, int]:
    """Return InnoDB's row estimate of each table (information_schema.TABLES.TABLE_ROWS)."""
    rows = conn.query("SELECT TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
                      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'")
    return {name: int(count) for name, count in rows if count is not None}


def read_view_queries(conn: Connection) -> dict[str, str]:
    """Return each view's query as MySQL shows it (for `baseline`, which writes it into the models)."""
    return dict(conn.query(
        "SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()"))


def portable_type(type_text: str) -> str | None:
    """Return the portable type for a COLUMN_TYPE like `decimal(10,2)`, or None when there is none."""
    values = _VALUES.match(type_text)
    if values:
        return f"{values.group('kind')}({values.group('values')})"  # MySQL quotes the values as we do
    match = _TYPE.match(type_text.lower())
    if match is None:
        return None
    name, params = match.group("name"), match.group("params")
    if name == "tinyint" and params == "1" and not match.group("unsigned"):
        return "boolean"
    kind = _KINDS.get(name)
    if kind is None:
        return None
    if match.group("unsigned"):
        if kind not in _UNSIGNED:
            return None
        kind = _UNSIGNED[kind]
    if kind in _FRACTIONAL_SECONDS and not params:
        params = "0"  # MySQL's DATETIME, TIMESTAMP and TIME keep whole seconds unless told otherwise
    return f"{kind}({params})" if params and kind in _KEEPS_PARAMS else kind


_UNSIGNED = {"tinyint": "utinyint", "smallint": "usmallint", "mediumint": "umediumint", "integer": "uinteger",
             "bigint": "ubigint"}


_TEXT_KINDS = ("varchar", "char", "text")  # MariaDB's JSON is LONGTEXT with a binary collation of its own


def _collation(name: str | None) -> str | None:
    return "binary" if name and name.endswith("_bin") else None


def _column(
    table: str, name: str, type_text: str, nullable: str, default: str | None, extra: str, is_json: bool,
    expression: str | None,
) -> Column:
    portable = "json" if is_json else portable_type(type_text)
    if portable is None:
        return unmapped_column(name, type_text, nullable == "YES")
    extra = extra.lower()
    if "generated" in extra:
        generated = canonical_expression(expression, "mysql")
        return Column(name, portable, nullable == "YES", generated=generated, stored="stored" in extra)
    identity = "auto_increment" in extra
    if default == "NULL" or identity:
        default = None  # MariaDB spells "no default" as the SQL text NULL
    on_update = "CURRENT_TIMESTAMP" if "on update current_timestamp" in extra else None
    return Column(name, portable, nullable == "YES", default_expression(default, portable, "mysql"), identity, on_update)


def _read_checks(conn: Connection, drafts: dict[str, TableDraft]) -> set[tuple[str, str]]:
    """Add the checks to the drafts; return the (table, column) pairs that are MariaDB's JSON columns."""
    json_columns = set()
    for table, name, clause in conn.query(_CHECKS):
        if table not in drafts:
            continue
        expression = canonical_expression(clause, "mysql")
        # MariaDB stores JSON as LONGTEXT plus this check, named after the column.
        if expression == _json_check(name):
            json_columns.add((table, name))
        else:
            drafts[table].checks.append(Check(name, expression))
    return json_columns


def _json_check(column: str) -> str:
    return canonical_expression(f"json_valid({exp.to_identifier(column, quoted=True).sql('mysql')})", "mysql")


def _read_foreign_keys(conn: Connection, drafts: dict[str, TableDraft]) -> set[tuple[str, str]]:
    """Add the foreign keys to the drafts; return their (table, name) pairs."""
    actions = {(table, name): (on_delete, on_update) for table, name, on_delete, on_update in conn.query(_FOREIGN_KEY_ACTIONS)}
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for row in conn.query(_FOREIGN_KEYS):
        if row[0] in drafts and (row[0], row[1]) in actions:
            grouped.setdefault((row[0], row[1]), []).append(row)
    for (table, name), rows in grouped.items():
        on_delete, on_update = actions[(table, name)]
        drafts[table].foreign_keys.append(ForeignKey(
            name, tuple(r[2] for r in rows), rows[0][3], tuple(r[4] for r in rows),
            _innodb_action(on_delete), _innodb_action(on_update),
        ))
    return set(grouped)


def _read_indexes(conn: Connection, drafts: dict[str, TableDraft],
                  fk_names: set[tuple[str, str]]) -> list[UnmodelledProperty]:
    """Add primary keys, unique constraints and indexes to the drafts; return the key prefixes the models cannot say."""
    prefixes = []
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for row in conn.query(_INDEXES):
        if row[0] in drafts:
            grouped.setdefault((row[0], row[1]), []).append(row)
    for (table, name), rows in grouped.items():
        draft, unique = drafts[table], not int(rows[0][2])
        parts = tuple(IndexPart(r[3], True, r[4] == "D") for r in rows)
        method = rows[0][6].lower() if rows[0][6] in ("FULLTEXT", "SPATIAL") else None
        # A prefix a bundle gives a text column makes a unique key an index; any other is not modelled (said below).
        bundle_prefix = [r[5] is not None and _prefix_of_unindexable(draft, r[3], int(r[5])) for r in rows]
        plain = all(not p.descending for p in parts) and not any(bundle_prefix) and method is None
        if name == "PRIMARY":
            draft.primary_key = PrimaryKey(name, tuple(p.expression for p in parts))
        elif unique and plain:
            # A unique index and a unique constraint are the same thing to MySQL.
            draft.uniques.append(Unique(name, tuple(p.expression for p in parts)))
        elif (table, name) in fk_names and not unique:
            continue  # the index InnoDB adds for a foreign key that has none
        else:
            draft.indexes.append(Index(name, parts, unique, method=method))
        said = [f"{r[3]}({r[5]})" for r, own in zip(rows, bundle_prefix, strict=True) if r[5] is not None and not own]
        if said:  # `KEY (name(5))`: a bundle indexes the whole value, and a unique one compares it whole
            prefixes.append(UnmodelledProperty("index", f"{table}.{name}", "prefix", ", ".join(said)))
    return prefixes


def _prefix_of_unindexable(draft: TableDraft, column: str, length: int) -> bool:
    """Tell whether a key prefix is the one a bundle gives a text, blob or json column, which InnoDB indexes only so."""
    from reviewkit.dialects.mysql import DIALECT

    declared = next((c for c in draft.columns if c.name == column), None)
    return declared is not None and DIALECT.key_prefix(declared.type) == length
