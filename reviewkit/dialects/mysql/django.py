"""What Django's MySQL backend declares its own way, for the objects of the `django` flavors.

- A field's `unique=True` is declared with the column, unnamed: MySQL names the key after
  its first column (`isbn_code`; `isbn_code_2` when a key of the table has that name).
- A foreign key's own index is not built: InnoDB makes one for the foreign key, named
  after it, which introspection reads as the foreign key's (Django's `_field_should_be_indexed`).
- A field's `db_index` on a text, blob or JSON column is not built: InnoDB indexes such a
  column only by a prefix, and Django makes none.
"""

from __future__ import annotations

from dataclasses import replace

from reviewkit.dialects.mysql.innodb import UNINDEXABLE
from reviewkit.schema.state import Index, Table, Unique
from reviewkit.schema.types import parse_type


def left_out(table: Table, index: Index) -> bool:
    """Tell whether Django's MySQL backend builds no such index on this table."""
    if index.flavor == "django_fk":
        return True
    if index.flavor != "django":
        return False
    column = table.column(index.parts[0].expression)
    return column is not None and (parse_type(column.type).kind in UNINDEXABLE or parse_type(column.type).array)


def held_name(table: Table, index: Index) -> str | None:
    """Return the name the index is held under on MySQL: its own; InnoDB's, the foreign key's, for one
    Django leaves to InnoDB; None for one that is not there at all."""
    if not left_out(table, index):
        return index.name
    if index.flavor == "django_fk":
        return next((fk.name for fk in table.foreign_keys if fk.columns == index.column_names), None)
    return None


def key_name(table: Table, unique: Unique) -> str:
    """Return the name MySQL gives the key of a column's `unique=True` in `table` (`unique.flavor == "django"`)."""
    if unique.flavor != "django":
        return unique.name
    taken = {u.name for u in table.uniques if u.flavor != "django"} | {ix.name for ix in table.indexes}
    for other in (u for u in table.uniques if u.flavor == "django"):  # named in the order they are declared
        name, n = other.columns[0], 1
        while name in taken or name.upper() == "PRIMARY":
            n += 1
            name = f"{other.columns[0]}_{n}"
        if other == unique:
            return name
        taken.add(name)
    return unique.name


def as_declared(table: Table) -> Table:
    """Return `table` with its flavored uniques named as MySQL names them and the indexes Django leaves out gone."""
    uniques = tuple(replace(u, name=key_name(table, u)) for u in table.uniques)
    indexes = tuple(ix for ix in table.indexes if not left_out(table, ix))
    return replace(table, uniques=uniques, indexes=indexes)
