"""The page's summary: the bundle's facts from its manifest, and REVIEW.md's words.

REVIEW.md is the bundle's own account of what it does (it is covered by the digest), so
the page shows it rather than saying it again, in the few forms `generate` writes:
headings, numbered and bulleted lists, paragraphs, `code` and **bold**. Its "Risk
findings" section is left out: the page lists them linked to their lines. Each
numbered operation links to its `-- N.` comment in every dialect's up script.
"""

from __future__ import annotations

import re
from html import escape

from reviewkit.review import ReviewData
from reviewkit.review.sql_section import line_anchor, operation_lines

OPEN_UP_TO_OPERATIONS = 50  # a longer list of operations starts folded
_SKIPPED = ("Risk findings",)
_ITEM = re.compile(r"^(?:(\d+)\.|[-*]) (.*)$")
_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")


def inline(text: str) -> str:
    """Return one line of REVIEW.md as HTML: escaped, with its **bold** and `code`."""
    out, at = [], 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[at:match.start()]))
        bold, code = match.groups()
        out.append(f"<strong>{escape(bold)}</strong>" if bold is not None else f"<code>{escape(code)}</code>")
        at = match.end()
    out.append(escape(text[at:]))
    return "".join(out)


def review_sections(text: str) -> list[tuple[str, list[str]]]:
    """Return REVIEW.md as (heading, lines) pairs; the lines before the first `## ` have the heading ""."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if line.startswith("# "):
            continue  # the bundle's id: the page's own title says it
        if line.startswith("## "):
            sections.append((line[3:].strip(), []))
        else:
            sections[-1][1].append(line)
    # Before the first heading: the facts the page shows from the manifest, as a list; a paragraph stays.
    sections[0] = ("", [line for line in sections[0][1] if _ITEM.match(line.strip()) is None])
    return [(heading, lines) for heading, lines in sections if heading not in _SKIPPED]


def render_lines(lines: list[str], links: dict[int, str]) -> str:
    """Return a section's lines as paragraphs and lists; `links`: operation number -> its links to the SQL.

    Lines that follow each other outside a list are one paragraph, as Markdown reads them.
    """
    out: list[str] = []
    open_list, paragraph = "", []
    for line in [*lines, ""]:
        item = _ITEM.match(line.strip())
        if paragraph and (item is not None or not line.strip()):
            out.append(f"<p>{inline(' '.join(paragraph))}</p>")
            paragraph = []
        kind = "" if item is None else ("ol" if item.group(1) else "ul")
        if open_list and kind != open_list:
            out.append(f"</{open_list}>")
            open_list = ""
        if item is None:
            if line.strip():
                paragraph.append(line.strip())
            continue
        if not open_list:
            out.append('<ol class="ops">' if kind == "ol" else "<ul>")
            open_list = kind
        number = int(item.group(1)) if item.group(1) else None
        value = f' value="{number}"' if number is not None else ""
        out.append(f"<li{value}>{inline(item.group(2))}{links.get(number or 0, '')}</li>")
    return "\n".join(out)


def operation_links(data: ReviewData) -> dict[int, str]:
    """Return operation number -> links to its comment line in each dialect's up script."""
    per_dialect = [(script, operation_lines(script)) for script in data.scripts if script.direction == "up"]
    links: dict[int, str] = {}
    for number in range(1, len(data.manifest["operations"]) + 1):
        found = [f'<a href="#{escape(line_anchor(script.anchor, lines[number]))}">{escape(script.dialect)}</a>'
                 for script, lines in per_dialect if number in lines]
        if found:
            links[number] = f'<span class="sqlrefs">SQL:{"".join(found)}</span>'
    return links


def review_md_html(data: ReviewData) -> str:
    """Return REVIEW.md's sections (but its findings) as HTML, the operations folded when there are many."""
    links = operation_links(data)
    out = []
    for heading, lines in review_sections(data.review_md):
        body = render_lines(lines, links)
        if not body:
            continue
        items = sum(1 for line in lines if _ITEM.match(line.strip()))
        if heading:
            title = f"{inline(heading)} <span class=\"counts\">{items:,}</span>" if items > 1 else inline(heading)
            if items > OPEN_UP_TO_OPERATIONS:
                out.append(f'<details class="md"><summary><strong>{title}</strong></summary>{body}</details>')
                continue
            out.append(f"<h3>{title}</h3>")
        out.append(f'<div class="md">{body}</div>')
    return "\n".join(out)


def facts(data: ReviewData) -> str:
    """Return the manifest's facts as a definition list."""
    m = data.manifest
    rows = [
        ("Bundle", f'<span class="mono">{escape(m["id"])}</span>'),
        ("Parent", f'<span class="mono">{escape(m["parent"])}</span>' if m["parent"] else "none: the first bundle"),
        ("Author", escape(str(m["author"]))),
        ("Created", f'{escape(str(m["created_at"]))} by {escape(str(m["generator"]))}'),
        ("Dialects", ", ".join(f'<a href="#sql-{escape(s.dialect)}">{escape(s.title)}</a>'
                               for s in data.scripts if s.direction == "up")),
        ("Operations", f'{len(m["operations"]):,}'),
        ("Risk", f'<span class="badge {escape(m["risk"]["level"])}">{escape(m["risk"]["level"])}</span>'),
    ]
    if m.get("online") is True:
        rows.append(("Online", "yes: lock-safe forms, run statement by statement"))
    if m.get("baseline") is True:
        rows.append(("Baseline", "yes: the live schema of an existing database"))
    rows.append(("Digest", f'<a class="mono" href="#digest">{escape(m["digest"])}</a>'))
    return '<dl class="facts">' + "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows) + "</dl>"


def summary_section(data: ReviewData) -> str:
    return (f'<section class="card" id="summary"><h2>Summary</h2>{facts(data)}\n{review_md_html(data)}</section>')
