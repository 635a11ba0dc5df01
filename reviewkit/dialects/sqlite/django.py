"""What Django's SQLite backend declares its own way, for the objects of the `django` flavors.

- A field's `unique=True` and its foreign key are declared with the column, unnamed:
  SQLite keeps no name, and introspection names them as it names any unnamed constraint
  (`<table>_<column>_key`, `<table>_<column>_fkey`). The key is checked at commit
  (DEFERRABLE INITIALLY DEFERRED), as on PostgreSQL: `Compiler.defers_django_keys`.
- `unique_together` is a unique index (Django's `sql_create_unique` here), not a constraint.
- A decimal value is written as text (`DEFAULT '0'`, `price >= '0'`): SQLite's driver gets
  decimals as strings from Django, which its schema editor quotes. In a column of NUMERIC
  affinity the text is the same number.
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from reviewkit.schema import naming
from reviewkit.schema.defaults import number_text
from reviewkit.schema.expressions import canonical, parse_canonical
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, Table
from reviewkit.schema.types import parse_type

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def together_indexes(table: Table) -> tuple[Index, ...]:
    """Return the table's `unique_together` keys as the unique indexes Django makes of them here."""
    return tuple(Index(u.name, tuple(IndexPart(c) for c in u.columns), unique=True)
                 for u in table.uniques if u.flavor == "django_together")


def declared_checks(table: Table) -> tuple[Check, ...]:
    """Return the table's checks with the decimals they compare a decimal field with written as text."""
    decimals = {c.name for c in table.columns if is_decimal(c)}
    if not decimals:
        return table.checks
    return tuple(replace(c, expression=_decimals_as_text(c.expression, decimals)) for c in table.checks)


def declared_default(column: Column) -> str | None:
    """Return the column's default as Django writes it here: a decimal field's number as text."""
    if column.default is None or not is_decimal(column):
        return column.default
    text = number_text(parse_canonical(column.default))
    return column.default if text is None else canonical(exp.Literal.string(text))


def as_declared(table: Table) -> Table:
    """Return `table` as SQLite holds what Django declares: names of the unnamed, decimals as text."""
    uniques = tuple(replace(u, name=naming.constraint_name(table.name, u.columns, "key")) if u.flavor == "django" else u
                    for u in table.uniques if u.flavor != "django_together")
    fks = tuple(replace(fk, name=declared_key_name(table.name, fk)) for fk in table.foreign_keys)
    columns = tuple(replace(c, default=declared_default(c)) for c in table.columns)
    return replace(table, columns=columns, uniques=uniques, foreign_keys=fks, checks=declared_checks(table),
                   indexes=table.indexes + together_indexes(table))


def declared_key_name(table: str, fk: ForeignKey) -> str:
    """Return the name introspection gives the key: Django's key is declared unnamed."""
    return naming.constraint_name(table, fk.columns, "fkey") if fk.flavor == "django" else fk.name


def is_decimal(column: Column) -> bool:
    portable = parse_type(column.type)
    return portable.kind == "numeric" and portable.flavor == "django"


def _decimals_as_text(expression: str, decimals: set[str]) -> str:
    node = parse_canonical(expression).copy()
    changed = False
    for comparison in list(node.find_all(*_COMPARISONS)):
        sides = (comparison.this, comparison.expression)
        if any(isinstance(side, exp.Column) and not side.table and side.name in decimals for side in sides):
            for key, side in (("this", sides[0]), ("expression", sides[1])):
                text = number_text(side)
                if text is not None:
                    comparison.set(key, exp.Literal.string(text))
                    changed = True
    return canonical(node) if changed else expression
