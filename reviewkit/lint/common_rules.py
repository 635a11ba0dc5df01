"""The `lint` rules every engine shares: statements no rule could read, and views that go away."""

from __future__ import annotations

import re
from collections.abc import Iterator

from reviewkit.dialects import get_dialect
from reviewkit.lint.engine import Script, Statement, reads
from reviewkit.lint.findings import Finding

_CREATE_VIEW = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:\w+\s+)*?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?", re.IGNORECASE)


def unparsable(statement: Statement, script: Script) -> Iterator[Finding]:
    """A statement sqlglot cannot read: no rule can vouch for all of it, so a reviewer must.

    A syntax error is medium: no rule checked it. A statement sqlglot keeps only as text
    (a `Command`: `ALTER TABLE ... VALIDATE CONSTRAINT`, `ALTER TYPE ... ADD VALUE`) is low:
    the rules still read its words.
    Safer: read it by hand, then allow it (`-- reviewkit: allow unparsable-statement -- why`).
    """
    readable = statement.readable
    if readable == "tree":
        return
    title = get_dialect(script.dialect).title
    advice = "read it by hand; allow it with `-- reviewkit: allow unparsable-statement -- REASON` above it"
    if readable == "none":
        yield Finding("unparsable-statement", "medium", f"sqlglot cannot parse this statement as {title}: no rule checked it",
                      advice)
    else:
        yield Finding("unparsable-statement", "low",
                      f"sqlglot reads this statement only as text ({title}): the rules checked its words, not its structure",
                      advice)


@reads("DROP VIEW")
def view_dropped(statement: Statement, script: Script) -> Iterator[Finding]:
    """A view dropped for good: queries and code that read it fail.

    A view dropped and created again later in the script (around a change of its table)
    is only briefly gone, and not at all where DDL is transactional: no finding.
    Anti-pattern: `DROP VIEW order_totals;` while reports still read it.
    Safer: move the readers off the view first, then drop it in a later bundle.
    """
    if not statement.upper.startswith("DROP VIEW"):
        return
    view = statement.table
    if view is None or script.before.view(view) is None:
        return
    if any(_creates_view(later, view) for later in script.after(statement)):
        return
    yield Finding("drop-view", "medium", f"drops view {view}: code that reads it breaks",
                  "move its readers off it first, then drop it in a later bundle")


def _creates_view(statement: Statement, view: str) -> bool:
    match = _CREATE_VIEW.match(statement.sql)
    if not match:
        return False
    rest = statement.sql[match.end():].lstrip()
    for quote in '"`':
        if rest.startswith(quote + view + quote):
            return True
    return rest.lower().startswith(view.lower()) and not rest[len(view):len(view) + 1].isalnum()


RULES = [unparsable, view_dropped]
