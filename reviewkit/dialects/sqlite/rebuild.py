"""SQLite's table rebuild, for the changes its ALTER TABLE cannot make.

The procedure SQLite documents (https://sqlite.org/lang_altertable.html, "other kinds
of table schema changes"): create the new table under a temporary name, copy the rows
of the columns both versions share, drop the old table, rename the new one, recreate
the indexes, and check the foreign keys. It runs inside the bundle's transaction, with
foreign-key enforcement off so that dropping the old table cascades nothing.
"""

from __future__ import annotations

from reviewkit.dialects.compiler import CompiledOperation, Compiler
from reviewkit.dialects.sqlite import django
from reviewkit.schema.operations import (
    AddColumn,
    AlterColumn,
    CreateTable,
    DropTable,
    Operation,
    RenameColumn,
    RenameTable,
)
from reviewkit.schema.state import Table

REBUILD_PREFIX = "_reviewkit_new_"


def rebuild_table(compiler: Compiler, before: Table, after: Table, renames: dict[str, str] | None = None,
                  fills: dict[str, str] | None = None) -> list[str]:
    """Return the statements that turn table `before` into `after`, keeping every shared column's data.

    `renames` maps a column's old name to its new one, when the rebuild renames it. `fills`
    maps a column of `after` to its one-off default (`one_off_fills`): the copy gives it to
    every row of a new column, and to the NULLs of a kept one. Generated columns are
    computed, never copied.
    """
    temp = REBUILD_PREFIX + after.name
    copied = _row_copy(compiler, before, after, renames or {}, fills or {})
    statements = [compiler.create_table_sql(after, name=temp)]
    if copied:
        targets = compiler.quote_list(tuple(target for target, _ in copied))
        sources = ", ".join(source for _, source in copied)
        statements.append(f"INSERT INTO {compiler.quote(temp)} ({targets}) SELECT {sources} FROM {compiler.quote(before.name)}")
    statements.append(f"DROP TABLE {compiler.quote(before.name)}")
    statements.append(f"ALTER TABLE {compiler.quote(temp)} RENAME TO {compiler.quote(after.name)}")
    for index in (*after.indexes, *django.together_indexes(after)):
        statements.extend(compiler.index_statements(after, index))
    statements.extend(compiler.table_extras_sql(after))  # DROP TABLE took the table's triggers with it
    statements.append(f"PRAGMA foreign_key_check({compiler.quote(after.name)})")
    return statements


def _row_copy(compiler: Compiler, before: Table, after: Table, renames: dict[str, str],
              fills: dict[str, str]) -> list[tuple[str, str]]:
    """Return (column of `after`, the SQL that gives its value from a row of `before`) for each column the copy fills."""
    new_names = {new: old for old, new in renames.items()}
    old_names = {c.name for c in before.columns if c.generated is None}
    copied = []
    for column in after.columns:
        if column.generated is not None:
            continue
        source = new_names.get(column.name, column.name)
        fill = fills.get(column.name)
        if source in old_names:
            kept = compiler.quote(source)
            copied.append((column.name, kept if fill is None else f"COALESCE({kept}, {compiler.expression_sql(fill)})"))
        elif fill is not None:
            copied.append((column.name, compiler.expression_sql(fill)))
    return copied


def one_off_fills(operations: list[Operation]) -> dict[str, str]:
    """Return the one-off defaults the operations carry, by column name: what a rebuild's copy fills rows with."""
    fills = {}
    for op in operations:
        if isinstance(op, AddColumn) and op.fill is not None:
            fills[op.column.name] = op.fill
        elif isinstance(op, AlterColumn) and op.fill is not None:
            fills[op.new.name] = op.fill
    return fills


# Operations after which a table is no longer the same table for a rebuild's row copy.
_BARRIERS = (CreateTable, DropTable, RenameTable, RenameColumn)


def combine_rebuilds(compiler: Compiler, compiled: list[CompiledOperation], contexts: list) -> list[CompiledOperation]:
    """Fold each run of operations on one table that needs a rebuild into one rebuild.

    Copying every row once instead of once per change: the run's last operation gets a
    rebuild from the table as it was before the run to the table after it, and the others
    say where their change went. A run ends where a table is created, dropped or renamed, or
    one of its columns is renamed, since the row copy matches columns by name.
    """
    result = list(compiled)
    open_runs: dict[str, list[int]] = {}
    runs: list[tuple[str, list[int]]] = []
    for i, item in enumerate(compiled):
        op = item.operation
        if isinstance(op, _BARRIERS):
            for name in {op.table, getattr(op, "new_name", op.table)}:
                if name in open_runs:
                    runs.append((name, open_runs.pop(name)))
            continue
        open_runs.setdefault(op.table, []).append(i)
    runs.extend(open_runs.items())
    for table, run in runs:
        if len(run) < 2 or not any(compiled[i].rebuild for i in run):
            continue
        first, last = run[0], run[-1]
        before, after = contexts[first].before.table(table), contexts[last].after.table(table)
        fills = one_off_fills([compiled[i].operation for i in run])
        result[last] = CompiledOperation(compiled[last].operation, tuple(rebuild_table(compiler, before, after, fills=fills)),
                                         rebuild=True)
        for i in run[:-1]:
            result[i] = CompiledOperation(compiled[i].operation, (), note=f"done by the rebuild of {table} at operation {last + 1}")
    return result
