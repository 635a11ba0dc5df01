"""SQLite's SQL: native ALTERs where SQLite has them, a table rebuild for everything else."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
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
from reviewkit.dialects.introspection import canonical_expression
from reviewkit.dialects.sqlite import defaults, django
from reviewkit.dialects.sqlite.rebuild import combine_rebuilds, one_off_fills, rebuild_table
from reviewkit.dialects.sqlite.views import probe_views
from reviewkit.errors import UnsupportedType
from reviewkit.schema import naming
from reviewkit.schema.defaults import is_statement_moment
from reviewkit.schema.expressions import canonical, canonical_text, column_names_in, parse_canonical
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    DropColumn,
    DropConstraint,
    Operation,
    RenameColumn,
    RenameConstraint,
    RenameIndex,
    RenameTable,
)
from reviewkit.schema.state import Check, Column, ForeignKey, PrimaryKey, Schema, Table, Unique
from reviewkit.schema.types import KINDS, RANGES, PortableType, parse_type

_AFFINITY = {
    "numeric": "NUMERIC affinity: exact decimals are not kept, values become INTEGER or REAL",
    "varchar": "TEXT affinity: the length is not enforced",
    "char": "TEXT affinity: the length is not enforced and values are not padded",
    "boolean": "NUMERIC affinity: stored as 0 and 1",
    "date": "NUMERIC affinity: stored as the text written (ISO 8601 by convention)",
    "time": "NUMERIC affinity: stored as the text written",
    "timetz": "NUMERIC affinity: stored as the text written; the time zone is not interpreted",
    "timestamp": "NUMERIC affinity: stored as the text written (ISO 8601 by convention)",
    "timestamptz": "NUMERIC affinity: stored as the text written; the time zone is not interpreted",
    "json": "NUMERIC affinity: stored as text, not validated",
    "jsonb": "NUMERIC affinity: stored as text, not validated",
    "uuid": "NUMERIC affinity: stored as the text written",
    "smallint": "INTEGER affinity: the range is not enforced",
}
# Django's declaration of a kind on SQLite, and the portable type SQLite reads back of it.
_DJANGO = {
    "timestamptz": ("DATETIME", "timestamp"),
    "double": ("REAL", "real"),
    "numeric": ("DECIMAL", "numeric"),
    "jsonb": ("TEXT", "text"),
    "uuid": ("CHAR(32)", "char(32)"),
    "interval": ("BIGINT", "bigint"),  # a DurationField: microseconds
    "inet": ("CHAR(39)", "char(39)"),  # a GenericIPAddressField: the address as text
}
_DJANGO_NOTES = {
    "timestamptz": "DATETIME, as Django declares a DateTimeField here; NUMERIC affinity: stored as the text Django writes",
    "double": "REAL, as Django declares a FloatField here",
    "numeric": "DECIMAL, as Django declares a DecimalField here; NUMERIC affinity: exact decimals are not kept",
    "jsonb": "TEXT with Django's CHECK (JSON_VALID(...) OR ... IS NULL)",
    "uuid": "CHAR(32), as Django declares a UUIDField here: 32 hex digits, TEXT affinity",
    "interval": "BIGINT, as Django declares a DurationField here: microseconds",
    "inet": "CHAR(39), as Django declares a GenericIPAddressField here",
}
_LITERALS = (exp.Literal, exp.Boolean, exp.Null, exp.Neg)
# SQLite's own keywords for the moment of the insert, written bare.
_MOMENTS = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)
# SQLite's ALTER TABLE cannot change a column or a constraint at all.
_ALWAYS_REBUILT = (AlterColumn, AddConstraint, DropConstraint, RenameConstraint)


class SQLiteCompiler(Compiler):
    # SQLite keeps the declared type name verbatim: declaring the portable name keeps it readable.
    type_names: ClassVar[dict[str, str]] = {
        **{kind: kind.upper() for kind in KINDS},
        **{f"{kind}(*)": kind.upper() + "({0})" for kind in KINDS},
        "numeric(*,*)": "NUMERIC({0}, {1})",
        **{f"u{kind}": f"{kind.upper()} UNSIGNED" for kind in ("tinyint", "smallint", "mediumint", "integer")},
        "tsvector": "TEXT",
        # Django's declarations here (its `data_types`); a JSONField's check is in column_checks.
        **{f"{kind}@django": spelled for kind, (spelled, _) in _DJANGO.items()},
        "ubigint@django": "BIGINT UNSIGNED",  # Django's own, though SQLite's integers stop at 2^63-1
    }
    stored_types: ClassVar[dict[str, str]] = {
        "tsvector": "text", "array": "json", **{f"{kind}@django": stored for kind, (_, stored) in _DJANGO.items()},
    }
    hash_as_default = True  # SQLite's one index kind serves the same lookups
    identity_only_as_primary_key = True
    keeps_check_option = False  # SQLite's views are read-only: nothing is written through them to check

    arrays_as_json = True

    def array_type_sql(self, portable: PortableType, where: str) -> str:
        return "JSON"  # a JSON array: SQLite has no array columns

    def enum_type_sql(self, portable: PortableType, where: str) -> str:
        return "TEXT"

    def set_type_sql(self, portable: PortableType, where: str) -> str:
        return "TEXT"

    def check_column(self, table: Table, column: Column) -> None:
        super().check_column(table, column)
        if str(parse_type(column.type)) == "ubigint":
            raise UnsupportedType(f"column {table.name}.{column.name}: SQLite's integers stop at 2^63-1, "
                                  "below BIGINT UNSIGNED's range")

    def check_views(self, schema: Schema) -> None:
        super().check_views(schema)
        failed = probe_views(self, schema)
        if failed:
            raise UnsupportedType(f"view {failed[0]}: SQLite cannot run its query as sqlglot writes it: {failed[1]}")

    def column_checks(self, table: str, column: Column) -> list[Check]:
        """Enum values, set members and integer ranges, which SQLite's types do not hold, as CHECKs.

        Named after the column only (SQLite keeps constraint names per table), so that a
        table rename leaves them right.
        """
        portable = parse_type(column.type)
        if portable.array or column.identity:  # an auto-increment column is SQLite's INTEGER PRIMARY KEY
            return []
        if portable.flavor == "django":
            return self._django_checks(table, column)
        if portable.kind not in RANGES and portable.kind not in ("enum", "set"):
            return []  # most columns: no check to build
        col = exp.column(column.name)
        if portable.kind == "enum":
            values = [exp.Literal.string(v) for v in portable.values]
            return [Check(naming.fit(f"{column.name}_enum"), canonical(exp.In(this=col, expressions=values)))]
        if portable.kind == "set":
            return [replace(set_membership_check(table, column.name, portable.values), name=naming.fit(f"{column.name}_set"))]
        if portable.kind in RANGES:
            low, high = RANGES[portable.kind]
            return [Check(naming.fit(f"{column.name}_range"), canonical(exp.and_(col.__ge__(low), col.copy().__le__(high))))]
        return []

    def _django_checks(self, table: str, column: Column) -> list[Check]:
        """Django's check on a positive integer field or a JSONField, named as introspection names an unnamed one."""
        expression = django_check(column)
        if expression is None and parse_type(column.type).kind == "jsonb":
            expression = canonical_text(f"JSON_VALID({self.quote(column.name)}) OR {self.quote(column.name)} IS NULL",
                                        "sqlite")
        return [Check(naming.constraint_name(table, (column.name,), "check"), expression)] if expression else []

    def column_check_sql(self, column: Column, check: Check) -> str:
        if parse_type(column.type).flavor:
            # Unnamed, as Django declares it: SQLite keeps no name to go stale when the table is renamed.
            return f"CHECK ({self.expression_sql(check.expression)})"
        return super().column_check_sql(column, check)

    def stored_column(self, column: Column) -> Column:
        if column.identity:  # INTEGER PRIMARY KEY is the only auto-increment spelling
            return replace(column, type="integer", comment=None, collation=None, identity_always=False)
        column = super().stored_column(column)
        portable = parse_type(column.type)
        if portable.kind in ("enum", "set") and not portable.array:
            column = replace(column, type="text")
        if is_statement_moment(column.default):
            column = replace(column, default=_stored_statement_moment())
        return replace(column, collation=None) if column.collation is not None else column

    # -- ON UPDATE CURRENT_TIMESTAMP: a trigger per column ---------------------------------

    def column_extras_sql(self, table: str, column: Column) -> list[str]:
        if not column.on_update:
            return []
        name, col, tab = self.quote(touch_trigger_name(table, column.name)), self.quote(column.name), self.quote(table)
        return [
            f"CREATE TRIGGER {name} AFTER UPDATE ON {tab} FOR EACH ROW WHEN NEW.{col} IS OLD.{col}\n"
            f"BEGIN\n  UPDATE {tab} SET {col} = CURRENT_TIMESTAMP WHERE rowid = NEW.rowid;\nEND"
        ]

    def drop_column_extras_sql(self, table: str, column: Column) -> list[str]:
        return [f"DROP TRIGGER {self.quote(touch_trigger_name(table, column.name))}"] if column.on_update else []

    def identity_sql(self, column: Column) -> str:
        return "AUTOINCREMENT"

    def column_sql(self, table: Table, column: Column) -> str:
        if not column.identity:
            return super().column_sql(table, column)
        # AUTOINCREMENT exists only on a column spelled INTEGER PRIMARY KEY, so the
        # primary key moves from the table's constraints onto the column.
        pk = self.quote(table.primary_key.name)
        return f"{self.quote(column.name)} INTEGER NOT NULL CONSTRAINT {pk} PRIMARY KEY AUTOINCREMENT"

    def table_elements(self, table: Table) -> list[str]:
        # Django's unique_together is an index here (table_statements); its decimals are text.
        checks = django.declared_checks(table)
        if checks is not table.checks or any(u.flavor == "django_together" for u in table.uniques):
            table = replace(table, uniques=tuple(u for u in table.uniques if u.flavor != "django_together"), checks=checks)
        lines = super().table_elements(table)
        if any(c.identity for c in table.columns):
            lines.remove(self.constraint_sql(table.primary_key))
        return lines

    def table_statements(self, table: Table) -> list[str]:
        together = [s for index in django.together_indexes(table) for s in self.index_statements(table, index)]
        return super().table_statements(table) + together

    def constraint_sql(self, constraint: PrimaryKey | Unique | Check | ForeignKey) -> str:
        # Declared with its column by Django, unnamed: introspection names it, whatever the table is called.
        if isinstance(constraint, Unique) and constraint.flavor == "django":
            return f"UNIQUE ({self.quote_list(constraint.columns)})"
        if isinstance(constraint, ForeignKey) and constraint.flavor == "django":
            return self.foreign_key_body(constraint)
        return super().constraint_sql(constraint)

    def stored_table(self, table: Table) -> Table:
        return super().stored_table(django.as_declared(table))

    defers_django_keys = True

    def stored_key_name(self, table: Table, fk: ForeignKey) -> str:
        return django.declared_key_name(table.name, fk)

    def default_sql(self, column: Column) -> str:
        if is_statement_moment(column.default):
            return f"({_STATEMENT_MOMENT})"
        declared = django.declared_default(column)
        if declared != column.default:
            column = replace(column, default=declared)
        node = parse_canonical(column.default)
        sql = self.expression_sql(column.default)
        if isinstance(node, (*_LITERALS, *_MOMENTS)):
            return sql
        return f"({sql})"

    def default_refusal(self, table: Table, column: Column) -> str | None:
        if not isinstance(parse_canonical(column.default), (*_LITERALS, *_MOMENTS)):
            # Without NOT NULL and the key: the probe tries the default, not the table.
            probed = Column(column.name, column.type, default=column.default)
            problem = defaults.probe(self.column_sql(table, probed))
            if problem:
                return problem
        return super().default_refusal(table, column)

    # -- operations: native where SQLite allows, a rebuild otherwise ---------------------

    def compile_all(self, operations: list[Operation], contexts: list[CompileContext]) -> list[CompiledOperation]:
        return combine_rebuilds(self, super().compile_all(operations, contexts), contexts)

    def compile(self, op: Operation, ctx: CompileContext) -> CompiledOperation:
        if isinstance(op, AlterColumn) and self.same_on_engine(op.table, op.old, op.new) or self.redeclared_alike(op, ctx):
            return super().compile(op, ctx)
        if self.needs_rebuild(op, ctx):
            renames = {op.old_name: op.new_name} if isinstance(op, RenameColumn) else {}
            statements = rebuild_table(self, ctx.before.table(op.table), ctx.after.table(op.table), renames,
                                       one_off_fills([op]))
            return CompiledOperation(op, tuple(statements), rebuild=True)
        return super().compile(op, ctx)

    def needs_rebuild(self, op: Operation, ctx: CompileContext) -> bool:
        """Tell whether SQLite's ALTER TABLE cannot make this change, so the table is rebuilt."""
        if isinstance(op, _ALWAYS_REBUILT):
            return True
        if isinstance(op, AddColumn):
            return not _can_add_natively(op.column)
        if isinstance(op, DropColumn):
            # DROP COLUMN refuses a column that a key, index, check or generated column uses.
            table = ctx.before.table(op.table)
            return op.column.name in _columns_used_by_keys(replace(table, checks=table.checks + tuple(
                self.implied_checks(table))))
        if isinstance(op, RenameColumn):
            # The checks SQLite holds an enum or a range with are named after the column.
            return bool(self.column_checks(op.table, ctx.before.table(op.table).column(op.old_name)))
        return False

    def compile_rename_index(self, op: RenameIndex, ctx: CompileContext) -> list[str]:
        return self.drop_index_sql(op.table, op.old) + self.index_statements(ctx.after.table(op.table), op.new)

    def compile_rename_table(self, op: RenameTable, ctx: CompileContext) -> list[str]:
        # The ON UPDATE triggers are named after the table: made again under the new name.
        old, new = ctx.before.table(op.table), ctx.after.table(op.new_name)
        drops = [s for c in old.columns for s in self.drop_column_extras_sql(op.table, c)]
        creates = [s for c in new.columns for s in self.column_extras_sql(op.new_name, c)]
        return drops + super().compile_rename_table(op, ctx) + creates

    # -- what SQLite keeps -------------------------------------------------------------

    def online_notes(self) -> list[str]:
        return ["no online forms: its scripts are the plain ones. Each bundle runs in one transaction holding the "
                "database's write lock, and a table rebuild copies every row under it: run it when writers can wait."]

    def notes(self, schema: Schema) -> list[str]:
        columns = [c for t in schema.tables for c in t.columns]
        types = {parse_type(c.type) for c in columns}
        all_kinds = {portable.kind for portable in types if not portable.flavor}
        notes = super().notes(schema)
        notes += [f"{kind}: {_AFFINITY[kind]}." for kind in sorted(all_kinds & _AFFINITY.keys())]
        flavored = sorted({f"{p.kind}@{p.flavor}" for p in types if p.flavor and p.kind in _DJANGO_NOTES})
        notes += [f"{name}: {_DJANGO_NOTES[name.split('@')[0]]}." for name in flavored]
        if all_kinds & {"enum", "set"}:
            notes.append("Enum and set columns are TEXT with a CHECK on their values.")
        if all_kinds & RANGES.keys():
            notes.append("Unsigned, tiny and medium integers and years are INTEGER with a CHECK on their range.")
        if any(parse_type(c.type).array for c in columns):
            notes.append("Arrays are stored as JSON text; neither JSON nor the element type is checked.")
        if "tsvector" in all_kinds:
            notes.append("tsvector is stored as TEXT, its text form: full-text search on it is PostgreSQL's.")
        if any(c.on_update for c in columns):
            notes.append("ON UPDATE CURRENT_TIMESTAMP is done by an AFTER UPDATE trigger per column "
                         "(reviewkit_touch_<table>_<column>); it sets the time on any UPDATE that leaves the column as it was.")
        if any(c.collation for c in columns):
            notes.append("Binary collations are SQLite's default: text compares byte by byte.")
        checked = [view.name for view in schema.views if view.check_option]
        if checked:
            notes.append(f"WITH CHECK OPTION is left out of view{'s' if len(checked) > 1 else ''} {', '.join(checked)}: "
                         "SQLite's views are read-only, nothing is written through them to check.")
        return notes


