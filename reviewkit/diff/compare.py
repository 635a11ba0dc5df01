"""Compare one kind of object at a time between two versions of a table.

Each function returns the operations for its kind, split into the phase they belong to;
`reviewkit.diff.plan` puts the phases in an order every engine can run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AddIndex,
    AlterColumn,
    AlterEnum,
    AlterTableComment,
    Constraint,
    CreateEnum,
    DropColumn,
    DropConstraint,
    DropEnum,
    DropIndex,
    Operation,
    RenameConstraint,
    RenameIndex,
)
from reviewkit.schema.state import Schema, Table


@dataclass
class Phases:
    """Operations on tables that exist before and after, grouped by when they may run."""

    renames: list[Operation] = field(default_factory=list)
    drop_foreign_keys: list[Operation] = field(default_factory=list)
    drop_keys_and_indexes: list[Operation] = field(default_factory=list)
    columns: list[Operation] = field(default_factory=list)
    add_keys_and_indexes: list[Operation] = field(default_factory=list)
    add_foreign_keys: list[Operation] = field(default_factory=list)


def compare_table(old: Table, new: Table, phases: Phases) -> None:
    """Add to `phases` the operations that turn `old` into `new` (same name)."""
    old = rename_matching_names(old, new, phases)
    compare_columns(old, new, phases)
    compare_primary_key(old, new, phases)
    compare_named(old.name, old.uniques, new.uniques, phases.drop_keys_and_indexes, phases.add_keys_and_indexes)
    compare_named(old.name, old.checks, new.checks, phases.drop_keys_and_indexes, phases.add_keys_and_indexes)
    compare_named(old.name, old.foreign_keys, new.foreign_keys, phases.drop_foreign_keys, phases.add_foreign_keys)
    compare_indexes(old, new, phases)
    if old.comment != new.comment:
        phases.columns.append(AlterTableComment(old.name, old.comment, new.comment))


def rename_matching_names(old: Table, new: Table, phases: Phases) -> Table:
    """Pair constraints and indexes that differ only in name, and rename them.

    After a table rename the models name its keys after the new table (`book_reviews_pkey`);
    dropping and re-adding them would be slow, and impossible for a primary key that an
    auto-increment column or a foreign key depends on.
    """
    pairs: list[Operation] = []
    kinds = [(o, n) for o, n in ((old.primary_key, new.primary_key),) if o and n]
    candidates = [*kinds, *_unmatched(old.uniques, new.uniques), *_unmatched(old.checks, new.checks),
                  *_unmatched(old.foreign_keys, new.foreign_keys)]
    for o, n in candidates:
        if o.name != n.name and replace(o, name=n.name) == n:
            pairs.append(RenameConstraint(old.name, o, n))
    for o, n in _unmatched(old.indexes, new.indexes):
        if o.name != n.name and replace(o, name=n.name) == n:
            pairs.append(RenameIndex(old.name, o, n))
    # Declared another way (a flavor, `reviewkit.schema.state`), the same object: each engine
    # changes what it holds otherwise, if anything (MySQL renames the key of a unique=True).
    pairs += [RenameConstraint(old.name, o, n) for o, n in _reflavored((*old.uniques, *old.foreign_keys),
                                                                       (*new.uniques, *new.foreign_keys))]
    pairs += [RenameIndex(old.name, o, n) for o, n in _reflavored(old.indexes, new.indexes)]
    phases.renames.extend(pairs)
    for op in pairs:
        old = op.apply(Schema((old,))).tables[0]
    return old


def _reflavored(old: tuple, new: tuple) -> list[tuple]:
    """Return pairs of objects of one name that differ in their flavor alone."""
    new_by_name = {(type(x), x.name): x for x in new}
    pairs = []
    for o in old:
        n = new_by_name.get((type(o), o.name))
        if n is not None and n != o and replace(o, flavor=n.flavor) == n:
            pairs.append((o, n))
    return pairs


def _unmatched(old: tuple, new: tuple) -> list[tuple]:
    """Return pairs of same-definition objects, one only in `old` and one only in `new`."""
    new_names = {x.name for x in new}
    old_names = {x.name for x in old}
    gone = [x for x in old if x.name not in new_names]
    came = [x for x in new if x.name not in old_names]
    pairs = []
    for o in gone:
        for n in came:
            if replace(o, name=n.name) == n:
                pairs.append((o, n))
                came.remove(n)
                break
    return pairs


def compare_columns(old: Table, new: Table, phases: Phases) -> None:
    new_cols = {c.name: c for c in new.columns}
    old_cols = {c.name: c for c in old.columns}
    for col in old.columns:
        if col.name not in new_cols:
            phases.columns.append(DropColumn(old.name, col))
    for col in old.columns:
        target = new_cols.get(col.name)
        if target is not None and target != col:
            phases.columns.append(AlterColumn(old.name, col, target))
    for col in new.columns:
        if col.name not in old_cols:
            phases.columns.append(AddColumn(old.name, col))


def compare_primary_key(old: Table, new: Table, phases: Phases) -> None:
    if old.primary_key == new.primary_key:
        return
    if old.primary_key:
        phases.drop_keys_and_indexes.append(DropConstraint(old.name, old.primary_key))
    if new.primary_key:
        phases.add_keys_and_indexes.append(AddConstraint(old.name, new.primary_key))


def compare_named(
    table: str, old: tuple[Constraint, ...], new: tuple[Constraint, ...], drops: list[Operation], adds: list[Operation]
) -> None:
    """Compare constraints by name: a changed definition is a drop plus an add."""
    new_by_name = {c.name: c for c in new}
    old_by_name = {c.name: c for c in old}
    for c in old:
        if new_by_name.get(c.name) != c:
            drops.append(DropConstraint(table, c))
    for c in new:
        if old_by_name.get(c.name) != c:
            adds.append(AddConstraint(table, c))


def compare_indexes(old: Table, new: Table, phases: Phases) -> None:
    new_by_name = {i.name: i for i in new.indexes}
    old_by_name = {i.name: i for i in old.indexes}
    for ix in old.indexes:
        if new_by_name.get(ix.name) != ix:
            phases.drop_keys_and_indexes.append(DropIndex(old.name, ix))
    for ix in new.indexes:
        if old_by_name.get(ix.name) != ix:
            phases.add_keys_and_indexes.append(AddIndex(old.name, ix))


def compare_enums(old: Schema, new: Schema) -> tuple[list[Operation], list[AlterEnum], list[Operation]]:
    """Return the enum types to create, to alter and to drop, by name."""
    before, after = old.enum_types(), new.enum_types()
    created: list[Operation] = [CreateEnum(name, after[name]) for name in sorted(after.keys() - before.keys())]
    altered = [AlterEnum(name, before[name], after[name]) for name in sorted(after.keys() & before.keys())
               if before[name] != after[name]]
    dropped: list[Operation] = [DropEnum(name, before[name]) for name in sorted(before.keys() - after.keys())]
    return created, altered, dropped
