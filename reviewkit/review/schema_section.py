"""The schema change as HTML: an index of the tables that change, then each table before and after."""

from __future__ import annotations

from html import escape

from reviewkit.review import ReviewData
from reviewkit.review.schema_change import TableChange, ViewChange

OPEN_UP_TO_TABLES = 30  # more changed tables than this start folded, reached from the index


def table_anchor(index: int) -> str:
    return f"table-{index + 1}"


def schema_section(data: ReviewData) -> str:
    change = data.change
    before = escape(data.parent.id) if data.parent else "nothing (first bundle)"
    out = ['<section class="card" id="schema"><h2>Schema change</h2>',
           f'<p class="lead">From the schema after {before} to this bundle\'s <code>schema.json</code>: '
           f"{_count(len(change.tables), 'table')} changed, {change.unchanged_tables:,} unchanged"
           + (f", {_count(len(change.views), 'view')} changed" if change.views else "") + ".</p>"]
    if not change.tables and not change.views:
        out.append("<p>No table or view changes.</p></section>")
        return "\n".join(out)
    opened = len(change.tables) <= OPEN_UP_TO_TABLES
    if change.tables:
        chips = "".join(f'<li><a class="{t.change}" href="#{table_anchor(i)}">{escape(t.name)}</a></li>'
                        for i, t in enumerate(change.tables))
        out.append(f'<details class="index"{" open" if opened else ""}><summary>Tables '
                   f'<span class="counts">{_tally(change.tables)}</span></summary><ul class="chips">{chips}</ul></details>')
    out += [table_block(i, t, opened) for i, t in enumerate(change.tables)]
    if change.views:
        out.append("<h3>Views</h3>")
        out.append(view_table(change.views))
    out.append("</section>")
    return "\n".join(out)


def table_block(index: int, table: TableChange, opened: bool) -> str:
    """Return one table: a foldable grid of its columns, keys and indexes, before and after."""
    title = escape(table.name)
    if table.old_name:
        title = f"{escape(table.old_name)} → {title}"
    rows = "".join(_row(row.kind, row.name, row.old_name, row.before, row.after, row.change) for row in table.rows)
    return (f'<details class="table" id="{table_anchor(index)}"{" open" if opened else ""}><summary>'
            f'<span class="badge {table.change}">{table.change}</span> <strong class="mono">{title}</strong>'
            f'<span class="counts">{escape(table.tally())}</span></summary><table class="diff"><thead><tr><th></th><th>name</th>'
            f"<th>before</th><th>after</th></tr></thead><tbody>{rows}</tbody></table></details>")


def _row(kind: str, name: str, old_name: str | None, before: str | None, after: str | None, change: str) -> str:
    """Return one row: kind, name, before, after; an absent side is an empty cell (the style draws a dash).

    No class but the row's: a 1,000-table bundle has 15,000 of these rows.
    """
    shown = escape(name) if not old_name else f"{escape(old_name)} → {escape(name)}"
    return (f"<tr class={change}><td>{escape(kind)}</td><td>{shown}</td>"
            f"<td>{_cell(before)}</td><td>{_cell(after)}</td></tr>")


def _cell(text: str | None) -> str:
    return "" if text is None else escape(text)


def view_table(views: tuple[ViewChange, ...]) -> str:
    rows = "".join(f'<tr class={v.change}><td><span class="badge {v.change}">{v.change}</span></td>'
                   f"<td>{escape(v.name)}</td><td>{_cell(v.before)}</td><td>{_cell(v.after)}</td></tr>" for v in views)
    return ('<table class="diff views"><thead><tr><th></th><th>view</th><th>before</th><th>after</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _tally(tables: tuple[TableChange, ...]) -> str:
    found: dict[str, int] = {}
    for table in tables:
        found[table.change] = found.get(table.change, 0) + 1
    return ", ".join(f"{n:,} {what}" for what, n in found.items())


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'s' if n != 1 else ''}"