# The statement's moment (STATEMENT_TIMESTAMP()) as Django declares Now() here: CURRENT_TIMESTAMP
# would keep whole seconds only. Written as it is: sqlglot reads it as another expression.
_STATEMENT_MOMENT = "STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW')"


@lru_cache(maxsize=1)
def _stored_statement_moment() -> str:
    """The statement's moment as introspection reads it back from the stored CREATE TABLE."""
    return canonical_expression(_STATEMENT_MOMENT, "sqlite")  # type: ignore[return-value]


def _can_add_natively(column: Column) -> bool:
    # ALTER TABLE ADD COLUMN refuses NOT NULL without a default, non-constant defaults and
    # STORED generated columns.
    if column.identity or (column.generated is not None and column.stored):
        return False
    if column.generated is not None:
        return True
    if column.default is None:
        return column.nullable
    node = parse_canonical(column.default)
    return isinstance(node, _LITERALS)


def _columns_used_by_keys(table: Table) -> set[str]:
    used: set[str] = set()
    if table.primary_key:
        used.update(table.primary_key.columns)
    for u in table.uniques:
        used.update(u.columns)
    for fk in table.foreign_keys:
        used.update(fk.columns)
    for c in table.checks:
        used.update(column_names_in(c.expression))
    for column in table.columns:
        if column.generated is not None:
            used.update(column_names_in(column.generated))
    for ix in table.indexes:
        used.update(ix.column_names + ix.include)
        for p in ix.parts:
            if not p.is_column:
                used.update(column_names_in(p.expression))
        if ix.where:
            used.update(column_names_in(ix.where))
    return used
