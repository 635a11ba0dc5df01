"""The schema state: plain frozen data, no SQL and no connections.

Every stage speaks this language: model sources produce it, the differ compares two of
them, introspection reads one back from a live database, and a bundle's `schema.json`
is its serialization. Column types are portable names (see `reviewkit.schema.types`);
defaults, checks and index expressions are SQL text in sqlglot's neutral dialect.
Views are a name and a query (canonical neutral-dialect SQL, like the expressions).
Tuples are kept sorted where order carries no meaning, so equal schemas compare equal
and serialize to the same bytes.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from reviewkit.json_lines import encode_each

SCHEMA_FORMAT = 1


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    identity: bool = False  # auto-increment: IDENTITY, AUTO_INCREMENT, AUTOINCREMENT
    on_update: str | None = None  # MySQL's ON UPDATE CURRENT_TIMESTAMP: set again by every UPDATE
    generated: str | None = None  # GENERATED ALWAYS AS (expression): computed, never written
    stored: bool = False  # a generated column kept on disk (STORED) rather than computed on read (VIRTUAL)
    comment: str | None = None
    collation: str | None = None  # "binary": compared byte by byte (MySQL BINARY, COLLATE ..._bin)
    # PostgreSQL's GENERATED ALWAYS AS IDENTITY: an INSERT that gives the column a value is refused
    # (unless it says OVERRIDING SYSTEM VALUE). The other engines' auto-increment takes a value given.
    identity_always: bool = False


@dataclass(frozen=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]


# A constraint's or index's flavor: whose way of declaring it each engine follows. "django":
# as Django's backends declare it (`Compiler.stored_form` says what each engine then holds).
# A Unique of flavor "django" is a field's `unique=True`, declared with the column and named
# by the engine; "django_together" is `unique_together`, a unique index on SQLite. A foreign
# key of flavor "django" is declared with its column on SQLite, unnamed. An index of flavor
# "django" is a field's `db_index`, which Django does not build on MySQL on a text, blob or
# JSON column; "django_fk" is a foreign key's, left to InnoDB on MySQL.


@dataclass(frozen=True)
class Unique:
    name: str
    columns: tuple[str, ...]
    flavor: str | None = None


@dataclass(frozen=True)
class Check:
    name: str
    expression: str


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"
    flavor: str | None = None


@dataclass(frozen=True)
class IndexPart:
    """One key part of an index: a column name, or an expression like `lower(email)`."""

    expression: str
    is_column: bool = True
    descending: bool = False
    opclass: str | None = None  # PostgreSQL operator class (`text_pattern_ops`)


@dataclass(frozen=True)
class Index:
    name: str
    parts: tuple[IndexPart, ...]
    unique: bool = False
    where: str | None = None
    method: str | None = None  # None: the engine's default (btree); "gin", "gist", "hash", "fulltext"...
    include: tuple[str, ...] = ()  # INCLUDE columns: stored in the index, not part of its key
    flavor: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(p.expression for p in self.parts if p.is_column)


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: PrimaryKey | None = None
    uniques: tuple[Unique, ...] = ()
    checks: tuple[Check, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def normalized(self) -> Table:
        """Return this table with unordered members sorted by name."""
        members = (self.uniques, self.checks, self.foreign_keys, self.indexes)
        if all(type(m) is tuple and all(a.name <= b.name for a, b in zip(m, m[1:], strict=False)) for m in members):
            return self  # sorted already, as most tables are (frozen: the same value either way)
        by_name = lambda obj: obj.name  # noqa: E731
        return replace(
            self,
            uniques=tuple(sorted(self.uniques, key=by_name)),
            checks=tuple(sorted(self.checks, key=by_name)),
            foreign_keys=tuple(sorted(self.foreign_keys, key=by_name)),
            indexes=tuple(sorted(self.indexes, key=by_name)),
        )


@dataclass(frozen=True)
class View:
    """A view: its name and its SELECT, with what that SELECT reads derived from it.

    `query` is the canonical neutral-dialect text (`reviewkit.schema.views`), rendered per
    engine at generate. A view read back from a live database has no query (""): engines
    rewrite the text they store, so a live view is known by its name, the columns it
    returns (in `columns`) and its check option (`Compiler.stored_form` gives a model's
    view the same form).
    """

    name: str
    query: str
    columns: tuple[str, ...] = ()  # CREATE VIEW v (a, b): names for the query's output; () when the query names them
    check_option: str | None = None  # WITH CHECK OPTION: "cascaded" or "local"

    @cached_property
    def reads(self) -> frozenset[str]:
        """Return the names of the tables and views the query reads (not its CTEs or aliases)."""
        from reviewkit.schema.views import names_read  # state stays importable without sqlglot

        return names_read(self.query) if self.query else frozenset()


class _TableVersions:
    """Every version of every table along one walk of operations, shared by the schemas of the walk.

    A walk (`contexts_for`, `apply_all`) makes one schema per operation and keeps them all.
    Copying the table list and its lookups into each made a walk quadratic in time and
    memory (a first bundle of 10,000 tables: 50 s and 4 GB). Here each table name keeps the
    steps at which it changed and its value from each (None: dropped), and a schema of the
    walk is this record read at one step: a change costs one entry, a lookup a bisect.

    The record only grows at its head: a schema that is changed a second time (a walk
    that branches) starts a record of its own (see `Schema._changed`).
    """

    def __init__(self, tables: tuple[Table, ...]) -> None:
        self.steps: dict[str, list[int]] = {t.name: [0] for t in tables}
        self.values: dict[str, list[Table | None]] = {t.name: [t] for t in tables}
        self.order = sorted(self.steps)  # every name ever recorded, for the tables in order
        self.head = 0  # the step of the last change

    def at(self, name: str, step: int) -> Table | None:
        steps = self.steps.get(name)
        if steps is None:
            return None
        if steps[-1] <= step:  # most tables change once or never: no search
            return self.values[name][-1]
        i = bisect.bisect_right(steps, step) - 1
        return self.values[name][i] if i >= 0 else None

    def record(self, name: str, table: Table | None) -> int:
        """Record `table` (None: dropped) under `name` at the step after the head; return that step."""
        self.head += 1
        steps = self.steps.get(name)
        if steps is None:
            self.steps[name], self.values[name] = [self.head], [table]
            bisect.insort(self.order, name)
        else:
            steps.append(self.head)
            self.values[name].append(table)
        return self.head

    def tables_at(self, step: int) -> tuple[Table, ...]:
        return tuple(t for name in self.order if (t := self.at(name, step)) is not None)


@dataclass(frozen=True, init=False, repr=False, eq=False)  # a dataclass still (fields, replace), its methods its own
class Schema:
    """Tables and views, frozen: every change returns a new schema and leaves this one as it was.

    Equal schemas compare equal whatever their history. A schema made by `with_table` or
    `without_table` shares its tables with the one it came from (see `_TableVersions`) and
    builds its `tables` tuple only when asked for it; lookups by name never build it.
    """

    __slots__ = ("_tables", "views", "_versions", "_step", "_lookup")
    tables: tuple[Table, ...]  # the property below
    views: tuple[View, ...]

    def __init__(self, tables: tuple[Table, ...] = (), views: tuple[View, ...] = ()) -> None:
        _set = object.__setattr__
        _set(self, "_tables", tuple(tables))
        _set(self, "views", tuple(views))
        _set(self, "_versions", None)
        _set(self, "_step", 0)
        _set(self, "_lookup", None)

    @classmethod
    def _read_at(cls, versions: _TableVersions, step: int, views: tuple[View, ...]) -> Schema:
        schema = cls.__new__(cls)
        _set = object.__setattr__
        _set(schema, "_tables", None)
        _set(schema, "views", views)
        _set(schema, "_versions", versions)
        _set(schema, "_step", step)
        _set(schema, "_lookup", None)
        return schema

    @property
    def tables(self) -> tuple[Table, ...]:
        if self._tables is None:
            object.__setattr__(self, "_tables", self._versions.tables_at(self._step))
        return self._tables

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Schema:
            return NotImplemented
        return self is other or (self.tables == other.tables and self.views == other.views)

    def __hash__(self) -> int:
        return hash((self.tables, self.views))

    def __repr__(self) -> str:
        return f"Schema(tables={self.tables!r}, views={self.views!r})"

    def __reduce__(self) -> tuple[type[Schema], tuple[tuple[Table, ...], tuple[View, ...]]]:
        return (Schema, (self.tables, self.views))  # pickled as plain tuples: the walk's record stays behind

    def table(self, name: str) -> Table | None:
        if self._versions is not None:
            return self._versions.at(name, self._step)
        if self._lookup is None:
            object.__setattr__(self, "_lookup", {t.name: t for t in self._tables})
        return self._lookup.get(name)

    def table_map(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    def view(self, name: str) -> View | None:
        return next((v for v in self.views if v.name == name), None)

    def view_map(self) -> dict[str, View]:
        return {v.name: v for v in self.views}

    def normalized(self) -> Schema:
        """Return the schema with tables, views and the tables' unordered members sorted."""
        tables = tuple(sorted((t.normalized() for t in self.tables), key=lambda t: t.name))
        return Schema(tables, tuple(sorted(self.views, key=lambda v: v.name)))

    def ignoring_column_order(self) -> Schema:
        """Return the schema with columns sorted by name, the columns of tables and views alike.

        A down script that restores a dropped column can only append it, so a schema
        after a rollback matches its predecessor in everything but column order (and a
        view that selects `*` from that table returns its columns in the new order).
        """
        normal = self.normalized()
        tables = tuple(replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name))) for t in normal.tables)
        return Schema(tables, tuple(replace(v, columns=tuple(sorted(v.columns))) for v in normal.views))

    def with_tables(self, tables: tuple[Table, ...]) -> Schema:
        """Return the schema with `tables` in place of its tables, its views kept, normalized."""
        return Schema(tables, self.views).normalized()

    def with_table(self, table: Table) -> Schema:
        """Return a copy with `table` added or replacing the one of the same name (tables stay sorted by name)."""
        table = table.normalized()
        return self._changed(table.name, table)

    def without_table(self, name: str) -> Schema:
        if self.table(name) is None:
            return self  # frozen: the same value either way
        return self._changed(name, None)

    def _changed(self, name: str, table: Table | None) -> Schema:
        """Return this schema with `name` set to `table` (None: dropped), sharing the rest with this one.

        Runs once per operation of a walk. The first change of a schema starts the record
        of versions (one pass over its tables); the next schemas of the walk add to it. A
        schema that is not the record's head, one changed already, starts its own.
        """
        versions = self._versions
        if versions is None or versions.head != self._step:
            versions = _TableVersions(self.tables)
        return Schema._read_at(versions, versions.record(name, table), self.views)

    def with_view(self, view: View) -> Schema:
        """Return a copy with `view` added or replacing the one of the same name."""
        views = tuple(v for v in self.views if v.name != view.name) + (view,)
        return self._with_views(tuple(sorted(views, key=lambda v: v.name)))

    def without_view(self, name: str) -> Schema:
        return self._with_views(tuple(v for v in self.views if v.name != name))

    def _with_views(self, views: tuple[View, ...]) -> Schema:
        """Return the same tables with `views`: a schema of a walk stays in its walk's record."""
        if self._versions is None:
            return Schema(self._tables, views)
        return Schema._read_at(self._versions, self._step, views)

    def enum_types(self) -> dict[str, tuple[str, ...]]:
        """Return every named enum type the columns use: name -> values."""
        found: dict[str, tuple[str, ...]] = {}
        for table in self.tables:
            for column in table.columns:
                if column.type.startswith("enum "):
                    from reviewkit.schema.types import parse_type  # state stays importable without sqlglot

                    portable = parse_type(column.type)
                    found[portable.name] = portable.values
        return found


