"""Risk findings: what a reviewer must not miss, one check per function.

Levels (SPEC.md): `high` when data can be lost, `medium` when existing rows are
rewritten, scanned or locked, or running code may break; `low` when only additive.
Each check looks at one operation with the table as it stands before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from reviewkit.dialects.compiler import CompiledOperation
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AddIndex,
    AlterColumn,
    AlterEnum,
    CreateTable,
    CreateView,
    DropColumn,
    DropTable,
    DropView,
    Operation,
    RenameColumn,
    RenameTable,
    constraint_word,
)
from reviewkit.schema.state import Schema
from reviewkit.schema.types import INTEGER_KINDS, RANGES, PortableType, parse_type

LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Finding:
    level: str
    code: str
    message: str
    operation: int  # index into the bundle's operations
    dialect: str | None = None  # None: on every engine

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"level": self.level, "code": self.code, "message": self.message, "operation": self.operation}
        if self.dialect:
            out["dialect"] = self.dialect
        return out


def overall_level(findings: list[Finding]) -> str:
    return max((f.level for f in findings), key=LEVELS.index, default="low")


def drop_table(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """DROP TABLE orders destroys every row; the down script recreates an empty table."""
    if isinstance(op, DropTable):
        return "high", "data-loss", f"drops table {op.table} with all its rows; down.sql recreates it empty"
    return None


def drop_column(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """ALTER TABLE ... DROP COLUMN destroys the column's data; down.sql brings back an empty column."""
    if isinstance(op, DropColumn):
        return "high", "data-loss", f"drops column {op.table}.{op.column.name} and its data; down.sql restores it empty"
    return None


