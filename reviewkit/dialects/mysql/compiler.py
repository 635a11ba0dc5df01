"""MySQL's and MariaDB's SQL: MODIFY COLUMN restates the whole column; what InnoDB stores."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from sqlglot import exp

from reviewkit.dialects.compiler import CompileContext, CompiledOperation, Compiler
from reviewkit.dialects.foreign_keys import plan_statements
from reviewkit.dialects.mysql import innodb
from reviewkit.dialects.mysql.index_order import hoist_replacements
from reviewkit.errors import UnsupportedType
from reviewkit.schema.expressions import parse_canonical
from reviewkit.schema.operations import (
    AlterColumn,
    DropConstraint,
    DropIndex,
    Operation,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import Column, ForeignKey, PrimaryKey, Schema, Table, Unique
from reviewkit.schema.types import parse_type


def _restrict(action: str) -> str:
    return "RESTRICT" if action == "NO ACTION" else action


class MySQLCompiler(Compiler):
    type_names: ClassVar[dict[str, str]] = {
        "smallint": "SMALLINT",
        "integer": "INT",
        "bigint": "BIGINT",
        "numeric(*)": "DECIMAL({0}, 0)",
        "numeric(*,*)": "DECIMAL({0}, {1})",
        "real": "FLOAT",
        "double": "DOUBLE",
        "varchar(*)": "VARCHAR({0})",
        "char(*)": "CHAR({0})",
        "text": "LONGTEXT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        # PostgreSQL keeps microseconds unless told otherwise; so must we.
        "time": "TIME(6)",
        "time(*)": "TIME({0})",
        "timestamp": "DATETIME(6)",
        "timestamp(*)": "DATETIME({0})",
        "timestamptz": "TIMESTAMP(6)",
        "timestamptz(*)": "TIMESTAMP({0})",
        "json": "JSON",
        "jsonb": "JSON",
        "uuid": "CHAR(36)",
        "blob": "LONGBLOB",
    }
    stored_types: ClassVar[dict[str, str]] = {
        "time": "time(6)",
        "timestamp": "timestamp(6)",
        "timestamptz": "timestamptz(6)",
        "jsonb": "json",
        "uuid": "char(36)",
    }

    def identity_sql(self) -> str:
        return "AUTO_INCREMENT"

    def stored_table(self, table: Table) -> Table:
        table = super().stored_table(table)
        if table.primary_key:  # MySQL names every primary key PRIMARY
            table = replace(table, primary_key=replace(table.primary_key, name="PRIMARY"))
        # InnoDB treats NO ACTION as RESTRICT and reports it so.
        fks = tuple(replace(fk, on_delete=_restrict(fk.on_delete), on_update=_restrict(fk.on_update)) for fk in table.foreign_keys)
        # A unique index and a unique constraint are the same object in MySQL.
        as_unique = [ix for ix in table.indexes if ix.unique and all(p.is_column and not p.descending for p in ix.parts)]
        uniques = table.uniques + tuple(Unique(ix.name, ix.column_names) for ix in as_unique)
        indexes = tuple(ix for ix in table.indexes if ix not in as_unique)
        return replace(table, foreign_keys=fks, uniques=uniques, indexes=indexes).normalized()

    def stored_column(self, column: Column) -> Column:
        column = super().stored_column(column)
        portable = parse_type(column.type)
        if portable.kind == "numeric" and column.default is not None and len(portable.params) == 2:
            node = parse_canonical(column.default)
            if isinstance(node, exp.Literal) and not node.is_string:
                # DECIMAL defaults come back with the column's scale: 0 -> 0.00
                column = replace(column, default=f"{float(node.this):.{portable.params[1]}f}")
        return column

    def column_sql(self, table: Table, column: Column) -> str:
        parts = [self.quote(column.name), self.type_sql(column.type, f"column {table.name}.{column.name}")]
        # Say NULL outright: TIMESTAMP columns are NOT NULL by default on some servers.
        parts.append("NULL" if column.nullable else "NOT NULL")
        if column.default is not None:
            parts.append("DEFAULT " + self.default_sql(column))
        if column.identity:
            parts.append(self.identity_sql())
        return " ".join(parts)

    def default_sql(self, column: Column) -> str:
        node = parse_canonical(column.default)
        if isinstance(node, exp.CurrentTimestamp):
            precision = parse_type(self.stored_column(column).type).params
            return f"CURRENT_TIMESTAMP({precision[0]})" if precision and precision[0] else "CURRENT_TIMESTAMP"
        sql = self.expression_sql(column.default)
        if isinstance(node, (exp.Literal, exp.Boolean, exp.Null, exp.Neg)):
            return sql
        return f"({sql})"  # expression defaults must be parenthesized

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        # InnoDB refuses to drop a foreign key's last index or change the type of its
        # columns: the plan moves index builds forward and takes foreign keys out of the way.
        rules = innodb.InnoDBRules(lambda type_name: self.type_sql(type_name, "foreign key column"))
        return plan_statements(self, rules, operations, contexts, hoist_replacements(operations, contexts))

    def compile_rename_table(self, op: RenameTable, ctx: CompileContext) -> list[str]:
        return [f"RENAME TABLE {self.quote(op.table)} TO {self.quote(op.new_name)}"]

    def compile_alter_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        table = ctx.after.table(op.table)
        return [f"ALTER TABLE {self.quote(op.table)} MODIFY COLUMN {self.column_sql(table, op.new)}"]

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME INDEX {self.quote(op.old.name)} TO {self.quote(op.new.name)}"]

    def compile_rename_constraint(self, op: RenameConstraint, ctx: CompileContext) -> list[str]:
        if isinstance(op.old, PrimaryKey):
            return []  # MySQL names every primary key PRIMARY
        if isinstance(op.old, Unique):
            return [f"ALTER TABLE {self.quote(op.table)} RENAME INDEX {self.quote(op.old.name)} TO {self.quote(op.new.name)}"]
        # Checks and foreign keys cannot be renamed: drop and add under the new name.
        drop = self.compile_drop_constraint(DropConstraint(op.table, op.old), ctx)
        return drop + [f"ALTER TABLE {self.quote(op.table)} ADD {self.constraint_sql(op.new)}"]

    def compile_drop_index(self, op: DropIndex, ctx: CompileContext) -> list[str]:
        return [f"DROP INDEX {self.quote(op.index.name)} ON {self.quote(op.table)}"]

    def compile_drop_constraint(self, op: DropConstraint, ctx: CompileContext) -> list[str]:
        table, c = self.quote(op.table), op.constraint
        if isinstance(c, PrimaryKey):
            return [f"ALTER TABLE {table} DROP PRIMARY KEY"]
        if isinstance(c, Unique):
            return [f"ALTER TABLE {table} DROP INDEX {self.quote(c.name)}"]
        if isinstance(c, ForeignKey):
            # InnoDB made an index of the same name when no other index served the key;
            # it would outlive the foreign key.
            return [f"ALTER TABLE {table} DROP FOREIGN KEY {self.quote(c.name)}",
                    f"ALTER TABLE {table} DROP INDEX IF EXISTS {self.quote(c.name)}"]
        return [f"ALTER TABLE {table} DROP CONSTRAINT {self.quote(c.name)}"]

    def check_schema(self, schema: Schema) -> None:
        super().check_schema(schema)
        for table in schema.tables:
            self._check_key_columns(table)

    def check_foreign_key(self, schema: Schema, table: Table, fk: ForeignKey) -> None:
        super().check_foreign_key(schema, table, fk)
        refusal = innodb.foreign_key_refusal(schema, table, fk)
        if refusal:
            raise UnsupportedType(f"foreign key {fk.name} on {table.name}: {self.title} {refusal}")

    def _check_key_columns(self, table: Table) -> None:
        kinds = {c.name: parse_type(c.type).kind for c in table.columns}
        keyed = [("primary key", table.primary_key)] if table.primary_key else []
        keyed += [(f"unique constraint {u.name}", u) for u in table.uniques]
        keyed += [(f"index {ix.name}", ix) for ix in table.indexes]
        for what, obj in keyed:
            names = obj.column_names if hasattr(obj, "parts") else obj.columns
            for name in names:
                if kinds.get(name) in innodb.UNINDEXABLE:
                    raise UnsupportedType(
                        f"{what} on {table.name}: {self.title} cannot index the {kinds[name]} column "
                        f"{name} without a prefix length; use varchar(n)"
                    )

    def notes(self, schema: Schema) -> list[str]:
        kinds = {parse_type(c.type).kind for t in schema.tables for c in t.columns}
        notes = ["DDL is not transactional: each statement commits; a failure leaves the statements before it applied."]
        if "uuid" in kinds:
            notes.append("uuid is stored as CHAR(36).")
        if "jsonb" in kinds:
            notes.append("jsonb is stored as JSON (MariaDB: LONGTEXT checked by JSON_VALID).")
        if "timestamptz" in kinds:
            notes.append("timestamptz is stored as TIMESTAMP: UTC, converted to the session time zone, "
                         "range 1970-2038 on MySQL and MariaDB before 11.5.")
        if "text" in kinds:
            notes.append("text is stored as LONGTEXT.")
        return notes
