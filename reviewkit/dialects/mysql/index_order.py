"""MySQL runs a bundle's operations in an order where every foreign key keeps its index.

The differ drops a table's keys and indexes before it adds the new ones; InnoDB refuses to
drop the last index a foreign key uses (`Cannot drop index ...: needed in a foreign key
constraint`), on the child's columns or on the parent's. When a later operation builds an
index that can take over, it is moved to run just before the drop: the same statements,
no foreign key dropped. A move is made only when nothing in between could behave
differently with the new index already there (its name is free, its columns untouched).
"""

from __future__ import annotations

from reviewkit.dialects.compiler import CompileContext
from reviewkit.dialects.foreign_keys import foreign_keys_touching
from reviewkit.dialects.mysql.innodb import has_index_on
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AddIndex,
    AlterColumn,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import PrimaryKey, Table, Unique


def hoist_replacements(ops: list[Operation], contexts: list[CompileContext]) -> list[int]:
    """Return the order to run `ops` in: replacement keys and indexes moved before the drops they follow."""
    order = list(range(len(ops)))
    hoisted: set[int] = set()
    for i, op in enumerate(ops):
        if not _drops_index(op):
            continue
        needed = _columns_left_without_index(op, contexts[i])
        found = [_replacement(ops, contexts, i, columns, hoisted) for columns in needed]
        if not found or None in found:
            continue  # the walk drops the foreign key around the change instead
        for j in sorted(set(found)):  # type: ignore[type-var]
            order.remove(j)
            order.insert(order.index(i), j)
            hoisted.add(j)
    return order


def _drops_index(op: Operation) -> bool:
    return isinstance(op, DropIndex) or (isinstance(op, DropConstraint) and isinstance(op.constraint, PrimaryKey | Unique))


def _columns_left_without_index(op: Operation, ctx: CompileContext) -> list[tuple[str, ...]]:
    """Return the column lists on `op.table` that a foreign key needs an index on and `op` leaves without one."""
    before, after = ctx.before.table(op.table), ctx.after.table(op.table)
    needed: list[tuple[str, ...]] = []
    for table, fk in foreign_keys_touching(ctx.before, op.table):
        sides = ([fk.columns] if table == op.table else []) + ([fk.ref_columns] if fk.ref_table == op.table else [])
        for columns in sides:
            if has_index_on(before, columns) and not has_index_on(after, columns) and columns not in needed:
                needed.append(columns)
    return needed


def _replacement(
    ops: list[Operation], contexts: list[CompileContext], i: int, columns: tuple[str, ...], hoisted: set[int],
) -> int | None:
    """Return a later operation that builds an index on `columns` of op i's table and can run before op i."""
    table = ops[i].table
    for j in range(i + 1, len(ops)):
        added = added_index(ops[j])
        if j in hoisted or added is None or ops[j].table != table:
            continue
        name, key_columns = added
        if key_columns[:len(columns)] == columns and _can_move_before(ops, contexts, i, j, name, key_columns):
            return j
    return None


def added_index(op: Operation) -> tuple[str, tuple[str, ...]] | None:
    """Return (InnoDB's name for it, columns) of the index `op` builds, or None."""
    if isinstance(op, AddIndex) and all(p.is_column for p in op.index.parts):
        return op.index.name, op.index.column_names
    if isinstance(op, AddConstraint) and isinstance(op.constraint, PrimaryKey | Unique):
        return _index_name(op.constraint), op.constraint.columns
    return None


def _index_name(constraint: object) -> str:
    # MySQL names every primary key PRIMARY; a unique constraint is an index of its name.
    return "PRIMARY" if isinstance(constraint, PrimaryKey) else constraint.name  # type: ignore[attr-defined]


def _can_move_before(
    ops: list[Operation], contexts: list[CompileContext], i: int, j: int, name: str, columns: tuple[str, ...],
) -> bool:
    """Tell whether op j gives the same result run before op i: its name is free and nothing between touches it."""
    table = contexts[i].before.table(ops[j].table)
    if table is None or name in _index_names(table):
        return False
    return not any(_interferes(ops[k], ops[j].table, name, columns) for k in range(i, j))


def _index_names(table: Table) -> set[str]:
    names = {u.name for u in table.uniques} | {ix.name for ix in table.indexes}
    return names | {"PRIMARY"} if table.primary_key else names


def _interferes(op: Operation, table: str, name: str, columns: tuple[str, ...]) -> bool:
    """Tell whether `op` could behave differently with index `name` on `table` (`columns`) already built."""
    if isinstance(op, RenameTable):
        return table in (op.table, op.new_name)
    if op.table != table:
        return False
    if isinstance(op, CreateTable | DropTable | RenameColumn):
        return True
    if isinstance(op, AddColumn | DropColumn):
        return op.column.name in columns
    if isinstance(op, AlterColumn):
        return op.old.name in columns  # a type change could make a unique index fail
    return name in _names_touched(op)


def _names_touched(op: Operation) -> set[str]:
    if isinstance(op, AddIndex | DropIndex):
        return {op.index.name}
    if isinstance(op, RenameIndex):
        return {op.old.name, op.new.name}
    if isinstance(op, AddConstraint | DropConstraint):
        return {_index_name(op.constraint)}
    if isinstance(op, RenameConstraint):
        return {_index_name(op.old), _index_name(op.new)}
    return set()
