"""What differs between two schemas, object by object, in words and in JSON.

The differ (`reviewkit.diff.compare`) answers "which operations turn one schema into the
other"; this module answers "what is not as expected", for a reader: `drift` compares a
live database with the bundle it should match, `prove` a scratch database with the
bundle it replayed. Both schemas are compared as one engine stores them
(`Compiler.stored_form`), so an engine's own spelling is never reported.

Column order is not compared: a column added by hand with MySQL's `AFTER` holds the
same data as one added at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from reviewkit.schema.state import (
    Schema,
    Table,
    column_to_dict,
    fk_to_dict,
    index_to_dict,
    table_to_dict,
    view_to_dict,
)

ADDED, MISSING, CHANGED = "added", "missing", "changed"


@dataclass(frozen=True)
class Difference:
    """One object that is not as expected: `added` (only in the actual schema), `missing` or `changed`."""

    object: str  # table, column, index, constraint, view
    name: str  # "books" or "books.isbn"
    change: str
    expected: Any = None
    actual: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "name": self.name, "change": self.change,
                "expected": self.expected, "actual": self.actual}

    def describe(self) -> str:
        """Return the difference as a line a DBA reads: `column books.isbn changed: type varchar(20) -> varchar(32)`."""
        what = f"{self.object} {self.name}"
        if self.change == ADDED:
            return f"{what} added (not in the expected schema)"
        if self.change == MISSING:
            return f"{what} missing"
        if isinstance(self.expected, dict) and isinstance(self.actual, dict):
            keys = [k for k in {**self.expected, **self.actual} if self.expected.get(k) != self.actual.get(k)]
            changes = "; ".join(_field_change(k, self.expected.get(k), self.actual.get(k)) for k in keys)
            return f"{what} changed: {changes}"
        return f"{what} changed: {_shown(self.expected)} -> {_shown(self.actual)}"


def schema_differences(expected: Schema, actual: Schema) -> list[Difference]:
    """Return every object that differs between `expected` and `actual`, tables first, in name order."""
    found: list[Difference] = []
    expected_tables = {t.name: t for t in expected.tables}
    actual_tables = {t.name: t for t in actual.tables}
    for name in sorted(expected_tables.keys() | actual_tables.keys()):
        old, new = expected_tables.get(name), actual_tables.get(name)
        if old is None:
            found.append(Difference("table", name, ADDED, None, table_to_dict(new)))
        elif new is None:
            found.append(Difference("table", name, MISSING, table_to_dict(old), None))
        else:
            found += table_differences(old, new)
    found += _by_name("view", expected.views, actual.views, view_to_dict)
    return found


def table_differences(expected: Table, actual: Table) -> list[Difference]:
    """Return the differences of one table that is in both schemas: comment, columns, constraints, indexes."""
    if expected == actual:  # as most tables are: nothing to look into one object at a time
        return []
    found = []
    if expected.comment != actual.comment:
        found.append(Difference("table", expected.name, CHANGED, {"comment": expected.comment},
                                {"comment": actual.comment}))
    prefix = f"{expected.name}."
    found += _by_name("column", expected.columns, actual.columns, column_to_dict, prefix)
    found += _by_name("constraint", _constraints(expected), _constraints(actual), _constraint_to_dict, prefix)
    found += _by_name("index", expected.indexes, actual.indexes, index_to_dict, prefix)
    return found


Named = TypeVar("Named")


def _by_name(
    kind: str, expected: Iterable[Named], actual: Iterable[Named], to_dict: Callable[[Named], dict[str, Any]],
    prefix: str = "",
) -> list[Difference]:
    """Compare objects of one kind matched by name; a changed one shows only the fields that differ."""
    old = {o.name: to_dict(o) for o in expected}  # type: ignore[attr-defined]
    new = {o.name: to_dict(o) for o in actual}  # type: ignore[attr-defined]
    found = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            found.append(Difference(kind, prefix + name, MISSING, old[name], None))
        elif name not in old:
            found.append(Difference(kind, prefix + name, ADDED, None, new[name]))
        elif old[name] != new[name]:
            keys = [k for k in {**old[name], **new[name]} if old[name].get(k) != new[name].get(k)]
            found.append(Difference(kind, prefix + name, CHANGED, {k: old[name].get(k) for k in keys},
                                    {k: new[name].get(k) for k in keys}))
    return found


@dataclass(frozen=True)
class _Constraint:
    """A primary key, unique, check or foreign key, as one kind of object with a name."""

    name: str
    fields: dict[str, Any]


def _constraints(table: Table) -> list[_Constraint]:
    found = []
    if table.primary_key is not None:
        found.append(_Constraint(table.primary_key.name,
                                 {"type": "primary key", "columns": list(table.primary_key.columns)}))
    found += [_Constraint(u.name, {"type": "unique", "columns": list(u.columns)}) for u in table.uniques]
    found += [_Constraint(c.name, {"type": "check", "expression": c.expression}) for c in table.checks]
    for fk in table.foreign_keys:
        fields = fk_to_dict(fk)
        del fields["name"]
        found.append(_Constraint(fk.name, {"type": "foreign key", **fields}))
    return found


def _constraint_to_dict(constraint: _Constraint) -> dict[str, Any]:
    return {"name": constraint.name, **constraint.fields}


def _field_change(key: str, expected: Any, actual: Any) -> str:
    if key == "identity_always":  # as PostgreSQL's DDL says it
        return f"identity {'ALWAYS' if expected else 'BY DEFAULT'} -> {'ALWAYS' if actual else 'BY DEFAULT'}"
    return f"{key} {_shown(expected)} -> {_shown(actual)}"


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)

