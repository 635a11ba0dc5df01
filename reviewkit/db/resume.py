"""Where `apply --resume` starts again: did the statement that was running when the run stopped take effect?

MySQL and MariaDB commit each DDL statement on its own, and the server finishes a
statement whose client was killed or lost its connection. The ledger then says k-1
statements are done while statement k is in the database: running it again fails
(`Duplicate column name`). So the live schema decides. The bundle's operations are
rebuilt from its parent's and its own schema (and trusted only when they are exactly the
manifest's); statement k belongs to the numbered operation above it in the script, and
the tables that operation touches are compared, live, with the schema before and after it:

- as after it: the operation took effect; its remaining statements are skipped;
- as before it: it did not; the run starts again at statement k;
- neither: it is half done; the resume is refused, naming what the database has.

Only the operation's own tables are compared, so a hand change elsewhere does not
confuse the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reviewkit.bundle.script_file import bundle_statements, is_large
from reviewkit.bundle.store import Bundle
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import LedgerRow, read_rows
from reviewkit.db.partial import explain_partial
from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import Dialect
from reviewkit.dialects.compiler import Compiler, contexts_for
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, diff_schemas, rollback_operations
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.errors import OperationFailed
from reviewkit.lint.risk import NumberedOperations
from reviewkit.plural import counted
from reviewkit.schema.operations import DropConstraint, DropIndex, Operation
from reviewkit.schema.state import Schema

if TYPE_CHECKING:
    from reviewkit.db.plan import Step

_SHOWN = 6


def resumed_from_live_schema(conn: Connection, bundles: list[Bundle], steps: list[Step],
                             note: Callable[[str], None]) -> list[Step]:
    """Say, from the live schema, what the half-applied bundle left, and start it again where the schema says.

    The statement running when the run stopped may have taken effect (MySQL finishes a
    statement whose client died): then it is skipped, not run twice.
    """
    step = steps[0]
    parent, row = _explained(conn, bundles, step, note)
    point = resume_point(conn, step.bundle, parent, row, step.statements)
    if point.note:
        note(f"{step.bundle.id}: {point.note}")
    return [replace(step, start_at=point.done), *steps[1:]]


def rolled_back_from_live_schema(conn: Connection, bundles: list[Bundle], steps: list[Step],
                                note: Callable[[str], None]) -> list[Step]:
    """Say what the half-applied bundle left, and start its down.sql where it undoes only that."""
    step = steps[0]
    parent, row = _explained(conn, bundles, step, note)
    up = bundle_statements(step.bundle, conn.dialect, "up")
    point = rollback_point(conn, step.bundle, parent, row, up, step.statements)
    if point.note:
        note(f"{step.bundle.id}: {point.note}")
    return [replace(step, start_at=point.done), *steps[1:]]


def _explained(conn: Connection, bundles: list[Bundle], step: Step,
               note: Callable[[str], None]) -> tuple[Bundle | None, LedgerRow]:
    """Say what the half-applied bundle of `step` left; return its parent and its latest ledger row."""
    position = bundles.index(step.bundle)
    parent = bundles[position - 1] if position else None
    row = next(r for r in reversed(read_rows(conn)) if r.bundle_id == step.bundle.id)
    for line in explain_partial(conn, step.bundle, parent, row):
        note(line)
    return parent, row


@dataclass(frozen=True)
class ResumePoint:
    """How many statements of the bundle count as done, and what to tell the DBA about it."""

    done: int
    note: str | None = None


def resume_point(conn: Connection, bundle: Bundle, parent: Bundle | None, row: LedgerRow,
                 statements: Sequence[ScriptStatement]) -> ResumePoint:
    """Return where the resumed run of `bundle` starts, from what the live schema holds."""
    done = row.statements_done
    if done >= len(statements) or is_large(bundle.script_path(conn.dialect, row.direction)):
        return ResumePoint(done)  # large: a hand-written data script, whose statements are no operations we know
    operations = _rebuilt_operations(bundle, parent)
    if operations is None:  # a hand-written or hand-edited bundle: its statements are not operations we know
        return ResumePoint(done)
    before = parent.schema() if parent else Schema()
    if row.direction == "down":
        operations, before = rollback_operations(operations, before), bundle.schema()
    script = bundle.script(conn.dialect, row.direction)
    dialect = get_dialect(conn.dialect)
    contexts = contexts_for(operations, before)
    compiled = _compiler(dialect, bundle.online).compile_all(operations, contexts)
    spans = _operation_of_each(script, statements, len(compiled))
    number = done + 1
    index = spans.get(number)
    if index is None:
        return ResumePoint(done)
    item = compiled[index - 1]
    numbers = [n for n, i in spans.items() if i == index]
    first, last = min(numbers), max(numbers)
    if [_words(sql) for sql in item.statements] != [_words(s.sql) for s in statements[first - 1:last]]:
        return ResumePoint(done)  # the statements under this operation were edited: what each does is not known
    context = contexts[next(i for i, op in enumerate(operations) if op is item.operation)]
    tables = _touched_tables(context.before, context.after)
    if not tables:
        return ResumePoint(done)
    compiler = dialect.compiler
    live = _only(introspect(conn), tables)
    operation = f"operation {index} ({item.operation.describe()})"
    after = schema_differences(_only(compiler.stored_form(context.after), tables), live)
    if not after:
        then = f"resuming after it, at statement {last + 1}" if last < len(statements) else "the last of the bundle"
        return ResumePoint(last, f"statement {number} took effect before the run stopped: the database has "
                                 f"{operation} done; {then}")
    if not schema_differences(_only(compiler.stored_form(context.before), tables), live):
        return ResumePoint(done, f"statement {number} did not take effect: resuming at it")
    if number > first:  # the operation's earlier statements ran, as the ledger says: part of it is expected
        return ResumePoint(done, f"{operation} is partly done, by its statements before {number}: resuming at "
                                 f"statement {number}")
    if number < last:  # its first statement ran and the later ones did not: that is what the database has
        return ResumePoint(number, f"statement {number} took effect before the run stopped ({operation} is partly "
                                   f"done, its later statements not yet): resuming at statement {number + 1}")
    raise OperationFailed(
        f"--resume: {bundle.id} stopped at statement {number}, {operation}, and the database has its tables "
        f"otherwise than before or after it: {_listed(after)}; put them right by hand, then resume")


def rollback_point(conn: Connection, bundle: Bundle, parent: Bundle | None, row: LedgerRow,
                   up: Sequence[ScriptStatement], down: Sequence[ScriptStatement]) -> ResumePoint:
    """Return where down.sql starts when it rolls back a bundle whose up.sql ran in part (`row`).

    down.sql undoes every operation, the last first; run whole over a bundle half there, it
    fails at its first statement, on something up.sql never made. So the live schema decides
    how many of the operations took effect: the most, up to the one the running statement
    belongs to, that leave the bundle's tables as the database has them. down.sql starts after
    its statements that undo the others. Refused, saying what to do by hand, when no such
    count fits the database (an operation done in part, a hand change), when a rebuild of a
    table in down.sql (SQLite) also undoes operations that never ran, or when the bundle's
    operations cannot be rebuilt from its schemas.
    """
    by_hand = (f"undo by hand what {bundle.id} did, then record its rollback with `reviewkit apply --to "
               f"{parent.id if parent else '0'} --fake`")
    operations = _rebuilt_operations(bundle, parent)
    if operations is None or is_large(bundle.script_path(conn.dialect, "up")) or \
            is_large(bundle.script_path(conn.dialect, "down")):
        raise OperationFailed(f"{bundle.id} is applied in part, and its statements are not operations reviewkit "
                              f"rebuilds (a hand-written or hand-edited bundle): {by_hand}")
    up_spans = _operation_of_each(bundle.script(conn.dialect, "up"), up, len(operations))
    # The running statement may have taken effect (MySQL finishes a statement whose client died).
    reach = max((up_spans[n] for n in range(1, row.statements_done + 2) if n in up_spans), default=0)
    before = parent.schema() if parent else Schema()
    contexts = contexts_for(operations, before)
    tables = _touched_tables(before, bundle.schema())
    compiler = get_dialect(conn.dialect).compiler
    live = _only(introspect(conn), tables)
    taken, left = None, []
    for count in range(reach, -1, -1):
        expected = contexts[count - 1].after if count else before
        differences = schema_differences(_only(compiler.stored_form(expected), tables), live)
        if not differences:
            taken = count
            break
        if count == reach:
            left = differences
    if taken is None:
        raise OperationFailed(f"{bundle.id}: the database has its tables as after none of its first operations, an "
                              f"operation done in part or a hand change (against the first {counted(reach, 'operation')}: "
                              f"{_listed(left)}); {by_hand}")
    undone = len(operations) - taken  # down.sql's first operations undo these, which never ran
    if not undone:
        return ResumePoint(0)
    down_script = bundle.script(conn.dialect, "down")
    # A table rebuild (SQLite) makes the table as the parent has it from whatever it is, but it copies the
    # columns by the names they had: it may also undo an index or a key that never came, not a column change.
    carried = _carried_by_rebuilds(down_script)
    down_operations = rollback_operations(operations, before)
    crossing = [down_operations[index - 1] for index in range(1, undone + 1) if carried.get(index, 0) > undone]
    if any(not isinstance(op, DropIndex | DropConstraint) for op in crossing):
        raise OperationFailed(f"{bundle.id}: down.sql rebuilds a table at once for operations that ran and for a "
                              f"column change that never did; {by_hand}")
    down_spans = _operation_of_each(down_script, down, len(operations))
    start = max((n for n, index in down_spans.items() if index <= undone), default=0)
    ran = f"up.sql ran {counted(taken, 'operation')} of {len(operations)} here"
    if not start:  # the rebuild of a table undoes the others as well
        return ResumePoint(0, f"{ran}: down.sql runs whole, its table rebuilds making the tables as before either way")
    return ResumePoint(start, f"{ran}: down.sql starts at statement {start + 1}, after the "
                              f"{counted(start, 'statement')} undoing the others")


# `-- 3. Drop column books.isbn ...` then `-- (done by the rebuild of books at operation 5)` (SQLite).
_CARRIED = re.compile(r"^-- (\d+)\. .*\n-- \(done by the rebuild of .* at operation (\d+)\)$", re.MULTILINE)


def _carried_by_rebuilds(script: str) -> dict[int, int]:
    """Operation number -> the later operation whose table rebuild does it, as the script's comments say."""
    return {int(match.group(1)): int(match.group(2)) for match in _CARRIED.finditer(script)}


