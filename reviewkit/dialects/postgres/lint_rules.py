"""PostgreSQL's `lint` rules: which statement takes which lock, for how long, and the safer form.

The locks are those of PostgreSQL's documentation ("Explicit Locking", and each
statement's page): most ALTER TABLE forms take ACCESS EXCLUSIVE, which blocks every
read and write of the table until the transaction ends, and some also scan or rewrite
the whole table while holding it. A rule's finding names the table (`table`) when the
harm grows with the table's size, so that `--database` can weigh it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from reviewkit.dialects.postgres import lint_columns
from reviewkit.dialects.postgres.rewrites import TOOLS, VOLATILE_DEFAULT, keeps_rows
from reviewkit.errors import ModelError
from reviewkit.lint.engine import Script, Statement, reads
from reviewkit.lint.findings import Finding
from reviewkit.schema.state import Column
from reviewkit.schema.types import from_sqlglot, is_widening, parse_type

_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b")
_ADD_CONSTRAINT = re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?(FOREIGN KEY|CHECK|UNIQUE|PRIMARY KEY)\b")
_COLUMN = r'("(?:[^"]|"")+"|\w+)'
_SET_NOT_NULL = re.compile(rf"ALTER\s+(?:COLUMN\s+)?{_COLUMN}\s+SET\s+NOT\s+NULL", re.IGNORECASE)
# The new type runs to the next comma outside parentheses (NUMERIC(12, 2)), or the end.
_TYPE_CHANGE = re.compile(rf"ALTER\s+(?:COLUMN\s+)?{_COLUMN}\s+(?:SET\s+DATA\s+)?TYPE\s+((?:[^,(]|\([^)]*\))+?)"
                          r'(?:\s+COLLATE\s+(?:"[^"]*"|\S+))?'
                          r"(?:\s+USING\s+(?:[^,(]|\([^)]*\))+)?\s*(?:,|$)", re.IGNORECASE)
_RENAME = re.compile(r"\bRENAME\s+(?:COLUMN\s+|CONSTRAINT\s+)?(?:\S+\s+)?TO\b")
_LOCK_TIMEOUT = re.compile(r"^SET\s+(?:SESSION\s+|LOCAL\s+)?LOCK_TIMEOUT\b")


def _identifier(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _alters_existing(statement: Statement, script: Script) -> str | None:
    """Return the table an ALTER TABLE works on when it existed before the bundle."""
    if not statement.upper.startswith("ALTER TABLE"):
        return None
    table = statement.table
    return table if script.existed(table) else None


@reads("CREATE")
def index_without_concurrently(statement: Statement, script: Script) -> Iterator[Finding]:
    """CREATE INDEX on a table in use holds a SHARE lock: writes wait for the whole build.

    Anti-pattern: `CREATE INDEX books_title ON books (title);`
    Safer: `CREATE INDEX CONCURRENTLY books_title ON books (title);` outside a transaction
    (`generate --online` writes it so).
    """
    sql = statement.upper
    if sql.startswith("CREATE") and " INDEX " in f" {sql} " and not _CONCURRENTLY.search(sql):
        table = statement.table
        if script.existed(table):
            yield Finding("pg-index-without-concurrently", "medium",
                          f"CREATE INDEX on {table} blocks its writes (SHARE lock) until the index is built",
                          "CREATE INDEX CONCURRENTLY, outside a transaction (generate --online)", table=table)


@reads("DROP INDEX")
def drop_index_without_concurrently(statement: Statement, script: Script) -> Iterator[Finding]:
    """DROP INDEX takes ACCESS EXCLUSIVE on the index's table: reads and writes wait.

    Anti-pattern: `DROP INDEX books_title;`
    Safer: `DROP INDEX CONCURRENTLY books_title;` outside a transaction.
    """
    sql = statement.upper
    if sql.startswith("DROP INDEX") and not _CONCURRENTLY.search(sql):
        name = statement.table  # DROP INDEX names the index where DROP TABLE names the table
        table = _table_of_index(script, name)
        if table is not None:
            yield Finding("pg-drop-index-without-concurrently", "medium",
                          f"DROP INDEX {name} locks {table} against reads and writes (ACCESS EXCLUSIVE)",
                          "DROP INDEX CONCURRENTLY, outside a transaction (generate --online)", table=table)


def _table_of_index(script: Script, name: str | None) -> str | None:
    for table in script.before.tables:
        if any(index.name == name for index in table.indexes):
            return table.name
    return None


@reads("ALTER TABLE")
def constraint_without_not_valid(statement: Statement, script: Script) -> Iterator[Finding]:
    """A foreign key or check added to a table in use is checked against every row under the lock.

    Anti-pattern: `ALTER TABLE loans ADD CONSTRAINT loans_book_fkey FOREIGN KEY (book_id) REFERENCES books;`
    Safer: `... NOT VALID;` then `ALTER TABLE loans VALIDATE CONSTRAINT loans_book_fkey;`,
    which checks the rows under a lock that lets reads and writes go on.
    """
    table = _alters_existing(statement, script)
    match = _ADD_CONSTRAINT.search(statement.upper) if table else None
    if match and match.group(1) in ("FOREIGN KEY", "CHECK") and "NOT VALID" not in statement.upper:
        yield Finding("pg-constraint-without-not-valid", "medium",
                      f"adding a {match.group(1).lower()} to {table} checks every row while writes wait",
                      "add it NOT VALID, then VALIDATE CONSTRAINT in a later statement (generate --online)",
                      table=table)


@reads("ALTER TABLE")
def set_not_null(statement: Statement, script: Script) -> Iterator[Finding]:
    """SET NOT NULL scans the whole table under ACCESS EXCLUSIVE, unless a validated CHECK proves it.

    Anti-pattern: `ALTER TABLE books ALTER COLUMN isbn SET NOT NULL;`
    Safer: `ADD CONSTRAINT books_isbn_not_null CHECK (isbn IS NOT NULL) NOT VALID;`,
    `VALIDATE CONSTRAINT books_isbn_not_null;`, then SET NOT NULL (no scan) and drop the check.
    """
    table = _alters_existing(statement, script)
    match = _SET_NOT_NULL.search(_one_line(statement.sql)) if table else None
    if match:
        column = _identifier(match.group(1))
        proven = any(re.search(rf"\bCHECK\s*\(\s*\"?{re.escape(column.upper())}\"?\s+IS\s+NOT\s+NULL\s*\)", seen.upper)
                     for seen in script.seen)
        if not proven:
            yield Finding("pg-set-not-null", "medium",
                          f"SET NOT NULL on {table}.{column} scans every row while reads and writes wait",
                          "prove it first with a CHECK (column IS NOT NULL) NOT VALID, validated (generate --online)",
                          table=table)


@reads("ALTER TABLE")
def unique_without_index(statement: Statement, script: Script) -> Iterator[Finding]:
    """A UNIQUE constraint added to a table in use builds its index under ACCESS EXCLUSIVE.

    Anti-pattern: `ALTER TABLE books ADD CONSTRAINT books_isbn_key UNIQUE (isbn);`
    Safer: `CREATE UNIQUE INDEX CONCURRENTLY books_isbn_key ON books (isbn);` then
    `ALTER TABLE books ADD CONSTRAINT books_isbn_key UNIQUE USING INDEX books_isbn_key;`
    """
    table = _alters_existing(statement, script)
    match = _ADD_CONSTRAINT.search(statement.upper) if table else None
    if match and match.group(1) in ("UNIQUE", "PRIMARY KEY") and "USING INDEX" not in statement.upper:
        yield Finding("pg-unique-without-index", "medium",
                      f"adding a {match.group(1).lower()} to {table} builds its index while reads and writes wait",
                      "build a unique index CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX (generate --online)",
                      table=table)


@reads("ALTER TABLE")
def type_change_rewrites(statement: Statement, script: Script) -> Iterator[Finding]:
    """Changing a column's type rewrites the table and its indexes under ACCESS EXCLUSIVE.

    Widening varchar(n), making it text or adding precision to a numeric does not; anything
    else does (integer -> bigint too). In an online bundle no lock-safe form exists: high.
    Anti-pattern: `ALTER TABLE books ALTER COLUMN id TYPE bigint;`
    Safer: add a new column, backfill it in batches, switch over in a short transaction.
    """
    for table, column, old, new in _type_changes(statement, script):
        if old is not None and new is not None and keeps_rows(old.type, new):
            yield Finding("pg-type-change", "low",
                          f"changing the type of {table}.{column} keeps the rows (no rewrite), but takes an ACCESS "
                          "EXCLUSIVE lock for the moment it runs", "set a lock_timeout so it cannot queue queries behind it",
                          table=table)
            continue
        if script.online:
            yield Finding("pg-type-change-rewrite", "high",
                          f"changing the type of {table}.{column} rewrites the table: PostgreSQL cannot do this online "
                          "(reads and writes wait while it runs)",
                          f"on a large table add a column of the new type, backfill it in batches and swap, or use {TOOLS}",
                          table=table)
        else:
            yield Finding("pg-type-change-rewrite", "medium",
                          f"changing the type of {table}.{column} rewrites the table while reads and writes wait",
                          "add a column of the new type, backfill it in batches, then swap in a short transaction",
                          table=table)


@reads("ALTER TABLE")
def type_narrowing(statement: Statement, script: Script) -> Iterator[Finding]:
    """A type that cannot hold every value of the old one: the statement fails on the first that does not fit.

    Anti-pattern: `ALTER TABLE books ALTER COLUMN title TYPE varchar(50);` (was varchar(100)).
    Safer: check the longest value first (`SELECT max(length(title)) FROM books`), shorten what must be.
    """
    for table, column, old, new in _type_changes(statement, script):
        if old is not None and new is not None and not is_widening(parse_type(old.type), parse_type(new)):
            yield Finding("pg-type-narrowing", "high",
                          f"changing {table}.{column} from {old.type} to {new} narrows it: a value that does not fit fails "
                          "the bundle", "find and fix the values that do not fit before the change")


def _type_changes(statement: Statement, script: Script) -> list[tuple[str, str, Column | None, str | None]]:
    """Return (table, column, the column as it was, its new portable type) of each type change of a table in use."""
    table = _alters_existing(statement, script)
    if table is None:
        return []
    changes = []
    for match in _TYPE_CHANGE.finditer(_one_line(statement.sql)):
        column = _identifier(match.group(1))
        changes.append((table, column, script.before.table(table).column(column), _portable(match.group(2))))
    return changes


@lru_cache(maxsize=4096)  # several rules ask of the same statement's type
def _portable(new_sql: str) -> str | None:
    """Return the portable type of the SQL type `new_sql`, None when reviewkit does not map it."""
    try:
        new, _ = from_sqlglot(exp.DataType.build(new_sql, dialect="postgres"), new_sql, "postgres")
    except (SqlglotError, ValueError, ModelError):
        return None
    return new


_CREATE_ENUM = re.compile(rf"\s*CREATE\s+TYPE\s+(?:{_COLUMN}\s*\.\s*)?{_COLUMN}\s+AS\s+ENUM\s*\((.*)\)\s*$",
                          re.IGNORECASE | re.DOTALL)


@reads("CREATE")
def enum_value_removed(statement: Statement, script: Script) -> Iterator[Finding]:
    """An enum type made again without a value it had: converting a row that holds the value fails.

    PostgreSQL has no ALTER TYPE ... DROP VALUE: the type is renamed, made again, and every
    column of it converted, which rewrites those tables.
    Anti-pattern: `CREATE TYPE mood AS ENUM ('happy', 'sad');` replacing ('happy', 'sad', 'ok').
    Safer: update the rows that hold the value first.
    """
    match = _CREATE_ENUM.match(statement.sql)
    if not match:
        return
    name = _identifier(match.group(2))
    old = script.before.enum_types().get(name)
    new = [value.replace("''", "'") for value in re.findall(r"'((?:[^']|'')*)'", match.group(3))]
    if old is None:
        return
    removed = [value for value in old if value not in new]
    if removed:
        yield Finding("pg-enum-value-removed", "high",
                      f"enum {name} loses {', '.join(removed)}: converting a row that holds one fails, and every column "
                      "of the type is rewritten", "update the rows that hold it first")


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


@reads("ALTER TABLE")
def volatile_default(statement: Statement, script: Script) -> Iterator[Finding]:
    """A column added with a volatile default (random(), clock_timestamp()) rewrites the whole table.

    A constant or now() is stored once (PostgreSQL 11+); a volatile one is computed per row.
    In an online bundle no lock-safe form exists: high.
    Anti-pattern: `ALTER TABLE books ADD COLUMN token uuid DEFAULT gen_random_uuid();`
    Safer: add the column without a default, set the default, backfill in batches.
    """
    table = _alters_existing(statement, script)
    sql = statement.upper
    if table and " ADD " in sql and " DEFAULT " in sql and VOLATILE_DEFAULT.search(sql.split(" DEFAULT ", 1)[1]):
        if script.online:
            yield Finding("pg-volatile-default", "high",
                          f"a column added to {table} with a volatile default rewrites the table: PostgreSQL cannot do "
                          "this online (reads and writes wait while it runs)",
                          f"add it without a default, SET DEFAULT, then backfill in batches; or use {TOOLS}", table=table)
        else:
            yield Finding("pg-volatile-default", "medium",
                          f"a column added to {table} with a volatile default rewrites every row while reads and writes wait",
                          "add it without a default, SET DEFAULT, then backfill in batches", table=table)


@reads("ALTER TABLE")
def rename(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rename breaks every query still using the old name, in code that is already deployed.

    Anti-pattern: `ALTER TABLE books RENAME COLUMN title TO name;`
    Safer: add the new name, write both, move the readers, then drop the old one.
    """
    table = _alters_existing(statement, script)
    if table and _RENAME.search(statement.upper):
        yield Finding("pg-rename", "medium", f"a rename on {table}: running code that uses the old name breaks",
                      "expand and contract: add the new name, move the code, then drop the old one")


