"""Lint a bundle's `.sql` files as they are on disk, statement by statement, with its dialect's rules.

The bytes linted are the bytes the DBA signs, hand edits included: the manifest's
operations are not consulted. Each statement is parsed with sqlglot in the script's
dialect; one sqlglot cannot parse is itself a finding, and the rules still see its text.
What the rules know besides the statement is in `Script`: the tables that exist before
the bundle (its parent's `schema.json`) and what earlier statements of the script did.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, Tokenizer

from reviewkit.dialects import get_dialect
from reviewkit.dialects.splitter import split_statements
from reviewkit.lint.findings import Finding, allowances
from reviewkit.schema.expressions import quiet_sqlglot
from reviewkit.schema.state import Schema


class _once:  # noqa: N801 - used as a decorator, like functools.cached_property
    """functools.cached_property without its lock (Python 3.11 takes one per first read): computed once per statement."""

    def __init__(self, compute: Callable) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, statement: object, owner: type | None = None) -> object:
        if statement is None:
            return self
        value = statement.__dict__[self.name] = self.compute(statement)
        return value


@dataclass
class Statement:
    """One statement of a script: its text, where it is, and what sqlglot makes of it.

    sqlglot's tree (`node`) is built only when a rule asks for it: most rules read the
    words, and the table a statement works on (`table`) is read from its first words. How
    far sqlglot reads the statement (`readable`) is known without parsing each one: it is
    the same for every statement that differs only in names and values, so one parse per
    such shape answers for all (a 1,000-table bundle has a handful of shapes).
    """

    sql: str
    number: int
    line: int
    dialect: str
    comments: list[str] = field(default_factory=list)  # the comment lines directly above it

    @_once
    def upper(self) -> str:
        """The text upper-cased with its whitespace collapsed, for the rules that read words (once per statement)."""
        return " ".join(self.sql.upper().split())

    @_once
    def node(self) -> exp.Expression | None:
        """sqlglot's tree of the statement, None when sqlglot cannot parse it (a `Command` when it keeps only text)."""
        with quiet_sqlglot():
            return _parse(self.sql, self.dialect)

    @_once
    def tokens(self) -> list[Token]:
        """sqlglot's tokens of the statement, in its dialect (cheaper than a tree; rules may read them).

        Empty when sqlglot cannot tokenize it (a hand edit left a quote open): the rules read
        nothing, and `unparsable` says the statement was not checked.
        """
        try:
            return _tokenizer(self.dialect).tokenize(self.sql)
        except (SqlglotError, ValueError, IndexError):  # TokenError, and the slips under it
            return []

    @_once
    def readable(self) -> str:
        """How far sqlglot reads the statement: "tree", "text" (a `Command`) or "none" (it cannot parse it)."""
        if "node" in self.__dict__:
            return _readability(self.node)
        shape = _shape(self.sql, self.dialect)
        if shape is None:
            return _readability(self.node)
        key = (self.dialect, shape)
        if key not in _READABLE_SHAPES:
            _READABLE_SHAPES[key] = _readability(self.node)
        return _READABLE_SHAPES[key]

    @_once
    def table(self) -> str | None:
        """The table an ALTER TABLE, CREATE INDEX, DROP, TRUNCATE or DML statement works on (`table_of`)."""
        found = _table_from_words(self.sql)
        return table_of(self.node) if found is _PARSE else found

    @_once
    def changes_rows(self) -> bool:
        """Tell whether the statement is an INSERT, UPDATE or DELETE."""
        if self.upper.startswith(("INSERT ", "UPDATE ", "DELETE ", "REPLACE ")):
            return True
        return self.upper.startswith("WITH ") and isinstance(self.node, (exp.Insert, exp.Update, exp.Delete))


