"""REVIEW.md: what a bundle changes, in words, with every risk finding and engine note."""

from __future__ import annotations

from reviewkit.dialects.base import Dialect
from reviewkit.diff.one_off_defaults import filled_column, needs_one_off_default
from reviewkit.lint.findings import Finding
from reviewkit.lint.risk import BundleFinding, overall_level
from reviewkit.schema.operations import Operation
from reviewkit.schema.state import Schema


def render_review(
    bundle_id: str,
    parent: str | None,
    author: str,
    operations: list[Operation],
    findings: list[BundleFinding],
    down_operations: list[Operation],
    dialects: list[Dialect],
    after: Schema,
    online: list[tuple[str, list[str]]] | None = None,
    rollback: list[Finding] | None = None,
) -> str:
    """Return REVIEW.md; `online`: (engine title, what its online forms are) per dialect, for an online bundle;
    `rollback`: the findings on a down.sql that its one transaction would not fit the lock table."""
    level = overall_level(findings)
    out = [
        f"# Bundle {bundle_id}",
        "",
        f"- Author: {author}",
        f"- Parent: {parent or '(none: first bundle)'}",
        f"- Risk: **{level}**",
        f"- Dialects: {', '.join(d.name for d in dialects)}",
        *online_header(online),
        "",
        "## Operations",
        "",
    ]
    out += [f"{i + 1}. {op.describe()}" for i, op in enumerate(operations)] or ["(none)"]
    out += online_section(online)
    out += ["", "## Risk findings", ""]
    if findings:
        out += ["What `reviewkit lint` finds in each up.sql, by operation (`-- RISK` comments mark the statements):", ""]
    out += [_finding_line(f) for f in findings] or ["None: every change is additive."]
    lossy = [op for op in down_operations if op.loses_data]
    if lossy:
        out += ["", "## Rolling back (down.sql) loses data", ""]
        out += [f"- {op.describe()}" for op in lossy]
    refilled = refilled_on_rollback(down_operations)
    if refilled:
        out += ["", "## Rolling back (down.sql) over rows that exist", ""] + refilled
    if rollback:
        out += ["", "## Rolling back (down.sql, `apply --to`) in one transaction", ""]
        out += [f"- {'/'.join(f.file.split('/')[-2:])}: {f.message}. Safer: {f.help}" for f in rollback]
    for dialect in dialects:
        notes = dialect.compiler.notes(after)
        if notes:
            out += ["", f"## {dialect.title} notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def online_header(online: list[tuple[str, list[str]]] | None) -> list[str]:
    if online is None:
        return []
    return ["- Online: **yes** (`generate --online`): lock-safe forms, run statement by statement"]


def online_section(online: list[tuple[str, list[str]]] | None) -> list[str]:
    """Return what each engine's online forms are, or the lines that say it has none."""
    if online is None:
        return []
    out = ["", "## Online forms", ""]
    for title, notes in online:
        out += [f"- {title}: {note}" for note in notes]
    return out


def render_empty_review(bundle_id: str, parent: str | None, author: str,
                        online: list[tuple[str, list[str]]] | None = None) -> str:
    text = (
        f"# Bundle {bundle_id}\n\n- Author: {author}\n- Parent: {parent or '(none: first bundle)'}\n"
        + "".join(line + "\n" for line in online_header(online)) + "\n"
        "This bundle is hand-written: its SQL files were generated empty and the schema snapshot is\n"
        "its parent's. Review every statement in the `.sql` files; reviewkit did not assess them.\n"
    )
    return text + "".join(line + "\n" for line in online_section(online))


def refilled_on_rollback(down_operations: list[Operation]) -> list[str]:
    """Say what the rows get of each column down.sql makes NOT NULL again (`rollback_operations`)."""
    lines = []
    for op in down_operations:
        if not needs_one_off_default(op):
            continue
        table, column = op.table, filled_column(op).name  # type: ignore[union-attr]
        fill = getattr(op, "fill", None)
        if fill is not None:
            lines.append(f"- {table}.{column} is NOT NULL again, with {fill} in each row: "
                         "its values are not brought back")
        else:
            lines.append(f"- {table}.{column} is NOT NULL again, with no value for the rows {table} has then: "
                         "down.sql fails over them (MySQL/MariaDB give each its type's zero, which a key or check "
                         f"of {table} may refuse)")
    return lines


def _finding_line(f: BundleFinding) -> str:
    finding = f.finding
    where = f"operation {f.operation + 1}, " if f.operation is not None else ""
    return (f"- **{finding.level}** `{finding.rule}` ({where}{f.dialect}/up.sql:{finding.line}): {finding.message}. "
            f"Safer: {finding.help}")
