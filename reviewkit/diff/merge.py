"""Merge two branches of the schema's history: a three-way merge of schema states, object by object.

Two branches that each generated a bundle from the same parent hold three schemas: the
parent's (`base`), the one branch's (`ours`, which stays) and the other's (`theirs`, the
bundle `rebase` moves). The merge is `ours` plus what `theirs` changed since `base`:
each table, view, column, key, check and index is compared by name, as git compares lines.
An object only one branch changed takes that branch's form; one both changed alike is
kept; one both changed differently (or one branch dropped and the other changed) is a
conflict, named, and nothing is merged. A merge can also be wrong as a whole where each
object is fine (an index of one branch on a column the other dropped): the merged schema
is checked for that too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from reviewkit.errors import MergeConflict
from reviewkit.schema.state import Column, Schema, Table, View

T = TypeVar("T")


@dataclass(frozen=True)
class Branches:
    """What the messages call the two branches: by their bundles' ids."""

    ours: str
    theirs: str


@dataclass
class _Conflicts:
    branches: Branches
    found: list[str] = field(default_factory=list)

    def add(self, what: str, base: object, ours: object, theirs: object, show: Callable[[object], str] = str) -> None:
        b = self.branches
        if ours is None:
            how = f"{b.ours} drops or renames it, {b.theirs} changes it"
        elif theirs is None:
            how = f"{b.theirs} drops or renames it, {b.ours} changes it"
        else:
            verb = "add" if base is None else "change"
            how = f"both {verb} it, {b.ours} as {show(ours)}, {b.theirs} as {show(theirs)}"
        self.found.append(f"{what} ({how})")


def merge_schemas(base: Schema, ours: Schema, theirs: Schema, branches: Branches) -> Schema:
    """Return `ours` with the changes that turn `base` into `theirs`.

    Raise MergeConflict naming every object both branches changed differently, and every
    object the merge would leave pointing at something that is gone.
    """
    conflicts = _Conflicts(branches)
    tables = _merge_named(
        "table", base.table_map(), ours.table_map(), theirs.table_map(), conflicts,
        both=lambda b, o, t: _merge_table(b, o, t, conflicts),
    )
    views = _merge_named("view", base.view_map(), ours.view_map(), theirs.view_map(), conflicts, show=_show_view)
    merged = Schema(tuple(tables.values()), tuple(views.values())).normalized()
    if not conflicts.found:
        conflicts.found += dangling_references(merged)
    if conflicts.found:
        raise MergeConflict(_conflict_message(conflicts))
    return merged


def _conflict_message(conflicts: _Conflicts) -> str:
    b = conflicts.branches
    shown = conflicts.found[:5] + ([f"{len(conflicts.found) - 5} more"] if len(conflicts.found) > 5 else [])
    return (f"{b.theirs} and {b.ours} conflict: {'; '.join(shown)}\n"
            f"nothing was changed; resolve it by hand: remove {b.theirs}, make the models say what both branches mean, "
            "and run `reviewkit generate`")


def _merge_named(
    kind: str, base: dict[str, T], ours: dict[str, T], theirs: dict[str, T], conflicts: _Conflicts,
    both: Callable[[T, T, T], T] | None = None, show: Callable[[object], str] = str, where: str = "",
) -> dict[str, T]:
    """Merge objects keyed by name: ours' order, then what theirs adds in theirs' order.

    `both` merges an object both branches changed (a table: column by column); without it
    that is a conflict.
    """
    merged: dict[str, T] = {}
    for name in _union(ours, theirs, base):
        b, o, t = base.get(name), ours.get(name), theirs.get(name)
        if t == b or o == t:
            value = o
        elif o == b:
            value = t
        elif both is not None and b is not None and o is not None and t is not None:
            value = both(b, o, t)
        else:
            conflicts.add(f"{kind} {where}{name}", b, o, t, show)
            value = o
        if value is not None:
            merged[name] = value
    return merged


def _union(*maps: dict[str, object]) -> Iterable[str]:
    return dict.fromkeys(name for names in maps for name in names)


