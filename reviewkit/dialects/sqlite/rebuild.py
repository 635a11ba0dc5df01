"""SQLite's table rebuild, for the changes its ALTER TABLE cannot make.

The procedure SQLite documents (https://sqlite.org/lang_altertable.html, "other kinds
of table schema changes"): create the new table under a temporary name, copy the rows
of the columns both versions share, drop the old table, rename the new one, recreate
the indexes, and check the foreign keys. It runs inside the bundle's transaction, with
foreign-key enforcement off so that dropping the old table cascades nothing.
"""

from __future__ import annotations

from reviewkit.dialects.compiler import CompiledOperation, Compiler
from reviewkit.schema.operations import CreateTable, DropTable, RenameColumn, RenameTable
from reviewkit.schema.state import Table

REBUILD_PREFIX = "_reviewkit_new_"


def rebuild_table(compiler: Compiler, before: Table, after: Table, renames: dict[str, str] | None = None) -> list[str]:
    """Return the statements that turn table `before` into `after`, keeping every shared column's data.

    `renames` maps a column's old name to its new one, when the rebuild renames it. Generated
    columns are computed, never copied.
    """
    temp = REBUILD_PREFIX + after.name
    new_names = {new: old for old, new in (renames or {}).items()}
    old_names = {c.name for c in before.columns if c.generated is None}
    copied = [(new_names.get(c.name, c.name), c.name) for c in after.columns
              if c.generated is None and new_names.get(c.name, c.name) in old_names]
    statements = [compiler.create_table_sql(after, name=temp)]
    if copied:
        targets = compiler.quote_list(tuple(new for _, new in copied))
        sources = compiler.quote_list(tuple(old for old, _ in copied))
        statements.append(f"INSERT INTO {compiler.quote(temp)} ({targets}) SELECT {sources} FROM {compiler.quote(before.name)}")
    statements.append(f"DROP TABLE {compiler.quote(before.name)}")
    statements.append(f"ALTER TABLE {compiler.quote(temp)} RENAME TO {compiler.quote(after.name)}")
    for index in after.indexes:
        statements.extend(compiler.index_statements(after, index))
    statements.extend(compiler.table_extras_sql(after))  # DROP TABLE took the table's triggers with it
    statements.append(f"PRAGMA foreign_key_check({compiler.quote(after.name)})")
    return statements


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
        result[last] = CompiledOperation(compiled[last].operation, tuple(rebuild_table(compiler, before, after)), rebuild=True)
        for i in run[:-1]:
            result[i] = CompiledOperation(compiled[i].operation, (), note=f"done by the rebuild of {table} at operation {last + 1}")
    return result
