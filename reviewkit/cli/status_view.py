"""How `reviewkit status` reads: a table on a terminal, aligned plain lines anywhere else.

Off a terminal (a pipe, a file, CI) every bundle is one line, never cut or wrapped, so
that `grep`, `awk '{print $1}'` and a log keep whole ids, as Django's `showmigrations`
and Alembic's `history` print them. Both forms mark the newest bundle `(head)` and end
with one summary line: "3 bundles: 1 applied, 2 pending".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.cli.console import say, say_lines
from reviewkit.plural import counted

if TYPE_CHECKING:
    from rich.console import Console

    from reviewkit.db.status import BundleStatus, StatusReport

HEAD_MARK = " (head)"


def print_status(report: StatusReport, console: Console) -> None:
    """Print every bundle, the database, the flags and the summary line."""
    if not report.bundles:
        say(console, "No bundles yet: run `reviewkit generate`.")
        return
    header, rows = _rows(report)
    lines: list[tuple[str, str | None]] = []
    if console.is_terminal:
        print_table(console, header, rows)
    else:
        lines += [(line, None) for line in aligned([header, *rows])]
    lines.append((f"database: {report.database or 'none (not created yet)'}", None))
    for b in report.bundles:
        lines += [(f"FLAG {flag}", None) for flag in b.flags]  # one flag, one line, for whoever greps them
        lines += [(f"  {line}", None) for line in b.explanation]
    lines += [(f"FLAG {problem}", None) for problem in report.ledger_problems]
    lines.append((summary_line(report), "bold"))
    say_lines(console, lines)  # in one call: rich's work per call outweighs a line


def summary_line(report: StatusReport) -> str:
    """Return e.g. "21 bundles: 12 applied, 8 pending, 1 failed; 2 flagged", or the count alone without a database."""
    text = counted(len(report.bundles), "bundle")
    if report.database is not None:
        text += ": " + ", ".join(f"{n} {state}" for state, n in report.counts().items())
    else:
        text += ", no database yet"
    flagged = sum(1 for b in report.bundles if b.flags) + (1 if report.ledger_problems else 0)
    return text + (f"; {flagged} flagged" if flagged else "")


def _rows(report: StatusReport) -> tuple[list[str], list[list[str]]]:
    """Return the header and one row of cells per bundle: with a database its state, else when and who."""
    if report.database:
        header = ["bundle", "risk", "approvals", "proofs", "state"]
        rows = [[_bundle_cell(b), b.risk, b.approvals or "-", _proofs_cell(b), state_cell(b)] for b in report.bundles]
    else:
        header = ["bundle", "created", "risk", "approvals", "proofs", "author"]
        rows = [[_bundle_cell(b), b.created_at[:10], b.risk, b.approvals or "-", _proofs_cell(b), b.author]
                for b in report.bundles]
    return header, rows


def _bundle_cell(b: BundleStatus) -> str:
    return b.id + (HEAD_MARK if b.head else "")


def _proofs_cell(b: BundleStatus) -> str:
    return b.proofs_cell().replace("\n", ", ")


def state_cell(b: BundleStatus) -> str:
    """Return the state in words: "applied 2026-11-25 17:30 by ci", "failed at statement 2 of 3 (statement 1 committed): line 8: ..."."""
    if b.state == "failed":
        text = b.detail or "failed"  # how the run ended, each fact once (db/status.py's failure_detail)
    elif b.applied_at is not None:
        text = f"{b.state} {b.applied_at[:16].replace('T', ' ')} by {b.applied_by}"
    else:
        text = f"{b.state} {b.detail}".strip()
    return " ".join(text.split())  # an engine's message may hold line breaks; a row is one line


def aligned(rows: list[list[str]]) -> list[str]:
    """Return the rows as lines, each column padded to its widest cell; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([cell.ljust(width) for cell, width in zip(row, widths, strict=False)] + [row[-1]]).rstrip()
            for row in rows]


def print_table(console: Console, header: list[str], rows: list[list[str]]) -> None:
    """Print a rich table whose cells fold rather than end in an ellipsis: an id is never cut."""
    from rich.table import Table
    from rich.text import Text

    table = Table(*header)
    for column in table.columns:
        column.overflow = "fold"
    # An id folds only past a third of the screen; the other columns wrap at spaces first.
    table.columns[0].min_width = min(max(len(row[0]) for row in rows), console.width // 3)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
