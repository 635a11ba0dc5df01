"""What `lint` finds: one finding per rule and statement, weighed by table size, allowed by the DBA.

A finding starts at its rule's level. A finding about a lock (`table` set) is then weighed
by the live size of the table when `--database` gives one: under `small_table_rows` it
drops to low, over `large_table_rows` it rises to high, and the message states the rows.
A DBA accepts a finding in the bytes they sign, with a comment line directly above the
statement: `-- reviewkit: allow RULE[, RULE] -- REASON`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reviewkit.config import LEVELS, LintSettings

if TYPE_CHECKING:
    from reviewkit.dialects.base import LockCapacity

_ALLOW = re.compile(r"^\s*--\s*reviewkit:\s*allow\s+(?P<rules>[a-z0-9,\s-]+?)\s*(?:--\s*(?P<reason>.*?))?\s*$",
                    re.IGNORECASE)


@dataclass
class Finding:
    """One rule's finding on one statement of one script."""

    rule: str  # kebab-case code, `pg-index-without-concurrently`
    level: str  # low, medium, high
    message: str
    help: str  # the safer form
    file: str = ""  # path from the project root
    line: int = 0
    statement: int = 0  # its number in the file
    table: str | None = None  # the table a lock finding locks: weighed by its size
    rows: int | None = None  # that table's live row estimate, when known
    allowed: str | None = None  # the DBA's reason, when the finding is allowed in the script
    locks: int | None = None  # a lock-table finding: the locks the script's one transaction takes

    def to_dict(self) -> dict[str, Any]:
        found = {"rule": self.rule, "level": self.level, "file": self.file, "line": self.line,
                 "statement": self.statement, "message": self.message, "help": self.help}
        if self.table is not None:
            found["table"] = self.table
        if self.rows is not None:
            found["rows"] = self.rows
        if self.allowed is not None:
            found["allowed"] = self.allowed
        if self.locks is not None:
            found["locks"] = self.locks
        return found


def weighed(finding: Finding, rows: dict[str, int] | None, settings: LintSettings) -> Finding:
    """Return the finding with its level set by the size of the table it locks, when that is known."""
    if finding.table is None or rows is None or finding.table not in rows:
        return finding
    count = rows[finding.table]
    level = finding.level
    if count < settings.small_table_rows:
        level = "low"
    elif count > settings.large_table_rows:
        level = "high"
    return replace(finding, level=level, rows=count, message=f"{finding.message} ({finding.table}: about {count:,} rows)")


BATCH_REMEDY = "`reviewkit apply --batch auto` commits it in groups, each recorded in the ledger"


def lock_table_finding(rule: str, locks: int, capacity: LockCapacity, at: int) -> Finding:
    """The finding on a script whose one transaction takes more locks than a server with default settings has room for."""
    return Finding(
        rule, "medium",
        f"this script takes about {locks:,} locks in its one transaction; a server with default settings holds "
        f"{capacity.describe()}, of which one transaction may take {capacity.budget:,}, passed at statement {at}: "
        "apply refuses the script there",
        f"{BATCH_REMEDY}; or {capacity.remedy}", locks=locks)


def weighed_locks(finding: Finding, capacity: LockCapacity | None) -> Finding:
    """Return a lock-table finding judged against a live server's lock table: high when apply would refuse it there."""
    if finding.locks is None or capacity is None:
        return finding
    if finding.locks > capacity.budget:
        return replace(finding, level="high", message=(
            f"this script takes about {finding.locks:,} locks in its one transaction; this server's lock table holds "
            f"{capacity.describe()}, of which one transaction may take {capacity.budget:,}: apply refuses it"))
    return replace(finding, level="low", message=(
        f"this script takes about {finding.locks:,} locks in its one transaction: more than a server with default "
        f"settings has room for, but within the {capacity.budget:,} of this server's ({capacity.describe()})"))


def allowances(comment_lines: list[str]) -> dict[str, str]:
    """Return the rules the comment lines right above a statement allow, each with its reason."""
    allowed = {}
    for line in comment_lines:
        match = _ALLOW.match(line)
        if match:
            reason = (match.group("reason") or "").strip() or "no reason given"
            for rule in re.split(r"[,\s]+", match.group("rules").strip().lower()):
                if rule:
                    allowed[rule] = reason
    return allowed


def at_or_above(level: str, threshold: str) -> bool:
    return LEVELS.index(level) >= LEVELS.index(threshold)


def summary(findings: list[Finding]) -> dict[str, int]:
    """Count the findings by level, the allowed ones apart."""
    counts = dict.fromkeys(LEVELS, 0) | {"allowed": 0}
    for finding in findings:
        counts["allowed" if finding.allowed is not None else finding.level] += 1
    return counts
