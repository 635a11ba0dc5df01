"""Schema operations: what a bundle does, in dialect-neutral terms.

Each operation knows how to describe itself (REVIEW.md), reverse itself (down scripts)
and apply itself to a schema state; none of them knows any SQL. The dialect modules
compile them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from reviewkit.plural import counted
from reviewkit.schema.state import Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, Unique, View

Constraint = PrimaryKey | Unique | Check | ForeignKey


class Operation:
    """Base of every operation; subclasses are frozen dataclasses."""

    kind: ClassVar[str]
    table: str

    def describe(self) -> str:
        raise NotImplementedError

    def reverse(self) -> Operation:
        raise NotImplementedError

    def apply(self, schema: Schema) -> Schema:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.kind, "table": self.table, **self._details()}

    def _details(self) -> dict[str, Any]:
        return {}

    @property
    def loses_data(self) -> bool:
        """True when the forward step destroys data the reverse cannot bring back."""
        return False


def _require(schema: Schema, name: str) -> Table:
    table = schema.table(name)
    if table is None:
        raise ValueError(f"table {name} does not exist in the schema state")
    return table


def _update(schema: Schema, name: str, **changes: Any) -> Schema:
    table = _require(schema, name)
    return schema.with_table(replace(table, **changes))


@dataclass(frozen=True)
class CreateTable(Operation):
    table_def: Table
    kind: ClassVar[str] = "create_table"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.table_def.name

    def describe(self) -> str:
        return f"Create table {self.table} ({counted(len(self.table_def.columns), 'column')})"

    def reverse(self) -> Operation:
        return DropTable(self.table_def)

    def apply(self, schema: Schema) -> Schema:
        return schema.with_table(self.table_def)

    def _details(self) -> dict[str, Any]:
        return {"columns": [c.name for c in self.table_def.columns]}


@dataclass(frozen=True)
class DropTable(Operation):
    table_def: Table
    kind: ClassVar[str] = "drop_table"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.table_def.name

    def describe(self) -> str:
        return f"Drop table {self.table} and every row in it"

    def reverse(self) -> Operation:
        return CreateTable(self.table_def)

    def apply(self, schema: Schema) -> Schema:
        return schema.without_table(self.table)

    @property
    def loses_data(self) -> bool:
        return True


@dataclass(frozen=True)
class RenameTable(Operation):
    table: str
    new_name: str
    kind: ClassVar[str] = "rename_table"

    def describe(self) -> str:
        return f"Rename table {self.table} to {self.new_name}"

    def reverse(self) -> Operation:
        return RenameTable(self.new_name, self.table)

    def apply(self, schema: Schema) -> Schema:
        tables = []
        for t in schema.tables:
            if t.name == self.table:
                t = replace(t, name=self.new_name)
            fks = tuple(replace(fk, ref_table=self.new_name) if fk.ref_table == self.table else fk for fk in t.foreign_keys)
            tables.append(replace(t, foreign_keys=fks))
        return schema.with_tables(tuple(tables))

    def _details(self) -> dict[str, Any]:
        return {"new_name": self.new_name}


@dataclass(frozen=True)
class AddColumn(Operation):
    table: str
    column: Column
    # A one-off default (canonical SQL) that the rows already in the table get: for a NOT NULL
    # column without a default of its own. It is not kept: the schema after is the column as declared.
    fill: str | None = None
    kind: ClassVar[str] = "add_column"

    def describe(self) -> str:
        null = "NULL" if self.column.nullable else "NOT NULL"
        filled = f", existing rows filled with {self.fill}" if self.fill is not None else ""
        return f"Add column {self.table}.{self.column.name} {self.column.type} {null}{filled}"

    def reverse(self) -> Operation:
        return DropColumn(self.table, self.column)

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        return _update(schema, self.table, columns=table.columns + (self.column,))

    def _details(self) -> dict[str, Any]:
        details = {"column": self.column.name, "type": self.column.type, "nullable": self.column.nullable}
        return details if self.fill is None else {**details, "fill": self.fill}


@dataclass(frozen=True)
class DropColumn(Operation):
    table: str
    column: Column
    # The one-off value down.sql gives the rows when it adds the column back NOT NULL
    # (`--default` of a dropped column); None: `diff.rollback_operations` decides.
    rollback_fill: str | None = None
    kind: ClassVar[str] = "drop_column"

    def describe(self) -> str:
        return f"Drop column {self.table}.{self.column.name} and its data"

    def reverse(self) -> Operation:
        return AddColumn(self.table, self.column, self.rollback_fill)

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        return _update(schema, self.table, columns=tuple(c for c in table.columns if c.name != self.column.name))

    @property
    def loses_data(self) -> bool:
        return True

    def _details(self) -> dict[str, Any]:
        details = {"column": self.column.name}
        return details if self.rollback_fill is None else {**details, "rollback_fill": self.rollback_fill}


@dataclass(frozen=True)
class AlterColumn(Operation):
    table: str
    old: Column
    new: Column
    # A one-off value for the rows that are NULL, when the column becomes NOT NULL without a
    # default (canonical SQL); written before the NOT NULL, kept nowhere.
    fill: str | None = None
    # The one-off value down.sql gives the NULLs when it makes the column NOT NULL again (`--default` of a column
    # this operation lets be NULL); None: `diff.rollback_operations` decides.
    rollback_fill: str | None = None
    kind: ClassVar[str] = "alter_column"

    def changes(self) -> list[str]:
        out = []
        if self.old.type != self.new.type:
            out.append(f"type {self.old.type} -> {self.new.type}")
        if self.old.nullable != self.new.nullable:
            out.append("NOT NULL" if not self.new.nullable else "allow NULL")
        if self.old.default != self.new.default:
            out.append(f"default {self.old.default or 'none'} -> {self.new.default or 'none'}")
        if self.old.identity != self.new.identity:
            out.append("auto-increment" if self.new.identity else "no auto-increment")
        elif self.old.identity_always != self.new.identity_always:
            out.append("identity ALWAYS" if self.new.identity_always else "identity BY DEFAULT")
        if self.old.on_update != self.new.on_update:
            out.append(f"ON UPDATE {self.new.on_update}" if self.new.on_update else "no ON UPDATE")
        if (self.old.generated, self.old.stored) != (self.new.generated, self.new.stored):
            out.append(f"generated as {self.new.generated}" if self.new.generated else "no longer generated")
        if self.old.collation != self.new.collation:
            out.append(f"collation {self.old.collation or 'default'} -> {self.new.collation or 'default'}")
        if self.old.comment != self.new.comment:
            out.append("comment changed" if self.new.comment is not None else "comment removed")
        return out

    @property
    def type_changed(self) -> bool:
        return self.old.type != self.new.type

    @property
    def null_tightened(self) -> bool:
        return self.old.nullable and not self.new.nullable

    def describe(self) -> str:
        filled = f", existing NULLs filled with {self.fill}" if self.fill is not None else ""
        return f"Alter column {self.table}.{self.new.name}: {', '.join(self.changes())}{filled}"

    def reverse(self) -> Operation:
        return AlterColumn(self.table, self.new, self.old, self.rollback_fill)  # the filled values stay: they are data

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        columns = tuple(self.new if c.name == self.old.name else c for c in table.columns)
        return _update(schema, self.table, columns=columns)

    def _details(self) -> dict[str, Any]:
        details = {"column": self.new.name, "changes": self.changes()}
        filled = {key: value for key, value in (("fill", self.fill), ("rollback_fill", self.rollback_fill)) if value}
        return {**details, **filled}


@dataclass(frozen=True)
class RenameColumn(Operation):
    table: str
    old_name: str
    new_name: str
    kind: ClassVar[str] = "rename_column"

    def describe(self) -> str:
        return f"Rename column {self.table}.{self.old_name} to {self.new_name}"

    def reverse(self) -> Operation:
        return RenameColumn(self.table, self.new_name, self.old_name)

    def apply(self, schema: Schema) -> Schema:
        tables = [self._rename_in(t) for t in schema.tables]
        return schema.with_tables(tuple(tables))

    def _rename_in(self, t: Table) -> Table:
        ren = lambda cols: tuple(self.new_name if c == self.old_name else c for c in cols)  # noqa: E731
        if t.name != self.table:
            fks = tuple(
                replace(fk, ref_columns=ren(fk.ref_columns)) if fk.ref_table == self.table else fk
                for fk in t.foreign_keys
            )
            return replace(t, foreign_keys=fks)
        return replace(
            t,
            columns=tuple(replace(c, name=self.new_name) if c.name == self.old_name else c for c in t.columns),
            primary_key=replace(t.primary_key, columns=ren(t.primary_key.columns)) if t.primary_key else None,
            uniques=tuple(replace(u, columns=ren(u.columns)) for u in t.uniques),
            foreign_keys=tuple(
                replace(fk, columns=ren(fk.columns), ref_columns=ren(fk.ref_columns) if fk.ref_table == t.name else fk.ref_columns)
                for fk in t.foreign_keys
            ),
            indexes=tuple(
                replace(ix, parts=tuple(
                    replace(p, expression=self.new_name) if p.is_column and p.expression == self.old_name else p
                    for p in ix.parts
                ))
                for ix in t.indexes
            ),
        )

    def _details(self) -> dict[str, Any]:
        return {"column": self.old_name, "new_name": self.new_name}


@dataclass(frozen=True)
class AddIndex(Operation):
    table: str
    index: Index
    kind: ClassVar[str] = "add_index"

    def describe(self) -> str:
        unique = "unique " if self.index.unique else ""
        keys = ", ".join(p.expression for p in self.index.parts)
        return f"Add {unique}index {self.index.name} on {self.table} ({keys})"

    def reverse(self) -> Operation:
        return DropIndex(self.table, self.index)

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        return _update(schema, self.table, indexes=table.indexes + (self.index,))

    def _details(self) -> dict[str, Any]:
        return {"index": self.index.name}


@dataclass(frozen=True)
class DropIndex(Operation):
    table: str
    index: Index
    kind: ClassVar[str] = "drop_index"

    def describe(self) -> str:
        return f"Drop index {self.index.name} on {self.table}"

    def reverse(self) -> Operation:
        return AddIndex(self.table, self.index)

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        return _update(schema, self.table, indexes=tuple(i for i in table.indexes if i.name != self.index.name))

    def _details(self) -> dict[str, Any]:
        return {"index": self.index.name}


_CONSTRAINT_FIELD = {PrimaryKey: "primary_key", Unique: "uniques", Check: "checks", ForeignKey: "foreign_keys"}
_CONSTRAINT_WORD = {PrimaryKey: "primary key", Unique: "unique constraint", Check: "check constraint", ForeignKey: "foreign key"}


def constraint_word(constraint: Constraint) -> str:
    return _CONSTRAINT_WORD[type(constraint)]


def declared_as(obj: Constraint | Index) -> str:
    """Say whose way an object is declared, for an operation that changes only that (its flavor)."""
    flavor = getattr(obj, "flavor", None)
    return "as Django declares it on each engine" if flavor and flavor.startswith("django") else "as the models write it"


def _with_constraint(table: Table, constraint: Constraint, present: bool) -> dict[str, Any]:
    field_name = _CONSTRAINT_FIELD[type(constraint)]
    if field_name == "primary_key":
        return {"primary_key": constraint if present else None}
    current = tuple(c for c in getattr(table, field_name) if c.name != constraint.name)
    return {field_name: current + ((constraint,) if present else ())}


@dataclass(frozen=True)
class AddConstraint(Operation):
    table: str
    constraint: Constraint
    kind: ClassVar[str] = "add_constraint"

    def describe(self) -> str:
        return f"Add {constraint_word(self.constraint)} {self.constraint.name} on {self.table}"

    def reverse(self) -> Operation:
        return DropConstraint(self.table, self.constraint)

    def apply(self, schema: Schema) -> Schema:
        return _update(schema, self.table, **_with_constraint(_require(schema, self.table), self.constraint, True))

    def _details(self) -> dict[str, Any]:
        return {"constraint": self.constraint.name, "type": constraint_word(self.constraint)}


@dataclass(frozen=True)
class DropConstraint(Operation):
    table: str
    constraint: Constraint
    kind: ClassVar[str] = "drop_constraint"

    def describe(self) -> str:
        return f"Drop {constraint_word(self.constraint)} {self.constraint.name} on {self.table}"

    def reverse(self) -> Operation:
        return AddConstraint(self.table, self.constraint)

    def apply(self, schema: Schema) -> Schema:
        return _update(schema, self.table, **_with_constraint(_require(schema, self.table), self.constraint, False))

    def _details(self) -> dict[str, Any]:
        return {"constraint": self.constraint.name, "type": constraint_word(self.constraint)}


@dataclass(frozen=True)
class RenameConstraint(Operation):
    """Same definition, new name: after a table rename the models' conventional names move on."""

    table: str
    old: Constraint
    new: Constraint
    kind: ClassVar[str] = "rename_constraint"

    def describe(self) -> str:
        if self.old.name == self.new.name:
            return f"Declare {constraint_word(self.old)} {self.old.name} on {self.table} {declared_as(self.new)}"
        return f"Rename {constraint_word(self.old)} {self.old.name} on {self.table} to {self.new.name}"

    def reverse(self) -> Operation:
        return RenameConstraint(self.table, self.new, self.old)

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        without = _with_constraint(table, self.old, False)
        return _update(schema, self.table, **_with_constraint(replace(table, **without), self.new, True))

    def _details(self) -> dict[str, Any]:
        return {"constraint": self.old.name, "new_name": self.new.name, "type": constraint_word(self.old)}


