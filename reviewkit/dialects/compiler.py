"""Operations to SQL: the compile dispatcher and the default SQL every engine shares.

Each engine's compiler is a subclass that sets its type table and overrides only the
operations its engine spells differently (Alembic's per-dialect `Impl`). Statements are
assembled from our operations: identifiers are quoted and expressions rendered by
sqlglot for the dialect, and nothing is transpiled from another dialect's DDL.
"""

from __future__ import annotations

import sys
from collections.abc import Container, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

from sqlglot import exp

from reviewkit.dialects.introspection import UnmodelledProperty
from reviewkit.errors import UnsupportedType
from reviewkit.plural import counted
from reviewkit.schema import naming
from reviewkit.schema.expressions import (
    canonical,
    canonical_text,
    column_names_in,
    parse_canonical,
    render,
    unsupported_in,
)
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AddIndex,
    AlterColumn,
    AlterEnum,
    AlterTableComment,
    CreateEnum,
    CreateTable,
    CreateView,
    DropColumn,
    DropConstraint,
    DropEnum,
    DropIndex,
    DropTable,
    DropView,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, Unique, View
from reviewkit.schema.types import PortableType, parse_type
from reviewkit.schema.views import render_query, view_columns

if TYPE_CHECKING:
    from collections.abc import Callable

    from reviewkit.dialects.base import Dialect


@dataclass(frozen=True)
class CompileContext:
    """The schema before and after the operation being compiled."""

    before: Schema
    after: Schema
    # Tables an earlier operation of the same script created: nobody uses them yet, so the
    # lock-safe forms of `generate --online` are not needed on them.
    fresh: Container[str] = frozenset()


@dataclass(frozen=True)
class CompiledOperation:
    """The statements one operation became on one engine."""

    operation: Operation
    statements: tuple[str, ...]
    note: str | None = None  # shown in the script when the statements live elsewhere
    rebuild: bool = False  # a table rebuild: every row copied under the write lock


_NEVER_IN_A_DEFAULT = (
    ((exp.Subquery, exp.Select), "subqueries"),
    (exp.AggFunc, "aggregate functions"),
    (exp.Window, "window functions"),
)

@lru_cache(maxsize=4096)
def _refused_everywhere(default: str) -> str | None:
    """Return why no engine takes this default (refused by PostgreSQL 15, MariaDB 10.11 and SQLite 3.40 alike)."""
    node = parse_canonical(default)
    for kind, what in _NEVER_IN_A_DEFAULT:
        if node.find(kind) is not None:
            return f"{what} are not allowed in a DEFAULT"
    return None


# PostgreSQL's operator classes that make a B-tree serve LIKE 'prefix%' under a collation
# other than C (Django creates such a `<column>_like` index beside each indexed varchar and
# text column). An engine without operator classes does not build a non-unique index that
# has one: built plainly it would be a second copy of the column's own index, and what it
# is for has no counterpart there.
PATTERN_OPCLASSES = frozenset({"varchar_pattern_ops", "text_pattern_ops", "bpchar_pattern_ops"})

# (dialect, portable type) -> spelling: a bundle spells the same few types thousands of times.
_SPELLINGS: dict[tuple[str, str], str] = {}


