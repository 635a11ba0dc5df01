"""The differ: the operations that turn the last bundle's schema into the models' schema."""

from __future__ import annotations

from reviewkit.diff.compare import Phases, compare_enums, compare_table
from reviewkit.diff.one_off_defaults import (
    OneOffDefaults,
    ValueReader,
    fill_existing_rows,
    read_one_off_default,
    rollback_operations,
    with_rollback_fills,
)
from reviewkit.diff.plan import order_creations, order_drops
from reviewkit.diff.questioner import NoInputQuestioner, OneOffQuestion, Questioner
from reviewkit.diff.renames import DeclaredRenames, resolve_renames
from reviewkit.diff.views import plan_views
from reviewkit.schema.operations import Operation, apply_all
from reviewkit.schema.state import Schema

__all__ = [
    "DeclaredRenames", "NoInputQuestioner", "OneOffDefaults", "OneOffQuestion", "Questioner", "ValueReader", "diff_schemas",
    "fill_existing_rows", "read_one_off_default", "rollback_operations", "with_rollback_fills",
]


def diff_schemas(
    old: Schema,
    new: Schema,
    renames: DeclaredRenames | None = None,
    questioner: Questioner | None = None,
) -> list[Operation]:
    """Return the operations that turn `old` into `new`, in an order every engine can run.

    Views that change, or read a table that changes, are dropped first; then renames,
    foreign keys dropped, keys and indexes dropped, tables dropped, tables created,
    columns dropped/altered/added, keys and indexes added, foreign keys added; views are
    created last (`reviewkit.diff.views`). Reversing the list (each operation reversed)
    is the down path.
    """
    rename_ops = resolve_renames(old, new, renames or DeclaredRenames(), questioner or NoInputQuestioner())
    base = apply_all(old, rename_ops)
    old_tables, new_tables = base.table_map(), new.table_map()

    phases = Phases()
    for name in sorted(old_tables.keys() & new_tables.keys()):
        compare_table(old_tables[name], new_tables[name], phases)
    created_enums, altered_enums, dropped_enums = compare_enums(base, new)
    # An enum that only gains values changes before the columns that may use them; one that
    # loses values after the columns that stop using them.
    widened = [op for op in altered_enums if op.only_adds]
    narrowed = [op for op in altered_enums if not op.only_adds]
    drop_cycle_fks, drops = order_drops([old_tables[n] for n in sorted(old_tables.keys() - new_tables.keys())])
    creates, cycle_fks = order_creations([new_tables[n] for n in sorted(new_tables.keys() - old_tables.keys())], base)
    table_operations = [
        *rename_ops,
        *phases.renames,
        *created_enums,
        *widened,
        *phases.drop_foreign_keys,
        *drop_cycle_fks,
        *phases.drop_keys_and_indexes,
        *drops,
        *creates,
        *phases.columns,
        *narrowed,
        *phases.add_keys_and_indexes,
        *phases.add_foreign_keys,
        *cycle_fks,
        *dropped_enums,
    ]
    drop_views, create_views = plan_views(old, new, table_operations)
    return [*drop_views, *table_operations, *create_views]
