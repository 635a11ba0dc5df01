"""A bundle that failed half-way, explained from the live schema: on an engine without transactional DDL, or
in groups (`apply --batch`).

MySQL and MariaDB commit each DDL statement: after statement k failed, statements 1..k-1
are in the database and the rest are not. The ledger says how many statements ran; this
module says what that means for the schema, by comparing the live schema with the
bundle's parent and with its own `schema.json` (both as the engine stores them): which of
the bundle's changes are there, which are not yet, and what else the database has that
the bundle does not explain. Each statement is tied to the operation it performs by the
numbered comment (`-- 3. ...`) the script carries above each operation's statements.
"""

from __future__ import annotations

from reviewkit.bundle.script_file import bundle_statements, is_large
from reviewkit.bundle.store import Bundle
from reviewkit.db.execute import in_one_transaction
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import LedgerRow, failed_statement
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.lint.risk import NumberedOperations
from reviewkit.plural import first_statements
from reviewkit.schema.state import Schema

_SHOWN = 8  # changes listed per line


def explain_partial(conn: Connection, bundle: Bundle, parent: Bundle | None, row: LedgerRow) -> list[str]:
    """Return lines saying which statements and changes of a half-applied bundle took effect."""
    compiler = get_dialect(conn.dialect).compiler
    parent_schema = compiler.stored_form(parent.schema() if parent else Schema())
    bundle_schema = compiler.stored_form(bundle.schema())
    start, goal = (parent_schema, bundle_schema) if row.direction == "up" else (bundle_schema, parent_schema)
    live = introspect(conn, unmapped=True)
    changes = schema_differences(start, goal)
    done = _keys(schema_differences(start, live))
    left = _keys(schema_differences(live, goal))
    expected = _keys(changes)
    took = [c for c in changes if _key(c) in done and _key(c) not in left]
    partly = [c for c in changes if _key(c) in done and _key(c) in left]
    not_yet = [c for c in changes if _key(c) not in done]
    others = [d for d in schema_differences(start, live) if _key(d) not in expected]
    lines = [_statements_line(bundle, conn.dialect, row)]
    for label, found in (("took effect", took), ("partly done", partly), ("not yet done", not_yet),
                         ("in the database but not in the bundle", others)):
        if found:
            lines.append(f"{label}: {_listed(found)}")
    return lines


def _statements_line(bundle: Bundle, dialect: str, row: LedgerRow) -> str:
    """Say which statements ran and which operation the failed one belongs to."""
    statements = bundle_statements(bundle, dialect, row.direction)
    failed = row.statements_done + 1
    done = first_statements(row.statements_done)
    stopped = "stopped" if row.status == "running" else "failed"  # running: the runner died or lost its connection
    # A script that would run in one transaction got this far in groups (`apply --batch`).
    how = "committed in groups (--batch)" if in_one_transaction(dialect, statements, bundle.online) else \
        "each committed on its own"
    if failed > len(statements):  # stopped between its last statement and the row that says applied
        return (f"{bundle.id} ({row.direction}) stopped after its last statement, before it was recorded as "
                f"applied: {done} took effect, {how}")
    at = failed_statement(row) if row.status == "failed" else failed  # --batch: its group was rolled back with it
    text = f"{bundle.id} ({row.direction}) {stopped} at statement {at} of {len(statements)}: {done} took effect, {how}"
    # A large (hand-written data) script has no numbered operations, and is not read whole for them.
    if failed <= len(statements) and not is_large(statements.path):
        operation = NumberedOperations(bundle.script(dialect, row.direction)).above(statements[failed - 1].line)
        if operation:
            text += f"; statement {failed} belongs to operation {operation[0]} ({operation[1]})"
    return text


def _key(difference: Difference) -> tuple[str, str]:
    return difference.object, difference.name


def _keys(differences: list[Difference]) -> set[tuple[str, str]]:
    return {_key(d) for d in differences}


def _listed(differences: list[Difference]) -> str:
    shown = [f"{d.object} {d.name} {_done_word(d.change)}" for d in differences[:_SHOWN]]
    more = f" and {len(differences) - _SHOWN} more" if len(differences) > _SHOWN else ""
    return "; ".join(shown) + more


def _done_word(change: str) -> str:
    """The change a bundle makes, in the words `schema_differences(start, goal)` gives it."""
    return {"added": "added", "missing": "dropped", "changed": "changed"}[change]
