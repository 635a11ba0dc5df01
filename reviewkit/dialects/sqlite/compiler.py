"""SQLite's SQL: native ALTERs where SQLite has them, a table rebuild for everything else."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from sqlglot import exp

from reviewkit.dialects.compiler import CompileContext, CompiledOperation, Compiler
from reviewkit.dialects.sqlite import defaults
from reviewkit.dialects.sqlite.rebuild import combine_rebuilds, rebuild_table
from reviewkit.schema.expressions import column_names_in, parse_canonical
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    DropColumn,
    DropConstraint,
    Operation,
    RenameConstraint,
    RenameIndex,
)
from reviewkit.schema.state import Column, Schema, Table
from reviewkit.schema.types import KINDS, parse_type

_AFFINITY = {
    "numeric": "NUMERIC affinity: exact decimals are not kept, values become INTEGER or REAL",
    "varchar": "TEXT affinity: the length is not enforced",
    "char": "TEXT affinity: the length is not enforced and values are not padded",
    "boolean": "NUMERIC affinity: stored as 0 and 1",
    "date": "NUMERIC affinity: stored as the text written (ISO 8601 by convention)",
    "time": "NUMERIC affinity: stored as the text written",
    "timetz": "NUMERIC affinity: stored as the text written; the time zone is not interpreted",
    "timestamp": "NUMERIC affinity: stored as the text written (ISO 8601 by convention)",
    "timestamptz": "NUMERIC affinity: stored as the text written; the time zone is not interpreted",
    "json": "NUMERIC affinity: stored as text, not validated",
    "jsonb": "NUMERIC affinity: stored as text, not validated",
    "uuid": "NUMERIC affinity: stored as the text written",
    "smallint": "INTEGER affinity: the range is not enforced",
}
_LITERALS = (exp.Literal, exp.Boolean, exp.Null, exp.Neg)
# SQLite's own keywords for the moment of the insert, written bare.
_MOMENTS = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)
# SQLite's ALTER TABLE cannot change a column or a constraint at all.
_ALWAYS_REBUILT = (AlterColumn, AddConstraint, DropConstraint, RenameConstraint)


class SQLiteCompiler(Compiler):
    # SQLite keeps the declared type name verbatim: declaring the portable name keeps it readable.
    type_names: ClassVar[dict[str, str]] = {
        **{kind: kind.upper() for kind in KINDS},
        **{f"{kind}(*)": kind.upper() + "({0})" for kind in KINDS},
        "numeric(*,*)": "NUMERIC({0}, {1})",
    }

    def identity_sql(self) -> str:
        return "AUTOINCREMENT"

    def column_sql(self, table: Table, column: Column) -> str:
        if not column.identity:
            return super().column_sql(table, column)
        # AUTOINCREMENT exists only on a column spelled INTEGER PRIMARY KEY, so the
        # primary key moves from the table's constraints onto the column.
        pk = self.quote(table.primary_key.name)
        return f"{self.quote(column.name)} INTEGER NOT NULL CONSTRAINT {pk} PRIMARY KEY AUTOINCREMENT"

    def table_elements(self, table: Table) -> list[str]:
        lines = super().table_elements(table)
        if any(c.identity for c in table.columns):
            lines.remove(self.constraint_sql(table.primary_key))
        return lines

    def default_sql(self, column: Column) -> str:
        node = parse_canonical(column.default)
        sql = self.expression_sql(column.default)
        if isinstance(node, (*_LITERALS, *_MOMENTS)):
            return sql
        return f"({sql})"

    def default_refusal(self, table: Table, column: Column) -> str | None:
        if not isinstance(parse_canonical(column.default), (*_LITERALS, *_MOMENTS)):
            # Without NOT NULL and the key: the probe tries the default, not the table.
            probed = Column(column.name, column.type, default=column.default)
            problem = defaults.probe(self.column_sql(table, probed))
            if problem:
                return problem
        return super().default_refusal(table, column)

    # -- operations: native where SQLite allows, a rebuild otherwise ---------------------

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        return combine_rebuilds(self, super().compile_all(operations, contexts), contexts)

    def compile(self, op: Operation, ctx: CompileContext) -> CompiledOperation:
        if needs_rebuild(op, ctx):
            statements = rebuild_table(self, ctx.before.table(op.table), ctx.after.table(op.table))
            return CompiledOperation(op, tuple(statements), rebuild=True)
        return super().compile(op, ctx)

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        return [f"DROP INDEX {self.quote(op.old.name)}", self.index_sql(op.table, op.new)]

    # -- what SQLite keeps -------------------------------------------------------------

    def stored_column(self, column: Column) -> Column:
        if column.identity:  # INTEGER PRIMARY KEY is the only auto-increment spelling
            return replace(column, type="integer")
        return column

    def notes(self, schema: Schema) -> list[str]:
        kinds = sorted({parse_type(c.type).kind for t in schema.tables for c in t.columns} & _AFFINITY.keys())
        return [f"{kind}: {_AFFINITY[kind]}." for kind in kinds]


def needs_rebuild(op: Operation, ctx: CompileContext) -> bool:
    """Tell whether SQLite's ALTER TABLE cannot make this change, so the table is rebuilt."""
    if isinstance(op, _ALWAYS_REBUILT):
        return True
    if isinstance(op, AddColumn):
        return not _can_add_natively(op.column)
    if isinstance(op, DropColumn):
        # DROP COLUMN refuses a column that a key, index or check uses.
        return op.column.name in _columns_used_by_keys(ctx.before.table(op.table))
    return False


def _can_add_natively(column: Column) -> bool:
    # ALTER TABLE ADD COLUMN refuses NOT NULL without a default and non-constant defaults.
    if column.identity:
        return False
    if column.default is None:
        return column.nullable
    node = parse_canonical(column.default)
    return isinstance(node, _LITERALS)


def _columns_used_by_keys(table: Table) -> set[str]:
    used: set[str] = set()
    if table.primary_key:
        used.update(table.primary_key.columns)
    for u in table.uniques:
        used.update(u.columns)
    for fk in table.foreign_keys:
        used.update(fk.columns)
    for c in table.checks:
        used.update(column_names_in(c.expression))
    for ix in table.indexes:
        used.update(ix.column_names)
        for p in ix.parts:
            if not p.is_column:
                used.update(column_names_in(p.expression))
        if ix.where:
            used.update(column_names_in(ix.where))
    return used
