"""MySQL's and MariaDB's SQL: MODIFY COLUMN restates the whole column; what InnoDB stores."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from sqlglot import exp

from reviewkit.dialects.compiler import CompileContext, CompiledOperation, Compiler
from reviewkit.dialects.django import django_check
from reviewkit.dialects.foreign_keys import plan_statements
from reviewkit.dialects.mysql import defaults, django, innodb
from reviewkit.dialects.mysql.index_order import hoist_replacements
from reviewkit.errors import UnsupportedType
from reviewkit.schema.defaults import is_statement_moment
from reviewkit.schema.expressions import canonical, parse_canonical
from reviewkit.schema.operations import (
    AlterColumn,
    AlterTableComment,
    DropConstraint,
    DropIndex,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Schema, Table, Unique
from reviewkit.schema.types import PortableType, parse_type

_STORED_TYPES: dict[str, str] = {}

TEXT_KEY_PREFIX = innodb.TEXT_KEY_PREFIX


def _prefixed_columns(table: Table, index: Index) -> frozenset[str]:
    """Return the index's key columns that InnoDB can only index by a prefix (text, blob, json)."""
    if index.method is not None:
        return frozenset()
    prefixed = set()
    for part in index.parts:
        column = table.column(part.expression) if part.is_column else None
        if column is not None:
            portable = parse_type(column.type)
            if portable.array or portable.kind in innodb.UNINDEXABLE:
                prefixed.add(part.expression)
    return frozenset(prefixed)


def _restrict(action: str) -> str:
    return "RESTRICT" if action == "NO ACTION" else action