@reads("DROP TABLE", "ALTER TABLE")
def drop(statement: Statement, script: Script) -> Iterator[Finding]:
    """Dropping a table or a column loses its data; the down script cannot bring it back.

    Anti-pattern: `DROP TABLE loans;` / `ALTER TABLE books DROP COLUMN notes;`
    Safer: stop using it first, keep a backup, drop it in a later bundle.
    """
    sql = statement.upper
    table = statement.table
    if sql.startswith("DROP TABLE") and script.existed(table):
        yield Finding("pg-drop", "high", f"DROP TABLE {table} loses its rows", "stop using it, back it up, drop it later")
    elif _alters_existing(statement, script) and re.search(r"\bDROP\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|DEFAULT\b|NOT\b|IDENTITY\b|EXPRESSION\b)\S+", sql):
        yield Finding("pg-drop", "high", f"dropping a column of {table} loses its values",
                      "stop using it, back it up, drop it later")


@reads("TRUNCATE")
def truncate(statement: Statement, script: Script) -> Iterator[Finding]:
    """TRUNCATE empties a table at once, under ACCESS EXCLUSIVE, with no WHERE to limit it.

    Anti-pattern: `TRUNCATE books;`   Safer: `DELETE ... WHERE ...` in batches, or a new table.
    """
    if statement.upper.startswith("TRUNCATE"):
        yield Finding("pg-truncate", "high", "TRUNCATE deletes every row of the table",
                      "delete what must go with a WHERE, in batches", table=statement.table)


