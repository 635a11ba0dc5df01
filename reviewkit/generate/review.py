"""REVIEW.md: what a bundle changes, in words, with every risk finding and engine note."""

from __future__ import annotations

from reviewkit.dialects.base import Dialect
from reviewkit.generate.risk import Finding, overall_level
from reviewkit.schema.operations import Operation
from reviewkit.schema.state import Schema


def render_review(
    bundle_id: str,
    parent: str | None,
    author: str,
    operations: list[Operation],
    findings: list[Finding],
    down_operations: list[Operation],
    dialects: list[Dialect],
    after: Schema,
) -> str:
    level = overall_level(findings)
    out = [
        f"# Bundle {bundle_id}",
        "",
        f"- Author: {author}",
        f"- Parent: {parent or '(none: first bundle)'}",
        f"- Risk: **{level}**",
        f"- Dialects: {', '.join(d.name for d in dialects)}",
        "",
        "## Operations",
        "",
    ]
    out += [f"{i + 1}. {op.describe()}" for i, op in enumerate(operations)] or ["(none)"]
    out += ["", "## Risk findings", ""]
    out += [_finding_line(f) for f in findings] or ["None: every change is additive."]
    lossy = [op for op in down_operations if op.loses_data]
    if lossy:
        out += ["", "## Rolling back (down.sql) loses data", ""]
        out += [f"- {op.describe()}" for op in lossy]
    for dialect in dialects:
        notes = dialect.compiler.notes(after)
        if notes:
            out += ["", f"## {dialect.title} notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def render_empty_review(bundle_id: str, parent: str | None, author: str) -> str:
    return (
        f"# Bundle {bundle_id}\n\n- Author: {author}\n- Parent: {parent or '(none: first bundle)'}\n\n"
        "This bundle is hand-written: its SQL files were generated empty and the schema snapshot is\n"
        "its parent's. Review every statement in the `.sql` files; reviewkit did not assess them.\n"
    )


def _finding_line(f: Finding) -> str:
    where = f" ({f.dialect} only)" if f.dialect else ""
    return f"- **{f.level}** [{f.code}] operation {f.operation + 1}{where}: {f.message}"
