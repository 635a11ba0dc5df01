"""The schema change a bundle makes, table by table: each column, key and index before and after.

Read from the two snapshots a reviewer can trust, the parent's `schema.json` and the
bundle's, not from the SQL: the page shows what the scripts are meant to do beside what
they say. A table or column the bundle renames (its manifest's `rename_table` and
`rename_column` operations) is shown under its new name beside its old self, not as a
drop and an add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reviewkit.schema.state import Column, Index, Schema, Table, View

ADDED, DROPPED, CHANGED, RENAMED, SAME = "added", "dropped", "changed", "renamed", "same"


@dataclass(frozen=True)
class Row:
    """One column, key, index or comment of a table: its text before and after (None: absent)."""

    kind: str  # column, primary key, unique, foreign key, check, index, comment
    name: str
    before: str | None
    after: str | None
    old_name: str | None = None  # a renamed column's name before

    @property
    def change(self) -> str:
        if self.before is None:
            return ADDED
        if self.after is None:
            return DROPPED
        if self.before != self.after:
            return CHANGED
        return RENAMED if self.old_name else SAME


@dataclass(frozen=True)
class TableChange:
    name: str
    change: str  # added, dropped, changed, renamed
    rows: tuple[Row, ...]
    old_name: str | None = None

    def tally(self) -> str:
        """Return what changes in words: "10 columns, 2 indexes" for a new table, "1 column added" for a changed one."""
        found: dict[str, int] = {}
        for row in self.rows:
            if self.change in (ADDED, DROPPED):
                found[row.kind] = found.get(row.kind, 0) + 1
            elif row.change != SAME:
                key = f"{row.kind} {row.change}"
                found[key] = found.get(key, 0) + 1
        return ", ".join(_plural(n, what) for what, n in found.items())


def _plural(n: int, what: str) -> str:
    """Return "2 indexes", "1 column added", "3 primary keys changed"."""
    kind, change = what, ""
    head, _, tail = what.rpartition(" ")
    if tail in (ADDED, DROPPED, CHANGED, RENAMED):
        kind, change = head, f" {tail}"
    if n != 1:
        kind += "es" if kind.endswith("x") else "s"
    return f"{n:,} {kind}{change}"


@dataclass(frozen=True)
class ViewChange:
    name: str
    change: str  # added, dropped, changed
    before: str | None
    after: str | None


@dataclass(frozen=True)
class SchemaChange:
    tables: tuple[TableChange, ...]
    views: tuple[ViewChange, ...]
    unchanged_tables: int


def schema_change(before: Schema, after: Schema, operations: list[dict[str, Any]]) -> SchemaChange:
    """Return every table and view that differs between the two snapshots, renames paired up."""
    table_renames = {op["table"]: op["new_name"] for op in operations if op.get("op") == "rename_table"}
    column_renames = _column_renames(operations)
    old_of = {new: old for old, new in table_renames.items()}
    changes, unchanged = [], 0
    for name in sorted({t.name for t in after.tables} | {t.name for t in before.tables}):
        new = after.table(name)
        if new is None and name in table_renames and after.table(table_renames[name]) is not None:
            continue  # shown under its new name
        old_name = old_of.get(name) if before.table(old_of.get(name, "")) is not None else None
        old = before.table(old_name or name)
        if old == new:
            unchanged += 1
            continue
        change = table_change(old, new, column_renames.get(name) or column_renames.get(old_name or "", {}))
        changes.append(change if old_name is None else TableChange(name, RENAMED, change.rows, old_name))
    return SchemaChange(tuple(changes), view_changes(before, after), unchanged)


def _column_renames(operations: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Return table -> {new column name: old name} from the manifest's rename_column operations."""
    found: dict[str, dict[str, str]] = {}
    for op in operations:
        if op.get("op") == "rename_column":
            found.setdefault(op["table"], {})[op["new_name"]] = op["column"]
    return found


def table_change(old: Table | None, new: Table | None, renamed: dict[str, str]) -> TableChange:
    """Return the rows of one table that was added, dropped or changed; `renamed`: new column -> old."""
    name = (new or old).name  # type: ignore[union-attr]
    change = ADDED if old is None else DROPPED if new is None else CHANGED
    rows = column_rows(old, new, renamed) + member_rows(old, new)
    return TableChange(name, change, tuple(rows))


