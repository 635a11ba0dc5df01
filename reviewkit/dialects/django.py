"""What Django's backends declare alike on every engine, beside their types (each dialect's `django` module
says what its engine's backend declares its own way)."""

from __future__ import annotations

from sqlglot import exp

from reviewkit.schema.expressions import canonical
from reviewkit.schema.state import Column
from reviewkit.schema.types import parse_type


def django_check(column: Column) -> str | None:
    """Return the CHECK Django's backends declare with the column's type (`data_type_check_constraints`), or None.

    A positive integer field (`uinteger@django`...) holds `col >= 0` on every engine. A
    JSONField's check is SQLite's alone: its dialect adds it.
    """
    portable = parse_type(column.type)
    if portable.flavor != "django" or portable.kind not in _POSITIVE_KINDS:
        return None
    return canonical(exp.column(column.name).__ge__(0))


_POSITIVE_KINDS = frozenset({"usmallint", "uinteger", "ubigint"})