@reads("UPDATE", "DELETE", "WITH")
def unbounded_write(statement: Statement, script: Script) -> Iterator[Finding]:
    """UPDATE or DELETE without WHERE touches every row, in one transaction, holding every row lock.

    Anti-pattern: `UPDATE books SET price = 0;`   Safer: a WHERE, in batches of a few thousand rows.
    """
    if not statement.upper.startswith(("UPDATE", "DELETE", "WITH")):
        return
    node = statement.node
    if isinstance(node, (exp.Update, exp.Delete)) and node.args.get("where") is None:
        table = statement.table
        yield Finding("pg-unbounded-write", "high", f"{type(node).__name__.upper()} without WHERE changes every row of {table}",
                      "add a WHERE and work in batches", table=table)


@reads("CREATE", "DROP", "REINDEX", "REFRESH", "ALTER")
def concurrently_in_transaction(statement: Statement, script: Script) -> Iterator[Finding]:
    """CONCURRENTLY cannot run inside a transaction block: the script fails there.

    Anti-pattern: `BEGIN; CREATE INDEX CONCURRENTLY ...; COMMIT;`
    Safer: leave BEGIN/COMMIT out: reviewkit runs a script with CONCURRENTLY statement by statement.
    """
    if "CONCURRENTLY" in statement.upper and _CONCURRENTLY.search(statement.upper) and any(s.upper in ("BEGIN", "START TRANSACTION") for s in script.seen):
        yield Finding("pg-concurrently-in-transaction", "high",
                      "CONCURRENTLY inside BEGIN ... COMMIT fails: PostgreSQL refuses it in a transaction block",
                      "remove the BEGIN and COMMIT around it")


