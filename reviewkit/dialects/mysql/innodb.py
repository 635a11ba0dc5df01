"""What InnoDB demands of a foreign key, read off the schema state.

- The child table needs an index whose leading columns are the foreign key's columns, in
  order. InnoDB makes one, named after the foreign key, when none exists, drops it by
  itself when another index can take over, and refuses to drop the last one (`Cannot drop
  index ...: needed in a foreign key constraint`).
- The parent needs an index whose leading columns are the referenced columns, in order.
- Both ends must have similar types (integers of the same size, decimals of the same
  precision and scale, any strings) and none can change type while the foreign key exists
  (`Cannot change column ...: used in a foreign key constraint`), not even varchar(10) to
  varchar(20).
- SET NULL needs nullable columns; SET DEFAULT is refused by MySQL and turned into
  RESTRICT by MariaDB.

The MySQL compiler asks these questions of every operation (`InnoDBRules`, for the walk
in `reviewkit.dialects.foreign_keys`) and of every model (`check_schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from reviewkit.dialects.compiler import CompileContext
from reviewkit.dialects.foreign_keys import ForeignKeyRules
from reviewkit.schema.operations import (
    AddConstraint,
    AddIndex,
    AlterColumn,
    DropConstraint,
    DropIndex,
    Operation,
    RenameConstraint,
)
from reviewkit.schema.state import Column, ForeignKey, PrimaryKey, Schema, Table, Unique
from reviewkit.schema.types import parse_type

# Key parts on these need a prefix length in MySQL; reviewkit does not invent one.
UNINDEXABLE = {"text", "blob", "json", "jsonb", "tsvector"}
# Characters of a text column an InnoDB index keeps: 255 * 4 bytes fits utf8mb4 in 3072.
TEXT_KEY_PREFIX = 255

# Kinds InnoDB accepts on the two ends of one foreign key; any other pair must be the same type.
_STRING_KINDS = {"varchar", "char", "uuid"}
# Kinds whose parameters are only a precision InnoDB does not compare.
_PRECISION_ONLY = {"time", "timestamp", "timestamptz"}


def index_keys(table: Table) -> Iterator[tuple[str, ...]]:
    """Yield the column list of every index InnoDB keeps for the table's declared keys and indexes."""
    if table.primary_key:
        yield table.primary_key.columns
    for unique in table.uniques:
        yield unique.columns
    for index in table.indexes:
        if all(p.is_column for p in index.parts):
            yield index.column_names


def has_index_on(table: Table, columns: tuple[str, ...]) -> bool:
    """Tell whether a declared key or index of `table` starts with `columns`, in this order."""
    return any(key[:len(columns)] == columns for key in index_keys(table))


def similar_types(child: str, parent: str, spell: Callable[[str], str]) -> bool:
    """Tell whether InnoDB accepts a foreign key from a column of type `child` to one of type `parent`.

    `spell` gives a portable type's MySQL spelling: two types spelled alike are one type to
    InnoDB (Django's key to a positive integer field is UNSIGNED like the field).
    """
    a, b = parse_type(child), parse_type(parent)
    if a.kind in UNINDEXABLE or b.kind in UNINDEXABLE:
        return False
    if a.kind in _STRING_KINDS and b.kind in _STRING_KINDS and not (a.flavor or b.flavor):
        return True
    if a.kind in _PRECISION_ONLY:
        return a.kind == b.kind and a.flavor == b.flavor
    return a == b or spell(child) == spell(parent)


