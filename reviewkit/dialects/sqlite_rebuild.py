"""SQLite's table rebuild, for the changes its ALTER TABLE cannot make.

The procedure SQLite documents (https://sqlite.org/lang_altertable.html, "other kinds
of table schema changes"): create the new table under a temporary name, copy the rows
of the columns both versions share, drop the old table, rename the new one, recreate
the indexes, and check the foreign keys. It runs inside the bundle's transaction, with
foreign-key enforcement off so that dropping the old table cascades nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.state import Table

if TYPE_CHECKING:
    from reviewkit.dialects.sqlite import SQLiteSQL

REBUILD_PREFIX = "_reviewkit_new_"


def rebuild_table(dialect: SQLiteSQL, before: Table, after: Table, renamed: dict[str, str] | None = None) -> list[str]:
    """Return the statements that turn table `before` into `after`, keeping every shared column's data."""
    renamed = renamed or {}
    temp = REBUILD_PREFIX + after.name
    old_names = {c.name for c in before.columns}
    copied = [(renamed.get(c.name, c.name), c.name) for c in after.columns if renamed.get(c.name, c.name) in old_names]
    statements = [dialect.create_table_sql(after, name=temp)]
    if copied:
        targets = dialect.quote_list(tuple(new for _, new in copied))
        sources = dialect.quote_list(tuple(old for old, _ in copied))
        statements.append(f"INSERT INTO {dialect.quote(temp)} ({targets}) SELECT {sources} FROM {dialect.quote(before.name)}")
    statements.append(f"DROP TABLE {dialect.quote(before.name)}")
    statements.append(f"ALTER TABLE {dialect.quote(temp)} RENAME TO {dialect.quote(after.name)}")
    statements.extend(dialect.index_sql(after.name, ix) for ix in after.indexes)
    statements.append(f"PRAGMA foreign_key_check({dialect.quote(after.name)})")
    return statements
