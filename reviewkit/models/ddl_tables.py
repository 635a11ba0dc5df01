"""What the schema statements of a DDL model file declare: tables, their keys, indexes.

CREATE TABLE (column and table constraints), CREATE [UNIQUE] INDEX (several columns,
expressions, partial `WHERE`), and ALTER TABLE [ONLY] ... ADD CONSTRAINT as pg_dump writes
them. Each statement goes into the `SchemaBuilder`; a statement it cannot take is a
problem recorded with its file, line and source text, and the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from reviewkit.errors import ModelError
from reviewkit.models.builder import SchemaBuilder, TableDraft
from reviewkit.models.problems import Problems
from reviewkit.schema import types
from reviewkit.schema.expressions import canonical
from reviewkit.schema.state import Column, IndexPart

if TYPE_CHECKING:
    from reviewkit.models.ddl import Statement


@dataclass
class ModelContext:
    """What every statement handler needs: the builder, the models' dialect, the problems so far."""

    builder: SchemaBuilder
    dialect: str
    problems: Problems
    schemas: set[str] = field(default_factory=set)  # schema qualifiers seen (`public.actor`)

    @property
    def null_ordering(self) -> str:
        return Dialect.get_or_raise(self.dialect).NULL_ORDERING


def apply_statement(context: ModelContext, stmt: Statement) -> None:
    """Add what one parsed statement declares; record a problem instead of raising."""
    try:
        _dispatch(context, stmt)
    except ModelError as err:
        context.problems.add_error(err, stmt.source)


def _dispatch(context: ModelContext, stmt: Statement) -> None:
    node = stmt.node
    if isinstance(node, exp.Create) and node.kind == "TABLE" and isinstance(node.this, exp.Schema):
        _create_table(context, stmt)
    elif isinstance(node, exp.Create) and node.kind == "INDEX":
        _create_index(context, stmt)
    elif isinstance(node, exp.Alter) and node.kind == "TABLE" and all(
        isinstance(a, exp.AddConstraint) for a in node.actions
    ):
        draft = context.builder.existing(table_name(context, node.this), stmt.where)
        for action in node.actions:
            for constraint in action.expressions:
                _table_constraint(draft, constraint, stmt.where)
    else:
        raise ModelError(f"{stmt.where}: this statement is not one reviewkit can read in a model "
                         "(CREATE TABLE, CREATE INDEX, ALTER TABLE ... ADD CONSTRAINT)")


def name_of(node: exp.Expression) -> str:
    """Return an identifier's name: as written when quoted, else lowercased (PostgreSQL's folding)."""
    ident = node.this if isinstance(node, exp.Table) else node
    if isinstance(ident, exp.Identifier):
        return ident.name if ident.quoted else ident.name.lower()
    return ident.name.lower()


def table_name(context: ModelContext, table: exp.Expression) -> str:
    """Return a table's name without its schema qualifier (`public.actor`: reviewkit manages one schema)."""
    if isinstance(table, exp.Table) and table.args.get("db") is not None:
        context.schemas.add(name_of(table.args["db"]))
    return name_of(table)


def check_one_schema(context: ModelContext) -> None:
    """Refuse models that spread over several schemas: their tables would meet in one namespace."""
    if len(context.schemas) > 1:
        context.problems.add("", f"the models name tables in {len(context.schemas)} schemas "
                                 f"({', '.join(sorted(context.schemas))}); reviewkit manages one schema per project")


def _create_table(context: ModelContext, stmt: Statement) -> None:
    node = stmt.node
    draft = context.builder.new_table(table_name(context, node.this.this), stmt.where, stmt.source)
    for item in node.this.expressions:
        if isinstance(item, exp.ColumnDef):
            _column(context, draft, item, stmt)
        else:
            _table_constraint(draft, item, stmt.where)


def _column(context: ModelContext, draft: TableDraft, node: exp.ColumnDef, stmt: Statement) -> None:
    name = name_of(node.this)
    at = stmt.where_at(node.this)
    col_where = f"{at}: column {draft.name}.{name}"
    if node.kind is None:
        raise ModelError(f"{col_where} has no type")
    try:
        type_name, identity = types.from_sqlglot(node.kind, col_where, context.dialect)
    except ModelError as err:
        context.problems.add_error(err, stmt.source_at(node.this))
        # The run fails already; a stand-in type keeps the table whole, so that its keys
        # and the foreign keys to it are still checked instead of reported missing.
        type_name, identity = "text", False
    nullable, default, primary = True, None, False
    for cc in node.constraints:
        kind, cname = cc.args.get("kind"), (name_of(cc.this) if cc.this else None)
        if isinstance(kind, exp.NotNullColumnConstraint):
            nullable = bool(kind.args.get("allow_null"))
        elif isinstance(kind, exp.DefaultColumnConstraint):
            default = canonical(kind.this)
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            primary = True
        elif isinstance(kind, exp.UniqueColumnConstraint):
            draft.add_unique(cname, (name,))
        elif isinstance(kind, exp.CheckColumnConstraint):
            draft.add_check(cname, canonical(kind.this), (name,))
        elif isinstance(kind, exp.Reference):
            draft.add_foreign_key(cname, (name,), *_reference(kind, col_where))
        elif isinstance(kind, (exp.GeneratedAsIdentityColumnConstraint, exp.AutoIncrementColumnConstraint)):
            identity = True
        else:
            context.problems.add(at, f"column {draft.name}.{name}: unsupported column option "
                                     f"{cc.sql(dialect=context.dialect)}", stmt.source_at(node.this))
    if primary or identity:
        nullable = False
    draft.columns.append(Column(name, type_name, nullable, default, identity))
    if primary:
        draft.set_primary_key(None, (name,), stmt.where)


