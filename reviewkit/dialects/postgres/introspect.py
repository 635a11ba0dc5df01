"""Read a PostgreSQL schema (the connection's current schema) from the system catalogs."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

import sqlglot
from sqlglot import exp

from reviewkit.dialects.connection import Connection
from reviewkit.dialects.introspection import (
    TableDraft,
    UnmodelledProperty,
    canonical_expression,
    default_expression,
    drafts_by_name,
    fk_action,
    index_from_sql,
    unmapped_column,
    views_from_rows,
)
from reviewkit.dialects.postgres import catalog
from reviewkit.schema import naming
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Table, Unique, View
from reviewkit.schema.types import PortableType, holds_collation

_TOUCHED_COLUMN = re.compile(r'NEW\.("(?:[^"]|"")+"|\w+) := CURRENT_TIMESTAMP')  # in catalog.TOUCH_TRIGGERS' bodies
_FK_ACTION_CODES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_TYPE = re.compile(r"^(?P<name>[a-z ]+?)(?:\((?P<params>\d+(?:,\d+)?)\))?(?P<tz> with(?:out)? time zone)?$")
_KINDS = {
    "smallint": "smallint", "integer": "integer", "bigint": "bigint", "numeric": "numeric", "real": "real",
    "double precision": "double", "character varying": "varchar", "character": "char", "text": "text",
    "boolean": "boolean", "date": "date", "time": "time", "timestamp": "timestamp",
    "json": "json", "jsonb": "jsonb", "uuid": "uuid", "bytea": "blob", "interval": "interval", "inet": "inet",
}
_NUMERIC_TYPES = {
    exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT,
    exp.DataType.Type.DECIMAL, exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE,
}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def read_tables(conn: Connection) -> list[Table]:
    """Return every table of the current schema."""
    rows = conn.query(catalog.COLUMNS)
    enums = _read_enums(conn)
    domain_checks = _read_domain_checks(conn) if any(row[9] is not None for row in rows) else {}
    drafts = drafts_by_name(sorted({row[0] for row in rows}))
    column_names = {}
    for (table, name, type_text, not_null, default, identity, is_generated, comment, table_comment, domain,
         relid, attnum, binary) in rows:
        if table in drafts and name is not None:
            drafts[table].comment = table_comment
            column = _column(table, name, type_text, not_null, default, identity, is_generated, comment, enums)
            if binary and holds_collation(column.type):
                column = replace(column, collation="binary")
            drafts[table].columns.append(column)
            for check in domain_checks.get(domain, ()):
                drafts[table].checks.append(_domain_check(table, name, check))
            column_names[relid, attnum] = name
    _read_constraints(conn, drafts, column_names)
    for table, name, definition, unique, relid, keys, options in conn.query(catalog.INDEXES):
        if table in drafts:
            index = (index_from_sql(name, definition, "postgres", undo_rewrites) if definition is not None
                     else _plain_index(name, unique, relid, keys, options, column_names))
            drafts[table].indexes.append(index)
    _read_touch_triggers(conn, drafts)
    return [draft.build() for draft in drafts.values()]


def _plain_index(name: str, unique: bool, relid: int, keys: str, options: str,
                 column_names: dict[tuple[int, int], str]) -> Index:
    """Return a plain index (catalog.INDEXES) from its key columns' numbers and options (bit 1: DESC)."""
    parts = tuple(IndexPart(column_names[relid, int(key)], True, bool(int(option) & 1))
                  for key, option in zip(keys.split(), options.split(), strict=True))
    return Index(name, parts, unique)


