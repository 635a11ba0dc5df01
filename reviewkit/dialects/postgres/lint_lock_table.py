"""The `lint` rule that counts a script's locks against the lock table of a PostgreSQL with default settings.

A script that runs in one transaction keeps every lock until it commits (see `locks`);
`apply` refuses one whose estimate does not fit the server's table. This rule says so
before anyone approves: at the statement where a default server's share for one
transaction runs out, with the whole script's estimate. `lint --database` judges the
same estimate against that server's own settings (`reviewkit.lint.findings.weighed_locks`).
"""

from __future__ import annotations

from collections.abc import Iterator

from reviewkit.dialects.postgres.locks import DEFAULT, LockCounter
from reviewkit.lint.engine import Script, Statement
from reviewkit.lint.findings import Finding, lock_table_finding

RULE = "pg-lock-table-full"


def lock_table_full(statement: Statement, script: Script) -> Iterator[Finding]:
    """A script run in one transaction that locks more objects than a default server's lock table holds.

    Anti-pattern: one bundle that creates (or drops) some 500 tables or more, applied in one transaction.
    Safer: `reviewkit apply --batch auto` (commits in groups, each recorded in the ledger), or a
    larger `max_locks_per_transaction` on the server.
    """
    found = script.memo.get(RULE)
    if found is None:
        found = script.memo[RULE] = _crossing(script)
    at, total = found
    if statement.number == at:
        yield lock_table_finding(RULE, total, DEFAULT, statement.number)


def _crossing(script: Script) -> tuple[int, int]:
    """Return the statement at which the script's transaction passes a default server's share (0: never), and its total."""
    from reviewkit.dialects.postgres import DIALECT  # the package imports this module only when its rules are asked for

    if script.online or any(DIALECT.driver.needs_autocommit(s.sql) for s in script.statements):
        return 0, 0  # statement by statement: each transaction holds one statement's locks
    counter = LockCounter(lambda: script.before)
    at = 0
    for statement in script.statements:
        counter.add(statement.sql)
        if not at and counter.total > DEFAULT.budget:
            at = statement.number
    return at, counter.total
