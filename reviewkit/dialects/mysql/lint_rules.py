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
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import SqlglotError

from reviewkit.dialects.mysql.copies import TOOLS, grows_in_place
from reviewkit.errors import ModelError
from reviewkit.lint.engine import Script, Statement, reads
from reviewkit.lint.findings import Finding
from reviewkit.schema.state import Column
from reviewkit.schema.types import from_sqlglot, is_widening, parse_type

_NAME = r"(?:`(?:[^`]|``)+`|\w+)"
_NEXT_ACTION = r"(?!,\s*(?:ADD|ALTER|DROP|MODIFY|CHANGE|RENAME|ALGORITHM|LOCK|CONVERT)\b)"
# MODIFY col definition / CHANGE old new definition: the column, and its definition up to the next action.
_MODIFY = re.compile(rf"\b(MODIFY|CHANGE)\s+(?:COLUMN\s+)?({_NAME})\s+((?:{_NEXT_ACTION}.)+)", re.IGNORECASE | re.DOTALL)
_ADD_COLUMN = re.compile(rf"\bADD\s+(?:COLUMN\s+)?(?!(?:CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK|INDEX|KEY|FULLTEXT|"
                         rf"SPATIAL)\b)({_NAME})\s+((?:{_NEXT_ACTION}.)+)", re.IGNORECASE | re.DOTALL)
_TYPE = re.compile(r"\w+(?:\s*\((?:[^()']|'(?:[^']|'')*')*\))?(?:\s+UNSIGNED)?", re.IGNORECASE)
_ALGORITHM = re.compile(r"\bALGORITHM\s*=\s*(INSTANT|INPLACE|NOCOPY)\b")


def _identifier(text: str) -> str:
    return text[1:-1].replace("``", "`") if text.startswith("`") else text


def _existing_alter(statement: Statement, script: Script) -> str | None:
    if not statement.upper.startswith("ALTER TABLE"):
        return None
    table = statement.table
    return table if script.existed(table) else None


def _modified(statement: Statement, script: Script, table: str) -> list[tuple[Column, str | None, str]]:
    """Return (the column as it was, its new portable type or None, the new definition) of each MODIFY / CHANGE."""
    found = []
    for match in _MODIFY.finditer(statement.sql):
        definition = match.group(3).strip()
        if match.group(1).upper() == "CHANGE":  # CHANGE old new definition: the definition starts with the new name
            definition = re.sub(rf"^{_NAME}\s+", "", definition, count=1)
        old = _column(script, table, _identifier(match.group(2)))
        if old is not None:
            found.append((old, _portable(definition), definition))
    return found


def _column(script: Script, table: str, name: str) -> Column | None:
    before = script.before.table(table)
    if before is None:
        return None
    # MySQL's column names are case-insensitive.
    return before.column(name) or next((c for c in before.columns if c.name.lower() == name.lower()), None)


@lru_cache(maxsize=4096)  # several rules ask of the same statement's type
def _portable(definition: str) -> str | None:
    """Return the portable type a column definition starts with, None when reviewkit does not map it."""
    match = _TYPE.match(definition)
    if match is None:
        return None
    try:
        new, _ = from_sqlglot(exp.DataType.build(match.group(0), dialect="mysql"), match.group(0), "mysql")
    except (SqlglotError, ValueError, ModelError):
        return None
    return new


@reads("ALTER TABLE")
def copying_alter(statement: Statement, script: Script) -> Iterator[Finding]:
    """ALTERs InnoDB runs with ALGORITHM=COPY: the table is copied row by row while writes wait.

    A column's type changed (other than a VARCHAR widened within its length byte, or ENUM
    values added at the end), the primary key dropped or changed, a column's character set
    converted. In an online bundle, where no lock-safe form exists: high.
    Anti-pattern: `ALTER TABLE books MODIFY id BIGINT NOT NULL;` on a big table.
    Safer: pt-online-schema-change or gh-ost, which copy in the background and swap.
    """
    table = _existing_alter(statement, script)
    if table is None or _ALGORITHM.search(statement.upper):
        return
    why = _why_copied(statement, script, table)
    if why and script.online:
        yield Finding("mysql-copying-alter", "high",
                      f"{why} copies the table (ALGORITHM=COPY): MySQL/MariaDB cannot do this online (writes wait while "
                      "it runs)", f"on a large table run it with {TOOLS}", table=table)
    elif why:
        yield Finding("mysql-copying-alter", "medium",
                      f"{why} runs with ALGORITHM=COPY: the table is copied while writes wait",
                      f"on a large table use {TOOLS}", table=table)


