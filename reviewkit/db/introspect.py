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


def introspect_with_queries(conn: Connection) -> Schema:
    """Return the schema with each view's query, as canonical text, for writing the schema out as models.

    The engines rewrite a view's text when they store it; what they show is what the
    models will say (PostgreSQL's `pg_get_viewdef`, MySQL's qualified names removed).
    """
    import sqlglot  # only baseline needs the queries parsed
    from sqlglot.errors import SqlglotError

    from reviewkit.schema.views import ViewQueryError, canonical_query

    schema = introspect(conn)
    dialect = conn.dialect
    queries = get_dialect(dialect).introspection.read_view_queries(conn)
    views = []
    for view in schema.views:
        try:
            query = canonical_query(sqlglot.parse_one(queries[view.name], read=dialect), dialect)
        except (ViewQueryError, SqlglotError) as err:
            raise UnsupportedType(f"view {view.name}: {err}") from None
        views.append(replace(view, query=query, columns=()))
    return Schema(schema.tables, tuple(views)).normalized()