def column_rows(old: Table | None, new: Table | None, renamed: dict[str, str]) -> list[Row]:
    """Return a row per column: the new table's in its order, then the columns it no longer has."""
    rows = []
    taken = set()
    for column in new.columns if new else ():
        old_name = renamed.get(column.name) if old is not None and old.column(renamed.get(column.name, "")) else None
        before = old.column(old_name or column.name) if old else None
        taken.add(old_name or column.name)
        rows.append(Row("column", column.name, describe_column(before), describe_column(column), old_name))
    for column in old.columns if old else ():
        if column.name not in taken:
            rows.append(Row("column", column.name, describe_column(column), None))
    return rows


def member_rows(old: Table | None, new: Table | None) -> list[Row]:
    """Return a row per key, check, index and the table comment that either side has."""
    before, after = _members(old), _members(new)
    return [Row(kind, name, before.get((kind, name)), after.get((kind, name)))
            for kind, name in list(after) + [key for key in before if key not in after]]


def _members(table: Table | None) -> dict[tuple[str, str], str]:
    if table is None:
        return {}
    found: dict[tuple[str, str], str] = {}
    if table.primary_key:
        found["primary key", table.primary_key.name] = _names(table.primary_key.columns)
    for unique in table.uniques:
        found["unique", unique.name] = _names(unique.columns)
    for fk in table.foreign_keys:
        found["foreign key", fk.name] = (f"{_names(fk.columns)} references {fk.ref_table} {_names(fk.ref_columns)}"
                                         f" on delete {fk.on_delete.lower()}, on update {fk.on_update.lower()}")
    for check in table.checks:
        found["check", check.name] = check.expression
    for index in table.indexes:
        found["index", index.name] = describe_index(index)
    if table.comment is not None:
        found["comment", ""] = table.comment
    return found


def describe_column(column: Column | None) -> str | None:
    """Return a column as a reviewer reads it: `varchar(30) NOT NULL DEFAULT 'x'`."""
    if column is None:
        return None
    words = [column.type, "NULL" if column.nullable else "NOT NULL"]
    if column.identity:
        words.append("identity ALWAYS" if column.identity_always else "identity")
    if column.default is not None:
        words.append(f"DEFAULT {column.default}")
    if column.generated is not None:
        words.append(f"GENERATED AS ({column.generated}) {'STORED' if column.stored else 'VIRTUAL'}")
    if column.on_update is not None:
        words.append(f"ON UPDATE {column.on_update}")
    if column.collation is not None:
        words.append(f"collation {column.collation}")
    if column.comment is not None:
        words.append("comment '" + column.comment.replace("'", "''") + "'")
    return " ".join(words)


def describe_index(index: Index) -> str:
    parts = ", ".join(p.expression + (f" {p.opclass}" if p.opclass else "") + (" DESC" if p.descending else "")
                      for p in index.parts)
    words = ["unique" if index.unique else "", f"using {index.method}" if index.method else "", f"({parts})"]
    if index.include:
        words.append(f"include {_names(index.include)}")
    if index.where:
        words.append(f"where {index.where}")
    return " ".join(w for w in words if w)


def view_changes(before: Schema, after: Schema) -> tuple[ViewChange, ...]:
    """Return every view added, dropped or changed, by name."""
    old, new = before.view_map(), after.view_map()
    found = []
    for name in sorted(set(old) | set(new)):
        was, now = _view_text(old.get(name)), _view_text(new.get(name))
        if was != now:
            found.append(ViewChange(name, ADDED if was is None else DROPPED if now is None else CHANGED, was, now))
    return tuple(found)


def _view_text(view: View | None) -> str | None:
    if view is None:
        return None
    columns = f" ({', '.join(view.columns)})" if view.columns else ""
    option = f" WITH {view.check_option.upper()} CHECK OPTION" if view.check_option else ""
    return f"{view.name}{columns} AS {view.query}{option}"


def _names(columns: tuple[str, ...]) -> str:
    return f"({', '.join(columns)})"
