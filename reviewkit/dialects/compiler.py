"""Operations to SQL: the compile dispatcher and the default SQL every engine shares.

Each engine's compiler is a subclass that sets its type table and overrides only the
operations its engine spells differently (Alembic's per-dialect `Impl`). Statements are
assembled from our operations: identifiers are quoted and expressions rendered by
sqlglot for the dialect, and nothing is transpiled from another dialect's DDL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from reviewkit.errors import UnsupportedType
from reviewkit.schema.expressions import render
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AddIndex,
    AlterColumn,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, Unique
from reviewkit.schema.types import parse_type

if TYPE_CHECKING:
    from reviewkit.dialects.base import Dialect


@dataclass(frozen=True)
class CompileContext:
    """The schema before and after the operation being compiled."""

    before: Schema
    after: Schema


@dataclass(frozen=True)
class CompiledOperation:
    """The statements one operation became on one engine."""

    operation: Operation
    statements: tuple[str, ...]
    note: str | None = None  # shown in the script when the statements live elsewhere
    rebuild: bool = False  # a table rebuild: every row copied under the write lock
    # Foreign keys the engine needed out of the way, added back here: what each re-add costs.
    readded: tuple[str, ...] = ()


# (dialect, portable type) -> spelling: a bundle spells the same few types thousands of times.
_SPELLINGS: dict[tuple[str, str], str] = {}


class Compiler:
    """Default compilation; subclasses say what their engine does differently."""

    # Portable kind -> this engine's spelling; "{0}" is the first type parameter.
    type_names: ClassVar[dict[str, str]] = {}
    # What the engine stores instead, when it folds two portable types into one.
    stored_types: ClassVar[dict[str, str]] = {}

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.name = dialect.name
        self.title = dialect.title

    # -- names, types, expressions -----------------------------------------------------

    def quote(self, name: str) -> str:
        # The dialect's quotes are sqlglot's (tests/test_dialects.py renders both); quoting
        # them directly spares building an expression for each of a bundle's many names.
        return self.dialect.quote(name)

    def quote_list(self, names: tuple[str, ...]) -> str:
        return ", ".join(self.quote(n) for n in names)

    def type_sql(self, type_name: str, where: str) -> str:
        """Return this engine's spelling of a portable type, or refuse naming `where`."""
        spelled = _SPELLINGS.get((self.name, type_name))
        if spelled is None:
            spelled = _SPELLINGS[(self.name, type_name)] = self._spell_type(type_name, where)
        return spelled

    def _spell_type(self, type_name: str, where: str) -> str:
        portable = parse_type(type_name)
        template = self.type_names.get(str(portable)) or self.type_names.get(
            f"{portable.kind}({','.join('*' * len(portable.params))})" if portable.params else portable.kind
        )
        if template is None:
            raise UnsupportedType(f"{where}: type {type_name} has no faithful mapping in {self.title}")
        return template.format(*portable.params)

    def expression_sql(self, text: str) -> str:
        return render(text, self.name)

    def default_sql(self, column: Column) -> str:
        return self.expression_sql(column.default)  # type: ignore[arg-type]

    # -- column and constraint definitions ---------------------------------------------

    def column_sql(self, table: Table, column: Column) -> str:
        parts = [self.quote(column.name), self.type_sql(column.type, f"column {table.name}.{column.name}")]
        if column.identity:
            parts.append(self.identity_sql())
        if not column.nullable:
            parts.append("NOT NULL")
        if column.default is not None:
            parts.append("DEFAULT " + self.default_sql(column))
        return " ".join(parts)

    def identity_sql(self) -> str:
        raise NotImplementedError

    def constraint_sql(self, constraint: PrimaryKey | Unique | Check | ForeignKey) -> str:
        head = f"CONSTRAINT {self.quote(constraint.name)} "
        if isinstance(constraint, PrimaryKey):
            return head + f"PRIMARY KEY ({self.quote_list(constraint.columns)})"
        if isinstance(constraint, Unique):
            return head + f"UNIQUE ({self.quote_list(constraint.columns)})"
        if isinstance(constraint, Check):
            return head + f"CHECK ({self.expression_sql(constraint.expression)})"
        return head + self.foreign_key_body(constraint)

    def foreign_key_body(self, fk: ForeignKey) -> str:
        sql = (
            f"FOREIGN KEY ({self.quote_list(fk.columns)}) "
            f"REFERENCES {self.quote(fk.ref_table)} ({self.quote_list(fk.ref_columns)})"
        )
        if fk.on_delete != "NO ACTION":
            sql += f" ON DELETE {fk.on_delete}"
        if fk.on_update != "NO ACTION":
            sql += f" ON UPDATE {fk.on_update}"
        return sql

    def table_elements(self, table: Table) -> list[str]:
        """Return the column and constraint lines inside CREATE TABLE (...)."""
        lines = [self.column_sql(table, c) for c in table.columns]
        if table.primary_key:
            lines.append(self.constraint_sql(table.primary_key))
        lines.extend(self.constraint_sql(c) for c in (*table.uniques, *table.checks, *table.foreign_keys))
        return lines

    def create_table_sql(self, table: Table, name: str | None = None) -> str:
        body = ",\n  ".join(self.table_elements(table))
        return f"CREATE TABLE {self.quote(name or table.name)} (\n  {body}\n)"

    def index_sql(self, table: str, index: Index) -> str:
        keys = []
        for part in index.parts:
            key = self.quote(part.expression) if part.is_column else f"({self.expression_sql(part.expression)})"
            keys.append(key + (" DESC" if part.descending else ""))
        unique = "UNIQUE " if index.unique else ""
        sql = f"CREATE {unique}INDEX {self.quote(index.name)} ON {self.quote(table)} ({', '.join(keys)})"
        if index.where:
            sql += f" WHERE {self.expression_sql(index.where)}"
        return sql

    # -- the dispatcher ----------------------------------------------------------------

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        """Compile a bundle's operations in order; a dialect may combine neighbours."""
        return [self.compile(op, ctx) for op, ctx in zip(operations, contexts, strict=True)]

    def compile(self, op: Operation, ctx: CompileContext) -> CompiledOperation:
        """Return the statements (without `;`) that perform `op` on this engine."""
        method = getattr(self, f"compile_{op.kind}")
        return CompiledOperation(op, tuple(method(op, ctx)))

    def compile_create_table(self, op: CreateTable, ctx: CompileContext) -> list[str]:
        table = op.table_def
        return [self.create_table_sql(table)] + [self.index_sql(table.name, ix) for ix in table.indexes]

    def compile_drop_table(self, op: DropTable, ctx: CompileContext) -> list[str]:
        return [f"DROP TABLE {self.quote(op.table)}"]

    def compile_rename_table(self, op: RenameTable, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME TO {self.quote(op.new_name)}"]

    def compile_add_column(self, op: AddColumn, ctx: CompileContext) -> list[str]:
        table = ctx.after.table(op.table)
        return [f"ALTER TABLE {self.quote(op.table)} ADD COLUMN {self.column_sql(table, op.column)}"]

    def compile_drop_column(self, op: DropColumn, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} DROP COLUMN {self.quote(op.column.name)}"]

    def compile_rename_column(self, op: RenameColumn, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME COLUMN {self.quote(op.old_name)} TO {self.quote(op.new_name)}"]

    def compile_alter_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        raise NotImplementedError

    def compile_add_index(self, op: AddIndex, ctx: CompileContext) -> list[str]:
        return [self.index_sql(op.table, op.index)]

    def compile_drop_index(self, op: DropIndex, ctx: CompileContext) -> list[str]:
        return [f"DROP INDEX {self.quote(op.index.name)}"]

    def compile_rename_constraint(self, op: RenameConstraint, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME CONSTRAINT {self.quote(op.old.name)} TO {self.quote(op.new.name)}"]

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        return [f"ALTER INDEX {self.quote(op.old.name)} RENAME TO {self.quote(op.new.name)}"]

    def compile_add_constraint(self, op: AddConstraint, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} ADD {self.constraint_sql(op.constraint)}"]

    def compile_drop_constraint(self, op: DropConstraint, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} DROP CONSTRAINT {self.quote(op.constraint.name)}"]

    # -- what the engine keeps, what it cannot keep --------------------------------------

    def check_schema(self, schema: Schema) -> None:
        """Refuse a schema this engine cannot hold faithfully, naming the object."""
        for table in schema.tables:
            for column in table.columns:
                self.type_sql(column.type, f"column {table.name}.{column.name}")
            for index in table.indexes:
                where = f"index {index.name} on {table.name}"
                if index.where and not self.dialect.partial_indexes:
                    raise UnsupportedType(f"{where}: {self.title} has no partial indexes (WHERE ...)")
                if not self.dialect.expression_indexes and any(not p.is_column for p in index.parts):
                    raise UnsupportedType(f"{where}: {self.title} has no indexes on expressions")
            for fk in table.foreign_keys:
                self.check_foreign_key(schema, table, fk)

    def check_foreign_key(self, schema: Schema, table: Table, fk: ForeignKey) -> None:
        """Refuse a foreign key this engine would refuse, naming it.

        Every engine: the referenced columns must be exactly a primary key or unique key.
        PostgreSQL refuses to add it otherwise, SQLite every write to the child table
        ("foreign key mismatch"), MySQL 8.4 by default; what MariaDB accepts instead (any
        index) is not standard SQL.
        """
        parent = schema.table(fk.ref_table)
        if parent is not None and set(fk.ref_columns) not in [set(key) for key in unique_keys(parent)]:
            raise UnsupportedType(
                f"foreign key {fk.name} on {table.name}: {parent.name} has no primary key or unique constraint on "
                f"exactly ({', '.join(fk.ref_columns)}), which {self.title} requires of referenced columns"
            )

    def stored_form(self, schema: Schema) -> Schema:
        """Return `schema` as this engine keeps it (types it folds, names it imposes)."""
        return Schema(tuple(self.stored_table(t) for t in schema.tables)).normalized()

    def stored_table(self, table: Table) -> Table:
        return replace(table, columns=tuple(self.stored_column(c) for c in table.columns))

    def stored_column(self, column: Column) -> Column:
        portable = parse_type(column.type)
        stored = self.stored_types.get(column.type) or (None if portable.params else self.stored_types.get(portable.kind))
        if stored is None:
            return column
        return Column(column.name, stored, column.nullable, column.default, column.identity)

    def notes(self, schema: Schema) -> list[str]:
        """Return what a reviewer should know about how this engine stores the schema."""
        return []


def unique_keys(table: Table) -> list[tuple[str, ...]]:
    """Return the column lists a foreign key may reference: primary key, unique constraints, plain unique indexes."""
    keys = [table.primary_key.columns] if table.primary_key else []
    keys += [u.columns for u in table.uniques]
    keys += [ix.column_names for ix in table.indexes if ix.unique and not ix.where and all(p.is_column for p in ix.parts)]
    return keys


def contexts_for(operations: list[Operation], before: Schema) -> list[CompileContext]:
    """Return the schema before and after each operation; computed once, shared by all dialects."""
    contexts = []
    state = before
    for op in operations:
        after = op.apply(state)
        contexts.append(CompileContext(state, after))
        state = after
    return contexts
