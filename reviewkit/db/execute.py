"""Run a bundle script's statements on a connection.

Where the engine's DDL is transactional the whole script runs in one transaction and a
failure leaves nothing behind; elsewhere each statement commits on its own. A failure
names the statement's number, its line in the file and the first line of its text.
"""

from __future__ import annotations

from reviewkit.db.statements import ScriptStatement, split_statements
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.errors import OperationFailed


class StatementFailed(OperationFailed):
    """A statement of a script failed on the database."""

    def __init__(self, where: str, number: int, statement: ScriptStatement, message: str) -> None:
        first = statement.sql.strip().splitlines()[0][:80]
        super().__init__(f"{where}: statement {number} (line {statement.line}) failed: {message}\n  {first}")
        self.number = number


def run_script(conn: Connection, text: str, where: str) -> int:
    """Run every statement of `text`; return how many ran."""
    dialect = get_dialect(conn.dialect)
    statements = split_statements(text, conn.dialect)
    restore = dialect.driver.prepare_session(conn)
    try:
        if dialect.transactional_ddl:
            conn.begin()
        try:
            for number, statement in enumerate(statements, 1):
                run_statement(conn, statement, number, where)
            if dialect.transactional_ddl:
                conn.commit()
        except BaseException:
            if dialect.transactional_ddl:
                conn.rollback()
            raise
    finally:
        restore()
    return len(statements)


def run_statement(conn: Connection, statement: ScriptStatement, number: int, where: str) -> None:
    """Run one statement of a script, raising StatementFailed that names it."""
    driver = get_dialect(conn.dialect).driver
    try:
        rows = conn.query(statement.sql)
    except OperationFailed as err:
        raise StatementFailed(where, number, statement, str(err)) from None
    problem = driver.statement_problem(statement.sql, rows)
    if problem:
        raise StatementFailed(where, number, statement, problem)
