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

from sqlglot import exp
from sqlglot.errors import SqlglotError

from reviewkit.dialects.postgres.rewrites import VOLATILE_DEFAULT, keeps_rows
from reviewkit.errors import ModelError
from reviewkit.lint.engine import Script, Statement, table_of
from reviewkit.lint.findings import Finding
from reviewkit.schema.types import from_sqlglot

_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\b")
_ADD_CONSTRAINT = re.compile(r"\bADD\s+(?:CONSTRAINT\s+\S+\s+)?(FOREIGN KEY|CHECK|UNIQUE|PRIMARY KEY)\b")
_COLUMN = r'("(?:[^"]|"")+"|\w+)'
_SET_NOT_NULL = re.compile(rf"ALTER\s+(?:COLUMN\s+)?{_COLUMN}\s+SET\s+NOT\s+NULL", re.IGNORECASE)
# The new type runs to the next comma outside parentheses (NUMERIC(12, 2)), or the end.
_TYPE_CHANGE = re.compile(rf"ALTER\s+(?:COLUMN\s+)?{_COLUMN}\s+(?:SET\s+DATA\s+)?TYPE\s+((?:[^,(]|\([^)]*\))+?)"
                          r"(?:\s+USING\s+(?:[^,(]|\([^)]*\))+)?\s*(?:,|$)", re.IGNORECASE)
_RENAME = re.compile(r"\bRENAME\s+(?:COLUMN\s+|CONSTRAINT\s+)?(?:\S+\s+)?TO\b")
_LOCK_TIMEOUT = re.compile(r"^SET\s+(?:SESSION\s+|LOCAL\s+)?LOCK_TIMEOUT\b")


