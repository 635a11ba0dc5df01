"""View queries: their canonical text, what they read and what they return, all by sqlglot.

A view's query is kept as sqlglot neutral-dialect text, like the expressions of a table
(`reviewkit.schema.expressions`), but only its names are normalised: a cast or a pair of
parentheses that an expression's canonical form drops can change what a view returns
(`'1'::integer`), so nothing else is rewritten. What a view reads (its tables and views)
and the names of the columns it returns are derived from the text when needed, never
stored beside it.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.tokens import Tokenizer

from reviewkit.schema.state import Schema, View

_SHOWN = 60  # characters of a query part quoted in a message


class ViewQueryError(ValueError):
    """A view's query that reviewkit cannot keep or resolve; the message says why, without naming the view."""


def canonical_query(query: exp.Expression, dialect: str) -> str:
    """Return the canonical neutral-dialect text of a view's query parsed in `dialect` (schema qualifiers removed).

    Unquoted names are lowercased and quoted ones kept as written, as the tables' names
    are; MySQL's charset introducers (`_utf8'x'`) are dropped, since the neutral dialect
    cannot read them back. The text must read back as the same query: sqlglot's neutral
    dialect cannot hold everything every dialect can (`GROUP_CONCAT(x ORDER BY y
    SEPARATOR ', ')`), and a view that would come back different is refused.
    """
    node = query.copy()
    for introducer in list(node.find_all(exp.Introducer)):
        introducer.replace(introducer.expression)
    for ident in list(node.find_all(exp.Identifier)):
        ident.replace(_normal_identifier(ident))
    text = node.sql(dialect="", normalize=False)
    _refuse_a_changed_reading(node, text, dialect)
    try:
        names_read(text)
    except Exception as err:  # noqa: BLE001 - sqlglot's scope builder failing is a query we cannot follow
        raise ViewQueryError(f"sqlglot cannot tell what its query reads ({type(err).__name__})") from None
    return text


def _normal_identifier(ident: exp.Identifier) -> exp.Identifier:
    name = ident.name if ident.quoted else ident.name.lower()
    # Quoted in the text only where a bare word would not read back as this name.
    bare = name == name.lower() and name.isidentifier() and name.upper() not in Tokenizer.KEYWORDS
    return exp.Identifier(this=name, quoted=not bare)


def _refuse_a_changed_reading(node: exp.Expression, text: str, dialect: str) -> None:
    """Raise when `text` does not read back as `node`, naming the innermost function call that changed.

    Only the spelling may differ: MySQL's `IF(c, a, b)` reads back as a CASE and `x IS NOT
    NULL` as `NOT x IS NULL`, which mean the same; MySQL's LENGTH (bytes) reading back as
    the neutral LENGTH (characters) does not.
    """
    try:
        back = _comparable(sqlglot.parse_one(text, read=""))
    except SqlglotError:
        back = None
    written = _comparable(node)
    if back == written:
        return
    seen = set(back.walk()) if back is not None else set()
    changed = [part for part in written.walk() if isinstance(part, exp.Func) and part not in seen]
    innermost = next((f for f in changed if not any(g is not f and g in changed for g in f.walk())), written)
    raise ViewQueryError(f"sqlglot's neutral form cannot hold {shorten(innermost.sql(dialect=dialect))} without changing "
                         "it; write that part another way")


def _comparable(node: exp.Expression) -> exp.Expression:
    """Return `node` with the forms that mean the same written one way (a standalone IF as a CASE, IS NOT as NOT ... IS)."""
    def one_way(part: exp.Expression) -> exp.Expression:
        if isinstance(part, exp.If) and not isinstance(part.parent, exp.Case):
            false = part.args.get("false")
            case_if = exp.If(this=part.this.copy(), true=part.args["true"].copy())
            return exp.Case(ifs=[case_if], default=false.copy() if false is not None else None)
        if isinstance(part, exp.Is) and part.args.get("negate"):
            positive = part.copy()
            positive.set("negate", None)
            return exp.Not(this=positive)
        return part

    return node.transform(one_way)


