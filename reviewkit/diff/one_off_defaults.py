"""One-off defaults: the value the rows that exist get when a column becomes NOT NULL without a default.

A NOT NULL column added without a default fails on PostgreSQL and SQLite as soon as its
table holds a row, and on MySQL gives every row the type's implicit 0 or '' without a
word; a column made NOT NULL fails on its first NULL. As Django does, `generate` asks for
a one-off default, or takes it from `--default table.column=VALUE` (for scripts). The up
script fills the rows with it; it is kept nowhere else: the schema afterwards is the
models' own, with no default. The value is recorded on the operation (`fill`), so the
manifest and REVIEW.md say what the rows were given.

Tables the bundle creates hold no rows, and auto-increment and generated columns fill
themselves: they are never asked about. Without an answer (`--no-input`, no terminal, or
"quit") nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify

from reviewkit.diff.questioner import OneOffQuestion, Questioner
from reviewkit.errors import OneOffDefaultMissing, UsageError
from reviewkit.schema.defaults import fit_default, implicit_value
from reviewkit.schema.expressions import canonical, column_names_in, parse_canonical, quiet_sqlglot
from reviewkit.schema.operations import AddColumn, AlterColumn, CreateTable, DropColumn, Operation, reverse_all
from reviewkit.schema.state import Column, Schema, Table

# read(text, table, column): the value as the operation keeps it (canonical SQL), or a
# UsageError saying why it cannot fill the column. `generate` adds each engine's refusals.
ValueReader = Callable[[str, str, Column], str]

_EXAMPLES = "an SQL value, e.g. 0 or 'unknown'"


@dataclass(frozen=True)
class OneOffDefaults:
    """The `--default table.column=VALUE` options: (table, column) -> the value as typed."""

    values: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: list[str]) -> OneOffDefaults:
        """Parse `--default` values: `books.stock=0`, `books.isbn='unknown'` (the value may hold `=`)."""
        values: dict[tuple[str, str], str] = {}
        for item in items:
            target, sep, value = item.partition("=")
            table, dot, column = target.strip().partition(".")
            if not (sep and dot and table and column and value.strip()) or "." in column:
                raise UsageError(f"--default {item!r}: write table.column=VALUE ({_EXAMPLES}), "
                                 "e.g. --default books.isbn=\"'unknown'\"")
            if (table, column) in values:
                raise UsageError(f"--default {table}.{column} is given twice")
            values[(table, column)] = value.strip()
        return cls(values)


def read_one_off_default(text: str, column_type: str, dialect: str) -> str:
    """Return `text`, an SQL value written in the models' `dialect`, as the canonical value for the column's type.

    Raise UsageError saying why it cannot be one: it does not parse as one expression,
    names a column (most often a string without its quotes), or does not fit the type.
    """
    if "\n" in text or "\r" in text:
        raise UsageError(f"{text!r}: write a one-off default on one line")
    try:
        with quiet_sqlglot():
            node = sqlglot.parse_one(text, read=dialect, into=exp.Condition)
    except SqlglotError:
        raise UsageError(f"{text} does not parse as one SQL value ({_EXAMPLES}; a string goes in single quotes)") from None
    named = node.find(exp.Column)
    if named is not None:
        raise UsageError(f"{text} names a column ({named.sql()}); a one-off default is a value: "
                         f"write a string in single quotes ('{named.name}')")
    if node.find(exp.Star) is not None:
        raise UsageError(f"{text} is not a value ({_EXAMPLES})")
    value, refusal = fit_default(canonical(node), column_type)
    if refusal is not None:
        raise UsageError(f"{text} {refusal}")
    if value is None:
        raise UsageError("NULL cannot fill a NOT NULL column")
    return value


def needs_one_off_default(op: Operation) -> bool:
    """Tell whether `op` leaves a column NOT NULL without a default over rows that may exist.

    The differ adds columns only to tables that exist before the bundle; a new table comes
    whole with CreateTable.
    """
    column = filled_column(op)
    return (column is not None and not column.nullable and column.default is None and not column.identity
            and column.generated is None)


def rollback_operations(operations: list[Operation], restored: Schema) -> list[Operation]:
    """Return the operations of down.sql: `operations` undone, in the order they must run; `restored`: the schema
    down.sql brings back (the parent bundle's).

    Undoing a drop adds a NOT NULL column again, and undoing a relaxed column makes it NOT
    NULL again, over rows that exist by then and have no value for it: the up script threw
    the values away, or allowed NULLs. PostgreSQL and SQLite would refuse such a down
    script whenever the table has rows, and MySQL gives each row its type's implicit value
    without a word. So every engine's down.sql gives them MySQL's implicit value, where it
    is a value everywhere (`implicit_value`: 0, '', FALSE, an enum's first value), as a
    one-off default REVIEW.md names; not to a column of a key or a check, which one value
    in every row would break. A value the author gave (`--default` of the dropped or
    relaxed column, the operation's `rollback_fill`, which `reverse()` carries) is kept.
    Decided from the operations and the schemas alone, as a resumed rollback compiles them
    again.
    """
    return [_filled_for_rollback(op, restored) for op in reverse_all(operations)]


def _filled_for_rollback(op: Operation, restored: Schema) -> Operation:
    if not needs_one_off_default(op) or getattr(op, "fill", None) is not None:  # one given with `--default`
        return op
    column = filled_column(op)
    assert column is not None
    value = implicit_value(column.type)
    if value is None or breaks_a_rule(restored.table(op.table), column.name, value):
        return op
    return replace(op, fill=value)  # type: ignore[call-arg]


def breaks_a_rule(table: Table | None, column: str, value: str) -> bool:
    """Tell whether `value` in every row of `column` may break a rule of `table`: a primary, unique or foreign key
    or a unique index the column is part of (one value twice, or a value no parent row has), or a check that
    does not hold of the value alone (`stock >= 0` holds of 0; one that reads another column is not known to)."""
    if table is None:
        return False
    keys = [*(u.columns for u in table.uniques), *(fk.columns for fk in table.foreign_keys),
            *(ix.column_names for ix in table.indexes if ix.unique)]
    if table.primary_key:
        keys.append(table.primary_key.columns)
    if any(column in key for key in keys):
        return True
    return any(not _holds_of(check.expression, column, value) for check in table.checks
               if column in column_names_in(check.expression))


def _holds_of(expression: str, column: str, value: str) -> bool:
    """Tell whether a check is true with `value` in place of `column`, as sqlglot folds it."""
    node = parse_canonical(expression).copy()
    for found in list(node.find_all(exp.Column)):
        if found.name == column and not found.table:
            found.replace(parse_canonical(value).copy())
    with quiet_sqlglot():
        folded = simplify(node)
    return isinstance(folded, exp.Boolean) and folded.this is True


def filled_column(op: Operation) -> Column | None:
    """The column a one-off default would fill: one added, or one made NOT NULL."""
    if isinstance(op, AddColumn):
        return op.column
    if isinstance(op, AlterColumn) and op.null_tightened:
        return op.new
    return None


def fill_existing_rows(
    operations: list[Operation], models: Schema, declared: OneOffDefaults, questioner: Questioner, read: ValueReader,
) -> list[Operation]:
    """Return `operations` with a one-off default on each that needs one: the declared one, else the questioner's.

    Every `--default` is checked first, so that a mistyped one fails before any question.
    Raise OneOffDefaultMissing at the first question left unanswered, naming it and every
    column still without a value.
    """
    needing = [i for i, op in enumerate(operations) if needs_one_off_default(op)]
    targets = {_target(operations[i]): i for i in needing}
    rolled_back = {_target(operations[i].reverse()): i for i in range(len(operations)) if _refilled_by_rollback(operations[i])}
    filled = list(operations)
    for (table, column), text in declared.values.items():
        if (table, column) in targets:
            continue
        if (table, column) not in rolled_back:
            raise UsageError(f"--default {table}.{column}={text}: {_why_no_fill(table, column, operations, models)}, "
                             "so it takes no one-off default")
        # A column this bundle drops, or lets be NULL: the value its rows get when down.sql makes it NOT NULL again.
        i = rolled_back[(table, column)]
        undone = filled_column(operations[i].reverse())
        assert undone is not None
        try:
            filled[i] = replace(operations[i], rollback_fill=read(text, table, undone))  # type: ignore[call-arg]
        except UsageError as problem:
            raise UsageError(f"--default {table}.{column}={text}: {problem}") from None
    for position, i in enumerate(needing):
        op = operations[i]
        table, name = _target(op)
        column = filled_column(op)
        assert column is not None
        text = declared.values.get((table, name))
        if text is None:
            text = questioner.ask_one_off_default(_question(op, column, read))
            if text is None:
                missing = [_target(operations[j]) for j in needing[position:]]
                raise OneOffDefaultMissing(_missing_message([t for t in missing if t not in declared.values]))
        try:
            filled[i] = replace(op, fill=read(text, table, column))  # type: ignore[call-arg]
        except UsageError as problem:
            given = f"--default {table}.{name}={text}" if (table, name) in declared.values else f"{table}.{name}"
            raise UsageError(f"{given}: {problem}") from None
    return filled


def with_rollback_fills(operations: list[Operation], values: dict[tuple[str, str], str]) -> list[Operation]:
    """Give each column the operations drop, or let be NULL, the value `values` has for its rollback (table, column
    as the operation names it), where it has none yet: what a squash's range, or a rebased bundle, was given."""
    filled = list(operations)
    for index, op in enumerate(operations):
        if not _refilled_by_rollback(op) or op.rollback_fill is not None:  # type: ignore[attr-defined]
            continue
        undone = filled_column(op.reverse())
        value = values.get((op.table, undone.name)) if undone is not None else None
        if value is not None:
            filled[index] = replace(op, rollback_fill=value)  # type: ignore[call-arg]
    return filled


def _refilled_by_rollback(op: Operation) -> bool:
    """Tell whether down.sql makes a column NOT NULL again over rows that have no value: one `op` drops, or lets
    be NULL."""
    return isinstance(op, DropColumn | AlterColumn) and needs_one_off_default(op.reverse())


def _target(op: Operation) -> tuple[str, str]:
    column = filled_column(op)
    assert column is not None
    return op.table, column.name


def _question(op: Operation, column: Column, read: ValueReader) -> OneOffQuestion:
    def check(text: str) -> str | None:
        try:
            read(text, op.table, column)
        except UsageError as problem:
            return str(problem)
        return None

    return OneOffQuestion(op.table, column.name, column.type, isinstance(op, AlterColumn), check)


def _missing_message(targets: list[tuple[str, str]]) -> str:
    """Two lines: which columns have no value, and how to give them one."""
    names = ", ".join(f"{t}.{c}" for t, c in targets)
    options = " ".join(f"--default {t}.{c}=VALUE" for t, c in targets)
    columns = "the column a default" if len(targets) == 1 else "the columns defaults"
    return (f"no one-off default for {names} (NOT NULL without a default, over rows that may exist): nothing was written\n"
            f"pass {options} ({_EXAMPLES}), or give {columns} in the models")


def _why_no_fill(table: str, column: str, operations: list[Operation], models: Schema) -> str:
    """Say why a `--default` target has no rows to fill: no such column, a new table, or a column that needs none."""
    model = models.table(table)
    if model is None:
        return f"the models have no table {table}"
    if any(isinstance(op, CreateTable) and op.table == table for op in operations):
        return f"{table} is a new table, with no rows"
    dropped = next((op.column for op in operations
                    if isinstance(op, DropColumn) and (op.table, op.column.name) == (table, column)), None)
    declared = model.column(column) or dropped
    if declared is None:
        return f"the models have no column {table}.{column}"
    changed = any(filled_column(op) is not None and _target(op) == (table, column) for op in operations)
    if not changed and dropped is None:
        return f"{table}.{column} is neither added nor made NOT NULL by this bundle (nor dropped, or let be NULL)"
    if declared.identity:
        return f"{table}.{column} is auto-increment"
    if declared.generated is not None:
        return f"{table}.{column} is generated"
    if declared.nullable:
        return f"{table}.{column} allows NULL"
    return f"{table}.{column} has a default ({declared.default}), which fills the rows"
