"""MySQL's and MariaDB's `lint` rules: which ALTER copies the table, and what cannot be rolled back.

InnoDB runs each ALTER TABLE with one of three algorithms (the "Online DDL" tables of
the MySQL 8.0 and MariaDB manuals): INSTANT (metadata only), INPLACE (rebuilt or not, with
concurrent reads and writes), or COPY (a new table filled row by row while writes wait).
Which one depends on the change and the version; the rules name the algorithm the engine
will use on MariaDB 10.6+ / MySQL 8.0+ and say what it costs. DDL commits on its own, so a
script that mixes it with data changes cannot be rolled back as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from reviewkit.lint.engine import Script, Statement, table_of
from reviewkit.lint.findings import Finding

_MODIFY = re.compile(r"\b(?:MODIFY|CHANGE)\s+(?:COLUMN\s+)?(`(?:[^`]|``)+`|\w+)\s+(?:(?:`(?:[^`]|``)+`|\w+)\s+)?(\w+(?:\s*\([^)]*\))?)")
_ALGORITHM = re.compile(r"\bALGORITHM\s*=\s*(INSTANT|INPLACE|NOCOPY)\b")
_ONLINE_TOOLS = "pt-online-schema-change or gh-ost"


def _identifier(text: str) -> str:
    return text[1:-1].replace("``", "`") if text.startswith("`") else text


def _existing_alter(statement: Statement, script: Script) -> str | None:
    if not statement.upper.startswith("ALTER TABLE"):
        return None
    table = table_of(statement.node)
    return table if script.existed(table) else None


def copying_alter(statement: Statement, script: Script) -> Iterator[Finding]:
    """ALTERs InnoDB runs with ALGORITHM=COPY: the table is copied row by row while writes wait.

    A column's type changed (other than a VARCHAR widened within its length byte), the
    primary key dropped or changed, a column's character set converted.
    Anti-pattern: `ALTER TABLE books MODIFY id BIGINT NOT NULL;` on a big table.
    Safer: pt-online-schema-change or gh-ost, which copy in the background and swap.
    """
    table = _existing_alter(statement, script)
    if table is None or _ALGORITHM.search(statement.upper):
        return
    sql = statement.upper
    why = None
    modify = _MODIFY.search(statement.sql.upper())
    if modify:
        column = _identifier(modify.group(1).lower()) if not modify.group(1).startswith("`") else _identifier(modify.group(1))
        old = script.before.table(table).column(column) or script.before.table(table).column(column.lower())
        if old is None or not _varchar_widened(old.type, modify.group(2)):
            why = f"changing the type of {table}.{column}"
    if "DROP PRIMARY KEY" in sql or re.search(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?PRIMARY KEY\b", sql):
        why = f"changing the primary key of {table}"
    if "CONVERT TO CHARACTER SET" in sql:
        why = f"converting the character set of {table}"
    if why:
        yield Finding("mysql-copying-alter", "high",
                      f"{why} runs with ALGORITHM=COPY: the table is copied while writes wait",
                      f"on a large table use {_ONLINE_TOOLS}", table=table)


def _varchar_widened(old: str, new_sql: str) -> bool:
    """VARCHAR(n) -> VARCHAR(m), m >= n, both under 256 bytes or both over: INPLACE, no copy."""
    found = re.fullmatch(r"VARCHAR\s*\(\s*(\d+)\s*\)", new_sql.strip())
    old_found = re.fullmatch(r"varchar\((\d+)\)", old)
    if not (found and old_found):
        return False
    before, after = int(old_found.group(1)), int(found.group(1))
    # utf8mb4 stores up to 4 bytes a character: the length prefix grows past 63 characters.
    return after >= before and (after <= 63) == (before <= 63)


def add_foreign_key(statement: Statement, script: Script) -> Iterator[Finding]:
    """Adding a foreign key to a table in use: with foreign_key_checks on, InnoDB copies the table.

    Anti-pattern: `ALTER TABLE loans ADD CONSTRAINT loans_book_fkey FOREIGN KEY (book_id) REFERENCES books (id);`
    Safer: check the rows first, then add it with `SET foreign_key_checks = 0` (INPLACE) and set it back.
    """
    table = _existing_alter(statement, script)
    if table and re.search(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN KEY\b", statement.upper):
        checks_off = any(re.match(r"SET\s+(?:SESSION\s+)?FOREIGN_KEY_CHECKS\s*=\s*0", s.upper) for s in script.seen)
        if not checks_off:
            yield Finding("mysql-add-foreign-key", "medium",
                          f"adding a foreign key to {table} copies the table (ALGORITHM=COPY) while writes wait",
                          "verify the rows, then add it under SET foreign_key_checks = 0 (INPLACE)", table=table)


def ddl_with_data(statement: Statement, script: Script) -> Iterator[Finding]:
    """DDL and data changes in one script: DDL commits at once, so a failure leaves half of it done.

    Anti-pattern: `ALTER TABLE books ADD COLUMN isbn ...; UPDATE books SET isbn = ...;`
    Safer: the schema change in one bundle, the data change in the next (or a tool built for backfills).
    """
    node = statement.node
    if not isinstance(node, (exp.Insert, exp.Update, exp.Delete)):
        return
    if any(s.upper.startswith(("ALTER ", "CREATE ", "DROP ", "RENAME ")) for s in script.statements):
        first = next(s for s in script.statements if isinstance(s.node, (exp.Insert, exp.Update, exp.Delete)))
        if first is statement:  # said once, at the first data change
            yield Finding("mysql-ddl-with-data", "medium",
                          "this script mixes DDL with data changes: DDL commits on its own, so a failure cannot be rolled back",
                          "put the data change in a bundle of its own")


def drop(statement: Statement, script: Script) -> Iterator[Finding]:
    """Dropping a table or column loses its data; MySQL cannot roll the DROP back.

    Anti-pattern: `DROP TABLE loans;`   Safer: stop using it, back it up, drop it in a later bundle.
    """
    sql = statement.upper
    table = table_of(statement.node)
    if sql.startswith("DROP TABLE") and script.existed(table):
        yield Finding("mysql-drop", "high", f"DROP TABLE {table} loses its rows", "stop using it, back it up, drop it later")
    elif _existing_alter(statement, script) and re.search(
            r"\bDROP\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|FOREIGN\b|INDEX\b|KEY\b|PRIMARY\b|CHECK\b|DEFAULT\b)\S+", sql):
        yield Finding("mysql-drop", "high", f"dropping a column of {table} loses its values",
                      "stop using it, back it up, drop it later")


def rename(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rename breaks every query still using the old name, in code that is already deployed.

    Anti-pattern: `ALTER TABLE books RENAME COLUMN title TO name;`
    Safer: add the new name, write both, move the readers, then drop the old one.
    """
    sql = statement.upper
    if (_existing_alter(statement, script) and re.search(r"\bRENAME\b", sql)) or sql.startswith("RENAME TABLE"):
        yield Finding("mysql-rename", "medium", "a rename: running code that uses the old name breaks",
                      "expand and contract: add the new name, move the code, then drop the old one")


def unbounded_write(statement: Statement, script: Script) -> Iterator[Finding]:
    """UPDATE or DELETE without WHERE touches every row and locks them all until it commits.

    Anti-pattern: `DELETE FROM loans;`   Safer: a WHERE, in batches of a few thousand rows.
    """
    node = statement.node
    if isinstance(node, (exp.Update, exp.Delete)) and node.args.get("where") is None:
        yield Finding("mysql-unbounded-write", "high",
                      f"{type(node).__name__.upper()} without WHERE changes every row of {table_of(node)}",
                      "add a WHERE and work in batches", table=table_of(node))


RULES = [copying_alter, add_foreign_key, ddl_with_data, drop, rename, unbounded_write]