def shorten(sql: str) -> str:
    """Return a part of a query as a message quotes it: on one line, cut to a readable length."""
    text = " ".join(sql.split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


@lru_cache(maxsize=1024)
def render_query(query: str, dialect: str) -> str:
    """Render a canonical query for one dialect, laid out on several lines, every identifier quoted."""
    node = sqlglot.parse_one(query, read="")
    for ident in node.find_all(exp.Identifier):
        ident.set("quoted", True)
    return node.sql(dialect=dialect, pretty=True)


@lru_cache(maxsize=1024)
def names_read(query: str) -> frozenset[str]:
    """Return the tables and views a canonical query reads: its FROM and JOIN sources, in subqueries too, not its CTEs."""
    from sqlglot.optimizer.scope import traverse_scope  # sqlglot's optimizer takes a fifth of a second to import

    names = set()
    for scope in traverse_scope(sqlglot.parse_one(query, read="")):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                names.add(source.name)
    return frozenset(names)


def unnamed_outputs(query: str) -> list[str]:
    """Return the output expressions that carry no name of their own (`count(*)`, `a + 1`).

    Each engine names such a column its own way (`count`, `count(*)`, `?column?`), so a
    view must name them (`AS n`) or list its columns.
    """
    node = _leftmost_select(sqlglot.parse_one(query, read=""))
    if not isinstance(node, exp.Select):
        return [shorten(node.sql(dialect=""))]
    return [shorten(e.sql(dialect="")) for e in node.expressions if not isinstance(e, (exp.Alias, exp.Column, exp.Star))]


def _leftmost_select(node: exp.Expression) -> exp.Expression:
    """Return the SELECT that names a query's columns: the first one of a UNION, inside parentheses."""
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    return node


def view_columns(schema: Schema) -> dict[str, tuple[str, ...]]:
    """Return the names of the columns each view of `schema` returns, in order.

    A `*` is expanded over the columns the schema gives its sources (tables, and views
    resolved first). Raises ViewQueryError, naming the view, for a query that does not
    resolve against the schema (an unknown column).
    """
    sources = {t.name: t.column_names() for t in schema.tables}
    found: dict[str, tuple[str, ...]] = {}
    for view in views_in_dependency_order(schema.views):
        try:
            found[view.name] = view.columns or query_columns(view.query, sources)
        except ViewQueryError as err:
            raise ViewQueryError(f"view {view.name}: {err}") from None
        sources[view.name] = found[view.name]
    return found


def query_columns(query: str, sources: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Return the names a canonical query gives its output columns, `*` expanded over `sources` (name -> columns).

    An output without a name of its own gets sqlglot's (`_col_1`): `unnamed_outputs` finds those.
    """
    from sqlglot.optimizer.qualify import qualify  # imported only for schemas with views, like traverse_scope
    from sqlglot.schema import MappingSchema

    node = sqlglot.parse_one(query, read="")
    for ident in node.find_all(exp.Identifier):
        ident.set("quoted", True)  # names are compared as written: the text is canonical already
    read = names_read(query)
    mapping = {name: {column: "text" for column in sources[name]} for name in read if name in sources}
    try:
        resolved = qualify(node, schema=MappingSchema(mapping, normalize=False), expand_stars=True,
                           quote_identifiers=False, identify=False)
    except OptimizeError as err:
        reason = str(err).splitlines()[0].split(". Line:")[0]  # the position is in the canonical text, not the file
        raise ViewQueryError(f"its query does not resolve: {reason}") from None
    except Exception as err:  # noqa: BLE001 - sqlglot's own bugs resolving a query are a query we cannot follow
        raise ViewQueryError(f"sqlglot cannot resolve the columns its query returns ({type(err).__name__})") from None
    return tuple(resolved.named_selects)


def views_in_dependency_order(views: tuple[View, ...] | list[View]) -> list[View]:
    """Return `views` with every view after the views among them it reads; ties by name.

    A cycle (which the models refuse) leaves the views of the cycle in name order at the end.
    """
    pending = {v.name: v for v in views}
    ordered: list[View] = []
    while pending:
        ready = sorted(name for name, v in pending.items() if not (v.reads & (pending.keys() - {name})))
        for name in ready or sorted(pending):
            ordered.append(pending.pop(name))
    return ordered