@dataclass
class Script:
    """What the rules know of the script around a statement."""

    dialect: str
    path: str
    before: Schema  # the schema before the bundle (the parent's schema.json)
    statements: list[Statement]
    seen: list[Statement] = field(default_factory=list)  # the statements before the current one
    online: bool = False  # the bundle is written in the lock-safe forms (`generate --online`)
    memo: dict[str, object] = field(default_factory=dict)  # what a rule worked out once for the whole script
    _made: set[str] = field(default_factory=set)  # tables created by the statements scanned so far
    _scanned: int = 0

    def existed(self, table: str | None) -> bool:
        """Tell whether `table` existed before the bundle (so that other sessions use it now)."""
        return table is not None and self.before.table(table) is not None

    def after(self, statement: Statement) -> list[Statement]:
        """Return the statements that follow `statement`."""
        return self.statements[statement.number:]

    def made_here(self, table: str) -> bool:
        """Tell whether an earlier statement of the script created `table` (a rebuild's new copy, say)."""
        while self._scanned < len(self.seen):
            match = _CREATE_TABLE.match(self.seen[self._scanned].sql)
            if match:
                self._made.add(_unquoted(match.group(1)))
            self._scanned += 1
        return table in self._made


Rule = Callable[[Statement, Script], Iterable[Finding]]


def reads(*prefixes: str) -> Callable[[Rule], Rule]:
    """Mark a rule as reading only statements whose words begin with one of `prefixes` ("ALTER TABLE").

    The engine then calls it for no other statement: on a script of thousands of statements,
    most rules have nothing to say about most of them.
    """
    def mark(rule: Rule) -> Rule:
        rule.reads = prefixes  # type: ignore[attr-defined]
        return rule
    return mark


def _rules_by_first_word(rules: list[Rule]) -> dict[str | None, list[Rule]]:
    """Return, for each first word a rule reads, the rules to call (in order); under None, those for any other word."""
    words = {prefix.split()[0] for rule in rules for prefix in getattr(rule, "reads", ())}
    table: dict[str | None, list[Rule]] = {}
    for word in [*words, None]:
        table[word] = [rule for rule in rules
                       if not hasattr(rule, "reads") or any(prefix.split()[0] == word for prefix in rule.reads)]
    return table


def lint_script(text: str, dialect: str, path: str, before: Schema, rules: list[Rule], online: bool = False) -> list[Finding]:
    """Return every finding of `rules` on the script `text`, allowed by its comments; not yet weighed or filtered.

    What follows depends on the bytes and the schema before them only, so it can be kept
    per file hash (`reviewkit.lint.cache`); `finish` then applies the settings and sizes.
    """
    return lint_statements(script_statements(text, dialect), dialect, path, before, rules, online)


def lint_statements(statements: list[Statement], dialect: str, path: str, before: Schema, rules: list[Rule],
                    online: bool = False) -> list[Finding]:
    """Return every finding of `rules` on `statements`, a script's in order (`generate` gives them as it writes them)."""
    script = Script(dialect, path, before, statements, online=online)
    found: list[Finding] = []
    by_word = _rules_by_first_word(rules)
    for statement in statements:
        allowed = allowances(statement.comments) if statement.comments else {}
        first = statement.upper.split(" ", 1)[0]
        for rule in by_word.get(first, by_word[None]):
            for finding in rule(statement, script):
                finding.file, finding.line, finding.statement = path, statement.line, statement.number
                finding.allowed = allowed.get(finding.rule)
                found.append(finding)
        script.seen.append(statement)
    return found


def rules_of(dialect: str) -> list[Rule]:
    from reviewkit.lint.common_rules import RULES  # the rules every engine shares

    return [*RULES, *get_dialect(dialect).lint_rules]


def script_statements(text: str, dialect: str) -> list[Statement]:
    """Return the statements of a script's text, each with the comment lines right above it."""
    lines = text.splitlines()
    return [Statement(split.sql, number, split.line, dialect, _comments_above(lines, split.line))
            for number, split in enumerate(split_statements(text, dialect), 1)]


def _parse(sql: str, dialect: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read=dialect)
    except (SqlglotError, ValueError, TypeError, KeyError, RecursionError):  # sqlglot's own errors, and its slips
        return None


@cache
def _tokenizer(dialect: str) -> Tokenizer:
    """Return the dialect's tokenizer: tokenize() resets it, and building one costs more than using it."""
    return SqlglotDialect.get_or_raise(dialect).tokenizer()


def _readability(node: exp.Expression | None) -> str:
    if node is None:
        return "none"
    return "text" if isinstance(node, exp.Command) else "tree"


