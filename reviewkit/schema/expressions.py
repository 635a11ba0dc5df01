"""SQL expressions inside a schema (defaults, checks, index keys, partial-index filters).

The state keeps them as text in sqlglot's neutral dialect, in a canonical form, so that
the same expression written two ways (`now()` and `CURRENT_TIMESTAMP`, `(0)::numeric`
and `0`) compares equal, whether it came from a model file or from a live database.
Each dialect renders them back with `render`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, UnsupportedError
from sqlglot.generator import Generator
from sqlglot.tokens import Token, TokenType


def canonical(node: exp.Expression) -> str:
    """Return the canonical neutral-dialect text of a parsed expression.

    Parentheses that only restate precedence are dropped, whoever wrote them: a domain's
    `((VALUE >= 1) AND (VALUE <= 9))` and PostgreSQL's echo of a check compare equal.
    """
    node = _unparen(node)
    # Most defaults are one node (0, TRUE, CURRENT_TIMESTAMP), the same few thousands of
    # times in a large schema: their text is made once per kind and value.
    key = _childless_key(node)
    if key is None:
        return _canonical(node)
    text = _CHILDLESS.get(key)
    if text is None:
        if len(_CHILDLESS) >= _CHILDLESS_KEPT:
            _CHILDLESS.clear()
        text = _CHILDLESS[key] = _canonical(node)
    return text


_CHILDLESS: dict[tuple, str] = {}
_CHILDLESS_KEPT = 8192


def _childless_key(node: exp.Expression) -> tuple | None:
    """Return all that a node without sub-expressions (nor comments) is: its class and its plain values; else None."""
    if node.comments:
        return None
    key: list = [type(node)]
    for name, value in node.args.items():
        if not isinstance(value, (str, bool, int, type(None))):
            return None  # a sub-expression, a list of them, or a value the key cannot hold
        key.append((name, type(value), value))  # True and 1 are equal keys, not equal values
    return tuple(key)


def _canonical(node: exp.Expression) -> str:
    if isinstance(node, _LEAVES):  # most defaults: nothing inside to simplify
        return _generator("").generate(_simplify_node(node.copy()), copy=False)
    node = node.transform(_simplify)  # transform copies the tree first
    node = _drop_needless_parens(node)
    _plain_division(node, "")
    return _generator("").generate(_unparen(node), copy=False)


@cache
def _generator(dialect: str) -> Generator:
    """One generator per dialect: `Expression.sql()` builds a new one on every call, most of its cost."""
    return Dialect.get_or_raise(dialect).generator(normalize=False)


_LEAVES = (exp.Literal, exp.Boolean, exp.Null)


@lru_cache(maxsize=4096)
def canonical_text(text: str, dialect: str) -> str:
    """Parse `text` written in `dialect` and return its canonical form."""
    return canonical(sqlglot.parse_one(text, read=dialect))


@lru_cache(maxsize=4096)
def parse_canonical(text: str) -> exp.Expression:
    return sqlglot.parse_one(text, read="")


@lru_cache(maxsize=8192)
def render(text: str, dialect: str) -> str:
    """Render a canonical expression for one dialect, identifiers quoted."""
    node = parse_canonical(text).copy()
    for ident in node.find_all(exp.Identifier):
        ident.set("quoted", True)
    _plain_division(node, dialect)
    return _generator(dialect).generate(node, copy=False)


def _plain_division(node: exp.Expression, dialect: str) -> None:
    """Make every `/` the dialect's own division, so that sqlglot writes it as `/`.

    The canonical form does not know how the model's dialect divided; sqlglot would
    otherwise keep each dialect's meaning with casts and NULLIF (one of which,
    CAST(... AS DECIMAL), is DECIMAL(10,0) on MySQL and rounds the result away).
    """
    engine = Dialect.get_or_raise(dialect)
    for division in node.find_all(exp.Div):
        division.set("typed", engine.TYPED_DIVISION)
        division.set("safe", engine.SAFE_DIVISION)


@lru_cache(maxsize=4096)
def unsupported_in(text: str, dialect: str) -> str | None:
    """Return what of a canonical expression sqlglot cannot write for `dialect`, or None when all of it renders.

    `render` lets sqlglot drop what a dialect lacks with a logged warning (`x AT TIME ZONE
    'utc'` becomes `x` for MySQL); this says so instead.
    """
    try:
        parse_canonical(text).sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as err:
        return str(err).splitlines()[0]
    return None


_TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR}

# PostgreSQL's "current moment" idiom: the string 'now' cast to a date/time type.
_NOW_CAST_TO = {
    exp.DataType.Type.DATE: exp.CurrentDate,
    exp.DataType.Type.TIME: exp.CurrentTime,
    exp.DataType.Type.TIMETZ: exp.CurrentTime,
    exp.DataType.Type.TIMESTAMP: exp.CurrentTimestamp,
    exp.DataType.Type.TIMESTAMPTZ: exp.CurrentTimestamp,
    exp.DataType.Type.DATETIME: exp.CurrentTimestamp,
}


def _simplify(node: exp.Expression) -> exp.Expression:
    simpler = _simplify_node(node)
    if simpler is node or isinstance(simpler, exp.Identifier):
        return simpler
    # transform() does not descend into what replaces a node; the replacement is a copy already.
    return simpler.transform(_simplify, copy=False)


def _simplify_node(node: exp.Expression) -> exp.Expression:
    moment = _moment_cast(node)
    if moment is not None:
        return moment
    # Engines echo defaults and checks back with casts and parentheses of their own
    # ('a'::character varying, (0)::numeric, ((x > 0))); they carry no meaning here.
    if isinstance(node, exp.Cast) and isinstance(_unparen(node.this), (exp.Literal, exp.Null, exp.Boolean)):
        return _unparen(node.this).copy()
    if isinstance(node, exp.Cast) and isinstance(_unparen(node.this), exp.Column) and node.to.this in _TEXT_TYPES:
        return _unparen(node.this).copy()  # PostgreSQL's lower((email)::text) for a varchar column
    if isinstance(node, exp.Paren) and isinstance(node.this, (exp.Literal, exp.Column, exp.Paren, exp.Null, exp.Boolean)):
        return node.this.copy()
    if isinstance(node, exp.Paren) and isinstance(node.parent, (exp.Paren, exp.Check, exp.CheckColumnConstraint)):
        return node.this.copy()
    if isinstance(node, exp.Paren) and _is_call(node.parent):
        return node.this.copy()  # an argument needs no parentheses of its own: replace((a || b), ...)
    if isinstance(node, exp.Between):
        # PostgreSQL stores `x BETWEEN a AND b` as `x >= a AND x <= b`.
        return exp.and_(exp.GTE(this=node.this.copy(), expression=node.args["low"].copy()),
                        exp.LTE(this=node.this.copy(), expression=node.args["high"].copy()))
    if isinstance(node, (exp.CurrentTimestamp, exp.CurrentTime)) and node.this is not None:
        return type(node)()  # CURRENT_TIMESTAMP(6), curtime(6) on MySQL: precision lives in the type
    if isinstance(node, exp.Identifier):
        return exp.to_identifier(node.name if node.quoted else node.name.lower())
    return node


def _is_call(node: exp.Expression | None) -> bool:
    """Tell whether `node` is a function call written f(...) (sqlglot counts AND and + as functions too)."""
    return isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Connector, exp.Unary, exp.Predicate))


def _moment_cast(node: exp.Expression) -> exp.Expression | None:
    """Return CURRENT_DATE for `('now'::text)::date` (and the like), or None for any other node.

    The cast is not noise to drop: `('now'::text)::date` is how PostgreSQL stores "the
    date at insert time", and without the cast only the string 'now' would be left.
    `'now'::date` means the same to whoever writes it (PostgreSQL itself would fold it
    into the day the table is created, which nobody means by 'now').
    """
    if not isinstance(node, exp.Cast) or node.to.this not in _NOW_CAST_TO:
        return None
    value = _unparen(node.this)
    while isinstance(value, exp.Cast) and value.to.this in _TEXT_TYPES:
        value = _unparen(value.this)
    if not (isinstance(value, exp.Literal) and value.is_string):
        return None
    word = value.this.strip().lower()
    if word == "now" or (word == "today" and node.to.this == exp.DataType.Type.DATE):
        return _NOW_CAST_TO[node.to.this]()
    return None


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def column_names_in(text: str) -> set[str]:
    """Return the column names an expression refers to."""
    return {col.name for col in parse_canonical(text).find_all(exp.Column)}


# Binding strength of the operators whose parentheses may be dropped; NOT is left out on
# purpose: `NOT (a = 1)` is how people write it, and how the models keep it.
_LEVELS: tuple[tuple[type | tuple[type, ...], int], ...] = (
    (exp.Or, 1), (exp.And, 2), (exp.Predicate, 3), ((exp.Add, exp.Sub, exp.DPipe), 4), ((exp.Mul, exp.Div, exp.Mod), 5),
)


def _level(node: exp.Expression | None) -> int | None:
    for kinds, level in _LEVELS:
        if isinstance(node, kinds):
            return level
    return None


def _drop_needless_parens(node: exp.Expression) -> exp.Expression:
    """Drop parentheses that only restate precedence, like PostgreSQL's in `((a + 1) > 0)`."""
    for paren in list(node.find_all(exp.Paren)):
        inner, outer = _level(paren.this), _level(paren.parent)
        if inner is None or outer is None:
            continue
        # Same strength: safe on the left of a left-associative operator, and anywhere in AND/OR.
        same_ok = inner == outer and not isinstance(paren.parent, exp.Predicate) and (
            paren.arg_key == "this" or isinstance(paren.parent, exp.Connector)
        )
        if inner > outer or same_ok:
            paren.replace(paren.this)
    return node


