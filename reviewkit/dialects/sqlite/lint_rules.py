"""SQLite's `lint` rules: table rebuilds, foreign key checks, and data loss.

SQLite changes most of a table's definition by rebuilding it (https://sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes"): a new table, every row copied, the old one
dropped, the new one renamed. The copy holds the database's write lock: every other
writer of any table waits. The rebuild runs with foreign keys off, so it must end with
`PRAGMA foreign_key_check`, or rows that break a key go unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from reviewkit.dialects.sqlite.rebuild import REBUILD_PREFIX
from reviewkit.lint.engine import Script, Statement, table_of
from reviewkit.lint.findings import Finding

_NEW_TABLE = re.compile(r'^CREATE TABLE\s+"?(\w+)"?', re.IGNORECASE)


def table_rebuild(statement: Statement, script: Script) -> Iterator[Finding]:
    """A table rebuilt: every row copied while the whole database is locked for writing.

    Anti-pattern: a column's type or NOT NULL changed on a large table in a busy database.
    Safer: run it when writers can wait, or add a new column and backfill instead.
    """
    match = _NEW_TABLE.match(statement.sql.strip())
    if match and match.group(1).startswith(REBUILD_PREFIX):
        table = match.group(1)[len(REBUILD_PREFIX):]
        if script.existed(table):
            yield Finding("sqlite-table-rebuild", "medium",
                          f"{table} is rebuilt: every row is copied while the database's other writers wait",
                          "run it when writers can wait, or add a column and backfill instead", table=table)


def foreign_keys_unchecked(statement: Statement, script: Script) -> Iterator[Finding]:
    """Foreign keys turned off and never checked: rows that break a key stay in the database.

    Anti-pattern: `PRAGMA foreign_keys = OFF;` ... with no `PRAGMA foreign_key_check;` after it.
    Safer: end the change with `PRAGMA foreign_key_check;` (reviewkit's rebuilds do; apply
    fails the bundle when it returns rows).
    """
    if re.match(r"PRAGMA\s+FOREIGN_KEYS\s*=\s*(OFF|0|FALSE|NO)\b", statement.upper):
        later = script.statements[statement.number:]
        if not any(s.upper.startswith("PRAGMA FOREIGN_KEY_CHECK") for s in later):
            yield Finding("sqlite-foreign-keys-unchecked", "high",
                          "foreign keys are turned off and never checked afterwards",
                          "end the script with PRAGMA foreign_key_check")


def drop(statement: Statement, script: Script) -> Iterator[Finding]:
    """Dropping a table or column loses its data (a rebuild's own DROP of the old copy does not).

    Anti-pattern: `DROP TABLE loans;`   Safer: stop using it, back it up, drop it in a later bundle.
    """
    sql = statement.upper
    table = table_of(statement.node)
    if sql.startswith("DROP TABLE") and script.existed(table) and not _rebuilt_here(table, script):
        yield Finding("sqlite-drop", "high", f"DROP TABLE {table} loses its rows", "stop using it, back it up, drop it later")
    elif sql.startswith("ALTER TABLE") and script.existed(table) and re.search(r"\bDROP\s+(?:COLUMN\s+)?\S+", sql):
        yield Finding("sqlite-drop", "high", f"dropping a column of {table} loses its values",
                      "stop using it, back it up, drop it later")


def _rebuilt_here(table: str | None, script: Script) -> bool:
    return any((m := _NEW_TABLE.match(s.sql.strip())) and m.group(1) == f"{REBUILD_PREFIX}{table}" for s in script.seen)


def unbounded_write(statement: Statement, script: Script) -> Iterator[Finding]:
    """UPDATE or DELETE without WHERE changes every row, holding the database's write lock throughout.

    Anti-pattern: `DELETE FROM loans;`   Safer: a WHERE, in batches.
    """
    node = statement.node
    if isinstance(node, (exp.Update, exp.Delete)) and node.args.get("where") is None:
        yield Finding("sqlite-unbounded-write", "high",
                      f"{type(node).__name__.upper()} without WHERE changes every row of {table_of(node)}",
                      "add a WHERE and work in batches", table=table_of(node))


RULES = [table_rebuild, foreign_keys_unchecked, drop, unbounded_write]
