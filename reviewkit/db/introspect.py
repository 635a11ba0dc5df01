"""Read a live database's schema back into the schema state, in portable terms.

Each engine's `introspect` module reads its own catalog; the result leaves out the
engine's internal tables and reviewkit's ledger, so it compares with a bundle's
`schema.json` as that engine stores it (`Compiler.stored_form`).
"""

from __future__ import annotations

from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.schema.state import Schema


def introspect(conn: Connection) -> Schema:
    """Return the schema of the database `conn` is connected to (tables and views), reviewkit's own tables left out."""
    introspection = get_dialect(conn.dialect).introspection
    return Schema(tuple(introspection.read_tables(conn)), tuple(introspection.read_views(conn))).normalized()