def _identifier(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()


def _alters_existing(statement: Statement, script: Script) -> str | None:
    """Return the table an ALTER TABLE works on when it existed before the bundle."""
    if not statement.upper.startswith("ALTER TABLE"):
        return None
    table = table_of(statement.node)
    return table if script.existed(table) else None


def index_without_concurrently(statement: Statement, script: Script) -> Iterator[Finding]:
    """CREATE INDEX on a table in use holds a SHARE lock: writes wait for the whole build.

    Anti-pattern: `CREATE INDEX books_title ON books (title);`
    Safer: `CREATE INDEX CONCURRENTLY books_title ON books (title);` outside a transaction
    (`generate --online` writes it so).
    """
    sql = statement.upper
    if sql.startswith("CREATE") and " INDEX " in f" {sql} " and not _CONCURRENTLY.search(sql):
        table = table_of(statement.node)
        if script.existed(table):
            yield Finding("pg-index-without-concurrently", "medium",
                          f"CREATE INDEX on {table} blocks its writes (SHARE lock) until the index is built",
                          "CREATE INDEX CONCURRENTLY, outside a transaction (generate --online)", table=table)


def drop_index_without_concurrently(statement: Statement, script: Script) -> Iterator[Finding]:
    """DROP INDEX takes ACCESS EXCLUSIVE on the index's table: reads and writes wait.

    Anti-pattern: `DROP INDEX books_title;`
    Safer: `DROP INDEX CONCURRENTLY books_title;` outside a transaction.
    """
    sql = statement.upper
    if sql.startswith("DROP INDEX") and not _CONCURRENTLY.search(sql):
        name = table_of(statement.node)  # DROP INDEX names the index where DROP TABLE names the table
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


def type_change_rewrites(statement: Statement, script: Script) -> Iterator[Finding]:
    """Changing a column's type rewrites the table and its indexes under ACCESS EXCLUSIVE.

    Widening varchar(n), making it text or adding precision to a numeric does not; anything
    else does (integer -> bigint too).
    Anti-pattern: `ALTER TABLE books ALTER COLUMN id TYPE bigint;`
    Safer: add a new column, backfill it in batches, switch over in a short transaction.
    """
    table = _alters_existing(statement, script)
    for match in _TYPE_CHANGE.finditer(_one_line(statement.sql)) if table else ():
        column = _identifier(match.group(1))
        old = script.before.table(table).column(column)
        if old is not None and _keeps_rows(old.type, match.group(2)):
            yield Finding("pg-type-change", "low",
                          f"changing the type of {table}.{column} keeps the rows (no rewrite), but takes an ACCESS "
                          "EXCLUSIVE lock for the moment it runs", "set a lock_timeout so it cannot queue queries behind it",
                          table=table)
            continue
        yield Finding("pg-type-change-rewrite", "high",
                      f"changing the type of {table}.{column} rewrites the table while reads and writes wait",
                      "add a column of the new type, backfill it in batches, then swap in a short transaction",
                      table=table)


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


def _keeps_rows(old: str, new_sql: str) -> bool:
    """Tell whether a change from portable type `old` to the SQL type `new_sql` keeps the rows as they are."""
    try:
        new, _ = from_sqlglot(exp.DataType.build(new_sql, dialect="postgres"), new_sql, "postgres")
    except (SqlglotError, ValueError, ModelError):  # a type reviewkit does not map: assume the worst
        return False
    return keeps_rows(old, new)


def volatile_default(statement: Statement, script: Script) -> Iterator[Finding]:
    """A column added with a volatile default (random(), clock_timestamp()) rewrites the whole table.

    A constant or now() is stored once (PostgreSQL 11+); a volatile one is computed per row.
    Anti-pattern: `ALTER TABLE books ADD COLUMN token uuid DEFAULT gen_random_uuid();`
    Safer: add the column without a default, set the default, backfill in batches.
    """
    table = _alters_existing(statement, script)
    sql = statement.upper
    if table and " ADD " in sql and " DEFAULT " in sql and VOLATILE_DEFAULT.search(sql.split(" DEFAULT ", 1)[1]):
        yield Finding("pg-volatile-default", "high",
                      f"a column added to {table} with a volatile default rewrites every row while reads and writes wait",
                      "add it without a default, SET DEFAULT, then backfill in batches", table=table)


def rename(statement: Statement, script: Script) -> Iterator[Finding]:
    """A rename breaks every query still using the old name, in code that is already deployed.

    Anti-pattern: `ALTER TABLE books RENAME COLUMN title TO name;`
    Safer: add the new name, write both, move the readers, then drop the old one.
    """
    table = _alters_existing(statement, script)
    if table and _RENAME.search(statement.upper):
        yield Finding("pg-rename", "medium", f"a rename on {table}: running code that uses the old name breaks",
                      "expand and contract: add the new name, move the code, then drop the old one")


def drop(statement: Statement, script: Script) -> Iterator[Finding]:
    """Dropping a table or a column loses its data; the down script cannot bring it back.

    Anti-pattern: `DROP TABLE loans;` / `ALTER TABLE books DROP COLUMN notes;`
    Safer: stop using it first, keep a backup, drop it in a later bundle.
    """
    sql = statement.upper
    table = table_of(statement.node)
    if sql.startswith("DROP TABLE") and script.existed(table):
        yield Finding("pg-drop", "high", f"DROP TABLE {table} loses its rows", "stop using it, back it up, drop it later")
    elif _alters_existing(statement, script) and re.search(r"\bDROP\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|DEFAULT\b|NOT\b|IDENTITY\b|EXPRESSION\b)\S+", sql):
        yield Finding("pg-drop", "high", f"dropping a column of {table} loses its values",
                      "stop using it, back it up, drop it later")


def truncate(statement: Statement, script: Script) -> Iterator[Finding]:
    """TRUNCATE empties a table at once, under ACCESS EXCLUSIVE, with no WHERE to limit it.

    Anti-pattern: `TRUNCATE books;`   Safer: `DELETE ... WHERE ...` in batches, or a new table.
    """
    if statement.upper.startswith("TRUNCATE"):
        yield Finding("pg-truncate", "high", "TRUNCATE deletes every row of the table",
                      "delete what must go with a WHERE, in batches", table=table_of(statement.node))


def unbounded_write(statement: Statement, script: Script) -> Iterator[Finding]:
    """UPDATE or DELETE without WHERE touches every row, in one transaction, holding every row lock.

    Anti-pattern: `UPDATE books SET price = 0;`   Safer: a WHERE, in batches of a few thousand rows.
    """
    node = statement.node
    if isinstance(node, (exp.Update, exp.Delete)) and node.args.get("where") is None:
        table = table_of(node)
        yield Finding("pg-unbounded-write", "high", f"{type(node).__name__.upper()} without WHERE changes every row of {table}",
                      "add a WHERE and work in batches", table=table)


def concurrently_in_transaction(statement: Statement, script: Script) -> Iterator[Finding]:
    """CONCURRENTLY cannot run inside a transaction block: the script fails there.

    Anti-pattern: `BEGIN; CREATE INDEX CONCURRENTLY ...; COMMIT;`
    Safer: leave BEGIN/COMMIT out: reviewkit runs a script with CONCURRENTLY statement by statement.
    """
    if _CONCURRENTLY.search(statement.upper) and any(s.upper in ("BEGIN", "START TRANSACTION") for s in script.seen):
        yield Finding("pg-concurrently-in-transaction", "high",
                      "CONCURRENTLY inside BEGIN ... COMMIT fails: PostgreSQL refuses it in a transaction block",
                      "remove the BEGIN and COMMIT around it")


def no_lock_timeout(statement: Statement, script: Script) -> Iterator[Finding]:
    """An ACCESS EXCLUSIVE lock waited for without lock_timeout queues every other query behind it.

    While the ALTER waits for a long transaction to finish, every new read of the table
    waits behind the ALTER. Said once per script, at its first such statement.
    Anti-pattern: `ALTER TABLE books ...;` with no timeout.   Safer: `SET lock_timeout = '5s';` first.
    """
    if not (_alters_existing(statement, script) or _drops_existing(statement, script)):
        return
    earlier = [s for s in script.seen if _LOCK_TIMEOUT.match(s.upper)]
    flagged = any(_alters_existing(s, script) or _drops_existing(s, script) for s in script.seen)
    if not earlier and not flagged:
        yield Finding("pg-no-lock-timeout", "medium",
                      "ACCESS EXCLUSIVE locks are waited for with no lock_timeout: queries queue behind the wait",
                      "begin the script with SET lock_timeout = '5s' (generate --online does)")


def _drops_existing(statement: Statement, script: Script) -> bool:
    return statement.upper.startswith("DROP TABLE") and script.existed(table_of(statement.node))


def column_types(statement: Statement, script: Script) -> Iterator[Finding]:
    """Column types PostgreSQL's own advice prefers otherwise (low: style, not locks).

    serial over identity; an integer primary key (runs out at 2^31); varchar(n) over text
    with a check; timestamp without time zone over timestamptz.
    """
    node = statement.node
    if not isinstance(node, (exp.Create, exp.Alter)) or not statement.upper.startswith(("CREATE TABLE", "ALTER TABLE")):
        return
    for column in node.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        if kind is None:
            continue
        name = column.name
        if kind.this in (exp.DataType.Type.SERIAL, exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SMALLSERIAL):
            yield Finding("pg-prefer-identity", "low", f"{name} is serial", "use GENERATED BY DEFAULT AS IDENTITY")
        if kind.this == exp.DataType.Type.INT and _is_primary_key(column, node):
            yield Finding("pg-prefer-bigint-key", "low", f"primary key {name} is integer: it runs out at 2^31",
                          "use bigint")
        if kind.this == exp.DataType.Type.VARCHAR and kind.expressions:
            yield Finding("pg-prefer-text", "low", f"{name} is varchar(n): changing n later locks the table",
                          "use text with a CHECK (length(...) <= n)")
        if kind.this == exp.DataType.Type.TIMESTAMP:
            yield Finding("pg-prefer-timestamptz", "low", f"{name} is timestamp without time zone",
                          "use timestamptz")


def _is_primary_key(column: exp.ColumnDef, node: exp.Expression) -> bool:
    if any(isinstance(c.args.get("kind"), exp.PrimaryKeyColumnConstraint) for c in column.constraints):
        return True
    for key in node.find_all(exp.PrimaryKey):
        names = [e.name for e in key.expressions]
        if names == [column.name]:
            return True
    return False


RULES = [
    index_without_concurrently, drop_index_without_concurrently, constraint_without_not_valid, set_not_null,
    unique_without_index, type_change_rewrites, volatile_default, rename, drop, truncate, unbounded_write,
    concurrently_in_transaction, no_lock_timeout, column_types,
]
