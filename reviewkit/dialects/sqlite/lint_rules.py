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
from reviewkit.lint.engine import Script, Statement, reads
from reviewkit.lint.findings import Finding

_NEW_TABLE = re.compile(r'^CREATE TABLE\s+"?(\w+)"?', re.IGNORECASE)


@reads("CREATE TABLE")
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


@reads("PRAGMA")
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


@reads("DROP TABLE", "ALTER TABLE")
def drop(statement: Statement, script: Script) -> Iterator[Finding]:
    """Dropping a table or column loses its data (a rebuild's own DROP of the old copy does not).

    Anti-pattern: `DROP TABLE loans;`   Safer: stop using it, back it up, drop it in a later bundle.
    """
    sql = statement.upper
    table = statement.table
    if sql.startswith("DROP TABLE") and script.existed(table) and not _rebuilt_here(table, script):
        yield Finding("sqlite-drop", "high", f"DROP TABLE {table} loses its rows", "stop using it, back it up, drop it later")
    elif sql.startswith("ALTER TABLE") and script.existed(table) and re.search(r"\bDROP\s+(?:COLUMN\s+)?\S+", sql):
        yield Finding("sqlite-drop", "high", f"dropping a column of {table} loses its values",
                      "stop using it, back it up, drop it later")


@reads("INSERT")
def rebuild_leaves_columns_out(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rebuild whose copy of the rows leaves columns out: their values are lost (SQLite's form of DROP COLUMN).

    Anti-pattern: `INSERT INTO "_reviewkit_new_books" ("id") SELECT "id" FROM "books";` where books had `notes`.
    Safer: stop using the column, back it up, drop it in a later bundle.
    """
    match = _COPY_FROM.match(statement.sql) if statement.upper.startswith("INSERT INTO") else None
    if match is None:
        return
    table = match.group(3)
    before = script.before.table(table)
    if before is None or match.group(1) != f"{REBUILD_PREFIX}{table}":
        return
    read = match.group(2)
    names = _renamed_before(table, statement, script)
    lost = [c.name for c in before.columns if not _copied(names.get(c.name, c.name), read)]
    if lost:
        yield Finding("sqlite-drop", "high", f"the rebuild of {table} leaves out {', '.join(lost)}: their values are lost",
                      "stop using it, back it up, drop it later", table=table)


def _copied(name: str, read: str) -> bool:
    return f'"{name}"' in read or bool(re.search(rf"(?<![\w\"]){re.escape(name)}(?![\w\"])", read, re.IGNORECASE))


def _renamed_before(table: str, statement: Statement, script: Script) -> dict[str, str]:
    """Return each column of `table` an earlier statement of the script renamed, with the name it has now."""
    names: dict[str, str] = {}
    for earlier in script.statements[:statement.number - 1]:
        found = _RENAME_COLUMN.match(earlier.sql)
        if found and found.group(1).strip('"') == table:
            old, new = found.group(2).strip('"'), found.group(3).strip('"')
            earlier_names = [original for original, current in names.items() if current == old]
            for original in earlier_names or [old]:  # renamed twice: the column it was first
                names[original] = new
    return names


_RENAME_COLUMN = re.compile(r'\s*ALTER\s+TABLE\s+("?\w+"?)\s+RENAME\s+(?:COLUMN\s+)?("?\w+"?)\s+TO\s+("?\w+"?)\s*$',
                            re.IGNORECASE)
_COPY_FROM = re.compile(r'\s*INSERT\s+INTO\s+"?(\w+)"?\s*\([^)]*\)\s*SELECT\s+(.*)\s+FROM\s+"?(\w+)"?\s*$',
                        re.IGNORECASE | re.DOTALL)


def _rebuilt_here(table: str | None, script: Script) -> bool:
    return table is not None and script.made_here(f"{REBUILD_PREFIX}{table}")


@reads("UPDATE", "DELETE", "WITH")
def unbounded_write(statement: Statement, script: Script) -> Iterator[Finding]:
    """UPDATE or DELETE without WHERE changes every row, holding the database's write lock throughout.

    Anti-pattern: `DELETE FROM loans;`   Safer: a WHERE, in batches.
    """
    if not statement.upper.startswith(("UPDATE", "DELETE", "WITH")):
        return
    node = statement.node
    if isinstance(node, (exp.Update, exp.Delete)) and node.args.get("where") is None:
        yield Finding("sqlite-unbounded-write", "high",
                      f"{type(node).__name__.upper()} without WHERE changes every row of {statement.table}",
                      "add a WHERE and work in batches", table=statement.table)


@reads("ALTER TABLE")
def rename(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rename breaks every query still using the old name, in code that is already deployed.

    A rebuild's own rename of its new copy to the table's name is no rename of a table in use.
    Anti-pattern: `ALTER TABLE books RENAME COLUMN title TO name;`
    Safer: add the new name, write both, move the readers, then drop the old one.
    """
    sql = statement.upper
    if sql.startswith("ALTER TABLE") and script.existed(statement.table) and re.search(r"\bRENAME\b", sql):
        yield Finding("sqlite-rename", "medium", f"a rename on {statement.table}: running code that uses the old name breaks",
                      "expand and contract: add the new name, move the code, then drop the old one")


@reads("CREATE")
def index_on_existing_table(statement: Statement, script: Script) -> Iterator[Finding]:
    """CREATE INDEX on a table in use reads every row while the database's other writers wait.

    An index a rebuild makes again is part of the rebuild (its own finding).
    Anti-pattern: `CREATE INDEX books_title ON books (title);` on a large table in a busy database.
    Safer: run it when writers can wait.
    """
    sql = statement.upper
    if not (sql.startswith("CREATE ") and " INDEX " in sql):
        return
    table = statement.table
    if script.existed(table) and not _rebuilt_here(table, script):
        yield Finding("sqlite-index-on-existing-table", "medium",
                      f"building an index on {table} reads every row while the database's other writers wait",
                      "run it when writers can wait", table=table)


@reads("INSERT")
def add_required_column(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rebuild that leaves a NOT NULL column without a default out of its copy: it fails if the table has rows.

    Anti-pattern: `INSERT INTO "_reviewkit_new_books" ("id") SELECT "id" FROM "books";` where the
    new table has `isbn TEXT NOT NULL` without a default.
    Safer: give the column a default, or add it nullable and backfill it.
    """
    match = _COPY_INTO.match(statement.sql) if statement.upper.startswith("INSERT INTO") else None
    if match is None or not script.existed(match.group(1).removeprefix(REBUILD_PREFIX)):
        return
    created = next((s for s in reversed(script.seen) if (m := _NEW_TABLE.match(s.sql.strip())) and m.group(1) == match.group(1)),
                   None)
    copied = {name.strip().strip('"').lower() for name in match.group(2).split(",")}
    # A rebuild written a column per line that copies every column needs no tree to say so.
    listed = _COLUMN_LINE.findall(created.sql) if created is not None else []
    if listed and all(name.replace('""', '"').lower() in copied for name in listed):
        return
    if created is None or not isinstance(created.node, exp.Create):
        return
    table = match.group(1).removeprefix(REBUILD_PREFIX)
    for column in created.node.find_all(exp.ColumnDef):
        constraints = [c.args.get("kind") for c in column.constraints]
        required = any(isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in constraints)
        filled = any(isinstance(k, (exp.DefaultColumnConstraint, exp.PrimaryKeyColumnConstraint,
                                    exp.ComputedColumnConstraint, exp.GeneratedAsIdentityColumnConstraint))
                     for k in constraints)
        if required and not filled and column.name.lower() not in copied:
            yield Finding("sqlite-add-required-column", "medium",
                          f"adds NOT NULL column {table}.{column.name} without a default: the copy of the rows fails if the "
                          "table has any", "give it a default, or add it nullable and backfill it", table=table)


_COLUMN_LINE = re.compile(r'^\s*"((?:[^"]|"")+)"\s', re.MULTILINE)
_COPY_INTO = re.compile(r'\s*INSERT\s+INTO\s+"?(\w+)"?\s*\(([^)]*)\)', re.IGNORECASE)


RULES = [table_rebuild, foreign_keys_unchecked, drop, rebuild_leaves_columns_out, unbounded_write, rename,
         index_on_existing_table, add_required_column]
