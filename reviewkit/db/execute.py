"""Run one statement of a bundle script, naming it when it fails.

A failure names the statement's number, its line in the file and the first line of its
text; a statement that ran but reports a problem (SQLite's foreign_key_check) fails too.
"""

from __future__ import annotations

from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.errors import OperationFailed


class StatementFailed(OperationFailed):
    """A statement of a script failed on the database."""

    def __init__(self, where: str, number: int, statement: ScriptStatement, message: str) -> None:
        first = statement.sql.strip().splitlines()[0][:80]
        super().__init__(f"{where}: statement {number} (line {statement.line}) failed: {message}\n  {first}")
        self.number = number


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
