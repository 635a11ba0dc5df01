"""Read a live database's schema back into the schema state, in portable terms.

Each engine's `introspect` module reads its own catalog; the result leaves out the
engine's internal tables and reviewkit's ledger, so it compares with a bundle's
`schema.json` as that engine stores it (`Compiler.stored_form`).
"""

from __future__ import annotations

from dataclasses import replace

from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.introspection import unmapped_problems
from reviewkit.errors import UnsupportedType
from reviewkit.schema.state import Schema


def introspect(conn: Connection, unmapped: bool = False) -> Schema:
    """Return the schema of the database `conn` is connected to (tables and views), reviewkit's own tables left out.

    A column whose type has no portable name is refused, every one in one error, unless
    `unmapped`: then it is kept with the engine's type name after `UNMAPPED` (for `drift`,
    which reports it rather than stops).
    """
    introspection = get_dialect(conn.dialect).introspection
    tables = introspection.read_tables(conn)
    problems = [] if unmapped else unmapped_problems(tables)
    if problems:
        raise UnsupportedType("\n".join(problems))
    return Schema(tuple(tables), tuple(introspection.read_views(conn))).normalized()


def with_view_queries(
    conn: Connection, live: Schema, models_dialect: str, leave_out: bool = False,
) -> tuple[Schema, list[str]]:
    """Return `live` (as `introspect` read it) with each view's query as canonical text, for writing it out as models.

    The engines rewrite a view's text when they store it; what they show is what the
    models will say (PostgreSQL's `pg_get_viewdef`, MySQL's qualified names removed). The
    names of the columns a view returns are kept as the engine reports them: SQLite and
    MySQL keep the case of `AS ID`, which the canonical form would fold. A view whose query
    the canonical form cannot hold, or that would not read back the same from a model file
    in `models_dialect`, is refused, every one in one error, or with `leave_out` left out;
    the second value names the views left out, with why.
    """
    import sqlglot  # only baseline needs the queries parsed
    from sqlglot.errors import SqlglotError

    from reviewkit.schema.views import ViewQueryError, canonical_query, render_query

    dialect = conn.dialect
    queries = get_dialect(dialect).introspection.read_view_queries(conn)
    views, refused = [], []
    for view in live.views:
        try:
            node = _named_as_reported(sqlglot.parse_one(queries[view.name], read=dialect), view.columns)
            query = canonical_query(node, dialect)
            canonical_query(sqlglot.parse_one(render_query(query, models_dialect), read=models_dialect), models_dialect)
            views.append(replace(view, query=query, columns=()))
        except (ViewQueryError, SqlglotError) as err:
            refused.append(f"view {view.name}: {str(err).splitlines()[0]}")
    if refused and not leave_out:
        raise UnsupportedType("\n".join(refused))
    return Schema(live.tables, tuple(views)).normalized(), refused


def _named_as_reported(query, columns: tuple[str, ...]):
    """Give a SELECT's output columns the names the engine reports, quoted where the case differs."""
    from sqlglot import exp

    if not isinstance(query, exp.Select) or len(query.expressions) != len(columns):
        return query
    for projection, name in zip(list(query.expressions), columns, strict=True):
        if name == name.lower() or isinstance(projection, exp.Star):
            continue  # the canonical form gives this name as it is
        if projection.alias_or_name.lower() == name.lower():
            target = projection.this if isinstance(projection, exp.Alias) else projection
            projection.replace(exp.alias_(target.copy(), exp.to_identifier(name, quoted=True)))
    return query