class MySQLCompiler(Compiler):
    name_limit = (64, "characters", "refuses a name over 64")
    type_names: ClassVar[dict[str, str]] = {
        "tinyint": "TINYINT",
        "smallint": "SMALLINT",
        "mediumint": "MEDIUMINT",
        "integer": "INT",
        "bigint": "BIGINT",
        "utinyint": "TINYINT UNSIGNED",
        "usmallint": "SMALLINT UNSIGNED",
        "umediumint": "MEDIUMINT UNSIGNED",
        "uinteger": "INT UNSIGNED",
        "ubigint": "BIGINT UNSIGNED",
        "year": "YEAR",
        "tsvector": "LONGTEXT",
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
        # Django's declarations here (its `data_types`; UUID is MariaDB 10.7+'s own type).
        "timestamptz@django": "DATETIME(6)",
        "uuid@django": "UUID",
        "uuid@native": "UUID",
        "interval@django": "BIGINT",  # a DurationField: microseconds
        "inet@django": "CHAR(39)",  # a GenericIPAddressField: the address as text
        # A key to a positive integer field: the field's type without its check.
        "smallint@django": "SMALLINT UNSIGNED",
        "integer@django": "INT UNSIGNED",
        "bigint@django": "BIGINT UNSIGNED",
    }
    stored_types: ClassVar[dict[str, str]] = {
        "time": "time(6)",
        "timestamp": "timestamp(6)",
        "timestamptz": "timestamptz(6)",
        "jsonb": "json",
        "uuid": "char(36)",
        "tsvector": "text",
        "array": "json",
        "timestamptz@django": "timestamp(6)",
        "uuid@django": "uuid",
        "uuid@native": "uuid",
        "interval@django": "bigint",
        "inet@django": "char(39)",
        "smallint@django": "usmallint",
        "integer@django": "uinteger",
        "bigint@django": "ubigint",
    }
    # A native UUID column (MariaDB 10.7+) reads back as `uuid`; the model that gives it back is uuid@native.
    model_types: ClassVar[dict[str, str]] = {"uuid": "uuid@native"}
    index_methods: ClassVar[frozenset[str]] = frozenset({"fulltext", "spatial"})
    hash_as_default = True  # InnoDB builds USING HASH as a B-tree anyway
    keeps_comments = True
    identity_only_as_primary_key = True

    def identity_sql(self, column: Column) -> str:
        return "AUTO_INCREMENT"

    arrays_as_json = True

    def array_type_sql(self, portable: PortableType, where: str) -> str:
        return "JSON"  # a JSON array: MySQL has no array columns

    def enum_type_sql(self, portable: PortableType, where: str) -> str:
        return f"ENUM({self.values_sql(portable.values)})"

    def set_type_sql(self, portable: PortableType, where: str) -> str:
        return f"SET({self.values_sql(portable.values)})"

    def create_table_sql(self, table: Table, name: str | None = None) -> str:
        sql = super().create_table_sql(table, name)
        return sql + f" COMMENT = {self._string(table.comment)}" if table.comment is not None else sql

    def index_statements(self, table: Table, index: Index) -> list[str]:
        built = self.index_form(index)
        if built is None or django.left_out(table, index):
            return []
        return [self.index_sql(table.name, built, _prefixed_columns(table, built))]

    def index_sql(self, table: str, index: Index, prefixed: frozenset[str] = frozenset()) -> str:
        """CREATE INDEX; a key on a text column is its first characters (`prefixed`), as InnoDB needs a length."""
        if prefixed:
            keys = ", ".join(self._key_sql(part, part.expression in prefixed) for part in index.parts)
            return f"CREATE INDEX {self.quote(index.name)} ON {self.quote(table)} ({keys})"
        if index.method in ("fulltext", "spatial"):
            keys = self.quote_list(index.column_names)
            return f"CREATE {index.method.upper()} INDEX {self.quote(index.name)} ON {self.quote(table)} ({keys})"
        return super().index_sql(table, index)

    def _key_sql(self, part: IndexPart, prefixed: bool) -> str:
        key = self.quote(part.expression) if part.is_column else f"({self.expression_sql(part.expression)})"
        if prefixed:
            key += f"({TEXT_KEY_PREFIX})"
        return key + (" DESC" if part.descending else "")

    def compile_alter_table_comment(self, op: AlterTableComment, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} COMMENT = {self._string(op.new or '')}"]

    def _stored_type(self, type_name: str) -> str:
        """Return the type MySQL stores for a portable type (a bundle asks for the same few thousands of times)."""
        stored = _STORED_TYPES.get(type_name)
        if stored is None:
            stored = _STORED_TYPES[type_name] = self.stored_column(Column("c", type_name)).type
        return stored

    def _string(self, text: str) -> str:
        return exp.Literal.string(text).sql(dialect="mysql")

    def stored_table(self, table: Table) -> Table:
        table = super().stored_table(django.as_declared(table))
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
        if portable.kind == "enum":  # the values live in the column; MySQL knows no type name
            column = replace(column, type=str(replace(portable, name=None)))
        if column.generated is not None:  # MariaDB allows no NOT NULL on a generated column
            column = replace(column, nullable=True)
        column = _statement_moment_as_current(column)
        default = defaults.stored_default(column.default, column.type)
        return replace(column, default=default) if default != column.default else column

    def column_sql(self, table: Table, column: Column) -> str:
        parts = [self.quote(column.name), self.column_type_sql(table, column)]
        if column.collation == "binary":
            parts.append("CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        if column.generated is not None:
            parts.append(self.generated_sql(column))
        else:
            # Say NULL outright: TIMESTAMP columns are NOT NULL by default on some servers.
            parts.append("NULL" if column.nullable else "NOT NULL")
        if column.default is not None:
            parts.append("DEFAULT " + self.default_sql(column))
        if column.on_update:
            parts.append("ON UPDATE " + self._current_timestamp(column))
        if column.identity:
            parts.append(self.identity_sql(column))
        if column.comment is not None:
            parts.append("COMMENT " + self._string(column.comment))
        parts.extend(self.column_check_sql(column, check) for check in self.column_checks(table.name, column))
        return " ".join(parts)

    def column_checks(self, table: str, column: Column) -> list[Check]:
        """Django's check on a positive integer field, named as MariaDB names a column's check: after the column."""
        positive = django_check(column)
        return [Check(column.name, positive)] if positive is not None else []

    def column_check_sql(self, column: Column, check: Check) -> str:
        # Declared with the column, unnamed, as Django declares it: MODIFY COLUMN replaces it.
        return f"CHECK ({self.expression_sql(check.expression)})"

    def _current_timestamp(self, column: Column) -> str:
        precision = parse_type(self._stored_type(column.type)).params
        return f"CURRENT_TIMESTAMP({precision[0]})" if precision and precision[0] else "CURRENT_TIMESTAMP"

    def default_sql(self, column: Column) -> str:
        column = _statement_moment_as_current(column)
        node, stored_type = parse_canonical(column.default), self._stored_type(column.type)
        return defaults.default_sql(node, self.expression_sql(column.default), parse_type(column.type).kind, stored_type)

    def default_refusal(self, table: Table, column: Column) -> str | None:
        column = _statement_moment_as_current(column)
        return defaults.refusal(table, column) or super().default_refusal(table, column)

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

    def compile_rename_column(self, op: RenameColumn, ctx: CompileContext) -> list[str]:
        table = ctx.after.table(op.table)
        column = table.column(op.new_name)
        if not self.column_checks(op.table, column):
            statements = super().compile_rename_column(op, ctx)
        else:  # RENAME COLUMN would keep the check's name, which MariaDB gave it after the old column
            statements = [f"ALTER TABLE {self.quote(op.table)} CHANGE COLUMN {self.quote(op.old_name)} "
                          f"{self.column_sql(table, column)}"]
        # Nor does it rename the key MySQL named after the column (a field's unique=True under Django).
        before = ctx.before.table(op.table)
        for old, new in zip(before.uniques, table.uniques, strict=False):
            old_name, new_name = django.key_name(before, old), django.key_name(table, new)
            if old.flavor == "django" and old_name != new_name:
                statements.append(f"ALTER TABLE {self.quote(op.table)} RENAME INDEX {self.quote(old_name)} "
                                  f"TO {self.quote(new_name)}")
        return statements

    def constraint_sql(self, constraint: PrimaryKey | Unique | Check | ForeignKey) -> str:
        if isinstance(constraint, Unique) and constraint.flavor == "django":
            return f"UNIQUE ({self.quote_list(constraint.columns)})"  # a column's unique=True: MySQL names it
        return super().constraint_sql(constraint)

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        if self.index_form(op.old) is None:
            return []
        before, after = ctx.before.table(op.table), ctx.after.table(op.table)
        # Declared otherwise (a flavor), an index may come to be InnoDB's own, or stop being it.
        old, new = django.held_name(before, op.old), django.held_name(after, op.new)
        if old is None:
            return self.index_statements(after, op.new)
        if new is None:
            return [f"DROP INDEX {self.quote(old)} ON {self.quote(op.table)}"]
        return [f"ALTER TABLE {self.quote(op.table)} RENAME INDEX {self.quote(old)} TO {self.quote(new)}"] if old != new else []

    def compile_rename_constraint(self, op: RenameConstraint, ctx: CompileContext) -> list[str]:
        if isinstance(op.old, PrimaryKey):
            return []  # MySQL names every primary key PRIMARY
        if isinstance(op.old, Unique):
            old, new = django.key_name(ctx.before.table(op.table), op.old), django.key_name(ctx.after.table(op.table), op.new)
            return [f"ALTER TABLE {self.quote(op.table)} RENAME INDEX {self.quote(old)} TO {self.quote(new)}"] if old != new else []
        # Checks and foreign keys cannot be renamed: drop and add under the new name.
        drop = self.compile_drop_constraint(DropConstraint(op.table, op.old), ctx)
        return drop + [f"ALTER TABLE {self.quote(op.table)} ADD {self.constraint_sql(op.new)}"]

    def compile_drop_index(self, op: DropIndex, ctx: CompileContext) -> list[str]:
        if self.index_form(op.index) is None or django.left_out(ctx.before.table(op.table), op.index):
            return []  # never built here
        return [f"DROP INDEX {self.quote(op.index.name)} ON {self.quote(op.table)}"]

    def compile_drop_constraint(self, op: DropConstraint, ctx: CompileContext) -> list[str]:
        table, c = self.quote(op.table), op.constraint
        if isinstance(c, PrimaryKey):
            return [f"ALTER TABLE {table} DROP PRIMARY KEY"]
        if isinstance(c, Unique):
            return [f"ALTER TABLE {table} DROP INDEX {self.quote(django.key_name(ctx.before.table(op.table), c))}"]
        if isinstance(c, ForeignKey):
            # InnoDB made an index of the same name when no other index served the key;
            # it would outlive the foreign key.
            return [f"ALTER TABLE {table} DROP FOREIGN KEY {self.quote(c.name)}",
                    f"ALTER TABLE {table} DROP INDEX IF EXISTS {self.quote(c.name)}"]
        return [f"ALTER TABLE {table} DROP CONSTRAINT {self.quote(c.name)}"]


    def check_foreign_key(self, schema: Schema, table: Table, fk: ForeignKey) -> None:
        super().check_foreign_key(schema, table, fk)
        refusal = innodb.foreign_key_refusal(schema, table, fk, lambda type_name: self.type_sql(type_name, "foreign key column"))
        if refusal:
            raise UnsupportedType(f"foreign key {fk.name} on {table.name}: {self.title} {refusal}")

    def check_table(self, table: Table) -> None:
        """Refuse keys on TEXT and BLOB columns: InnoDB indexes them only by a prefix."""
        super().check_table(table)
        kinds = {c.name: "json" if parse_type(c.type).array else parse_type(c.type).kind for c in table.columns}
        keyed = [("primary key", table.primary_key)] if table.primary_key else []
        keyed += [(f"unique constraint {u.name}", u) for u in table.uniques]
        # A plain index takes the first characters of a text column; a unique one would then
        # compare prefixes only, so it is refused like a key.
        built = [self.index_form(ix) for ix in table.indexes]
        keyed += [(f"index {ix.name}", ix) for ix in built if ix is not None and ix.method is None and ix.unique]
        for what, obj in keyed:
            names = obj.column_names if hasattr(obj, "parts") else obj.columns
            for name in names:
                if kinds.get(name) in innodb.UNINDEXABLE:
                    raise UnsupportedType(
                        f"{what} on {table.name}: {self.title} cannot index the {kinds[name]} column "
                        f"{name} without a prefix length; use varchar(n)"
                    )

    def notes(self, schema: Schema) -> list[str]:
        columns = [c for t in schema.tables for c in t.columns]
        types = {parse_type(c.type) for c in columns}
        kinds = {portable.kind for portable in types if not portable.flavor}
        notes = ["DDL is not transactional: each statement commits; a failure leaves the statements before it applied."]
        notes += super().notes(schema)
        for table in schema.tables:
            for index in table.indexes:
                built = self.index_form(index)
                prefixed = _prefixed_columns(table, built) if built is not None else frozenset()
                if prefixed:
                    notes.append(f"index {index.name} on {table.name} keys the first {TEXT_KEY_PREFIX} characters of "
                                 f"{', '.join(sorted(prefixed))}: InnoDB indexes no whole text column.")
        if "uuid" in kinds:
            notes.append("uuid is stored as CHAR(36).")
        if any(portable.kind == "uuid" and portable.flavor == "django" for portable in types):
            notes.append("uuid@django is UUID, as Django declares a UUIDField on MariaDB 10.7+; MySQL and older "
                         "MariaDB have no such type (Django declares char(32) there).")
        if any(portable.kind == "uuid" and portable.flavor == "native" for portable in types):
            notes.append("uuid@native is UUID, MariaDB 10.7+'s own type, as the models declare it; MySQL and "
                         "older MariaDB have no such type.")
        if "jsonb" in kinds or any(p.kind == "jsonb" for p in types):
            notes.append("jsonb is stored as JSON (MariaDB: LONGTEXT checked by JSON_VALID).")
        if "timestamptz" in kinds:
            notes.append("timestamptz is stored as TIMESTAMP: UTC, converted to the session time zone, "
                         "range 1970-2038 on MySQL and MariaDB before 11.5.")
        if "text" in kinds:
            notes.append("text is stored as LONGTEXT.")
        if "tsvector" in kinds:
            notes.append("tsvector is stored as LONGTEXT, its text form: full-text search on it is PostgreSQL's.")
        if any(parse_type(c.type).array for c in columns):
            notes.append("Arrays are stored as JSON arrays; the element type is not enforced.")
        if any(c.generated is not None and not c.nullable for c in columns):
            notes.append("Generated columns are declared without NOT NULL: MariaDB refuses it on them.")
        concatenating = [view.name for view in schema.views if parse_canonical(view.query).find(exp.GroupConcat)]
        if concatenating:
            notes.append(f"GROUP_CONCAT in view{'s' if len(concatenating) > 1 else ''} {', '.join(concatenating)} cuts "
                         "its result at group_concat_max_len (1,024 bytes unless the server sets more).")
        return notes


_CURRENT_TIMESTAMP = canonical(exp.CurrentTimestamp())


def _statement_moment_as_current(column: Column) -> Column:
    """MySQL's CURRENT_TIMESTAMP is the statement's moment (STATEMENT_TIMESTAMP()), as Django declares Now() here."""
    return replace(column, default=_CURRENT_TIMESTAMP) if is_statement_moment(column.default) else column