def _why_copied(statement: Statement, script: Script, table: str) -> str | None:
    sql = statement.upper
    if "DROP PRIMARY KEY" in sql or re.search(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?PRIMARY KEY\b", sql):
        return f"changing the primary key of {table}"
    if "CONVERT TO CHARACTER SET" in sql:
        return f"converting the character set of {table}"
    for old, new, _ in _modified(statement, script, table):
        if new is None or (new != old.type and not grows_in_place(old.type, new)):
            return f"changing {table}.{old.name} from {old.type} to {new or 'another type'}"
    return None


@reads("ALTER TABLE")
def type_narrowing(statement: Statement, script: Script) -> Iterator[Finding]:
    """A type that cannot hold every value of the old one: strict mode fails the statement, otherwise values are cut.

    Anti-pattern: `ALTER TABLE books MODIFY title VARCHAR(50) NOT NULL;` (was VARCHAR(100)).
    Safer: check the longest value first (`SELECT max(char_length(title)) FROM books`), shorten what must be.
    """
    table = _existing_alter(statement, script)
    for old, new, _ in _modified(statement, script, table) if table else ():
        if new is not None and not is_widening(parse_type(old.type), parse_type(new)):
            yield Finding("mysql-type-narrowing", "high",
                          f"changing {table}.{old.name} from {old.type} to {new} narrows it: a value that does not fit fails "
                          "the bundle (strict mode) or is cut (otherwise)", "find and fix the values that do not fit first")


@reads("ALTER TABLE")
def not_null_tightened(statement: Statement, script: Script) -> Iterator[Finding]:
    """A nullable column made NOT NULL: every row is checked (and the table rebuilt); a NULL fails it in strict mode.

    Anti-pattern: `ALTER TABLE books MODIFY isbn VARCHAR(20) NOT NULL;` while some rows have no isbn.
    Safer: fill the NULLs first (`UPDATE books SET isbn = ... WHERE isbn IS NULL`, in batches).
    """
    table = _existing_alter(statement, script)
    for old, _, definition in _modified(statement, script, table) if table else ():
        if not (old.nullable and re.search(r"\bNOT\s+NULL\b", definition, re.IGNORECASE)):
            continue
        if _nulls_filled(script, table, old.name):  # generate's one-off default, or the DBA's own UPDATE
            yield Finding("mysql-not-null", "medium",
                          f"makes {table}.{old.name} NOT NULL: every row is checked while the table is rebuilt (its NULLs "
                          "were filled just before)", "run it when the table can be rebuilt", table=table)
        else:
            yield Finding("mysql-not-null", "medium",
                          f"makes {table}.{old.name} NOT NULL: every row is checked, and one that is NULL fails the bundle "
                          "(strict mode) or becomes 0 or '' (otherwise)", "fill the NULLs first", table=table)


def _nulls_filled(script: Script, table: str, column: str) -> bool:
    """Tell whether an earlier statement set every NULL of `table`.`column` (UPDATE ... WHERE column IS NULL)."""
    pattern = re.compile(rf"^UPDATE\s+`?{re.escape(table)}`?\s+SET\s+`?{re.escape(column)}`?\s*=.*\bWHERE\s+"
                         rf"`?{re.escape(column)}`?\s+IS\s+NULL$", re.IGNORECASE | re.DOTALL)
    return any(pattern.match(" ".join(seen.sql.split())) for seen in script.seen if seen.changes_rows)


@reads("ALTER TABLE")
def add_required_column(statement: Statement, script: Script) -> Iterator[Finding]:
    """A NOT NULL column added without a default: existing rows silently get the type's implicit default (0, '').

    Anti-pattern: `ALTER TABLE books ADD COLUMN stock INT NOT NULL;`
    Safer: say the default (`DEFAULT 0`), or add it nullable and backfill.
    """
    table = _existing_alter(statement, script)
    for match in _ADD_COLUMN.finditer(statement.sql) if table else ():
        words = match.group(2).upper()
        if re.search(r"\bNOT\s+NULL\b", words) and not re.search(r"\b(DEFAULT|AUTO_INCREMENT|AS)\b", words):
            yield Finding("mysql-add-required-column", "medium",
                          f"adds NOT NULL column {table}.{_identifier(match.group(1))} without a default: existing rows "
                          "get the type's implicit default (0, '', ...) without a word",
                          "say the default, or add it nullable and backfill it", table=table)


@reads("ALTER TABLE")
def not_online(statement: Statement, script: Script) -> Iterator[Finding]:
    """In an online bundle, an ALTER of a table in use that names no online algorithm: it locks or copies.

    `generate --online` writes `ALGORITHM=INSTANT` or `ALGORITHM=INPLACE, LOCK=NONE` on every
    change the engine can make online, and leaves them out only where it cannot (a foreign
    key or check added, a FULLTEXT index, an auto-increment column, a type change that copies).
    Anti-pattern: `ALTER TABLE loans ADD CONSTRAINT ... FOREIGN KEY ...;` in an online bundle.
    Safer: pt-online-schema-change or gh-ost.
    """
    table = _existing_alter(statement, script) if script.online else None
    if table is None or _ALGORITHM.search(statement.upper) or _why_copied(statement, script, table):
        return  # online, or said by copying_alter
    if re.match(r"ALTER TABLE \S+ (RENAME TO|COMMENT)\b", statement.upper):
        return  # metadata only
    yield Finding("mysql-not-online", "high",
                  f"this ALTER of {table} names no online algorithm: MySQL/MariaDB cannot do it online (writes wait "
                  "while it runs)", f"on a large table run it with {TOOLS}", table=table)


@reads("ALTER TABLE")
def add_foreign_key(statement: Statement, script: Script) -> Iterator[Finding]:
    """Adding a foreign key to a table in use: with foreign_key_checks on, InnoDB copies the table.

    Anti-pattern: `ALTER TABLE loans ADD CONSTRAINT loans_book_fkey FOREIGN KEY (book_id) REFERENCES books (id);`
    Safer: check the rows first, then add it with `SET foreign_key_checks = 0` (INPLACE) and set it back.
    """
    table = _existing_alter(statement, script) if not script.online else None  # online: not_online says it
    if table and re.search(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN KEY\b", statement.upper):
        checks_off = any(re.match(r"SET\s+(?:SESSION\s+)?FOREIGN_KEY_CHECKS\s*=\s*0", s.upper) for s in script.seen)
        if not checks_off:
            yield Finding("mysql-add-foreign-key", "medium",
                          f"adding a foreign key to {table} copies the table (ALGORITHM=COPY) while writes wait",
                          "verify the rows, then add it under SET foreign_key_checks = 0 (INPLACE)", table=table)


@reads("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")
def ddl_with_data(statement: Statement, script: Script) -> Iterator[Finding]:
    """DDL and data changes in one script: DDL commits at once, so a failure leaves half of it done.

    Anti-pattern: `ALTER TABLE books ADD COLUMN isbn ...; UPDATE books SET isbn = ...;`
    Safer: the schema change in one bundle, the data change in the next (or a tool built for backfills).
    """
    if not statement.changes_rows:
        return
    if any(s.upper.startswith(("ALTER ", "CREATE ", "DROP ", "RENAME ")) for s in script.statements):
        first = next(s for s in script.statements if s.changes_rows)
        if first is statement:  # said once, at the first data change
            yield Finding("mysql-ddl-with-data", "medium",
                          "this script mixes DDL with data changes: DDL commits on its own, so a failure cannot be rolled back",
                          "put the data change in a bundle of its own")


@reads("DROP TABLE", "ALTER TABLE")
def drop(statement: Statement, script: Script) -> Iterator[Finding]:
    """Dropping a table or column loses its data; MySQL cannot roll the DROP back.

    Anti-pattern: `DROP TABLE loans;`   Safer: stop using it, back it up, drop it in a later bundle.
    """
    sql = statement.upper
    table = statement.table
    if sql.startswith("DROP TABLE") and script.existed(table):
        yield Finding("mysql-drop", "high", f"DROP TABLE {table} loses its rows", "stop using it, back it up, drop it later")
    elif _existing_alter(statement, script) and re.search(
            r"\bDROP\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|FOREIGN\b|INDEX\b|KEY\b|PRIMARY\b|CHECK\b|DEFAULT\b)\S+", sql):
        yield Finding("mysql-drop", "high", f"dropping a column of {table} loses its values",
                      "stop using it, back it up, drop it later")


@reads("ALTER TABLE", "RENAME")
def rename(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rename breaks every query still using the old name, in code that is already deployed.

    Anti-pattern: `ALTER TABLE books RENAME COLUMN title TO name;`
    Safer: add the new name, write both, move the readers, then drop the old one.
    """
    sql = statement.upper
    if (_existing_alter(statement, script) and re.search(r"\bRENAME\b", sql)) or sql.startswith("RENAME TABLE"):
        yield Finding("mysql-rename", "medium", "a rename: running code that uses the old name breaks",
                      "expand and contract: add the new name, move the code, then drop the old one")


@reads("UPDATE", "DELETE", "WITH")
def unbounded_write(statement: Statement, script: Script) -> Iterator[Finding]:
    """UPDATE or DELETE without WHERE touches every row and locks them all until it commits.

    Anti-pattern: `DELETE FROM loans;`   Safer: a WHERE, in batches of a few thousand rows.
    """
    if not statement.upper.startswith(("UPDATE", "DELETE", "WITH")):
        return
    node = statement.node
    if isinstance(node, (exp.Update, exp.Delete)) and node.args.get("where") is None:
        yield Finding("mysql-unbounded-write", "high",
                      f"{type(node).__name__.upper()} without WHERE changes every row of {statement.table}",
                      "add a WHERE and work in batches", table=statement.table)


RULES = [copying_alter, type_narrowing, not_null_tightened, add_required_column, not_online, add_foreign_key,
         ddl_with_data, drop, rename, unbounded_write]
