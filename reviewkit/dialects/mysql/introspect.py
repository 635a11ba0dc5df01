"""Read a MariaDB / MySQL schema (the connection's current database) from information_schema.

Written against MariaDB 10.2+, where COLUMN_DEFAULT holds an SQL expression (`'x'`,
`NULL`, `current_timestamp(6)`) and CHECK_CONSTRAINTS names the table of each check.
"""

from __future__ import annotations

import re

from sqlglot import exp

from reviewkit.dialects.connection import Connection
from reviewkit.dialects.introspection import (
    TableDraft,
    canonical_expression,
    default_expression,
    drafts_by_name,
    fk_action,
    generated,
    unsupported,
)
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Table, Unique

_COLUMNS = """
SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"""

_CHECKS = """
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, CONSTRAINT_NAME
"""

_FOREIGN_KEYS = """
SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME,
       r.DELETE_RULE, r.UPDATE_RULE
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME
 AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"""

# Primary keys, unique constraints and indexes are all indexes to InnoDB.
_INDEXES = """
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION, SUB_PART
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"""

_TYPE = re.compile(r"^(?P<name>[a-z]+)(?:\((?P<params>\d+(?:,\d+)?)\))?$")
_KINDS = {
    "smallint": "smallint", "mediumint": "integer", "int": "integer", "integer": "integer", "bigint": "bigint",
    "decimal": "numeric", "numeric": "numeric", "float": "real", "double": "double",
    "varchar": "varchar", "char": "char", "tinytext": "text", "text": "text", "mediumtext": "text",
    "longtext": "text", "date": "date", "time": "time", "datetime": "timestamp", "timestamp": "timestamptz",
    "json": "json", "tinyblob": "blob", "blob": "blob", "mediumblob": "blob", "longblob": "blob",
}
_KEEPS_PARAMS = {"numeric", "varchar", "char", "time", "timestamp", "timestamptz"}


def read_tables(conn: Connection) -> list[Table]:
    """Return every base table of the current database."""
    rows = conn.query(_COLUMNS)
    drafts = drafts_by_name(sorted({row[0] for row in rows}))
    json_checks = _read_checks(conn, drafts)
    for table, name, type_text, nullable, default, extra in rows:
        if table in drafts:
            is_json = (table, name) in json_checks
            drafts[table].columns.append(_column(table, name, type_text, nullable, default, extra, is_json))
    fk_names = _read_foreign_keys(conn, drafts)
    _read_indexes(conn, drafts, fk_names)
    return [draft.build() for draft in drafts.values()]


def portable_type(type_text: str) -> str | None:
    """Return the portable type for a COLUMN_TYPE like `decimal(10,2)`, or None when there is none."""
    match = _TYPE.match(type_text.lower())
    if match is None:
        return None
    name, params = match.group("name"), match.group("params")
    if name == "tinyint" and params == "1":
        return "boolean"
    kind = _KINDS.get(name)
    if kind is None:
        return None
    return f"{kind}({params})" if params and kind in _KEEPS_PARAMS else kind


def _column(
    table: str, name: str, type_text: str, nullable: str, default: str | None, extra: str, is_json: bool,
) -> Column:
    if "generated" in extra.lower():
        raise generated(table, name)
    portable = "json" if is_json else portable_type(type_text)
    if portable is None:
        raise unsupported(table, name, type_text)
    identity = "auto_increment" in extra.lower()
    if default == "NULL" or identity:
        default = None  # MariaDB spells "no default" as the SQL text NULL
    return Column(name, portable, nullable == "YES", default_expression(default, portable, "mysql"), identity)


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
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for row in conn.query(_FOREIGN_KEYS):
        if row[0] in drafts:
            grouped.setdefault((row[0], row[1]), []).append(row)
    for (table, name), rows in grouped.items():
        drafts[table].foreign_keys.append(ForeignKey(
            name, tuple(r[2] for r in rows), rows[0][3], tuple(r[4] for r in rows),
            fk_action(rows[0][5]), fk_action(rows[0][6]),
        ))
    return set(grouped)


def _read_indexes(conn: Connection, drafts: dict[str, TableDraft], fk_names: set[tuple[str, str]]) -> None:
    """Add primary keys, unique constraints and indexes to the drafts."""
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for row in conn.query(_INDEXES):
        if row[0] in drafts:
            grouped.setdefault((row[0], row[1]), []).append(row)
    for (table, name), rows in grouped.items():
        draft, unique = drafts[table], not int(rows[0][2])
        parts = tuple(IndexPart(r[3], True, r[4] == "D") for r in rows)
        plain = all(not p.descending for p in parts) and all(r[5] is None for r in rows)
        if name == "PRIMARY":
            draft.primary_key = PrimaryKey(name, tuple(p.expression for p in parts))
        elif unique and plain:
            # A unique index and a unique constraint are the same thing to MySQL.
            draft.uniques.append(Unique(name, tuple(p.expression for p in parts)))
        elif (table, name) in fk_names and not unique:
            continue  # the index InnoDB adds for a foreign key that has none
        else:
            draft.indexes.append(Index(name, parts, unique))