# -- serialization ----------------------------------------------------------------------


def schema_to_json(schema: Schema) -> str:
    """Serialize deterministically: the same schema always gives the same bytes.

    One line per column, key, check and index: a reviewer's diff of two snapshots shows
    exactly the objects that changed, and each line goes through json's fast C encoder
    (`indent=` would force the pure-Python one, a third of generate's time on large schemas).
    """
    lines = ['{', f'  "format": {SCHEMA_FORMAT},', '  "tables": [']
    schema = schema.normalized()
    tables = [table_to_dict(t) for t in schema.tables]
    views = [view_to_dict(v) for v in schema.views]
    # Every line's value, in the order they are written, encoded in one call.
    encoded = iter(encode_each([item for table in tables for value in table.values()
                                for item in (value if isinstance(value, list) else (value,))] + views))
    for i, table in enumerate(tables):
        lines.append("    {")
        members = list(table.items())
        for j, (key, value) in enumerate(members):
            end = "," if j < len(members) - 1 else ""
            if isinstance(value, list):
                items = [f"        {next(encoded)}" for _ in value]
                lines.append(f'      "{key}": [\n' + ",\n".join(items) + f"\n      ]{end}")
            else:
                lines.append(f'      "{key}": {next(encoded)}{end}')
        lines.append("    }" + ("," if i < len(tables) - 1 else ""))
    if views:  # written only when there are views, so a schema without them reads as it always did
        lines.append("  ],")
        lines.append('  "views": [\n' + ",\n".join(f"    {next(encoded)}" for _ in views))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def schema_from_dict(data: dict[str, Any]) -> Schema:
    if data.get("format") != SCHEMA_FORMAT:
        raise ValueError(f"unsupported schema format {data.get('format')!r}")
    views = tuple(_view_from_dict(v) for v in data.get("views", ()))
    return Schema(tuple(_table_from_dict(t) for t in data["tables"]), views).normalized()


