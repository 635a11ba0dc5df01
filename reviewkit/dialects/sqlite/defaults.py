"""Column defaults on SQLite: proved on the SQLite that Python carries, at generate time.

SQLite checks little when a table is created: `DEFAULT (no_such_function())` is stored
and fails at the first insert that needs it, long after the bundle was applied; a bare
word it does not know (`DEFAULT LOCALTIMESTAMP`) is stored as that text. So each default
that is not a plain literal is tried in an in-memory database: a table with the column,
then one insert that uses the default. SQLite takes CURRENT_DATE, CURRENT_TIME and
CURRENT_TIMESTAMP bare, other expressions in parentheses, TRUE and FALSE since 3.23.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache


@lru_cache(maxsize=1024)
def probe(column_sql: str) -> str | None:
    """Return SQLite's error for a table holding `column_sql` and one row using its default, or None."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE TABLE probe ({column_sql})")
        conn.execute("INSERT INTO probe DEFAULT VALUES")
    except sqlite3.Error as err:
        return f"SQLite {sqlite3.sqlite_version} says: {err}"
    finally:
        conn.close()
    return None
