"""Lint a bundle's `.sql` files as they are on disk, statement by statement, with its dialect's rules.

The bytes linted are the bytes the DBA signs, hand edits included: the manifest's
operations are not consulted. Each statement is parsed with sqlglot in the script's
dialect; one sqlglot cannot parse is itself a finding, and the rules still see its text.
What the rules know besides the statement is in `Script`: the tables that exist before
the bundle (its parent's `schema.json`) and what earlier statements of the script did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from reviewkit.dialects import get_dialect
from reviewkit.dialects.splitter import split_statements
from reviewkit.lint.findings import Finding, allowances
from reviewkit.schema.expressions import quiet_sqlglot
from reviewkit.schema.state import Schema


@dataclass
class Statement:
    """One statement of a script: its text, where it is, and sqlglot's tree of it (None when it does not parse)."""

    sql: str
    number: int
    line: int
    node: exp.Expression | None
    comments: list[str] = field(default_factory=list)  # the comment lines directly above it

    @cached_property
    def upper(self) -> str:
        """The text upper-cased with its whitespace collapsed, for the rules that read words (once per statement)."""
        return " ".join(self.sql.upper().split())


@dataclass
class Script:
    """What the rules know of the script around a statement."""

    dialect: str
    path: str
    before: Schema  # the schema before the bundle (the parent's schema.json)
    statements: list[Statement]
    seen: list[Statement] = field(default_factory=list)  # the statements before the current one

    def existed(self, table: str | None) -> bool:
        """Tell whether `table` existed before the bundle (so that other sessions use it now)."""
        return table is not None and self.before.table(table) is not None


Rule = Callable[[Statement, Script], Iterable[Finding]]


def lint_script(text: str, dialect: str, path: str, before: Schema, rules: list[Rule]) -> list[Finding]:
    """Return every finding of `rules` on the script `text`, allowed by its comments; not yet weighed or filtered.

    What follows depends on the bytes and the schema before them only, so it can be kept
    per file hash (`reviewkit.lint.cache`); `finish` then applies the settings and sizes.
    """
    statements = _statements(text, dialect)
    script = Script(dialect, path, before, statements)
    found: list[Finding] = []
    for statement in statements:
        allowed = allowances(statement.comments)
        for rule in rules:
            for finding in rule(statement, script):
                finding = replace(finding, file=path, line=statement.line, statement=statement.number)
                if finding.rule in allowed:
                    finding = replace(finding, allowed=allowed[finding.rule])
                found.append(finding)
        script.seen.append(statement)
    return found


def rules_of(dialect: str) -> list[Rule]:
    return [unparsable, *get_dialect(dialect).lint_rules]


def unparsable(statement: Statement, script: Script) -> Iterable[Finding]:
    """A statement sqlglot cannot read: no rule can vouch for all of it, so a reviewer must.

    A syntax error is medium: no rule checked it. A statement sqlglot keeps only as text
    (a `Command`: `ALTER TABLE ... VALIDATE CONSTRAINT`, `ALTER TYPE ... ADD VALUE`) is low:
    the rules still read its words.
    Safer: read it by hand, then allow it (`-- reviewkit: allow unparsable-statement -- why`).
    """
    title = get_dialect(script.dialect).title
    if statement.node is None:
        yield Finding("unparsable-statement", "medium", f"sqlglot cannot parse this statement as {title}: no rule checked it",
                      "read it by hand; allow it with `-- reviewkit: allow unparsable-statement -- REASON` above it")
    elif isinstance(statement.node, exp.Command):
        yield Finding("unparsable-statement", "low",
                      f"sqlglot reads this statement only as text ({title}): the rules checked its words, not its structure",
                      "read it by hand; allow it with `-- reviewkit: allow unparsable-statement -- REASON` above it")


def _statements(text: str, dialect: str) -> list[Statement]:
    lines = text.splitlines()
    found = []
    with quiet_sqlglot():
        for number, split in enumerate(split_statements(text, dialect), 1):
            found.append(Statement(split.sql, number, split.line, _parse(split.sql, dialect), _comments_above(lines, split.line)))
    return found


def _parse(sql: str, dialect: str) -> exp.Expression | None:
    try:
        node = sqlglot.parse_one(sql, read=dialect)
    except (SqlglotError, ValueError, TypeError, KeyError, RecursionError):  # sqlglot's own errors, and its slips
        return None
    # A Command is sqlglot giving up on the statement's structure: the rules read its text.
    return node


def _comments_above(lines: list[str], line: int) -> list[str]:
    """Return the run of `--` comment lines that ends right above line `line` (1-based)."""
    found = []
    index = line - 2
    while index >= 0 and lines[index].lstrip().startswith("--"):
        found.append(lines[index])
        index -= 1
    return list(reversed(found))


# -- what a statement touches --------------------------------------------------------------


def table_of(node: exp.Expression | None) -> str | None:
    """Return the table an ALTER TABLE, CREATE INDEX, DROP TABLE, TRUNCATE or DML statement works on."""
    if node is None:
        return None
    if isinstance(node, exp.Create) and isinstance(node.this, exp.Index):
        table = node.this.args.get("table")
        return _name(table) if table is not None else None
    if isinstance(node, exp.Drop):  # DROP TABLE t: the table; DROP INDEX i: the index, or ON t (MySQL)
        on = node.args.get("cluster")
        if isinstance(on, exp.OnProperty) and isinstance(on.this, exp.Table):
            return _name(on.this)
        tables = node.args.get("tables") or [node.this]
        return _name(tables[0]) if isinstance(tables[0], exp.Table) else None
    if isinstance(node, (exp.Alter, exp.TruncateTable, exp.Update, exp.Delete, exp.Insert)):
        target = node.this
        if isinstance(node, exp.TruncateTable):
            target = node.expressions[0] if node.expressions else None
        while target is not None and not isinstance(target, exp.Table) and isinstance(target.this, exp.Expression):
            target = target.this
        return _name(target) if isinstance(target, exp.Table) else None
    return None


def _name(table: exp.Expression) -> str:
    ident = table.this if isinstance(table, exp.Table) else table
    if isinstance(ident, exp.Identifier):
        return ident.name if ident.quoted else ident.name.lower()
    return table.name.lower()
