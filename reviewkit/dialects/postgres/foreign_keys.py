"""What PostgreSQL refuses while a foreign key exists.

- A foreign key depends on the unique index it was checked against when it was added:
  dropping that primary key, unique constraint or unique index fails (`cannot drop
  constraint ... because other objects depend on it`), even when another unique index on
  the same columns could take over.
- A foreign key is checked again when either end changes type, and refused when the two
  types cannot be compared (`foreign key constraint ... cannot be implemented`): the
  child's type must share a btree operator family with the parent's, or cast to it
  implicitly. Widening both ends one after the other can pass through such a state
  (bigint to numeric).
"""

from __future__ import annotations

from reviewkit.dialects.compiler import CompileContext, unique_keys
from reviewkit.dialects.foreign_keys import ForeignKeyRules
from reviewkit.schema.operations import AlterColumn, DropConstraint, DropIndex, Operation
from reviewkit.schema.state import Column, ForeignKey, PrimaryKey, Schema, Unique
from reviewkit.schema.types import parse_type

# Kinds whose values PostgreSQL compares across types (btree operator families with cross-type operators).
_COMPARABLE = ({"smallint", "integer", "bigint"}, {"real", "double"}, {"date", "timestamp", "timestamptz"},
               {"char", "varchar", "text"})
# child kind -> parent kinds it casts to implicitly (pg_cast, castcontext 'i').
_IMPLICIT_CASTS = {
    "smallint": {"numeric", "real", "double"}, "integer": {"numeric", "real", "double"},
    "bigint": {"numeric", "real", "double"}, "numeric": {"real", "double"},
}


# Django's positive integer fields are declared here as the signed type (with a check).
_DJANGO_SIGNED = {"usmallint": "smallint", "uinteger": "integer", "ubigint": "bigint"}


def comparable(child_type: str, parent_type: str) -> bool:
    """Tell whether PostgreSQL can implement a foreign key from a `child_type` column to a `parent_type` one."""
    child, parent = _declared_kind(child_type), _declared_kind(parent_type)
    if child == parent or any(child in group and parent in group for group in _COMPARABLE):
        return True
    return parent in _IMPLICIT_CASTS.get(child, set())


def _declared_kind(type_name: str) -> str:
    portable = parse_type(type_name)
    return _DJANGO_SIGNED.get(portable.kind, portable.kind) if portable.flavor else portable.kind


def incomparable_columns(schema: Schema, table: str, fk: ForeignKey) -> tuple[Column, Column] | None:
    """Return the first (child column, parent column) of `fk` PostgreSQL cannot compare, or None."""
    child, parent = schema.table(table), schema.table(fk.ref_table)
    if child is None or parent is None:
        return None
    for name, ref_name in zip(fk.columns, fk.ref_columns, strict=True):
        column, ref_column = child.column(name), parent.column(ref_name)
        if column is not None and ref_column is not None and not comparable(column.type, ref_column.type):
            return column, ref_column
    return None


class PostgresForeignKeyRules(ForeignKeyRules):
    def may_refuse(self, op: Operation) -> bool:
        return (isinstance(op, AlterColumn) and op.type_changed) or _dropped_unique_columns(op) is not None

    def why_refused(self, op: Operation, ctx: CompileContext, table: str, fk: ForeignKey) -> str | None:
        if isinstance(op, AlterColumn):
            return self._why_type_change_refused(op, ctx, table, fk)
        columns = _dropped_unique_columns(op)
        if op.table == fk.ref_table and columns is not None and set(columns) == set(fk.ref_columns):
            return f"PostgreSQL checks it against the key on {op.table} ({', '.join(columns)}) that this drops"
        return None

    def can_add(self, schema: Schema, table: str, fk: ForeignKey) -> bool:
        parent = schema.table(fk.ref_table)
        if parent is None or set(fk.ref_columns) not in [set(key) for key in unique_keys(parent)]:
            return False
        return incomparable_columns(schema, table, fk) is None

    @staticmethod
    def _why_type_change_refused(op: AlterColumn, ctx: CompileContext, table: str, fk: ForeignKey) -> str | None:
        name = op.old.name
        if not ((op.table == table and name in fk.columns) or (op.table == fk.ref_table and name in fk.ref_columns)):
            return None
        pair = incomparable_columns(ctx.after, table, fk)
        if pair is None:
            return None
        return (f"PostgreSQL cannot compare {table}.{pair[0].name} with {fk.ref_table}.{pair[1].name} "
                f"once {op.table}.{name} is {op.new.type}")


def _dropped_unique_columns(op: Operation) -> tuple[str, ...] | None:
    if isinstance(op, DropConstraint) and isinstance(op.constraint, PrimaryKey | Unique):
        return op.constraint.columns
    if isinstance(op, DropIndex) and op.index.unique and not op.index.where and all(p.is_column for p in op.index.parts):
        return op.index.column_names
    return None
