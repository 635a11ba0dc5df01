"""SQL per dialect: compile operations into each engine's statements.

All that PostgreSQL, MySQL/MariaDB and SQLite do differently lives in their modules;
this one looks them up and walks a list of operations with the schema state at hand,
so that a compile function can see the table before and after its operation.
"""

from __future__ import annotations

from reviewkit.dialects.compiler import CompileContext, CompiledOperation, DialectSQL
from reviewkit.dialects.mysql.compiler import MySQLSQL
from reviewkit.dialects.postgres.compiler import PostgresSQL
from reviewkit.dialects.sqlite.compiler import SQLiteSQL
from reviewkit.errors import UsageError
from reviewkit.schema.operations import Operation
from reviewkit.schema.state import Schema

DIALECTS: dict[str, DialectSQL] = {d.name: d for d in (PostgresSQL(), MySQLSQL(), SQLiteSQL())}


def dialect_names() -> tuple[str, ...]:
    """Return the name of every dialect reviewkit can compile for and connect to."""
    return tuple(DIALECTS)


def get_dialect(name: str) -> DialectSQL:
    try:
        return DIALECTS[name]
    except KeyError:
        raise UsageError(f"unknown dialect {name!r} (known: {', '.join(DIALECTS)})") from None


def contexts_for(operations: list[Operation], before: Schema) -> list[CompileContext]:
    """Return the schema before and after each operation; computed once, shared by all dialects."""
    contexts = []
    state = before
    for op in operations:
        after = op.apply(state)
        contexts.append(CompileContext(state, after))
        state = after
    return contexts


def compile_operations(
    operations: list[Operation], before: Schema, dialect: DialectSQL, contexts: list[CompileContext] | None = None
) -> list[CompiledOperation]:
    """Return each operation's statements, compiled against the state it runs on."""
    contexts = contexts if contexts is not None else contexts_for(operations, before)
    return dialect.compile_all(operations, contexts)