@dataclass(frozen=True)
class RenameIndex(Operation):
    table: str
    old: Index
    new: Index
    kind: ClassVar[str] = "rename_index"

    def describe(self) -> str:
        if self.old.name == self.new.name:
            return f"Declare index {self.old.name} on {self.table} {declared_as(self.new)}"
        return f"Rename index {self.old.name} on {self.table} to {self.new.name}"

    def reverse(self) -> Operation:
        return RenameIndex(self.table, self.new, self.old)

    def apply(self, schema: Schema) -> Schema:
        table = _require(schema, self.table)
        indexes = tuple(self.new if i.name == self.old.name else i for i in table.indexes)
        return _update(schema, self.table, indexes=indexes)

    def _details(self) -> dict[str, Any]:
        return {"index": self.old.name, "new_name": self.new.name}


def apply_all(schema: Schema, operations: list[Operation]) -> Schema:
    """Return the schema after every operation, in order."""
    for op in operations:
        schema = op.apply(schema)
    return schema


def reverse_all(operations: list[Operation]) -> list[Operation]:
    """Return the operations that undo `operations`, in the order they must run."""
    return [op.reverse() for op in reversed(operations)]


@dataclass(frozen=True)
class AlterTableComment(Operation):
    table: str
    old: str | None
    new: str | None
    kind: ClassVar[str] = "alter_table_comment"

    def describe(self) -> str:
        return f"Set the comment of table {self.table}" if self.new is not None else f"Remove the comment of table {self.table}"

    def reverse(self) -> Operation:
        return AlterTableComment(self.table, self.new, self.old)

    def apply(self, schema: Schema) -> Schema:
        return _update(schema, self.table, comment=self.new)