class Compiler:
    """Default compilation; subclasses say what their engine does differently."""

    # Portable kind -> this engine's spelling; "{0}" is the first type parameter.
    type_names: ClassVar[dict[str, str]] = {}
    # What the engine stores instead, when it folds two portable types into one.
    stored_types: ClassVar[dict[str, str]] = {}
    # A type as the engine's catalog reads back -> the model type that gives it back, where that is
    # another (`baseline` writes the live schema as models): the inverse of `stored_types` there.
    model_types: ClassVar[dict[str, str]] = {}
    # The longest name the engine keeps as written (None: no limit), counted in bytes of UTF-8
    # or in characters, and what it does with a longer one (said after the engine's title).
    name_limit: ClassVar[tuple[int, str, str] | None] = None

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.name = dialect.name
        self.title = dialect.title
        self._fine_defaults: set[tuple[str | None, str]] = set()
        self._quoted: dict[str, str] = {}
        self._made: dict[int, tuple[Table, tuple[str, ...]]] = {}  # id(table) -> (table, table_statements)

    # -- names, types, expressions -----------------------------------------------------

    def quote(self, name: str) -> str:
        # The dialect's quotes are sqlglot's (tests/test_dialects.py renders both); quoting
        # them directly spares building an expression for each of a bundle's many names,
        # and each name is quoted once: a bundle names every table and column many times.
        quoted = self._quoted.get(name)
        if quoted is None:
            quoted = self._quoted[name] = self.dialect.quote(name)
        return quoted

    def quote_list(self, names: tuple[str, ...]) -> str:
        return ", ".join(self.quote(n) for n in names)

    def type_sql(self, type_name: str, where: str) -> str:
        """Return this engine's spelling of a portable type, or refuse naming `where`."""
        spelled = _SPELLINGS.get((self.name, type_name))
        if spelled is None:
            spelled = _SPELLINGS[(self.name, type_name)] = self._spell_type(type_name, where)
        return spelled

    def column_type_sql(self, table: Table, column: Column) -> str:
        """Return this engine's spelling of a column's type, or refuse naming the column."""
        spelled = _SPELLINGS.get((self.name, column.type))  # the usual case: no message to build
        return spelled if spelled is not None else self.type_sql(column.type, f"column {table.name}.{column.name}")

    def _spell_type(self, type_name: str, where: str) -> str:
        portable = parse_type(type_name)
        if portable.flavor:
            # The flavor's own spelling on this engine (`timestamptz@django`), else the plain type's.
            flavored = self._type_template(portable, f"@{portable.flavor}")
            return flavored.format(*portable.params) if flavored else self.type_sql(str(portable.plain), where)
        if portable.array:
            return self.array_type_sql(portable, where)
        if portable.kind == "enum":
            return self.enum_type_sql(portable, where)
        if portable.kind == "set":
            return self.set_type_sql(portable, where)
        template = self._type_template(portable)
        if template is None:
            raise UnsupportedType(f"{where}: type {type_name} has no faithful mapping in {self.title}")
        return template.format(*portable.params)

    def _type_template(self, portable: PortableType, suffix: str = "") -> str | None:
        """Return the entry of `type_names` for the type itself, or for its kind with any parameters.

        A flavor's entry may name the bare kind: its declaration has no parameters (`numeric@django`
        is SQLite's `DECIMAL`).
        """
        wildcard = f"{portable.kind}({','.join('*' * len(portable.params))})" if portable.params else portable.kind
        return (self.type_names.get(f"{portable.plain}{suffix}") or self.type_names.get(wildcard + suffix)
                or (self.type_names.get(portable.kind + suffix) if suffix else None))

    def array_type_sql(self, portable: PortableType, where: str) -> str:
        raise UnsupportedType(f"{where}: type {portable} has no faithful mapping in {self.title}")

    def enum_type_sql(self, portable: PortableType, where: str) -> str:
        raise UnsupportedType(f"{where}: type {portable} has no faithful mapping in {self.title}")

    def set_type_sql(self, portable: PortableType, where: str) -> str:
        raise UnsupportedType(f"{where}: type {portable} has no faithful mapping in {self.title}")

    def values_sql(self, values: tuple[str, ...]) -> str:
        """Return enum or set values as this engine's string literals: `'G', 'PG'`."""
        return ", ".join(exp.Literal.string(v).sql(dialect=self.name) for v in values)

    def expression_sql(self, text: str) -> str:
        return render(text, self.name)

    def default_sql(self, column: Column) -> str:
        return self.expression_sql(column.default)  # type: ignore[arg-type]

    # -- column and constraint definitions ---------------------------------------------

    def column_sql(self, table: Table, column: Column) -> str:
        return " ".join([self.quote(column.name), self.column_type_sql(table, column), *self.column_clauses(table, column)])

    def column_clauses(self, table: Table, column: Column) -> list[str]:
        """Return what follows a column's type: generation, identity, NOT NULL, default, the checks its type needs."""
        clauses = []
        if column.generated is not None:
            clauses.append(self.generated_sql(column))
        if column.identity:
            clauses.append(self.identity_sql(column))
        if not column.nullable:
            clauses.append("NOT NULL")
        if column.default is not None:
            clauses.append("DEFAULT " + self.default_sql(column))
        checks = self.column_checks(table.name, column)
        if checks:  # most columns have none
            clauses.extend(self.column_check_sql(column, check) for check in checks)
        return clauses

    def column_check_sql(self, column: Column, check: Check) -> str:
        """Return a check the column's type implies, in its definition (named, unless the engine names it)."""
        return self.constraint_sql(check)

    def generated_sql(self, column: Column) -> str:
        kind = "STORED" if column.stored else "VIRTUAL"
        return f"GENERATED ALWAYS AS ({self.expression_sql(column.generated)}) {kind}"  # type: ignore[arg-type]

    def column_checks(self, table: str, column: Column) -> list[Check]:
        """Return the checks this engine adds to hold a type it lacks (an unsigned range, an enum's values)."""
        return []

    def implied_checks(self, table: Table) -> list[Check]:
        return [check for column in table.columns for check in self.column_checks(table.name, column)]

    def identity_sql(self, column: Column) -> str:
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
        return f"{sql} DEFERRABLE INITIALLY DEFERRED" if self.deferred(fk) else sql

    # Django's backend for this engine declares every foreign key it makes checked at commit,
    # not per statement (PostgreSQL, SQLite; InnoDB has no such keys): Django's own code relies
    # on it, saving rows in an order a per-statement check would refuse.
    defers_django_keys: ClassVar[bool] = False

    def deferred(self, fk: ForeignKey) -> bool:
        """Tell whether this engine checks the key at commit (DEFERRABLE INITIALLY DEFERRED)."""
        return self.defers_django_keys and fk.flavor == "django"

    def stored_key_name(self, table: Table, fk: ForeignKey) -> str:
        """Return the name this engine keeps the key under (SQLite names Django's unnamed keys itself)."""
        return fk.name

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

    def table_statements(self, table: Table) -> list[str]:
        """Return everything that makes `table` on this engine: CREATE TABLE, its indexes, comments, triggers.

        Kept per table object (which the entry holds, so that its id stays its own): baseline
        makes the same tables twice, in the model file and in the bundle's first script.
        """
        made = self._made.get(id(table))
        if made is None or made[0] is not table:
            statements = [self.create_table_sql(table)]
            for index in table.indexes:
                statements.extend(self.index_statements(table, index))
            made = self._made[id(table)] = (table, (*statements, *self.table_extras_sql(table)))
        return list(made[1])

    def table_extras_sql(self, table: Table) -> list[str]:
        """Return what follows CREATE TABLE on this engine: the table's comment, each column's extras."""
        return [s for column in table.columns for s in self.column_extras_sql(table.name, column)]

    def column_extras_sql(self, table: str, column: Column) -> list[str]:
        """Return the statements a column needs once it exists, besides its definition (a comment, a trigger)."""
        return []

    def drop_column_extras_sql(self, table: str, column: Column) -> list[str]:
        """Return the statements that remove a column's extras, before the column goes."""
        return []

    def drop_table_extras_sql(self, table: Table) -> list[str]:
        """Return what DROP TABLE leaves behind and must be removed after it (PostgreSQL's trigger functions)."""
        return []

    # -- indexes -----------------------------------------------------------------------

    # Index methods this engine builds besides its default (btree); what a model asks for
    # beyond them is not built on this engine, and REVIEW.md says so.
    index_methods: ClassVar[frozenset[str]] = frozenset()
    hash_as_default: ClassVar[bool] = False  # USING HASH built as the default method: the same lookups
    index_include: ClassVar[bool] = False  # INCLUDE (columns)
    index_opclasses: ClassVar[bool] = False  # operator classes on keys
    keeps_comments: ClassVar[bool] = False  # COMMENT on tables and columns
    arrays_as_json: ClassVar[bool] = False  # an array column is JSON text here (array_type_sql)
    keeps_identity_always: ClassVar[bool] = False  # an auto-increment column that refuses a value given (Column.identity_always)

    def index_form(self, index: Index) -> Index | None:
        """Return the index as this engine builds it, or None when the engine has no such index."""
        method = index.method
        if method is None and not index.include and all(p.opclass is None for p in index.parts):
            return index  # a plain index: every engine builds it as it is
        if not self.index_opclasses and not index.unique and any(p.opclass in PATTERN_OPCLASSES for p in index.parts):
            return None  # a LIKE index for PostgreSQL's collations: see PATTERN_OPCLASSES
        if method is not None and method not in self.index_methods:
            if not (method == "hash" and self.hash_as_default):
                return None
            method = None
        parts = index.parts if self.index_opclasses else tuple(replace(p, opclass=None) for p in index.parts)
        return replace(index, method=method, parts=parts, include=index.include if self.index_include else ())

    def index_statements(self, table: Table, index: Index) -> list[str]:
        """Return CREATE INDEX as this engine builds the index on `table` (nothing when it has no such index)."""
        built = self.index_form(index)
        return [] if built is None else [self.index_sql(table.name, built)]

    def index_sql(self, table: str, index: Index) -> str:
        keys = []
        for part in index.parts:
            key = self.quote(part.expression) if part.is_column else f"({self.expression_sql(part.expression)})"
            if part.opclass:
                key += f" {part.opclass}"
            keys.append(key + (" DESC" if part.descending else ""))
        unique = "UNIQUE " if index.unique else ""
        using = f" USING {index.method}" if index.method else ""
        sql = f"CREATE {unique}INDEX {self.quote(index.name)} ON {self.quote(table)}{using} ({', '.join(keys)})"
        if index.include:
            sql += f" INCLUDE ({self.quote_list(index.include)})"
        if index.where:
            sql += f" WHERE {self.expression_sql(index.where)}"
        return sql

    def drop_index_sql(self, table: str, index: Index) -> list[str]:
        return [f"DROP INDEX {self.quote(index.name)}"] if self.index_form(index) is not None else []

    # -- the dispatcher ----------------------------------------------------------------

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        """Compile a bundle's operations in order; a dialect may combine neighbours."""
        return [self.compile(op, ctx) for op, ctx in zip(operations, contexts, strict=True)]

    def compile(self, op: Operation, ctx: CompileContext) -> CompiledOperation:
        """Return the statements (without `;`) that perform `op` on this engine."""
        if isinstance(op, AlterColumn) and self.same_on_engine(op.table, op.old, op.new):
            return CompiledOperation(op, ())  # a change this engine does not store (a comment on SQLite)
        if self.redeclared_alike(op, ctx):
            return CompiledOperation(op, ())
        method = getattr(self, f"compile_{op.kind}")
        # The NULLs are filled before the column changes, whatever form the engine makes it NOT
        # NULL in: PostgreSQL's online form validates a CHECK that a NULL would fail.
        filled = self.fill_nulls_sql(op) if isinstance(op, AlterColumn) and op.fill is not None else []
        return CompiledOperation(op, (*filled, *method(op, ctx)))

    def fill_nulls_sql(self, op: AlterColumn) -> list[str]:
        """Return the UPDATE that gives the column's NULLs the one-off default, before it becomes NOT NULL."""
        column = self.quote(op.old.name)
        return [f"UPDATE {self.quote(op.table)} SET {column} = {self.expression_sql(op.fill)} "  # type: ignore[arg-type]
                f"WHERE {column} IS NULL"]

    def redeclared_alike(self, op: Operation, ctx: CompileContext) -> bool:
        """Tell whether `op` changes only how an object is declared (its flavor), and this engine holds it alike."""
        if not isinstance(op, RenameConstraint | RenameIndex) or op.old.name != op.new.name:
            return False
        if isinstance(op.old, ForeignKey) and self.deferred(op.old) != self.deferred(op.new):  # type: ignore[arg-type]
            return False  # declared as Django declares it, or no longer: checked at commit or per statement
        return self.stored_table(ctx.before.table(op.table)) == self.stored_table(ctx.after.table(op.table))

    def same_on_engine(self, table: str, old: Column, new: Column) -> bool:
        """Tell whether two versions of a column are the same column as this engine stores it."""
        return (self.stored_column(old), self.column_checks(table, old)) == (
            self.stored_column(new), self.column_checks(table, new))

    def compile_create_table(self, op: CreateTable, ctx: CompileContext) -> list[str]:
        return self.table_statements(op.table_def)

    def compile_drop_table(self, op: DropTable, ctx: CompileContext) -> list[str]:
        return [f"DROP TABLE {self.quote(op.table)}"] + self.drop_table_extras_sql(op.table_def)

    def compile_rename_table(self, op: RenameTable, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME TO {self.quote(op.new_name)}"]

    def compile_add_column(self, op: AddColumn, ctx: CompileContext) -> list[str]:
        """ADD COLUMN; with a one-off default, added with it as its default, which is dropped at once.

        The engine fills the rows that exist with the default as it adds the column (a
        constant is stored once, not written to each row, on PostgreSQL 11+ and InnoDB's
        instant ADD); dropping it leaves the column as the models declare it.
        """
        table = ctx.after.table(op.table)
        column = op.column if op.fill is None else replace(op.column, default=op.fill)
        statements = [f"ALTER TABLE {self.quote(op.table)} ADD COLUMN {self.column_sql(table, column)}"]
        if op.fill is not None:
            statements.append(f"ALTER TABLE {self.quote(op.table)} ALTER COLUMN {self.quote(op.column.name)} DROP DEFAULT")
        return statements + self.column_extras_sql(op.table, op.column)

    def compile_drop_column(self, op: DropColumn, ctx: CompileContext) -> list[str]:
        drop = f"ALTER TABLE {self.quote(op.table)} DROP COLUMN {self.quote(op.column.name)}"
        return self.drop_column_extras_sql(op.table, op.column) + [drop]

    def compile_rename_column(self, op: RenameColumn, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME COLUMN {self.quote(op.old_name)} TO {self.quote(op.new_name)}"]

    def compile_alter_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        raise NotImplementedError

    def compile_add_index(self, op: AddIndex, ctx: CompileContext) -> list[str]:
        return self.index_statements(ctx.after.table(op.table), op.index)

    def compile_drop_index(self, op: DropIndex, ctx: CompileContext) -> list[str]:
        return self.drop_index_sql(op.table, op.index)

    def compile_rename_constraint(self, op: RenameConstraint, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} RENAME CONSTRAINT {self.quote(op.old.name)} TO {self.quote(op.new.name)}"]

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        if self.index_form(op.old) is None:
            return []
        return [f"ALTER INDEX {self.quote(op.old.name)} RENAME TO {self.quote(op.new.name)}"]

    def compile_alter_table_comment(self, op: AlterTableComment, ctx: CompileContext) -> list[str]:
        return []

    # Enum types are objects of their own only on PostgreSQL; elsewhere the columns hold them.
    def compile_create_enum(self, op: CreateEnum, ctx: CompileContext) -> list[str]:
        return []

    def compile_drop_enum(self, op: DropEnum, ctx: CompileContext) -> list[str]:
        return []

    def compile_alter_enum(self, op: AlterEnum, ctx: CompileContext) -> list[str]:
        return []

    # -- views ---------------------------------------------------------------------------

    keeps_check_option: ClassVar[bool] = True  # WITH CHECK OPTION on views

    def view_sql(self, view: View) -> str:
        columns = f" ({self.quote_list(view.columns)})" if view.columns else ""
        sql = f"CREATE VIEW {self.quote(view.name)}{columns} AS\n{render_query(view.query, self.name)}"
        if view.check_option and self.keeps_check_option:
            sql += f"\nWITH {view.check_option.upper()} CHECK OPTION"
        return sql

    def compile_create_view(self, op: CreateView, ctx: CompileContext) -> list[str]:
        return [self.view_sql(op.view)]

    def compile_drop_view(self, op: DropView, ctx: CompileContext) -> list[str]:
        return [f"DROP VIEW {self.quote(op.view.name)}"]

    def compile_add_constraint(self, op: AddConstraint, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} ADD {self.constraint_sql(op.constraint)}"]

    def compile_drop_constraint(self, op: DropConstraint, ctx: CompileContext) -> list[str]:
        return [f"ALTER TABLE {self.quote(op.table)} DROP CONSTRAINT {self.quote(op.constraint.name)}"]

    # -- online forms (`generate --online`; an engine's online compiler overrides these) ----

    def session_statements(self, lock_timeout: str) -> list[str]:
        """Return the statements an online script begins with (its lock timeout); none in the plain forms.

        `lock_timeout` is `[generate] lock_timeout`: a whole number and ms, s or min ("5s").
        """
        return []

    def online_notes(self) -> list[str]:
        """Return what REVIEW.md says of this engine's online forms."""
        return []

    # -- what the engine keeps, what it cannot keep --------------------------------------

    identity_only_as_primary_key = False  # MySQL's AUTO_INCREMENT and SQLite's rowid alias are the key itself

    def check_schema(self, schema: Schema) -> None:
        """Refuse a schema this engine cannot hold faithfully, naming every object it refuses."""
        refusals = self.schema_refusals(schema)
        if refusals:
            raise UnsupportedType("\n".join(refusals))

    def schema_refusals(self, schema: Schema) -> list[str]:
        """Return why this engine refuses each object of `schema` it cannot hold, one line per object.

        Every object is checked, not only up to the first refusal: a model with five
        problems for MySQL is fixed in one edit, not five runs.
        """
        refusals: list[str] = []

        def check(method: Callable[..., None], *args: object) -> None:
            try:
                method(*args)
            except UnsupportedType as refused:
                refusals.append(str(refused))

        for table in schema.tables:
            refusals += self._column_refusals(table)
            if self.name_limit is not None:
                refusals += self._name_refusals(table)
            check(self.check_table, table)
            for index in table.indexes:
                check(self.check_index, table, index)
            for fk in table.foreign_keys:
                check(self.check_foreign_key, schema, table, fk)
        if schema.views:
            check(self.check_views, schema)
            if self.name_limit is not None:
                refusals += self._long_names([("view", view.name, view.name) for view in schema.views])
        return refusals

    def _name_refusals(self, table: Table) -> list[str]:
        """Refuse the table's names the engine would not keep as written: its own, its columns', keys' and indexes'."""
        keys = [*([table.primary_key] if table.primary_key else []), *table.uniques, *table.checks, *table.foreign_keys]
        return self._long_names([
            ("table", table.name, table.name),
            *(("column", f"{table.name}.{column.name}", column.name) for column in table.columns),
            *(("constraint", f"{key.name} on {table.name}", key.name) for key in keys),
            *(("index", f"{index.name} on {table.name}", index.name) for index in table.indexes),
        ])

    def _long_names(self, named: list[tuple[str, str, str]]) -> list[str]:
        """Return a refusal per (kind, how it is shown, name) whose name passes the engine's limit."""
        limit, unit, fate = self.name_limit  # type: ignore[misc]
        found = []
        for kind, shown, name in named:
            size = len(name) if unit == "characters" or name.isascii() else len(name.encode("utf-8"))
            if size > limit:
                found.append(f"{kind} {shown}: its name is {size} {unit} long; {self.title} {fate}")
        return found

    def _column_refusals(self, table: Table) -> list[str]:
        found = []
        for column in table.columns:  # a loop of its own: a schema has ten times more columns than tables
            try:
                self.check_column(table, column)
            except UnsupportedType as refused:
                found.append(str(refused))
        return found

    def check_column(self, table: Table, column: Column) -> None:
        self.column_type_sql(table, column)
        if column.default is not None:
            self.check_default(table, column)

    def check_table(self, table: Table) -> None:
        """Refuse what this engine cannot keep of a table as a whole (its keys); engines add their rules."""
        if self.identity_only_as_primary_key:
            for column in table.columns:
                key = table.primary_key.columns if table.primary_key else ()
                if column.identity and key != (column.name,):
                    raise UnsupportedType(f"auto-increment column {table.name}.{column.name}: {self.title} allows "
                                          "one only as the table's whole primary key")

    def check_views(self, schema: Schema) -> None:
        for view in schema.views:
            self.check_view(view)

    def check_view(self, view: View) -> None:
        """Refuse a view whose query sqlglot cannot write for this engine without leaving something out."""
        problem = unsupported_in(view.query, self.name)
        if problem:
            raise UnsupportedType(f"view {view.name}: {self.title} cannot run its query as sqlglot writes it: {problem}")

    def check_index(self, table: Table, index: Index) -> None:
        where = f"index {index.name} on {table.name}"
        if index.where and not self.dialect.partial_indexes:
            raise UnsupportedType(f"{where}: {self.title} has no partial indexes (WHERE ...)")
        if not self.dialect.expression_indexes and any(not p.is_column for p in index.parts):
            raise UnsupportedType(f"{where}: {self.title} has no indexes on expressions")
        if index.unique and self.index_form(index) is None:
            # Leaving out a unique index would drop a rule, not only a speed-up.
            raise UnsupportedType(f"{where}: {self.title} has no unique {index.method} indexes")

    def check_default(self, table: Table, column: Column) -> None:
        """Refuse a default this engine would refuse at apply, or keep with another meaning."""
        # A default that names no column is judged the same on every column of its type:
        # a schema repeats a few defaults (0, now(), '') thousands of times.
        key = (column.default, column.type)
        if key in self._fine_defaults:
            return
        problem = unsupported_in(column.default, self.name) or self.default_refusal(table, column)  # type: ignore[arg-type]
        if not problem and not column_names_in(column.default):  # type: ignore[arg-type]
            self._fine_defaults.add(key)
        if problem:
            raise UnsupportedType(f"column {table.name}.{column.name}: {self.title} refuses the default "
                                  f"{column.default}: {problem}")

    def default_refusal(self, table: Table, column: Column) -> str | None:
        """Return why this engine refuses the column's (normalised) default, or None; engines add their own reasons."""
        if self.arrays_as_json and parse_type(column.type).array:
            return ("it holds an array as JSON, where the default's text ('{}', '{a,b}') would mean another value or none; "
                    "give the column no default, or leave this engine out of the project's dialects")
        return _refused_everywhere(column.default)  # type: ignore[arg-type]

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
        """Return `schema` as this engine keeps it (types it folds, names it imposes).

        A view is kept as the engine shows it: its name, the names of the columns it returns
        and its check option. Its query is left out: every engine rewrites the text it stores.
        """
        columns = view_columns(schema) if schema.views else {}
        views = tuple(self.stored_view(view, columns[view.name]) for view in schema.views)
        return Schema(tuple(self.stored_table(t) for t in schema.tables), views).normalized()

    def implied_properties(self, schema: Schema) -> set[UnmodelledProperty]:
        """Return what this engine's objects of `schema` have that the schema does not say, as the catalog's reader of
        such properties names them (`read_unmodelled_properties`): a Django key's deferral."""
        return {UnmodelledProperty("constraint", f"{table.name}.{self.stored_key_name(table, fk)}", "deferrable",
                                   "initially deferred")
                for table in schema.tables for fk in table.foreign_keys if self.deferred(fk)}

    def stored_view(self, view: View, columns: tuple[str, ...]) -> View:
        return View(view.name, "", columns, view.check_option if self.keeps_check_option else None)

    def stored_table(self, table: Table) -> Table:
        indexes = tuple(built for built in (self.index_form(ix) for ix in table.indexes) if built is not None)
        return replace(
            table,
            columns=tuple(self.stored_column(c) for c in table.columns),
            uniques=_unflavored(table.uniques),
            checks=table.checks + tuple(self.implied_checks(table)),
            foreign_keys=_unflavored(table.foreign_keys),
            indexes=_unflavored(indexes),
            comment=table.comment if self.keeps_comments else None,
        )

    def stored_column(self, column: Column) -> Column:
        portable = parse_type(column.type)
        # A flavor's declaration reads back as its own entry says, else as the plain type's.
        stored = self.stored_types.get(f"{portable.kind}@{portable.flavor}") if portable.flavor else None
        if portable.flavor and stored is None:
            portable = portable.plain
            column = replace(column, type=str(portable))
        if stored is None:
            stored = self.stored_types.get(column.type) or (None if portable.params else self.stored_types.get(portable.kind))
        if portable.array and stored is None:
            stored = self.stored_types.get("array")
        if stored is not None:
            column = replace(column, type=stored)
        if column.generated is not None:
            column = replace(column, generated=self.stored_expression(column.generated))
        if not self.keeps_comments and column.comment is not None:
            column = replace(column, comment=None)
        if column.identity_always and not self.keeps_identity_always:
            column = replace(column, identity_always=False)
        return column

    def stored_expression(self, text: str) -> str:
        """Return an expression as this engine holds it: as rendered for it and read back.

        sqlglot keeps the meaning of `/` across engines by adding casts where division
        differs (SQLite divides integers like PostgreSQL, MySQL does not): the engine
        holds that form, so that is what it is compared with.
        """
        return canonical_text(self.expression_sql(text), self.name)

    def notes(self, schema: Schema) -> list[str]:
        """Return what a reviewer should know about how this engine stores the schema."""
        notes, pattern_indexes = [], []
        for table in schema.tables:
            for index in table.indexes:
                built = self.index_form(index)
                what = f"index {index.name} on {table.name}"
                if built is None and index.method is None:
                    pattern_indexes.append(index.name)
                    continue
                if built is None:
                    notes.append(f"{what} (USING {index.method}) is not built: {self.title} has no such index.")
                    continue
                if index.method != built.method:
                    notes.append(f"{what}: USING {index.method} is built as {self.title}'s default index method.")
                if index.include != built.include:
                    notes.append(f"{what}: INCLUDE ({', '.join(index.include)}) is left out: {self.title} has no "
                                 "covering columns.")
                if index.parts != built.parts:
                    notes.append(f"{what}: operator classes are left out: {self.title} has none.")
        if pattern_indexes:  # one note: a Django project has one such index per indexed text column
            shown = ", ".join(pattern_indexes[:5]) + (f" and {len(pattern_indexes) - 5} more" if len(pattern_indexes) > 5 else "")
            notes.append(f"{counted(len(pattern_indexes), 'index', 'indexes')} with a pattern operator class (varchar_pattern_ops, "
                         f"text_pattern_ops) are not built: {self.title} has no operator classes, and these serve "
                         f"only PostgreSQL's LIKE; the column's own index serves here: {shown}.")
        if not self.keeps_comments and any(t.comment or any(c.comment for c in t.columns) for t in schema.tables):
            notes.append(f"Comments on tables and columns are not kept: {self.title} stores none.")
        always = [f"{t.name}.{c.name}" for t in schema.tables for c in t.columns if c.identity_always]
        if always and not self.keeps_identity_always:
            notes.append(f"GENERATED ALWAYS AS IDENTITY ({', '.join(always)}): {self.title}'s auto-increment takes a value "
                         "an INSERT gives it, where PostgreSQL refuses one.")
        return notes


def _unflavored(objects: tuple) -> tuple:
    """Return constraints or indexes as an engine holds them: whose way of declaring them is no longer told."""
    return tuple(replace(o, flavor=None) if o.flavor else o for o in objects)


def set_membership_check(table: str, column: str, values: tuple[str, ...]) -> Check:
    """Return the CHECK that holds a MySQL SET in a text column: every comma-separated member is in the list.

    Each allowed member is cut out of `,value,` in turn; what remains must be the lone
    comma. Plain string functions, so PostgreSQL and SQLite read it alike.
    """
    col = exp.column(column)
    text: exp.Expression = exp.DPipe(this=exp.DPipe(this=exp.Literal.string(","), expression=col), expression=exp.Literal.string(","))
    for value in values:
        text = exp.Anonymous(this="replace", expressions=[text, exp.Literal.string(f",{value},"), exp.Literal.string(",")])
    members_known = exp.EQ(this=text, expression=exp.Literal.string(","))
    empty = exp.EQ(this=col.copy(), expression=exp.Literal.string(""))
    return Check(naming.constraint_name(table, (column,), "set"), canonical(exp.or_(empty, members_known)))


def touch_trigger_name(table: str, column: str) -> str:
    """Return the name of the trigger (and PostgreSQL function) that does a column's ON UPDATE CURRENT_TIMESTAMP."""
    return naming.fit(f"reviewkit_touch_{table}_{column}")


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
    spans = _FreshSpans()
    for step, op in enumerate(operations):
        after = op.apply(state)
        contexts.append(CompileContext(state, after, FreshTables(spans, step)))
        state = after
        spans.record(op, step + 1)
    return contexts


_NOT_YET = sys.maxsize  # the end of a span still open


class _FreshSpans:
    """For each table name, the steps of a script at which a table of that name is one the script created.

    One record for the whole script: a set per step grew with every CREATE TABLE, which
    made a first bundle of many tables quadratic.
    """

    def __init__(self) -> None:
        self.spans: dict[str, list[list[int]]] = {}

    def record(self, op: Operation, step: int) -> None:
        """Note what `op` changes from `step` on (the step after it)."""
        if isinstance(op, CreateTable):
            self._open(op.table, step)
        elif isinstance(op, DropTable) and self.is_fresh(op.table, step):
            self._close(op.table, step)
        elif isinstance(op, RenameTable) and self.is_fresh(op.table, step):
            self._close(op.table, step)
            self._open(op.new_name, step)

    def is_fresh(self, table: str, step: int) -> bool:
        return any(start <= step < end for start, end in self.spans.get(table, ()))

    def _open(self, table: str, step: int) -> None:
        if not self.is_fresh(table, step):
            self.spans.setdefault(table, []).append([step, _NOT_YET])

    def _close(self, table: str, step: int) -> None:
        self.spans[table][-1][1] = step


@dataclass(frozen=True)
class FreshTables:
    """The tables the script has created before one of its steps (`table in ctx.fresh`)."""

    spans: _FreshSpans
    step: int

    def __contains__(self, table: object) -> bool:
        return isinstance(table, str) and self.spans.is_fresh(table, self.step)


_SHOWN_REFUSALS = 50


def check_engines_hold(models: Schema, dialects: Iterable[Dialect]) -> None:
    """Refuse models that an engine would refuse at apply or keep with another meaning: every refusal at once."""
    refusals = [line for dialect in dialects for line in dialect.compiler.schema_refusals(models)]
    if len(refusals) > 1:
        shown = refusals[:_SHOWN_REFUSALS]
        if len(refusals) > _SHOWN_REFUSALS:
            shown.append(f"... and {len(refusals) - _SHOWN_REFUSALS} more")
        refusals = [f"{len(refusals)} objects of the models that an engine cannot hold:", *shown]
    if refusals:
        raise UnsupportedType("\n".join(refusals))