def type_change(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """A narrowing type change (bigint -> integer, varchar(100) -> varchar(20)) can lose or refuse data.

    Widening (integer -> bigint, varchar(20) -> text) still rewrites or scans the table.
    """
    if not isinstance(op, AlterColumn) or not op.type_changed:
        return None
    old, new = parse_type(op.old.type), parse_type(op.new.type)
    if old.kind == new.kind == "enum" and old.name == new.name:
        return None  # the enum's own change (alter_enum) says what it costs
    where = f"{op.table}.{op.new.name}"
    if is_widening(parse_type(op.old.type), parse_type(op.new.type)):
        return "medium", "rewrite", f"changes {where} from {op.old.type} to {op.new.type}: rewrites or scans the table"
    return "high", "narrowing", (
        f"narrows {where} from {op.old.type} to {op.new.type}: values that do not fit fail the bundle or are cut"
    )


def not_null_added(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """SET NOT NULL scans every row and fails on the first NULL; backfill first."""
    if isinstance(op, AlterColumn) and op.null_tightened:
        return "medium", "not-null", f"makes {op.table}.{op.new.name} NOT NULL: scans every row, fails if any is NULL"
    if isinstance(op, AddColumn) and not op.column.nullable and op.table not in new_tables:
        if op.column.default is None and not op.column.identity:
            return "medium", "not-null", (
                f"adds NOT NULL column {op.table}.{op.column.name} without a default: fails if the table has rows"
            )
    return None


def rename(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """A rename keeps the data, but running code that uses the old name breaks at once."""
    if isinstance(op, RenameTable):
        return "medium", "rename", f"renames table {op.table} to {op.new_name}: code using the old name breaks"
    if isinstance(op, RenameColumn):
        return "medium", "rename", f"renames column {op.table}.{op.old_name} to {op.new_name}: code using the old name breaks"
    return None


def index_on_existing_table(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """CREATE INDEX on a populated table blocks writes while it builds (no CONCURRENTLY here)."""
    if isinstance(op, AddIndex) and op.table not in new_tables:
        return "medium", "lock", f"builds index {op.index.name} on existing table {op.table}: writes wait until it is built"
    return None


def constraint_on_existing_table(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """Adding a key, check or foreign key to a populated table scans it and fails on the first violation."""
    if isinstance(op, AddConstraint) and op.table not in new_tables:
        word = constraint_word(op.constraint)
        return "medium", "scan", f"adds {word} {op.constraint.name} to existing table {op.table}: scans every row"
    return None


def view_dropped(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """DROP VIEW with no CREATE VIEW of that name in the bundle: queries and code that read the view fail.

    A view dropped and created again around a table change is only briefly gone (and not
    at all where DDL is transactional), so that is no finding.
    """
    if isinstance(op, DropView) and op.table not in new_tables:
        return "medium", "drop-view", f"drops view {op.table}: code that reads it breaks"
    return None


def enum_values_removed(op: Operation, new_tables: set[str]) -> tuple[str, str, str] | None:
    """An enum cannot give a value back while a row holds it: the change fails, nothing is converted.

    PostgreSQL has no ALTER TYPE ... DROP VALUE: the type is re-created and every column of
    it converted, rewriting those tables; MySQL rewrites each ENUM column; SQLite rebuilds.
    Update the rows that hold the value first.
    """
    if isinstance(op, AlterEnum) and not op.only_adds:
        removed = [v for v in op.old if v not in op.new]
        what = f"removes {', '.join(removed)} from" if removed else "reorders"
        return "high", "enum-values", (
            f"{what} enum {op.name}: fails while a row holds a removed value; every column of the type is rewritten"
        )
    return None


def rebuild_findings(compiled: list[CompiledOperation], dialect: str) -> list[Finding]:
    """A table rebuild (SQLite) copies every row while the database is locked for writes."""
    return [
        Finding("medium", "rebuild", f"rebuilds table {c.operation.table}: copies every row, locks the database meanwhile",
                i, dialect)
        for i, c in enumerate(compiled)
        if c.rebuild
    ]


def foreign_key_findings(compiled: list[CompiledOperation], dialect: str) -> list[Finding]:
    """A foreign key the engine needed out of the way is added back: every row of its table is checked again."""
    return [Finding("medium", "scan", message, i, dialect) for i, c in enumerate(compiled) for message in c.readded]


def offline_findings(compiled: list[CompiledOperation], dialect: str) -> list[Finding]:
    """Online forms: a change this engine cannot make online copies or locks a table in use; high, with the tools."""
    return [Finding("high", "not-online", message, i, dialect) for i, c in enumerate(compiled) for message in c.offline]


def online_locks(findings: list[Finding], plain_dialects: list[str]) -> list[Finding]:
    """Online forms: an index on a table in use blocks writes only where the engine has no online form.

    `plain_dialects` are the bundle's dialects without one; the finding stays for those only.
    A change an engine with online forms cannot make online is its own finding (`offline_findings`).
    """
    kept = []
    for finding in findings:
        if finding.code == "lock" and finding.dialect is None:
            kept += [replace(finding, dialect=dialect) for dialect in plain_dialects]
        else:
            kept.append(finding)
    return kept


CHECKS: tuple[Callable[[Operation, set[str]], tuple[str, str, str] | None], ...] = (
    drop_table, drop_column, type_change, not_null_added, rename, index_on_existing_table, constraint_on_existing_table,
    enum_values_removed,
    view_dropped,
)


def assess(operations: list[Operation], before: Schema) -> list[Finding]:
    """Return the engine-independent findings for a bundle's operations."""
    new_tables = {op.table for op in operations if isinstance(op, (CreateTable, CreateView))}  # and the views made
    findings = []
    for i, op in enumerate(operations):
        for check in CHECKS:
            result = check(op, new_tables)
            if result:
                findings.append(Finding(*result, operation=i))
    return findings


_INT_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1),
               **{kind: RANGES[kind] for kind in INTEGER_KINDS if kind in RANGES}}
_TEXT_KINDS = {"char", "varchar", "text"}


def is_widening(old: PortableType, new: PortableType) -> bool:
    """Return True when every value of `old` fits `new` unchanged."""
    if old.array != new.array:
        return False
    if old.kind in ("enum", "set") and new.kind == old.kind:
        return set(old.values) <= set(new.values)
    if old.kind in _INT_RANGES and new.kind in _INT_RANGES:
        (old_low, old_high), (new_low, new_high) = _INT_RANGES[old.kind], _INT_RANGES[new.kind]
        return new_low <= old_low and old_high <= new_high
    if old.kind in _INT_RANGES and new.kind == "numeric":
        return not new.params or new.params[0] - (new.params[1] if len(new.params) > 1 else 0) >= 19
    if old.kind in _TEXT_KINDS and new.kind in ("varchar", "text"):
        if new.kind == "text" or not new.params:
            return True
        return bool(old.params) and old.kind != "text" and new.params[0] >= old.params[0]
    if (old.kind, new.kind) in (("real", "double"), ("json", "jsonb"), ("jsonb", "json"), ("timestamp", "timestamptz")):
        return True
    if old.kind == new.kind == "numeric":
        if not new.params:
            return True
        if not old.params:
            return False
        old_p, old_s = old.params[0], (old.params[1] if len(old.params) > 1 else 0)
        new_p, new_s = new.params[0], (new.params[1] if len(new.params) > 1 else 0)
        return new_s >= old_s and new_p - new_s >= old_p - old_s
    if old.kind == new.kind and old.kind in ("time", "timetz", "timestamp", "timestamptz"):
        return (new.params[0] if new.params else 6) >= (old.params[0] if old.params else 6)
    return False