@reads("ALTER", "DROP")
def no_lock_timeout(statement: Statement, script: Script) -> Iterator[Finding]:
    """An ACCESS EXCLUSIVE lock waited for without lock_timeout queues every other query behind it.

    While the ALTER waits for a long transaction to finish, every new read of the table
    waits behind the ALTER. Said once per script, at its first such statement; low, as the
    statement's own finding says how long it holds the lock.
    Anti-pattern: `ALTER TABLE books ...;` with no timeout.   Safer: `SET lock_timeout = '5s';` first.
    """
    first = script.memo.get("pg-no-lock-timeout")
    if first is None:  # worked out once per script: the first such statement, unless a lock_timeout comes before it
        first = 0
        for earlier in script.statements:
            if _LOCK_TIMEOUT.match(earlier.upper):
                break
            if _alters_existing(earlier, script) or _drops_existing(earlier, script):
                first = earlier.number
                break
        script.memo["pg-no-lock-timeout"] = first
    if statement.number == first:
        yield Finding("pg-no-lock-timeout", "low",
                      "ACCESS EXCLUSIVE locks are waited for with no lock_timeout: queries queue behind the wait",
                      "begin the script with SET lock_timeout = '5s' (generate --online does)")


def _drops_existing(statement: Statement, script: Script) -> bool:
    return statement.upper.startswith("DROP TABLE") and script.existed(statement.table)