def _table_constraint(draft: TableDraft, node: exp.Expression, where: str) -> None:
    name = None
    if isinstance(node, exp.Constraint):
        name = name_of(node.this)
        if len(node.expressions) != 1:
            raise ModelError(f"{where}: constraint {name} must hold exactly one definition")
        node = node.expressions[0]
    if isinstance(node, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        draft.set_primary_key(name, tuple(name_of(e) for e in node.expressions), where)
    elif isinstance(node, exp.UniqueColumnConstraint):
        draft.add_unique(name, tuple(name_of(e) for e in node.this.expressions))
    elif isinstance(node, exp.CheckColumnConstraint):
        draft.add_check(name, canonical(node.this), ())
    elif isinstance(node, exp.ForeignKey):
        columns = tuple(name_of(e) for e in node.expressions)
        draft.add_foreign_key(name, columns, *_reference(node.args["reference"], where))
    else:
        raise ModelError(f"{where}: unsupported table constraint in {draft.name}: {node.sql(dialect='')[:60]}")


def _reference(ref: exp.Reference, where: str) -> tuple[str, tuple[str, ...], str, str]:
    target = ref.this
    if isinstance(target, exp.Schema):
        table, columns = name_of(target.this), tuple(name_of(e) for e in target.expressions)
    else:
        table, columns = name_of(target), ()
    on_delete = on_update = "NO ACTION"
    for option in ref.args.get("options") or []:
        text = str(option).upper()
        if text.startswith("ON DELETE "):
            on_delete = text[len("ON DELETE "):]
        elif text.startswith("ON UPDATE "):
            on_update = text[len("ON UPDATE "):]
        else:
            raise ModelError(f"{where}: foreign key to {table}: {text} is not supported")
    return table, columns, on_delete, on_update


def _nulls_first_by_default(descending: bool, null_ordering: str) -> bool:
    """Where the model's dialect puts NULLs when the key says nothing (sqlglot records it either way)."""
    if null_ordering == "nulls_are_large":
        return descending
    if null_ordering == "nulls_are_small":
        return not descending
    return False


def _create_index(context: ModelContext, stmt: Statement) -> None:
    node, where = stmt.node, stmt.where
    index = node.this
    params = index.args.get("params")
    table = table_name(context, index.args["table"])
    draft = context.builder.existing(table, where)
    _refuse_index_options(params, table, where)
    parts = []
    for ordered in params.args.get("columns") or []:
        key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        if isinstance(key, exp.Opclass):
            raise ModelError(f"{where}: index on {table}: operator classes ({key.expression.sql()}) are not supported")
        descending = bool(isinstance(ordered, exp.Ordered) and ordered.args.get("desc"))
        if isinstance(ordered, exp.Ordered) and bool(ordered.args.get("nulls_first")) != _nulls_first_by_default(
            descending, context.null_ordering
        ):
            raise ModelError(f"{where}: NULLS FIRST/LAST in index keys is not supported (index on {table})")
        if isinstance(key, exp.Column) and not key.table:
            parts.append(IndexPart(name_of(key.this), True, descending))
        else:
            parts.append(IndexPart(canonical(key), False, descending))
    where_clause = params.args.get("where")
    name = name_of(index.this) if index.this else None
    draft.add_index(name, tuple(parts), bool(node.args.get("unique")), canonical(where_clause.this) if where_clause else None)


def _refuse_index_options(params: exp.IndexParameters, table: str, where: str) -> None:
    """Refuse what an index says beyond its keys and filter, rather than build a different index."""
    using = params.args.get("using")
    if using is not None and using.name.lower() != "btree":
        raise ModelError(f"{where}: index on {table}: USING {using.name} is not supported (only btree indexes)")
    for option, words in (("include", "INCLUDE columns"), ("with_storage", "WITH (storage parameters)"),
                          ("partition_by", "PARTITION BY"), ("on", "ON")):
        if params.args.get(option):
            raise ModelError(f"{where}: index on {table}: {words} is not supported")
