"""The SQL of every dialect with line numbers, and the lint findings linked to their lines.

Every line of a script is an element with an id (`postgres-up-L15`), so that a finding,
an operation of the summary or a colleague's link points at it; the line numbers are
drawn by CSS and the finding notes cannot be selected, so that copying from the page
gives the script's text as it is. A line is a bare `span` with an id (no class, no
link of its own): a 1,000-table bundle has 70,000 of them, and every byte of one is
paid 70,000 times.
"""

from __future__ import annotations

import re
from collections import defaultdict
from html import escape
from typing import Any

from reviewkit.review import ReviewData, Script
from reviewkit.review.highlight import highlight_lines

LEVELS = ("high", "medium", "low")
OPEN_UP_TO_LINES = 400  # scripts longer than this start folded: the page stays quick to scroll
OPEN_UP_TO_FINDINGS = 40  # a level with more findings than this starts folded
_OPERATION = re.compile(r"^-- (\d+)\. ", re.MULTILINE)


def line_anchor(script_anchor: str, line: int) -> str:
    return f"{script_anchor}-L{line}"


def finding_anchor(index: int) -> str:
    return f"finding-{index + 1}"


def findings_by_line(data: ReviewData) -> dict[tuple[str, int], list[tuple[int, dict[str, Any]]]]:
    """Return (script anchor, line) -> the findings on that line, each with its index in the manifest."""
    found: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, finding in enumerate(data.findings):
        found[f"{finding.get('dialect')}-up", finding.get("line", 0)].append((index, finding))
    return found


def operation_lines(script: Script) -> dict[int, int]:
    """Return operation number -> the line of its `-- N. ...` comment in the script."""
    found, line, at = {}, 1, 0
    for match in _OPERATION.finditer(script.text):  # counted from the last match on: linear, not quadratic
        line += script.text.count("\n", at, match.start())
        at = match.start()
        found[int(match.group(1))] = line
    return found


def script_section(script: Script, notes: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]]) -> str:
    """Return one script: a foldable block of numbered, highlighted lines with the findings above theirs."""
    lines = highlight_lines(script.text)
    base = escape(script.anchor)
    out = []
    for number, code in enumerate(lines, start=1):
        here = notes.get((script.anchor, number))
        anchor = f"{base}-L{number}"
        if here:  # the notes stand right above the line, as the script's `-- RISK` comments do
            notes_html = "".join(_note(index, finding) for index, finding in here)
            out.append(f'{notes_html}<span class="hit-{_worst(f for _, f in here)}" id="{anchor}">{code}</span>')
        else:
            out.append(f"<span id={anchor}>{code}</span>")
    count = sum(len(v) for (anchor, _), v in notes.items() if anchor == script.anchor)
    found = f", {count} finding{'s' if count != 1 else ''}" if count else ""
    opened = " open" if len(lines) <= OPEN_UP_TO_LINES else ""
    return (f'<details class="sql" id="{base}"{opened}><summary>{escape(script.file)} '
            f'<span class="counts">{len(lines):,} lines{found}</span></summary>'
            f'<pre class="sql" data-file="{escape(script.file)}">' + "\n".join(out) + "</pre></details>")


def _note(index: int, finding: dict[str, Any]) -> str:
    level = _level(finding)
    allowed = f' <span class="allowed">allowed: {escape(str(finding["allowed"]))}</span>' if "allowed" in finding else ""
    return (f'<span class="note {level}"><a href="#{finding_anchor(index)}"><span class="badge {level}">{level}</span> '
            f'{escape(str(finding.get("code", "")))}</a>: {escape(str(finding.get("message", "")))}{allowed}</span>')


def _worst(findings: Any) -> str:
    levels = {_level(f) for f in findings}
    return next(level for level in LEVELS if level in levels)


def _level(finding: dict[str, Any]) -> str:
    level = finding.get("level")
    return level if level in LEVELS else "low"


def sql_section(data: ReviewData) -> str:
    """Return the SQL section: per dialect, its up and down scripts."""
    notes = findings_by_line(data)
    out = ['<section class="card" id="sql"><h2>SQL</h2>',
           '<p class="lead">The scripts as they are on disk. Each line can be linked to '
           '(<code>#postgres-up-L15</code>); marked lines carry the lint findings of the up scripts.</p>']
    by_dialect: dict[str, list[Script]] = defaultdict(list)
    for script in data.scripts:
        by_dialect[script.dialect].append(script)
    for dialect, scripts in by_dialect.items():
        out.append(f'<h3 id="sql-{escape(dialect)}">{escape(scripts[0].title)} <span class="counts">{escape(dialect)}</span></h3>')
        out += [script_section(script, notes) for script in scripts]
    out.append("</section>")
    return "\n".join(out)


def findings_section(data: ReviewData) -> str:
    """Return the findings, by level, each linked to its line."""
    out = ['<section class="card" id="findings"><h2>Lint findings</h2>']
    if not data.findings:
        out.append('<p class="lead">None: lint finds nothing to say about the up scripts.</p></section>')
        return "\n".join(out)
    out.append('<p class="lead">What <code>reviewkit lint</code> finds in each up script, as recorded in the '
               'manifest (and kept current by <code>seal</code>). Each links to its line.</p>')
    by_level: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, finding in enumerate(data.findings):
        by_level[_level(finding)].append((index, finding))
    for level in LEVELS:
        found = by_level.get(level)
        if not found:
            continue
        opened = " open" if len(found) <= OPEN_UP_TO_FINDINGS or level != "low" else ""
        out.append(f'<details class="level" id="findings-{level}"{opened}><summary><span class="badge {level}">{level}</span> '
                   f'{len(found):,} finding{"s" if len(found) != 1 else ""}</summary><table class="findings">'
                   "<thead><tr><th>rule</th><th>where</th><th>operation</th><th>finding, and the safer form</th></tr></thead><tbody>")
        out += [_finding_row(index, finding) for index, finding in found]
        out.append("</tbody></table></details>")
    out.append("</section>")
    return "\n".join(out)


def _finding_row(index: int, finding: dict[str, Any]) -> str:
    anchor = f"{finding.get('dialect')}-up"
    line = finding.get("line", 0)
    where = f"{finding.get('dialect')}/up.sql:{line}"
    operation = finding.get("operation")
    allowed = f'<br><span class="allowed">allowed: {escape(str(finding["allowed"]))}</span>' if "allowed" in finding else ""
    return (f'<tr class="finding" id="{finding_anchor(index)}"><td class="rule"><code>{escape(str(finding.get("code", "")))}</code></td>'
            f'<td class="where mono"><a href="#{escape(line_anchor(anchor, line))}">{escape(where)}</a></td>'
            f'<td>{operation + 1 if isinstance(operation, int) else ""}</td>'
            f'<td>{escape(str(finding.get("message", "")))}<br><span class="help">Safer: {escape(str(finding.get("help", "")))}</span>'
            f"{allowed}</td></tr>")
