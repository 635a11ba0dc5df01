"""Run the statements of a bundle script, naming the one that fails.

A failure names the statement's number, its line in the file and the first line of its
text; a statement that ran but reports a problem (SQLite's foreign_key_check) fails too.
`run_script` runs a whole script as `apply` does, but records nothing: for `prove` and
anything else that replays scripts on a scratch database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress

from reviewkit.bundle.script_file import ScriptStatements
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.errors import OperationFailed


class StatementFailed(OperationFailed):
    """A statement of a script failed on the database."""

    def __init__(self, where: str, number: int, statement: ScriptStatement, message: str) -> None:
        first = statement.sql.strip().splitlines()[0][:80]
        super().__init__(f"{where}: statement {number} (line {statement.line}) failed: {message}\n  {first}")
        self.where = where
        self.number = number
        self.line = statement.line
        self.message = message

    @property
    def ledger_text(self) -> str:
        """What the ledger's `error` keeps: the statement, its line and the engine's message (the file is the row's)."""
        return f"statement {self.number} (line {self.line}): {self.message}"


def ledger_error(failure: OperationFailed) -> str:
    """Return what the ledger records of a failure: a failed statement's own words, or the whole message."""
    return failure.ledger_text if isinstance(failure, StatementFailed) else str(failure)


def run_statement(
    conn: Connection, statement: ScriptStatement, number: int, where: str, note: Callable[[str], None] | None = None,
) -> None:
    """Run one statement of a script, raising StatementFailed that names it.

    What an interrupted earlier run of the statement left in its way (an INVALID index) is
    removed first, and `note` told so.
    """
    driver = get_dialect(conn.dialect).driver
    try:
        cleared = driver.clear_leftovers(conn, statement.sql)
        if cleared and note is not None:
            note(f"{where}: statement {number} (line {statement.line}): {cleared}")
        rows = conn.query(statement.sql)
    except OperationFailed as err:
        raise StatementFailed(where, number, statement, str(err)) from None
    problem = driver.statement_problem(statement.sql, rows)
    if problem:
        raise StatementFailed(where, number, statement, problem)


def run_script(conn: Connection, statements: Sequence[ScriptStatement], where: str, online: bool = False,
               cuts: Callable[[Sequence[ScriptStatement]], set[int]] | None = None) -> None:
    """Run a script's statements as `apply` does, without a ledger; raise StatementFailed naming the failing one.

    Where DDL is transactional, no statement refuses a transaction (CONCURRENTLY) and the
    script is not an online bundle's on an engine with online forms, the script runs in one
    transaction, so a failure leaves nothing of it; otherwise statement by statement, and
    the statements before the failing one stay done. `cuts`, given such a script, returns
    the numbers of the statements that begin a new transaction (`apply --batch`): the
    groups before a failing one stay done.
    """
    driver = get_dialect(conn.dialect).driver
    in_transaction = in_one_transaction(conn.dialect, statements, online)
    starts = cuts(statements) if in_transaction and cuts is not None else set()
    restore = driver.prepare_session(conn)
    try:
        if in_transaction:
            conn.begin()
        for number, statement in enumerate(statements, 1):
            if number in starts:
                conn.commit()
                conn.begin()
            run_statement(conn, statement, number, where)
        if in_transaction:
            conn.commit()
    except BaseException:
        # The failure (or Ctrl-C) is what matters: a connection it broke may refuse
        # the rollback and the session's restore too.
        if in_transaction:
            with suppress(OperationFailed):
                conn.rollback()
        with suppress(OperationFailed):
            restore()
        raise
    restore()


def in_one_transaction(dialect: str, statements: Sequence[ScriptStatement], online: bool = False) -> bool:
    """Tell whether a script runs in one transaction: DDL is transactional, no statement refuses a
    transaction (CONCURRENTLY), and it is not an online bundle's (`online`) on an engine with online
    forms, whose VALIDATE must not hold the lock of the ADD before it. SQLite's online scripts are
    its plain ones, and run as they do."""
    engine = get_dialect(dialect)
    if online and engine.online_forms:
        return False
    if not engine.transactional_ddl:
        return False
    if isinstance(statements, ScriptStatements) and statements.watch == engine.driver.needs_autocommit:
        return not statements.any_watched  # answered by the pass that counted them: a large script is read once less
    return not any(engine.driver.needs_autocommit(s.sql) for s in statements)
