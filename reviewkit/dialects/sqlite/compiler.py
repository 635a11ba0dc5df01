"""SQLite: transactional DDL, few ALTERs; everything else is a table rebuild."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from sqlglot import exp

from reviewkit.dialects.compiler import CompileContext, CompiledOperation, DialectSQL
from reviewkit.dialects.sqlite.rebuild import combine_rebuilds, rebuild_table
from reviewkit.errors import LockTimeout, OperationFailed
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

if TYPE_CHECKING:
    from reviewkit.dialects.connection import Connection

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


class SQLiteSQL(DialectSQL):
    name = "sqlite"
    title = "SQLite"
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
        if isinstance(node, (exp.Literal, exp.Boolean, exp.Null, exp.Neg, exp.CurrentTimestamp, exp.CurrentDate)):
            return sql
        return f"({sql})"

    # -- operations: native where SQLite allows, a rebuild otherwise ---------------------

    def compile_add_column(self, op: AddColumn, ctx: CompileContext) -> list[str]:
        if self._can_add_natively(op.column):
            return super().compile_add_column(op, ctx)
        return self._rebuild(op, ctx)

    def compile_drop_column(self, op: DropColumn, ctx: CompileContext) -> list[str]:
        before = ctx.before.table(op.table)
        if op.column.name in _columns_used_by_keys(before):
            return self._rebuild(op, ctx)
        return super().compile_drop_column(op, ctx)

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        return combine_rebuilds(self, super().compile_all(operations, contexts), contexts)

    def compile_alter_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        return self._rebuild(op, ctx)

    def compile_add_constraint(self, op: AddConstraint, ctx: CompileContext) -> list[str]:
        return self._rebuild(op, ctx)

    def compile_drop_constraint(self, op: DropConstraint, ctx: CompileContext) -> list[str]:
        return self._rebuild(op, ctx)

    def compile_rename_constraint(self, op: RenameConstraint, ctx: CompileContext) -> list[str]:
        return self._rebuild(op, ctx)

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        return [f"DROP INDEX {self.quote(op.old.name)}", self.index_sql(op.table, op.new)]

    def _rebuild(self, op: Operation, ctx: CompileContext) -> list[str]:
        return rebuild_table(self, ctx.before.table(op.table), ctx.after.table(op.table))

    @staticmethod
    def _can_add_natively(column: Column) -> bool:
        # ALTER TABLE ADD COLUMN refuses NOT NULL without a default and non-constant defaults.
        if column.identity:
            return False
        if column.default is None:
            return column.nullable
        node = parse_canonical(column.default)
        return isinstance(node, (exp.Literal, exp.Boolean, exp.Null, exp.Neg))

    # -- what SQLite keeps -------------------------------------------------------------

    def stored_column(self, column: Column) -> Column:
        if column.identity:  # INTEGER PRIMARY KEY is the only auto-increment spelling
            return replace(column, type="integer")
        return column

    # -- running scripts -----------------------------------------------------------------

    def prepare_session(self, conn: Connection) -> Callable[[], None]:
        # A rebuild drops the old table; with enforcement on, that would cascade deletes
        # into child tables. The pragma is ignored inside a transaction, so set it first.
        was_on = conn.query("PRAGMA foreign_keys")[0][0]
        conn.execute("PRAGMA foreign_keys = OFF")
        return lambda: conn.execute(f"PRAGMA foreign_keys = {'ON' if was_on else 'OFF'}")

    def table_exists(self, conn: Connection, name: str) -> bool:
        return bool(conn.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [name]))

    def acquire_lock(self, conn: Connection, timeout: float) -> None:
        # SQLite's lock is its write lock: each bundle runs in BEGIN IMMEDIATE, which
        # waits this long for another writer to finish.
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def release_lock(self, conn: Connection) -> None:
        return None

    def begin_bundle(self, conn: Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except OperationFailed as err:
            if "locked" in str(err) or "busy" in str(err):
                raise LockTimeout(f"another runner holds the write lock on {conn.url.redacted()}") from None
            raise

    def statement_problem(self, sql: str, rows: list[tuple]) -> str | None:
        if rows and sql.lstrip().upper().startswith("PRAGMA FOREIGN_KEY_CHECK"):
            table, rowid, parent, _ = rows[0]
            return f"foreign key check failed: {len(rows)} row(s) of {table} (first rowid {rowid}) reference missing {parent} rows"
        return None

    def notes(self, schema: Schema) -> list[str]:
        kinds = sorted({parse_type(c.type).kind for t in schema.tables for c in t.columns} & _AFFINITY.keys())
        return [f"{kind}: {_AFFINITY[kind]}." for kind in kinds]


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