def _operation_of_each(script: str, statements: Sequence[ScriptStatement], operations: int) -> dict[int, int]:
    """Statement number -> the number of the operation whose `-- N.` comment is the last above it."""
    numbered = NumberedOperations(script)
    return {n: found + 1 for n, statement in enumerate(statements, 1)
            if (found := numbered.index_above(statement.line, operations)) is not None}


def _rebuilt_operations(bundle: Bundle, parent: Bundle | None) -> list[Operation] | None:
    """Return the bundle's operations, rebuilt from its schemas; None unless they are exactly the manifest's.

    The one-off values that fill existing rows are not part of a schema: they are compared
    without, then taken from the manifest.
    """
    recorded = bundle.manifest.get("operations")
    if not recorded:
        return None
    before = parent.schema() if parent else Schema()
    operations = diff_schemas(before, bundle.schema(), _renames(recorded), NoInputQuestioner())
    if [_without_fill(op.to_dict()) for op in operations] != [_without_fill(op) for op in recorded]:
        return None
    # The one-off values are the manifest's: they are part of the statements (an UPDATE before NOT NULL).
    return [replace(op, **{key: kept[key] for key in _FILLS if key in kept})
            for op, kept in zip(operations, recorded, strict=True)]


_FILLS = ("fill", "rollback_fill")  # the one-off values of up.sql and of down.sql


