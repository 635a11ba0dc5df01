"""Views around a bundle's table changes: which to drop first and which to create last.

Engines hold on to views in their own ways when a table under them changes: PostgreSQL
refuses to change the type of a column a view uses, or to drop it; MySQL keeps a view
that no longer works; SQLite refuses to rename the new table of a rebuild while a view
names the old one. So a view that reads a table this bundle changes (columns dropped,
renamed, altered or added, keys, a rename, a drop, anything SQLite may rebuild for) is
dropped before the table operations and created again after them, as is every view
that reads such a view. Only indexes and comments leave a table's views alone.

The same rule holds for down scripts without more work: reversing the operations drops
the new views first and creates the old ones last.
"""

from __future__ import annotations

from reviewkit.schema.operations import (
    AddIndex,
    AlterEnum,
    AlterTableComment,
    CreateEnum,
    CreateView,
    DropEnum,
    DropIndex,
    DropView,
    Operation,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import Schema, View
from reviewkit.schema.views import views_in_dependency_order

# Operations after which every engine still has the table's columns and rows as they were.
# (Enum operations name a type, not a table; the columns that use it change by their own operations.)
_LEAVE_VIEWS_ALONE = (AddIndex, DropIndex, RenameIndex, AlterTableComment, CreateEnum, DropEnum, AlterEnum)


def plan_views(old: Schema, new: Schema, table_operations: list[Operation]) -> tuple[list[Operation], list[Operation]]:
    """Return (views to drop before `table_operations`, views to create after them)."""
    changed = changed_tables(table_operations)
    old_views, new_views = old.view_map(), new.view_map()
    stale = {name for name, view in old_views.items() if new_views.get(name) != view or view.reads & changed}
    stale = _with_readers(stale, old_views)
    drops: list[Operation] = [DropView(v) for v in reversed(views_in_dependency_order([old_views[n] for n in stale]))]
    fresh = [view for name, view in new_views.items() if name not in old_views or name in stale]
    creates: list[Operation] = [CreateView(v) for v in views_in_dependency_order(fresh)]
    return drops, creates


def changed_tables(operations: list[Operation]) -> set[str]:
    """Return the tables whose columns, keys or name the operations change (both names of a renamed table)."""
    changed = set()
    for op in operations:
        if isinstance(op, _LEAVE_VIEWS_ALONE):
            continue
        changed.add(op.table)
        if isinstance(op, RenameTable):
            changed.add(op.new_name)
    return changed


def _with_readers(stale: set[str], views: dict[str, View]) -> set[str]:
    """Return `stale` with every view that reads one of them, at any depth: they go too (PostgreSQL would refuse the drop)."""
    stale = set(stale)
    grew = True
    while grew:
        readers = {name for name, view in views.items() if name not in stale and view.reads & stale}
        stale |= readers
        grew = bool(readers)
    return stale
