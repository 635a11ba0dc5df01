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

from collections.abc import Sequence
from dataclasses import dataclass, replace

from reviewkit.bundle.script_file import is_large
from reviewkit.bundle.store import Bundle
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import LedgerRow
from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import Dialect
from reviewkit.dialects.compiler import Compiler, contexts_for
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, diff_schemas, rollback_operations
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.errors import OperationFailed
from reviewkit.lint.risk import NumberedOperations
from reviewkit.schema.operations import Operation
from reviewkit.schema.state import Schema

_SHOWN = 6


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
        operations, before = rollback_operations(operations), bundle.schema()
    numbered = NumberedOperations(bundle.script(conn.dialect, row.direction))
    dialect = get_dialect(conn.dialect)
    contexts = contexts_for(operations, before)
    compiled = _compiler(dialect, bundle.online).compile_all(operations, contexts)
    # Statement number -> the number of the operation whose `-- N.` comment is the last above it.
    spans = {n: found + 1 for n, statement in enumerate(statements, 1)
             if (found := numbered.index_above(statement.line, len(compiled))) is not None}
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
    return [replace(op, fill=kept["fill"]) if "fill" in kept else op for op, kept in zip(operations, recorded, strict=True)]


def _renames(recorded: list[dict]) -> DeclaredRenames:
    """The renames the bundle's operations declare, as `--rename` would have declared them."""
    tables = {op["table"]: op["new_name"] for op in recorded if op.get("op") == "rename_table"}
    columns = {(op["table"], op.get("column", op.get("old_name"))): op["new_name"]
               for op in recorded if op.get("op") == "rename_column"}
    return DeclaredRenames(tables, columns)


def _without_fill(operation: dict) -> dict:
    return {key: value for key, value in operation.items() if key != "fill"}


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