def _read_constraints(conn: Connection, drafts: dict[str, TableDraft], column_names: dict[tuple[int, int], str]) -> None:
    """Add each table's keys and checks; `column_names`: (table oid, column number) -> name, as catalog.COLUMNS read them."""
    rows = conn.query(catalog.CONSTRAINTS)
    elsewhere = {ref_relid for (_, _, _, _, _, _, ref_relid, ref_keys, _, _, _) in rows
                 if any((ref_relid, key) not in column_names for key in ref_keys or ())}
    if elsewhere:
        found = conn.query(catalog.OTHER_COLUMNS, [sorted(elsewhere)])
        column_names = column_names | {(relid, num): name for relid, num, name in found}
    for table, name, kind, relid, keys, ref_table, ref_relid, ref_keys, on_delete, on_update, check in rows:
        if table in drafts:
            columns = [column_names[relid, key] for key in keys or () if (relid, key) in column_names]
            ref_columns = [column_names[ref_relid, key] for key in ref_keys or () if (ref_relid, key) in column_names]
            _add_constraint(drafts[table], name, kind, columns, ref_table, ref_columns, on_delete, on_update, check)


def read_views(conn: Connection) -> list[View]:
    """Return every view of the current schema: its name, the columns it returns, its check option."""
    return views_from_rows(conn.query(catalog.VIEWS))


def read_unmodelled(conn: Connection) -> dict[str, int]:
    """Count the objects of the schema reviewkit does not model (functions, triggers, partitions...)."""
    return {kind: count for kind, count in conn.query(catalog.UNMODELLED) if count}


def read_unmodelled_properties(conn: Connection) -> list[UnmodelledProperty]:
    """Return what the models cannot say of the tables, columns, keys and indexes they hold."""
    query = catalog.unmodelled_properties(conn.raw.info.server_version)
    return [UnmodelledProperty(*row) for row in conn.query(query)]


def read_table_rows(conn: Connection) -> dict[str, int]:
    """Return the planner's row estimate of each table (`reltuples`); a table never analyzed is left out."""
    rows = conn.query(
        "SELECT c.relname, c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')")
    return {name: count for name, count in rows if count >= 0}


def read_view_queries(conn: Connection) -> dict[str, str]:
    """Return each view's query as PostgreSQL shows it (for `baseline`, which writes it into the models)."""
    return dict(conn.query(catalog.VIEW_QUERIES))


def _read_enums(conn: Connection) -> dict[str, tuple[str, ...]]:
    enums: dict[str, list[str]] = {}
    for name, label in conn.query(catalog.ENUMS):
        enums.setdefault(name, []).append(label)
    return {name: tuple(labels) for name, labels in enums.items()}


def _read_domain_checks(conn: Connection) -> dict[int, list[str]]:
    checks: dict[int, list[str]] = {}
    for domain, expression in conn.query(catalog.DOMAIN_CHECKS):
        checks.setdefault(domain, []).append(expression)
    return checks


def _domain_check(table: str, column: str, expression: str) -> Check:
    """Return a domain's check as a check on the column (VALUE replaced), named as the models name it."""
    node = sqlglot.parse_one(expression, read="postgres")
    for value in list(node.find_all(exp.Column)):
        if value.name.lower() == "value" and not value.table:
            value.replace(exp.column(column))
    return Check(naming.constraint_name(table, (column,), "check"), canonical_expression(node, "postgres", undo_rewrites))


def _read_touch_triggers(conn: Connection, drafts: dict[str, TableDraft]) -> None:
    """Mark the columns whose ON UPDATE CURRENT_TIMESTAMP a reviewkit trigger does."""
    for table, source in conn.query(catalog.TOUCH_TRIGGERS):
        match = _TOUCHED_COLUMN.search(source or "")
        if table in drafts and match:
            name = match.group(1)
            name = name[1:-1].replace('""', '"') if name.startswith('"') else name
            draft = drafts[table]
            draft.columns = [replace(c, on_update="CURRENT_TIMESTAMP") if c.name == name else c for c in draft.columns]