def schema_from_json(text: str) -> Schema:
    return schema_from_dict(json.loads(text))


def table_to_dict(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {"name": table.name, "columns": [column_to_dict(c) for c in table.columns]}
    if table.primary_key:
        out["primary_key"] = {"name": table.primary_key.name, "columns": list(table.primary_key.columns)}
    if table.uniques:
        out["uniques"] = [unique_to_dict(u) for u in table.uniques]
    if table.checks:
        out["checks"] = [{"name": c.name, "expression": c.expression} for c in table.checks]
    if table.foreign_keys:
        out["foreign_keys"] = [fk_to_dict(fk) for fk in table.foreign_keys]
    if table.indexes:
        out["indexes"] = [index_to_dict(ix) for ix in table.indexes]
    if table.comment is not None:
        out["comment"] = table.comment
    return out


# Column attributes written only when set, in this order, so a snapshot of a schema
# without them reads as it always did.
_COLUMN_EXTRAS = ("default", "identity", "on_update", "generated", "stored", "comment", "collation", "identity_always")


def column_to_dict(col: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"name": col.name, "type": col.type, "nullable": col.nullable}
    for key in _COLUMN_EXTRAS:
        value = getattr(col, key)
        if value not in (None, False):
            out[key] = value
    return out


def unique_to_dict(unique: Unique) -> dict[str, Any]:
    out: dict[str, Any] = {"name": unique.name, "columns": list(unique.columns)}
    if unique.flavor:
        out["flavor"] = unique.flavor
    return out


def fk_to_dict(fk: ForeignKey) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": fk.name,
        "columns": list(fk.columns),
        "ref_table": fk.ref_table,
        "ref_columns": list(fk.ref_columns),
        "on_delete": fk.on_delete,
        "on_update": fk.on_update,
    }
    if fk.flavor:
        out["flavor"] = fk.flavor
    return out


