"""Views on SQLite: proved on the SQLite that Python carries, at generate time.

SQLite stores a view's text at CREATE VIEW without checking the functions it calls or
the columns it names: a query sqlglot wrote with something SQLite lacks (`TIMESTAMP_TRUNC`,
`= ANY(ARRAY(...))`, DISTINCT with a separator in GROUP_CONCAT) fails at its first SELECT,
long after the bundle was applied. So each view is created in an in-memory database
beside the tables it reads, and selected from once (no rows).
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from reviewkit.schema.views import views_in_dependency_order

if TYPE_CHECKING:
    from reviewkit.dialects.compiler import Compiler
    from reviewkit.schema.state import Schema


def probe_views(compiler: Compiler, schema: Schema) -> tuple[str, str] | None:
    """Return (view, SQLite's error) for the first view SQLite cannot select from, or None when all can."""
    read = set().union(*(view.reads for view in schema.views))
    conn = sqlite3.connect(":memory:")
    try:
        try:
            for table in schema.tables:
                if table.name in read:
                    conn.execute(compiler.create_table_sql(table))
        except sqlite3.Error:
            return None  # the tables are checked on their own; a view cannot be tried without them
        for view in views_in_dependency_order(schema.views):
            try:
                conn.execute(compiler.view_sql(view))
                conn.execute(f"SELECT * FROM {compiler.quote(view.name)} LIMIT 0")
            except sqlite3.Error as err:
                return view.name, f"SQLite {sqlite3.sqlite_version} says: {err}"
    finally:
        conn.close()
    return None
