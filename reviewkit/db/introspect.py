"""Read a live database's schema back into the schema state, in portable terms.

Each engine's `introspect` module reads its own catalog; the result leaves out the
engine's internal tables and reviewkit's ledger, so it compares with a bundle's
`schema.json` as that engine stores it (`Compiler.stored_form`).
"""

from __future__ import annotations

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