def portable_type(type_text: str, enums: dict[str, tuple[str, ...]] | None = None) -> str | None:
    """Return the portable type for `format_type` output, or None when there is none."""
    if type_text.endswith("[]"):
        element = portable_type(type_text[:-2])
        return element + "[]" if element is not None else None
    name = type_text[1:-1].replace('""', '"') if type_text.startswith('"') else type_text
    if enums and name in enums:
        return str(PortableType("enum", values=enums[name], name=name))
    return _builtin_type(type_text)


@lru_cache(maxsize=1024)
def _builtin_type(type_text: str) -> str | None:
    """Return the portable type of a built-in type as `format_type` spells it (a schema repeats a few types thousands of times)."""
    if type_text == "tsvector":
        return "tsvector"
    match = _TYPE.match(type_text)
    if match is None or match.group("name") not in _KINDS:
        return None
    kind = _KINDS[match.group("name")]
    if match.group("tz") == " with time zone":
        if kind not in ("time", "timestamp"):
            return None
        kind += "tz"
    return f"{kind}({match.group('params')})" if match.group("params") else kind


def _column(
    table: str, name: str, type_text: str, not_null: bool, default: str | None, identity: str, is_generated: bool,
    comment: str | None, enums: dict[str, tuple[str, ...]],
) -> Column:
    """Read one column; `identity` is pg_attribute.attidentity: 'a' (ALWAYS), 'd' (BY DEFAULT) or ''."""
    portable = portable_type(type_text, enums)
    if portable is None:
        return unmapped_column(name, type_text, not not_null)
    if is_generated:  # the default holds the generation expression
        expression = canonical_expression(default, "postgres", undo_rewrites)
        return Column(name, portable, not not_null, generated=expression, stored=True, comment=comment)
    # serial columns are sequences behind a nextval() default: auto-increment all the same.
    serial = default is not None and default.startswith("nextval(")
    if serial:
        default = None
    return Column(name, portable, not not_null, default_expression(default, portable, "postgres", undo_rewrites),
                  serial or identity != "", comment=comment, identity_always=identity == "a")


def _add_constraint(
    draft: TableDraft, name: str, kind: str, columns: list[str], ref_table: str | None, ref_columns: list[str],
    on_delete: str, on_update: str, check: str | None,
) -> None:
    if kind == "p":
        draft.primary_key = PrimaryKey(name, tuple(columns))
    elif kind == "u":
        draft.uniques.append(Unique(name, tuple(columns)))
    elif kind == "c":
        draft.checks.append(Check(name, canonical_expression(check, "postgres", undo_rewrites)))
    else:
        draft.foreign_keys.append(ForeignKey(
            name, tuple(columns), ref_table, tuple(ref_columns),
            fk_action(_FK_ACTION_CODES[on_delete]), fk_action(_FK_ACTION_CODES[on_update]),
        ))


def undo_rewrites(node: exp.Expression) -> exp.Expression:
    """Undo what PostgreSQL does to stored expressions: `'-1'::integer`, `= ANY (ARRAY[...])`."""
    if isinstance(node, exp.Cast) and node.to.this in _NUMERIC_TYPES:
        value = node.this
        while isinstance(value, exp.Paren):
            value = value.this
        if isinstance(value, exp.Literal) and value.is_string and _NUMBER.match(value.this):
            return exp.Literal.number(value.this)
        if isinstance(value, exp.Column):
            return value.copy()  # `(length)::numeric / 60.0`: the cast PostgreSQL adds to mix types
    if isinstance(node, exp.EQ) and isinstance(node.expression, exp.Any):
        array = _unwrap(node.expression.this)
        if isinstance(array, exp.Array):
            # transform() does not descend into a replaced node: rewrite the parts here.
            items = [item.transform(undo_rewrites) for item in array.expressions]
            return exp.In(this=node.this.transform(undo_rewrites), expressions=items)
    return node


def _unwrap(node: exp.Expression) -> exp.Expression:
    """Strip the parentheses and array casts PostgreSQL puts around an ARRAY[...] literal."""
    while isinstance(node, exp.Paren) or (isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.ARRAY):
        node = node.this
    return node