def set_null_on_not_null(fk: ForeignKey, table: Table) -> tuple[str, Column] | None:
    """Return (the SET NULL clause, the NOT NULL column) InnoDB would refuse, or None."""
    for clause, action in (("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)):
        if action != "SET NULL":
            continue
        for name in fk.columns:
            column = table.column(name)
            if column is not None and not column.nullable:
                return f"{clause} SET NULL", column
    return None


def can_add(schema: Schema, table_name: str, fk: ForeignKey, spell: Callable[[str], str]) -> bool:
    """Tell whether ALTER TABLE ... ADD FOREIGN KEY would succeed on a database holding `schema`."""
    child, parent = schema.table(table_name), schema.table(fk.ref_table)
    if child is None or parent is None or not has_index_on(parent, fk.ref_columns):
        return False
    for name, ref_name in zip(fk.columns, fk.ref_columns, strict=True):
        column, ref_column = child.column(name), parent.column(ref_name)
        if column is None or ref_column is None or not similar_types(column.type, ref_column.type, spell):
            return False
    return set_null_on_not_null(fk, child) is None


def foreign_key_refusal(schema: Schema, table: Table, fk: ForeignKey, spell: Callable[[str], str]) -> str | None:
    """Return why MySQL/MariaDB refuses foreign key `fk` of `table` in `schema` (to follow the engine's name), or None.

    `spell` gives a portable type's MySQL spelling.
    """
    parent = schema.table(fk.ref_table)
    if parent is None:
        return None  # the model builder names unknown tables
    pairs = [(table.column(c), parent.column(r)) for c, r in zip(fk.columns, fk.ref_columns, strict=True)]
    for column, ref_column in pairs:
        for col, owner in ((column, table.name), (ref_column, parent.name)):
            if col is not None and parse_type(col.type).kind in UNINDEXABLE:
                return (f"cannot use the {parse_type(col.type).kind} column {owner}.{col.name} in a foreign key: "
                        "its index would need a prefix length; use varchar(n)")
    for clause, action in (("ON DELETE", fk.on_delete), ("ON UPDATE", fk.on_update)):
        if action == "SET DEFAULT":
            return f"has no {clause} SET DEFAULT (MySQL refuses it, MariaDB makes it RESTRICT)"
    set_null = set_null_on_not_null(fk, table)
    if set_null:
        return f"refuses {set_null[0]} on the NOT NULL column {set_null[1].name}"
    for column, ref_column in pairs:
        if column is not None and ref_column is not None and not similar_types(column.type, ref_column.type, spell):
            return (f"refuses a foreign key from {column.name} ({column.type}) to {parent.name}.{ref_column.name} "
                    f"({ref_column.type}): integers and decimals must be the same type, strings may differ in length only")
    if not has_index_on(parent, fk.ref_columns):
        return f"needs a key on {parent.name} that starts with ({', '.join(fk.ref_columns)}), in this order"
    return None


def relies_on_index_of(table: Table, fk: ForeignKey, other: ForeignKey) -> bool:
    """Tell whether `fk` may be using the index InnoDB made for `other`.

    With no declared index on its columns, `fk` uses whichever index InnoDB made that
    starts with them: its own, or that of a foreign key on the same leading columns.
    Dropping `other`'s index then fails while `fk` exists.
    """
    return fk.name != other.name and other.columns[:len(fk.columns)] == fk.columns and not has_index_on(table, fk.columns)


class InnoDBRules(ForeignKeyRules):
    """What InnoDB refuses while a foreign key exists; `spell` gives a portable type's MySQL spelling."""

    builds_child_index = True

    def __init__(self, spell: Callable[[str], str]) -> None:
        self.spell = spell

    def may_refuse(self, op: Operation) -> bool:
        if isinstance(op, AlterColumn):
            # A change the engine cannot see (json to jsonb) is no change to it; nor is a new default.
            return self.spell(op.old.type) != self.spell(op.new.type) or op.null_tightened
        return isinstance(op, DropIndex | DropConstraint | RenameConstraint)

    def why_refused(self, op: Operation, ctx: CompileContext, table: str, fk: ForeignKey) -> str | None:
        if isinstance(op, AlterColumn):
            return self._why_alter_refused(op, table, fk)
        if isinstance(op, DropIndex) or (isinstance(op, DropConstraint) and isinstance(op.constraint, PrimaryKey | Unique)):
            return _why_index_loss_refused(op, ctx, table, fk)
        if isinstance(op, DropConstraint | RenameConstraint) and op.table == table:
            dropped = op.constraint if isinstance(op, DropConstraint) else op.old
            if isinstance(dropped, ForeignKey) and self.shares_index(ctx.before.table(table), fk, dropped):
                return f"it uses the index InnoDB made for foreign key {dropped.name}, which goes with it"
        return None

    def can_add(self, schema: Schema, table: str, fk: ForeignKey) -> bool:
        return can_add(schema, table, fk, self.spell)

    def shares_index(self, table: Table, fk: ForeignKey, dropped: ForeignKey) -> bool:
        return relies_on_index_of(table, fk, dropped)

    def serves_child(self, table: Table, fk: ForeignKey, added: Operation) -> bool:
        if isinstance(added, AddIndex) and all(p.is_column for p in added.index.parts):
            columns = added.index.column_names
        elif isinstance(added, AddConstraint) and isinstance(added.constraint, PrimaryKey | Unique):
            columns = added.constraint.columns
        else:
            return False
        return columns[:len(fk.columns)] == fk.columns

    def _why_alter_refused(self, op: AlterColumn, table: str, fk: ForeignKey) -> str | None:
        name = op.old.name
        uses = (op.table == table and name in fk.columns) or (op.table == fk.ref_table and name in fk.ref_columns)
        if not uses:
            return None
        if self.spell(op.old.type) != self.spell(op.new.type):
            return f"InnoDB cannot change the type of {op.table}.{name} while a foreign key uses it"
        if op.null_tightened and op.table == table and name in fk.columns and "SET NULL" in (fk.on_delete, fk.on_update):
            return f"InnoDB cannot make {op.table}.{name} NOT NULL while a SET NULL foreign key uses it"
        return None


def _why_index_loss_refused(op: Operation, ctx: CompileContext, table: str, fk: ForeignKey) -> str | None:
    before, after = ctx.before.table(op.table), ctx.after.table(op.table)
    sides = ([fk.columns] if op.table == table else []) + ([fk.ref_columns] if op.table == fk.ref_table else [])
    for columns in sides:
        if has_index_on(before, columns) and not has_index_on(after, columns):
            return f"InnoDB cannot drop the last index on {op.table} ({', '.join(columns)}) while a foreign key uses it"
    return None