def index_to_dict(ix: Index) -> dict[str, Any]:
    parts = []
    for p in ix.parts:
        part: dict[str, Any] = {"column": p.expression} if p.is_column else {"expression": p.expression}
        if p.descending:
            part["descending"] = True
        if p.opclass:
            part["opclass"] = p.opclass
        parts.append(part)
    out: dict[str, Any] = {"name": ix.name, "unique": ix.unique, "parts": parts}
    if ix.where:
        out["where"] = ix.where
    if ix.method:
        out["method"] = ix.method
    if ix.include:
        out["include"] = list(ix.include)
    if ix.flavor:
        out["flavor"] = ix.flavor
    return out


def _table_from_dict(d: dict[str, Any]) -> Table:
    pk = d.get("primary_key")
    return Table(
        name=d["name"],
        columns=tuple(
            Column(c["name"], c["type"], c.get("nullable", True), c.get("default"), c.get("identity", False),
                   c.get("on_update"), c.get("generated"), c.get("stored", False), c.get("comment"), c.get("collation"),
                   c.get("identity_always", False))
            for c in d["columns"]
        ),
        primary_key=PrimaryKey(pk["name"], tuple(pk["columns"])) if pk else None,
        uniques=tuple(Unique(u["name"], tuple(u["columns"]), u.get("flavor")) for u in d.get("uniques", ())),
        checks=tuple(Check(c["name"], c["expression"]) for c in d.get("checks", ())),
        foreign_keys=tuple(
            ForeignKey(
                f["name"], tuple(f["columns"]), f["ref_table"], tuple(f["ref_columns"]),
                f.get("on_delete", "NO ACTION"), f.get("on_update", "NO ACTION"), f.get("flavor"),
            )
            for f in d.get("foreign_keys", ())
        ),
        indexes=tuple(_index_from_dict(i) for i in d.get("indexes", ())),
        comment=d.get("comment"),
    )


def view_to_dict(view: View) -> dict[str, Any]:
    out: dict[str, Any] = {"name": view.name}
    if view.query:
        out["query"] = view.query
    if view.columns:
        out["columns"] = list(view.columns)
    if view.check_option:
        out["check_option"] = view.check_option
    return out


def _view_from_dict(d: dict[str, Any]) -> View:
    return View(d["name"], d.get("query", ""), tuple(d.get("columns", ())), d.get("check_option"))


def _index_from_dict(d: dict[str, Any]) -> Index:
    parts = tuple(
        IndexPart(p.get("column") or p["expression"], "column" in p, p.get("descending", False), p.get("opclass"))
        for p in d["parts"]
    )
    return Index(d["name"], parts, d.get("unique", False), d.get("where"), d.get("method"), tuple(d.get("include", ())),
                 d.get("flavor"))