# -- enum types: named value lists that columns share (PostgreSQL's CREATE TYPE ... AS ENUM) --------
#
# The schema state keeps an enum's name and values in the type of every column of it
# (`enum mpaa_rating('G','PG')`), so these operations change no table: the columns' own
# changes do that. They exist for the engines that hold the type as an object of its own.


@dataclass(frozen=True)
class CreateEnum(Operation):
    name: str
    values: tuple[str, ...]
    kind: ClassVar[str] = "create_enum"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.name

    def describe(self) -> str:
        return f"Create enum type {self.name} ({', '.join(self.values)})"

    def reverse(self) -> Operation:
        return DropEnum(self.name, self.values)

    def apply(self, schema: Schema) -> Schema:
        return schema

    def _details(self) -> dict[str, Any]:
        return {"values": list(self.values)}


@dataclass(frozen=True)
class DropEnum(Operation):
    name: str
    values: tuple[str, ...]
    kind: ClassVar[str] = "drop_enum"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.name

    def describe(self) -> str:
        return f"Drop enum type {self.name}"

    def reverse(self) -> Operation:
        return CreateEnum(self.name, self.values)

    def apply(self, schema: Schema) -> Schema:
        return schema


@dataclass(frozen=True)
class AlterEnum(Operation):
    """Change an enum's values. Adding is cheap; removing works only while no row holds the value."""

    name: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    kind: ClassVar[str] = "alter_enum"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.name

    @property
    def only_adds(self) -> bool:
        """True when every old value stays, in the same order (PostgreSQL's ALTER TYPE ... ADD VALUE)."""
        return [v for v in self.new if v in self.old] == list(self.old)

    def describe(self) -> str:
        added = [v for v in self.new if v not in self.old]
        removed = [v for v in self.old if v not in self.new]
        parts = ([f"add {', '.join(added)}"] if added else []) + ([f"remove {', '.join(removed)}"] if removed else [])
        return f"Alter enum type {self.name}: {'; '.join(parts) or 'reorder values'}"

    def reverse(self) -> Operation:
        return AlterEnum(self.name, self.new, self.old)

    def apply(self, schema: Schema) -> Schema:
        return schema

    @property
    def loses_data(self) -> bool:
        return any(v not in self.new for v in self.old)

    def _details(self) -> dict[str, Any]:
        return {"values": list(self.new)}


# -- views: a name and a query; changing one is dropping it and creating it again ---------------


@dataclass(frozen=True)
class CreateView(Operation):
    view: View
    kind: ClassVar[str] = "create_view"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.view.name

    def describe(self) -> str:
        reads = f" (reads {', '.join(sorted(self.view.reads))})" if self.view.reads else ""
        return f"Create view {self.view.name}{reads}"

    def reverse(self) -> Operation:
        return DropView(self.view)

    def apply(self, schema: Schema) -> Schema:
        return schema.with_view(self.view)

    def _details(self) -> dict[str, Any]:
        return {"reads": sorted(self.view.reads)}


@dataclass(frozen=True)
class DropView(Operation):
    """Drop a view; it holds no data, and the reverse creates it again as it was."""

    view: View
    kind: ClassVar[str] = "drop_view"

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.view.name

    def describe(self) -> str:
        return f"Drop view {self.view.name}"

    def reverse(self) -> Operation:
        return CreateView(self.view)

    def apply(self, schema: Schema) -> Schema:
        return schema.without_view(self.view.name)