@contextmanager
def quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's log ("Falling back to parsing as a 'Command'"): its callers report what it means themselves."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def blank_not_deferrable(sql: str, tokens: list[Token]) -> str:
    """Return `sql` with a key's `NOT DEFERRABLE [INITIALLY IMMEDIATE]` blanked out (offsets kept), which sqlglot does
    not read: every engine checks such a key per statement, as one without the words. `sql` itself when it has none.

    After NOT DEFERRABLE, SQLite reads INITIALLY DEFERRED as per statement too, and PostgreSQL refuses it: that
    spelling is left for the reader to refuse.
    """
    if not _DEFERRABLE.search(sql):  # a cheap first look: most statements have no such key
        return sql
    spans = []
    for i, token in enumerate(tokens[:-1]):
        if token.token_type != TokenType.NOT or not _is_word(tokens[i + 1], "DEFERRABLE"):
            continue
        end = tokens[i + 1].end
        if i + 3 < len(tokens) and _is_word(tokens[i + 2], "INITIALLY") and _is_word(tokens[i + 3], "IMMEDIATE"):
            end = tokens[i + 3].end
        spans.append((token.start, end + 1))
    for start, end in spans:
        sql = sql[:start] + " " * (end - start) + sql[end:]
    return sql


_DEFERRABLE = re.compile(r"\bNOT\s+DEFERRABLE\b", re.IGNORECASE)


def _is_word(token: Token, word: str) -> bool:
    return token.token_type == TokenType.VAR and token.text.upper() == word