def _merge_value(what: str, base: T, ours: T, theirs: T, conflicts: _Conflicts, show: Callable[[object], str] = str) -> T:
    """Merge one value that has no name of its own (a primary key, a comment)."""
    if theirs == base or ours == theirs:
        return ours
    if ours == base:
        return theirs
    conflicts.add(what, base, ours, theirs, show)
    return ours


def _merge_table(base: Table, ours: Table, theirs: Table, conflicts: _Conflicts) -> Table:
    """Merge a table both branches changed: each column, key, check and index on its own."""
    where = f"{ours.name}."

    def named(kind: str, member: str, show: Callable[[object], str] = _show_member) -> tuple:
        by_name = lambda table: {m.name: m for m in getattr(table, member)}  # noqa: E731
        return tuple(_merge_named(kind, by_name(base), by_name(ours), by_name(theirs), conflicts, show=show,
                                  where=where).values())

    return replace(
        ours,
        columns=named("column", "columns", _show_column),
        primary_key=_merge_value(f"primary key of {ours.name}", base.primary_key, ours.primary_key, theirs.primary_key,
                                 conflicts, _show_member),
        uniques=named("unique constraint", "uniques"),
        checks=named("check", "checks"),
        foreign_keys=named("foreign key", "foreign_keys"),
        indexes=named("index", "indexes"),
        comment=_merge_value(f"comment of {ours.name}", base.comment, ours.comment, theirs.comment, conflicts, repr),
    )


def _show_column(column: object) -> str:
    assert isinstance(column, Column)
    words = [column.type, "NULL" if column.nullable else "NOT NULL"]
    if column.default is not None:
        words.append(f"DEFAULT {column.default}")
    return " ".join(words)


def _show_member(member: object) -> str:
    columns = getattr(member, "columns", None) or getattr(member, "column_names", None)
    if columns:
        return f"({', '.join(columns)})"
    return str(getattr(member, "expression", "another form"))


def _show_view(view: object) -> str:
    assert isinstance(view, View)
    return "another query"


# -- the merged schema as a whole -----------------------------------------------------------


def dangling_references(schema: Schema) -> list[str]:
    """Return what in `schema` names a table, column, view or enum value list that the schema does not hold as named."""
    found: list[str] = []
    tables = schema.table_map()
    for table in schema.tables:
        found += [f"{what} of {table.name} names column {table.name}.{name}, which neither branch keeps"
                  for what, names in _column_users(table) for name in names if table.column(name) is None]
        for fk in table.foreign_keys:
            target = tables.get(fk.ref_table)
            missing = [c for c in fk.ref_columns if target is None or target.column(c) is None]
            if missing:
                found.append(f"foreign key {fk.name} of {table.name} names {fk.ref_table}"
                             f"({', '.join(missing)}), which neither branch keeps")
    names = set(tables) | {v.name for v in schema.views}
    found += [f"view {view.name} reads {read}, which neither branch keeps"
              for view in schema.views for read in sorted(view.reads) if read not in names]
    return found + _enum_disagreements(schema)


def _column_users(table: Table) -> list[tuple[str, tuple[str, ...]]]:
    users = [("primary key", table.primary_key.columns)] if table.primary_key else []
    users += [(f"unique constraint {u.name}", u.columns) for u in table.uniques]
    users += [(f"foreign key {fk.name}", fk.columns) for fk in table.foreign_keys]
    users += [(f"index {ix.name}", ix.column_names + ix.include) for ix in table.indexes]
    return users


def _enum_disagreements(schema: Schema) -> list[str]:
    """An enum type is one type: columns of the two branches must not give it different values."""
    from reviewkit.schema.types import parse_type  # sqlglot-free, but only enums need it

    seen: dict[str, set[tuple[str, ...]]] = {}
    for table in schema.tables:
        for column in table.columns:
            if column.type.startswith("enum "):
                portable = parse_type(column.type)
                seen.setdefault(portable.name or "", set()).add(portable.values)
    return [f"enum type {name} has different values in the two branches" for name, values in sorted(seen.items())
            if len(values) > 1]
