"""PostgreSQL's SQL: its type names, ALTER COLUMN clauses, enum types, comments, the triggers
that give a column MySQL's ON UPDATE CURRENT_TIMESTAMP, and foreign keys kept valid at every step."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from sqlglot import exp

from reviewkit.dialects.compiler import (
    CompileContext,
    CompiledOperation,
    Compiler,
    set_membership_check,
    touch_trigger_name,
)
from reviewkit.dialects.django import django_check
from reviewkit.dialects.foreign_keys import plan_statements
from reviewkit.dialects.postgres.foreign_keys import PostgresForeignKeyRules, incomparable_columns
from reviewkit.errors import UnsupportedType
from reviewkit.schema import naming
from reviewkit.schema.expressions import canonical, parse_canonical
from reviewkit.schema.operations import (
    AlterColumn,
    AlterEnum,
    AlterTableComment,
    CreateEnum,
    DropEnum,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameTable,
)
from reviewkit.schema.state import Check, Column, ForeignKey, Schema, Table
from reviewkit.schema.types import RANGES, PortableType, holds_collation, parse_type

# Kinds PostgreSQL lacks, held in the next wider type with a CHECK on the range.
_WIDER = {
    "tinyint": "SMALLINT", "utinyint": "SMALLINT", "mediumint": "INTEGER", "usmallint": "INTEGER",
    "umediumint": "INTEGER", "uinteger": "BIGINT", "ubigint": "NUMERIC(20, 0)", "year": "SMALLINT",
}
_WIDER_STORED = {
    "tinyint": "smallint", "utinyint": "smallint", "mediumint": "integer", "usmallint": "integer",
    "umediumint": "integer", "uinteger": "bigint", "ubigint": "numeric(20,0)", "year": "smallint",
}
# Django's positive integer fields: the signed type, with their `>= 0` check (named by PostgreSQL).
_DJANGO_POSITIVE = {"usmallint@django": "smallint", "uinteger@django": "integer", "ubigint@django": "bigint"}


class PostgresCompiler(Compiler):
    # PostgreSQL keeps the first 63 bytes of a longer name (NAMEDATALEN) with only a NOTICE:
    # the database would then hold a name the models do not have.
    name_limit = (63, "bytes", "keeps 63 and cuts the rest with only a NOTICE: the database would not match the models")
    defers_django_keys = True
    type_names: ClassVar[dict[str, str]] = {
        "smallint": "SMALLINT",
        "integer": "INTEGER",
        "bigint": "BIGINT",
        "numeric": "NUMERIC",
        "numeric(*)": "NUMERIC({0})",
        "numeric(*,*)": "NUMERIC({0}, {1})",
        "real": "REAL",
        "double": "DOUBLE PRECISION",
        "varchar": "VARCHAR",
        "varchar(*)": "VARCHAR({0})",
        "char(*)": "CHAR({0})",
        "text": "TEXT",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "time": "TIME",
        "time(*)": "TIME({0})",
        "timetz": "TIME WITH TIME ZONE",
        "timetz(*)": "TIME({0}) WITH TIME ZONE",
        "timestamp": "TIMESTAMP",
        "timestamp(*)": "TIMESTAMP({0})",
        "timestamptz": "TIMESTAMP WITH TIME ZONE",
        "timestamptz(*)": "TIMESTAMP({0}) WITH TIME ZONE",
        "json": "JSON",
        "jsonb": "JSONB",
        "uuid": "UUID",
        "blob": "BYTEA",
        "tsvector": "TSVECTOR",
        "interval": "INTERVAL",
        "inet": "INET",
        **_WIDER,
        **{flavored: stored.upper() for flavored, stored in _DJANGO_POSITIVE.items()},
    }
    stored_types: ClassVar[dict[str, str]] = {**_WIDER_STORED, **_DJANGO_POSITIVE}
    index_methods: ClassVar[frozenset[str]] = frozenset({"hash", "gin", "gist", "brin", "spgist"})
    index_include = True
    index_opclasses = True
    keeps_comments = True
    keeps_identity_always = True

    def identity_sql(self, column: Column) -> str:
        return f"GENERATED {'ALWAYS' if column.identity_always else 'BY DEFAULT'} AS IDENTITY"

    # -- types PostgreSQL holds its own way ------------------------------------------------

    def array_type_sql(self, portable: PortableType, where: str) -> str:
        return self.type_sql(str(portable.element), where) + "[]"

    def enum_type_sql(self, portable: PortableType, where: str) -> str:
        return self.quote(portable.name)  # type: ignore[arg-type]

    def set_type_sql(self, portable: PortableType, where: str) -> str:
        return "TEXT"  # as MySQL gives a SET's value: the chosen members joined by commas

    def column_checks(self, table: str, column: Column) -> list[Check]:
        portable = parse_type(column.type)
        name = column.name
        positive = django_check(column)
        if positive is not None:  # declared inline by Django, unnamed: PostgreSQL's own name
            return [Check(naming.postgres_object_name(table, name, "check"), positive)]
        if portable.kind in RANGES and not portable.array:
            low, high = RANGES[portable.kind]
            expression = canonical(exp.and_(exp.column(name).__ge__(low), exp.column(name).__le__(high)))
            return [Check(naming.constraint_name(table, (name,), "range"), expression)]
        if portable.kind == "set":
            return [set_membership_check(table, name, portable.values)]
        return []

    def stored_column(self, column: Column) -> Column:
        column = super().stored_column(column)
        if column.type.startswith("set("):
            column = replace(column, type="text")
        if column.generated is not None and not column.stored:
            column = replace(column, stored=True)  # PostgreSQL before 18 has only stored generated columns
        # Bytes compared (MySQL's BINARY, a _bin collation) is PostgreSQL's collation "C"; text kinds only.
        return replace(column, collation=None) if column.collation is not None and not holds_collation(column.type) else column

    def column_type_sql(self, table: Table, column: Column) -> str:
        return super().column_type_sql(table, column) + _collate(column)

    def generated_sql(self, column: Column) -> str:
        return f"GENERATED ALWAYS AS ({self.expression_sql(column.generated)}) STORED"  # type: ignore[arg-type]

    # -- comments and ON UPDATE triggers, beside the table -------------------------------

    def table_extras_sql(self, table: Table) -> list[str]:
        comment = [self._comment_on("TABLE", self.quote(table.name), table.comment)] if table.comment is not None else []
        return comment + super().table_extras_sql(table)

    def column_extras_sql(self, table: str, column: Column) -> list[str]:
        statements = []
        if column.comment is not None:
            statements.append(self._comment_on("COLUMN", f"{self.quote(table)}.{self.quote(column.name)}", column.comment))
        if column.on_update:
            statements.extend(self._touch_trigger(table, column.name))
        return statements

    def drop_column_extras_sql(self, table: str, column: Column) -> list[str]:
        return self._drop_touch_trigger(table, column.name) if column.on_update else []

    def drop_table_extras_sql(self, table: Table) -> list[str]:
        # DROP TABLE takes the triggers with it, not the functions they call.
        return [f"DROP FUNCTION {self.quote(touch_trigger_name(table.name, c.name))}()" for c in table.columns if c.on_update]

    def _comment_on(self, what: str, target: str, text: str | None) -> str:
        value = "NULL" if text is None else exp.Literal.string(text).sql(dialect="postgres")
        return f"COMMENT ON {what} {target} IS {value}"

    def _touch_trigger(self, table: str, column: str) -> list[str]:
        """Return the function and trigger that do MySQL's ON UPDATE CURRENT_TIMESTAMP.

        As in MySQL: an UPDATE that changes some other column and leaves this one as it was
        sets it to the current time; one that sets it keeps the value given.
        """
        name, col = self.quote(touch_trigger_name(table, column)), self.quote(column)
        function = (
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            f"  IF NEW.{col} IS NOT DISTINCT FROM OLD.{col} AND NEW IS DISTINCT FROM OLD THEN\n"
            f"    NEW.{col} := CURRENT_TIMESTAMP;\n"
            "  END IF;\n"
            "  RETURN NEW;\n"
            "END\n"
            "$$"
        )
        trigger = f"CREATE TRIGGER {name} BEFORE UPDATE ON {self.quote(table)} FOR EACH ROW EXECUTE FUNCTION {name}()"
        return [function, trigger]

    def _drop_touch_trigger(self, table: str, column: str) -> list[str]:
        name = self.quote(touch_trigger_name(table, column))
        return [f"DROP TRIGGER {name} ON {self.quote(table)}", f"DROP FUNCTION {name}()"]

    # -- operations ----------------------------------------------------------------------

    def compile_rename_table(self, op: RenameTable, ctx: CompileContext) -> list[str]:
        table = ctx.before.table(op.table)
        renamed = ctx.after.table(op.new_name)
        statements = [s for c in table.columns if c.on_update for s in self._drop_touch_trigger(op.table, c.name)]
        statements += super().compile_rename_table(op, ctx)
        statements += self._rename_implied_checks(op.new_name, table, renamed)
        return statements + [s for c in renamed.columns if c.on_update for s in self._touch_trigger(op.new_name, c.name)]

    def compile_rename_column(self, op: RenameColumn, ctx: CompileContext) -> list[str]:
        old = ctx.before.table(op.table).column(op.old_name)
        statements = self._drop_touch_trigger(op.table, op.old_name) if old.on_update else []
        statements += super().compile_rename_column(op, ctx)
        statements += self._rename_implied_checks(op.table, ctx.before.table(op.table), ctx.after.table(op.table))
        return statements + (self._touch_trigger(op.table, op.new_name) if old.on_update else [])

    def _rename_implied_checks(self, table_name: str, before: Table, after: Table) -> list[str]:
        """The range and set checks are named after table and column: a rename moves their names on."""
        renames = []
        for old, new in zip(self.implied_checks(before), self.implied_checks(after), strict=False):
            if old.name != new.name:
                renames.append(f"ALTER TABLE {self.quote(table_name)} RENAME CONSTRAINT {self.quote(old.name)} "
                               f"TO {self.quote(new.name)}")
        return renames

    def compile_alter_table_comment(self, op: AlterTableComment, ctx: CompileContext) -> list[str]:
        return [self._comment_on("TABLE", self.quote(op.table), op.new)]

    def compile_create_enum(self, op: CreateEnum, ctx: CompileContext) -> list[str]:
        return [f"CREATE TYPE {self.quote(op.name)} AS ENUM ({self.values_sql(op.values)})"]

    def compile_drop_enum(self, op: DropEnum, ctx: CompileContext) -> list[str]:
        return [f"DROP TYPE {self.quote(op.name)}"]

    def compile_alter_enum(self, op: AlterEnum, ctx: CompileContext) -> list[str]:
        """Add values in place (ALTER TYPE ... ADD VALUE); anything else replaces the type.

        PostgreSQL cannot remove an enum value: the type is renamed, created again with the
        new values, every column of it converted through text (which fails while a row holds
        a removed value), and the old type dropped.
        """
        if op.only_adds and not _new_values_used(op, ctx.after):
            return self._add_enum_values(op)
        return self._replace_enum(op, ctx)

    def _add_enum_values(self, op: AlterEnum) -> list[str]:
        statements, current = [], list(op.old)
        for i, value in enumerate(op.new):
            if value in current:
                continue
            follows = next((v for v in reversed(op.new[:i]) if v in current), None)
            placement = f" AFTER {self.values_sql((follows,))}" if follows is not None else (
                f" BEFORE {self.values_sql((current[0],))}" if current else "")
            statements.append(f"ALTER TYPE {self.quote(op.name)} ADD VALUE {self.values_sql((value,))}{placement}")
            current.insert(current.index(follows) + 1 if follows is not None else 0, value)
        return statements

    def _replace_enum(self, op: AlterEnum, ctx: CompileContext) -> list[str]:
        name, old_name = self.quote(op.name), self.quote(naming.fit(f"{op.name}__old"))
        statements = [f"ALTER TYPE {name} RENAME TO {old_name}", f"CREATE TYPE {name} AS ENUM ({self.values_sql(op.new)})"]
        for table in ctx.after.tables:
            for column in table.columns:
                portable = parse_type(column.type)
                if portable.kind == "enum" and portable.name == op.name:
                    statements.append(self._retype_enum_column(table.name, ctx.before.table(table.name).column(column.name),
                                                               column, name))
        return statements + [f"DROP TYPE {old_name}"]

    def _retype_enum_column(self, table: str, old: Column | None, new: Column, type_name: str) -> str:
        col = self.quote(new.name)
        clauses = [f"ALTER COLUMN {col} DROP DEFAULT"] if old is not None and old.default is not None else []
        clauses.append(f"ALTER COLUMN {col} TYPE {type_name} USING {col}::text::{type_name}")
        if new.default is not None:
            clauses.append(f"ALTER COLUMN {col} SET DEFAULT {self.default_sql(new)}")
        return f"ALTER TABLE {self.quote(table)} " + ",\n  ".join(clauses)

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        # A foreign key pins the unique index it references and is checked again on every
        # type change: around such steps it is taken out of the way.
        return plan_statements(self, PostgresForeignKeyRules(), operations, contexts)

    def compile_rename_constraint(self, op: RenameConstraint, ctx: CompileContext) -> list[str]:
        statements = super().compile_rename_constraint(op, ctx) if op.old.name != op.new.name else []
        if isinstance(op.old, ForeignKey) and self.deferred(op.old) != self.deferred(op.new):  # type: ignore[arg-type]
            when = "DEFERRABLE INITIALLY DEFERRED" if self.deferred(op.new) else "NOT DEFERRABLE"  # type: ignore[arg-type]
            statements.append(f"ALTER TABLE {self.quote(op.table)} ALTER CONSTRAINT {self.quote(op.new.name)} {when}")
        return statements

    def check_foreign_key(self, schema: Schema, table: Table, fk: ForeignKey) -> None:
        super().check_foreign_key(schema, table, fk)
        pair = incomparable_columns(schema, table.name, fk)
        if pair:
            child, parent = pair
            raise UnsupportedType(f"foreign key {fk.name} on {table.name}: {self.title} cannot compare "
                                  f"{child.name} ({child.type}) with {fk.ref_table}.{parent.name} ({parent.type})")

    def compile_alter_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        table = ctx.after.table(op.table)
        if (op.old.generated, op.old.stored) != (op.new.generated, op.new.stored):
            return self._recreate_column(op, ctx)
        before = self.drop_column_extras_sql(op.table, op.old) if op.old.on_update != op.new.on_update else []
        old_checks = self.column_checks(op.table, op.old)
        new_checks = self.column_checks(op.table, op.new)
        drop_checks = [f"DROP CONSTRAINT {self.quote(c.name)}" for c in old_checks if c not in new_checks]
        add_checks = [f"ADD {self.constraint_sql(c)}" for c in new_checks if c not in old_checks]
        clauses = drop_checks + self._column_clauses(op) + add_checks
        statements = before + ([f"ALTER TABLE {self.quote(op.table)} " + ",\n  ".join(clauses)] if clauses else [])
        if op.old.comment != op.new.comment:
            statements.append(self._comment_on("COLUMN", f"{self.quote(op.table)}.{self.quote(op.new.name)}", op.new.comment))
        if op.new.on_update and op.old.on_update != op.new.on_update:
            statements.extend(self._touch_trigger(table.name, op.new.name))
        return statements

    def _recreate_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        """A generation expression changes by dropping the column and adding it again: its values are computed."""
        if op.old.generated is None or op.new.generated is None:
            raise UnsupportedType(f"column {op.table}.{op.new.name}: PostgreSQL cannot turn a column into a generated "
                                  "one or back in place; drop it and add a new column")
        table = ctx.after.table(op.table)
        return (self.drop_column_extras_sql(op.table, op.old)
                + [f"ALTER TABLE {self.quote(op.table)} DROP COLUMN {self.quote(op.old.name)}",
                   f"ALTER TABLE {self.quote(op.table)} ADD COLUMN {self.column_sql(table, op.new)}"]
                + self.column_extras_sql(op.table, op.new))

    def _column_clauses(self, op: AlterColumn) -> list[str]:
        col = self.quote(op.new.name)
        where = f"column {op.table}.{op.new.name}"
        clauses = []
        type_changed = self._type_changes(op)
        default_changes = op.old.default != op.new.default
        if type_changed and op.old.default is not None:
            # The old default may not cast to the new type; it is set again below.
            clauses.append(f"ALTER COLUMN {col} DROP DEFAULT")
            default_changes = True
        if op.old.identity and not op.new.identity:
            clauses.append(f"ALTER COLUMN {col} DROP IDENTITY")
        if type_changed or _collate(op.old) != _collate(op.new):
            clauses.append(self._type_clause(op, col, where))
        if default_changes:
            if op.new.default is None:
                if op.old.default is not None and not type_changed:
                    clauses.append(f"ALTER COLUMN {col} DROP DEFAULT")
            else:
                clauses.append(f"ALTER COLUMN {col} SET DEFAULT {self.default_sql(op.new)}")
        if op.new.identity and not op.old.identity:
            clauses.append(f"ALTER COLUMN {col} ADD {self.identity_sql(op.new)}")
        elif op.new.identity and op.old.identity_always != op.new.identity_always:
            clauses.append(f"ALTER COLUMN {col} SET GENERATED {'ALWAYS' if op.new.identity_always else 'BY DEFAULT'}")
        if op.old.nullable != op.new.nullable:
            clauses.append(f"ALTER COLUMN {col} {'DROP' if op.new.nullable else 'SET'} NOT NULL")
        return clauses

    def _type_changes(self, op: AlterColumn) -> bool:
        """Tell whether the column's PostgreSQL type changes: an enum's values change with the enum itself."""
        old, new = parse_type(op.old.type), parse_type(op.new.type)
        if old.kind == new.kind == "enum" and old.name == new.name:
            return False
        return self.type_sql(op.old.type, "") != self.type_sql(op.new.type, "")

    def _type_clause(self, op: AlterColumn, col: str, where: str) -> str:
        new_type = self.type_sql(op.new.type, where)
        old, new = parse_type(op.old.type), parse_type(op.new.type)
        # A new type without COLLATE takes the type's default collation: a "C" column says it again.
        collate = _collate(op.new) or (' COLLATE "default"' if _collate(op.old) else "")
        clause = f"ALTER COLUMN {col} TYPE {new_type}{collate}"
        if {old.kind, new.kind} & {"enum", "set"}:  # through text: enums cast to and from nothing else
            return clause + f" USING {col}::text::{new_type}"
        if old.kind != new.kind or old.array != new.array:
            clause += f" USING {col}::{new_type}"
        return clause

    def default_sql(self, column: Column) -> str:
        if isinstance(parse_canonical(column.default), exp.CurrentTime):
            return "CURRENT_TIME"  # sqlglot writes CURRENT_TIME(), which PostgreSQL cannot parse
        return super().default_sql(column)

    def default_refusal(self, table: Table, column: Column) -> str | None:
        column_ref = parse_canonical(column.default).find(exp.Column)
        if column_ref is not None:  # "cannot use column reference in DEFAULT expression"
            return f"column references are not allowed in a DEFAULT (it names {column_ref.name})"
        return super().default_refusal(table, column)

    # -- what PostgreSQL keeps -------------------------------------------------------------

    def notes(self, schema: Schema) -> list[str]:
        notes = super().notes(schema)
        # A flavored type is declared as its framework declares it (Django's positive fields: the signed type).
        kinds = {portable.kind for portable in (parse_type(c.type) for t in schema.tables for c in t.columns)
                 if not portable.flavor}
        for kind in sorted(kinds & RANGES.keys()):
            low, high = RANGES[kind]
            notes.append(f"{kind} is stored as {_WIDER[kind]} with a CHECK from {low} to {high}.")
        if "set" in kinds:
            notes.append("A MySQL SET is stored as TEXT, its members joined by commas as MySQL gives them, "
                         "with a CHECK that each member is in the list.")
        if any(c.on_update for t in schema.tables for c in t.columns):
            notes.append("ON UPDATE CURRENT_TIMESTAMP is done by a BEFORE UPDATE trigger per column "
                         "(reviewkit_touch_<table>_<column>), as in MySQL.")
        if any(c.generated and not c.stored for t in schema.tables for c in t.columns):
            notes.append("VIRTUAL generated columns are STORED: PostgreSQL before 18 computes them only on write.")
        return notes


def _new_values_used(op: AlterEnum, after: Schema) -> bool:
    """Tell whether a default uses a value this bundle adds: PostgreSQL refuses that in the same transaction."""
    added = {v for v in op.new if v not in op.old}
    for table in after.tables:
        for column in table.columns:
            if column.default is not None and column.type.startswith(f"enum {op.name}("):
                node = exp.maybe_parse(column.default)
                if isinstance(node, exp.Literal) and node.this in added:
                    return True
    return False


def _collate(column: Column) -> str:
    """Return the COLLATE clause of a column that compares bytes (`binary`), else nothing."""
    return ' COLLATE "C"' if column.collation == "binary" and holds_collation(column.type) else ""
