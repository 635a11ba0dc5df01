"""A bundle's risk: `lint`'s findings on its up scripts, each tied to its operation.

There is one risk engine. The rules are `lint`'s (`reviewkit.lint.common_rules` and each
dialect's `lint_rules`), run here on the statements as they are written, so that
REVIEW.md, the `-- RISK` comments and the manifest's findings are what `reviewkit lint`
says of the same bytes; `seal` reads a hand-edited bundle's again (`bundle_risk`), so
that its risk level, and the approvals it needs, follow the edit.
Levels (SPEC.md): `high` when data can be lost, `medium` when existing rows are
rewritten, scanned or locked, or running code may break; `low` when only additive.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from reviewkit.config import LintSettings
from reviewkit.lint.findings import Finding

LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class BundleFinding:
    """A lint finding on one of the bundle's up scripts: its dialect, and the operation whose statement it is about."""

    dialect: str
    finding: Finding
    operation: int | None = None  # index into the bundle's operations; None: a statement of no operation

    @property
    def level(self) -> str:
        return self.finding.level

    @property
    def message(self) -> str:
        return self.finding.message

    def to_dict(self) -> dict[str, Any]:
        f = self.finding
        out: dict[str, Any] = {"level": f.level, "code": f.rule, "message": f.message, "help": f.help,
                               "dialect": self.dialect, "statement": f.statement, "line": f.line}
        if self.operation is not None:
            out["operation"] = self.operation
        if f.table is not None:
            out["table"] = f.table
        if f.allowed is not None:
            out["allowed"] = f.allowed
        return out


def overall_level(findings: list[BundleFinding]) -> str:
    return max((f.level for f in findings), key=LEVELS.index, default="low")


def kept(findings: list[Finding], settings: LintSettings) -> list[Finding]:
    """The findings the project's `[lint] disable` keeps.

    A finding allowed in the script still counts: the allowance says a reviewer accepted
    it, not that the change is safer, and the risk level decides how many must sign.
    """
    return [f for f in findings if f.rule not in settings.disable]


def risk_of(findings: list[BundleFinding]) -> dict[str, Any]:
    """Return the manifest's `risk`: the level and every finding."""
    return {"level": overall_level(findings), "findings": [f.to_dict() for f in findings]}


_OPERATION_COMMENT = re.compile(r"^-- (\d+)\. (.*)$", re.MULTILINE)


class NumberedOperations:
    """The numbered comments (`-- 3. Create table books`) a generated script carries above each operation.

    Read once per script: asking for the operation above each of thousands of statements
    must not rescan the script each time.
    """

    def __init__(self, script: str) -> None:
        self._lines: list[int] = []
        self._comments: list[tuple[int, str]] = []
        line, position = 1, 0
        for match in _OPERATION_COMMENT.finditer(script):
            line += script.count("\n", position, match.start())
            position = match.start()
            self._lines.append(line)
            self._comments.append((int(match.group(1)), match.group(2)))

    def above(self, line: int) -> tuple[int, str] | None:
        """Return (number, description) of the last numbered comment above `line`, if any."""
        index = bisect_left(self._lines, line) - 1
        return self._comments[index] if index >= 0 else None

    def index_above(self, line: int, operations: int) -> int | None:
        """Return the 0-based operation whose comment is the last above `line`, if it is one of `operations`."""
        found = self.above(line)
        return found[0] - 1 if found and 1 <= found[0] <= operations else None