def _renames(recorded: list[dict]) -> DeclaredRenames:
    """The renames the bundle's operations declare, as `--rename` would have declared them."""
    tables = {op["table"]: op["new_name"] for op in recorded if op.get("op") == "rename_table"}
    columns = {(op["table"], op.get("column", op.get("old_name"))): op["new_name"]
               for op in recorded if op.get("op") == "rename_column"}
    return DeclaredRenames(tables, columns)


def _without_fill(operation: dict) -> dict:
    return {key: value for key, value in operation.items() if key not in _FILLS}


def _compiler(dialect: Dialect, online: bool) -> Compiler:
    return (dialect.online_compiler or dialect.compiler) if online else dialect.compiler


def _words(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").rstrip()


def _touched_tables(before: Schema, after: Schema) -> set[str]:
    """Return the names of the tables and views an operation changes."""
    return {difference.name.split(".")[0] for difference in schema_differences(before, after)}


def _only(schema: Schema, names: set[str]) -> Schema:
    return Schema(tuple(t for t in schema.tables if t.name in names),
                  tuple(v for v in schema.views if v.name in names))


def _listed(differences: list[Difference]) -> str:
    shown = "; ".join(d.describe() for d in differences[:_SHOWN])
    return shown + (f"; and {len(differences) - _SHOWN} more" if len(differences) > _SHOWN else "")