@reads("CREATE TABLE", "ALTER TABLE")
def column_types(statement: Statement, script: Script) -> Iterator[Finding]:
    """Column types PostgreSQL's own advice prefers otherwise (low: style, not locks).

    serial over identity; an integer primary key (runs out at 2^31); varchar(n) over text
    with a check; timestamp without time zone over timestamptz. Read from sqlglot's tokens
    (`lint_columns`): a CREATE TABLE's column list or an ALTER TABLE's ADD COLUMNs.
    """
    if not (statement.upper.startswith("CREATE TABLE") or _ADDS_COLUMN.search(statement.upper)):
        return
    for name, first, sized, zoned, primary_key in lint_columns.column_types(statement, script, _FLAGGED_TYPES):
        if first in _SERIALS:
            yield Finding("pg-prefer-identity", "low", f"{name} is serial", "use GENERATED BY DEFAULT AS IDENTITY")
        if first == TokenType.INT and primary_key:
            yield Finding("pg-prefer-bigint-key", "low", f"primary key {name} is integer: it runs out at 2^31",
                          "use bigint")
        if first == TokenType.VARCHAR and sized:
            yield Finding("pg-prefer-text", "low", f"{name} is varchar(n): changing n later locks the table",
                          "use text with a CHECK (length(...) <= n)")
        if first == TokenType.TIMESTAMP and not zoned:
            yield Finding("pg-prefer-timestamptz", "low", f"{name} is timestamp without time zone",
                          "use timestamptz")


_ADDS_COLUMN = re.compile(r"^ALTER TABLE .*\bADD (?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|FOREIGN\b|CHECK\b|EXCLUDE\b|INDEX\b)")
_SERIALS = (TokenType.SERIAL, TokenType.BIGSERIAL, TokenType.SMALLSERIAL)
_FLAGGED_TYPES = frozenset({*_SERIALS, TokenType.INT, TokenType.VARCHAR, TokenType.TIMESTAMP})  # the only ones column_types reads


@reads("ALTER TABLE")
def add_required_column(statement: Statement, script: Script) -> Iterator[Finding]:
    """A NOT NULL column added without a default to a table in use: the statement fails if the table has a row.

    Anti-pattern: `ALTER TABLE books ADD COLUMN isbn text NOT NULL;`
    Safer: add it with a default (stored once, no rewrite), or nullable, backfill, then SET NOT NULL.
    """
    table = _alters_existing(statement, script)
    if table is None or not _ADDS_COLUMN.search(statement.upper):
        return
    for name, kind, _ in lint_columns.column_definitions(statement):
        words = " ".join(t.text.upper() for t in kind)
        if "NOT NULL" in words and not any(w in words for w in ("DEFAULT", "GENERATED", "IDENTITY", "SERIAL")):
            yield Finding("pg-add-required-column", "medium",
                          f"adds NOT NULL column {table}.{name} without a default: fails if the table has rows",
                          "give it a default, or add it nullable, backfill it, then SET NOT NULL", table=table)


RULES = [
    index_without_concurrently, drop_index_without_concurrently, constraint_without_not_valid, set_not_null,
    unique_without_index, type_change_rewrites, type_narrowing, enum_value_removed, add_required_column, volatile_default,
    rename, drop, truncate, unbounded_write, concurrently_in_transaction, no_lock_timeout, column_types,
]