# How far sqlglot reads a shape of statement, per dialect: kept for the process.
_READABLE_SHAPES: dict[tuple[str, tuple[str | None, ...]], str] = {}
# Names and values, which sqlglot reads alike whatever they hold: what the dialect's quotes
# enclose (a name or a string without escapes), a number. A statement with backslashes or
# dollar quoting is parsed on its own: where its strings end is the dialect's business.
@cache
def _values(dialect: str) -> re.Pattern[str]:
    # One pass, left to right, so that a quote inside another kind of quotes is content.
    # Each quote kind is a group: splitting keeps the quote that opened each part, not what it held.
    quoted = [f"({re.escape(q)})(?:[^{re.escape(q)}]|{re.escape(q)}{{2}})*{re.escape(q)}"
              for q in get_dialect(dialect).script_rules.quotes if q != "["]
    return re.compile("|".join([*quoted, r"\b\d+(?:\.\d+)?\b"]))


def _shape(sql: str, dialect: str) -> tuple[str | None, ...] | None:
    """Return the statement with its names and values taken out, or None when it must be parsed on its own."""
    if "\\" in sql or "$" in sql:
        return None
    quotes = [q for q in _quotes(dialect) if q in sql]
    if len(quotes) > 1:  # which quote encloses which is the regular expression's business
        return tuple(_values(dialect).split(sql))
    if not quotes:
        return (sql.translate(_DIGITS),)
    # One kind of quote: every other part is inside it (a doubled quote leaves an empty part).
    return (quotes[0], quotes[0].join(sql.split(quotes[0])[::2]).translate(_DIGITS))


_DIGITS = str.maketrans("123456789", "000000000")


@cache
def _quotes(dialect: str) -> str:
    return get_dialect(dialect).script_rules.quotes.replace("[", "")


def _comments_above(lines: list[str], line: int) -> list[str]:
    """Return the run of `--` comment lines that ends right above line `line` (1-based)."""
    found = []
    index = line - 2
    while index >= 0 and lines[index].lstrip().startswith("--"):
        found.append(lines[index])
        index -= 1
    return list(reversed(found))


# -- what a statement touches --------------------------------------------------------------

_PARSE = object()  # the words do not say: ask sqlglot's tree
_NAME = r'(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|[A-Za-z_][\w$]*)'
_TARGET = re.compile(
    r"\s*(?:ALTER\s+TABLE(?:\s+ONLY)?(?:\s+IF\s+EXISTS)?(?:\s+ONLY)?"
    rf"|CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    rf"(?:{_NAME}(?:\s*\.\s*{_NAME})?\s+)?(?:USING\s+\w+\s+)?ON(?:\s+ONLY)?"
    r"|DROP\s+(?:TABLE|VIEW)(?:\s+IF\s+EXISTS)?"
    r"|TRUNCATE(?:\s+TABLE)?(?:\s+ONLY)?|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?|INSERT\s+INTO)"
    rf"\s+(?:{_NAME}\s*\.\s*)?({_NAME})(?=[\s(,;]|$)",
    re.IGNORECASE,
)
_DROP_INDEX = re.compile(
    rf"\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?:{_NAME}\s*\.\s*)?({_NAME})"
    rf"(?:\s+ON\s+(?:{_NAME}\s*\.\s*)?({_NAME}))?\s*$",
    re.IGNORECASE,
)
_CREATE_TABLE = re.compile(rf"\s*CREATE\s+(?:TEMP\w*\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:{_NAME}\s*\.\s*)?({_NAME})",
                           re.IGNORECASE)
_TOUCHES = re.compile(r"\s*(?:ALTER|CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX|DROP|TRUNCATE|UPDATE|DELETE|INSERT|WITH)\b",
                      re.IGNORECASE)


def _table_from_words(sql: str) -> str | None | object:
    """Return what `table_of` would, from the statement's first words; `_PARSE` when they do not say."""
    match = _TARGET.match(sql)
    if match:
        return _unquoted(match.group(1))
    match = _DROP_INDEX.match(sql)
    if match:  # DROP INDEX i names the index, DROP INDEX i ON t (MySQL) the table
        return _unquoted(match.group(2) or match.group(1))
    return _PARSE if _TOUCHES.match(sql) else None


def _unquoted(name: str) -> str:
    if name[0] in '"`':
        return name[1:-1].replace(name[0] * 2, name[0])
    return name.lower()



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
