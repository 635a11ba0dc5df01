"""SQL expressions inside a schema (defaults, checks, index keys, partial-index filters).

The state keeps them as text in sqlglot's neutral dialect, in a canonical form, so that
the same expression written two ways (`now()` and `CURRENT_TIMESTAMP`, `(0)::numeric`
and `0`) compares equal, whether it came from a model file or from a live database.
Each dialect renders them back with `render`.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp


def canonical(node: exp.Expression) -> str:
    """Return the canonical neutral-dialect text of a parsed expression.

    Parentheses that only restate precedence are dropped, whoever wrote them: a domain's
    `((VALUE >= 1) AND (VALUE <= 9))` and PostgreSQL's echo of a check compare equal.
    """
    node = _unparen(node).transform(_simplify)  # transform copies the tree first
    node = _drop_needless_parens(node)
    return _unparen(node).sql(dialect="", normalize=False)


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
    return node.sql(dialect=dialect)


_TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR}


def _simplify(node: exp.Expression) -> exp.Expression:
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
    if isinstance(node, exp.Between):
        # PostgreSQL stores `x BETWEEN a AND b` as `x >= a AND x <= b`.
        return exp.and_(exp.GTE(this=node.this.copy(), expression=node.args["low"].copy()),
                        exp.LTE(this=node.this.copy(), expression=node.args["high"].copy()))
    if isinstance(node, exp.CurrentTimestamp) and node.this is not None:
        return exp.CurrentTimestamp()  # CURRENT_TIMESTAMP(6) on MySQL: precision lives in the type
    if isinstance(node, exp.Identifier):
        return exp.to_identifier(node.name if node.quoted else node.name.lower())
    return node


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
