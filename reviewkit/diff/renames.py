"""Renames: declared with `--rename`, or confirmed by the questioner, never guessed.

A table or column that disappears while another of the same shape appears may be a
rename or a drop plus an add; only a person can tell, and the difference is whether the
data survives. Without an answer it is a drop plus an add, and the risk report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reviewkit.diff.questioner import Questioner
from reviewkit.errors import UsageError
from reviewkit.schema.operations import Operation, RenameColumn, RenameTable, apply_all
from reviewkit.schema.state import Schema, Table


@dataclass(frozen=True)
class DeclaredRenames:
    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, old column) -> new column

    @classmethod
    def parse(cls, items: list[str]) -> DeclaredRenames:
        """Parse `--rename OLD=NEW` values: `reviews=book_reviews` or `books.in_print=books.available`."""
        tables: dict[str, str] = {}
        columns: dict[tuple[str, str], str] = {}
        for item in items:
            old, sep, new = item.partition("=")
            if not sep or not old or not new or old.count(".") != new.count(".") or old.count(".") > 1:
                raise UsageError(f"--rename {item!r}: write OLD=NEW, as table=table or table.column=table.column")
            if "." in old:
                old_table, old_col = old.split(".")
                new_table, new_col = new.split(".")
                columns[(new_table, old_col)] = new_col
                if old_table != new_table:
                    tables.setdefault(old_table, new_table)
            else:
                tables[old] = new
        return cls(tables, columns)


def resolve_renames(old: Schema, new: Schema, declared: DeclaredRenames, questioner: Questioner) -> list[Operation]:
    """Return the rename operations, declared first, then the ones the questioner confirms."""
    ops: list[Operation] = list(_table_renames(old, new, declared, questioner))
    state = apply_all(old, ops)
    new_tables = new.table_map()
    for table in state.tables:
        if table.name in new_tables:
            ops.extend(_column_renames(table, new_tables[table.name], declared, questioner))
    _check_declared_columns_used(declared, ops)
    return ops


def _table_renames(old: Schema, new: Schema, declared: DeclaredRenames, questioner: Questioner) -> list[Operation]:
    old_names = {t.name for t in old.tables}
    new_names = {t.name for t in new.tables}
    ops: list[Operation] = []
    for o, n in sorted(declared.tables.items()):
        if o not in old_names or o in new_names:
            raise UsageError(f"--rename {o}={n}: the last bundle has no table {o} that the models dropped")
        if n not in new_names or n in old_names:
            raise UsageError(f"--rename {o}={n}: the models declare no new table {n}")
        ops.append(RenameTable(o, n))
    removed = sorted(old_names - new_names - set(declared.tables))
    added = sorted(new_names - old_names - set(declared.tables.values()))
    for r in removed:
        for a in added:
            if _same_shape(old.table(r), new.table(a)) and questioner.ask_rename_table(r, a):
                ops.append(RenameTable(r, a))
                added.remove(a)
                break
    return ops


def _same_shape(a: Table | None, b: Table | None) -> bool:
    return a is not None and b is not None and {(c.name, c.type) for c in a.columns} == {(c.name, c.type) for c in b.columns}


def _column_renames(old: Table, new: Table, declared: DeclaredRenames, questioner: Questioner) -> list[Operation]:
    old_cols = {c.name: c for c in old.columns}
    new_cols = {c.name: c for c in new.columns}
    ops: list[Operation] = []
    taken: set[str] = set()
    for (table, o), n in sorted(declared.columns.items()):
        if table != new.name:
            continue
        if o not in old_cols or o in new_cols:
            raise UsageError(f"--rename {table}.{o}={table}.{n}: the last bundle has no column {table}.{o} that the models dropped")
        if n not in new_cols or n in old_cols:
            raise UsageError(f"--rename {table}.{o}={table}.{n}: the models declare no new column {table}.{n}")
        ops.append(RenameColumn(table, o, n))
        taken.update((o, n))
    removed = [c for c in old.columns if c.name not in new_cols and c.name not in taken]
    added = [c for c in new.columns if c.name not in old_cols and c.name not in taken]
    for r in removed:
        for a in added:
            if r.type == a.type and questioner.ask_rename_column(new.name, r.name, a.name, a.type):
                ops.append(RenameColumn(new.name, r.name, a.name))
                added.remove(a)
                break
    return ops


def _check_declared_columns_used(declared: DeclaredRenames, ops: list[Operation]) -> None:
    done = {(op.table, op.old_name) for op in ops if isinstance(op, RenameColumn)}
    for (table, o), n in declared.columns.items():
        if (table, o) not in done:
            raise UsageError(f"--rename {table}.{o}={table}.{n}: the models declare no table {table} that keeps existing")
