"""Model source 1: SQL DDL files, parsed with sqlglot into the schema state.

Accepted: CREATE TABLE (column and table constraints), CREATE [UNIQUE] INDEX (several
columns, expressions, partial `WHERE`), ALTER TABLE ... ADD CONSTRAINT, and comments.
Anything else is a model error naming the file and line, so nothing in a model file is
silently ignored.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from reviewkit.errors import ModelError
from reviewkit.models.builder import SchemaBuilder, TableDraft
from reviewkit.schema import types
from reviewkit.schema.expressions import canonical
from reviewkit.schema.state import Column, IndexPart, Schema


@dataclass
class Statement:
    node: exp.Expression
    where: str  # "models/shop.sql:12"


def load_ddl_files(paths: list[Path], dialect: str, root: Path) -> Schema:
    """Parse every DDL file and return the schema they declare together."""
    builder = SchemaBuilder()
    # The collector would scan sqlglot's many small tree nodes over and over while we
    # parse; nothing here makes reference cycles worth collecting early.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        statements: list[Statement] = []
        for path in paths:
            statements.extend(parse_file(path, dialect, root))
        null_ordering = Dialect.get_or_raise(dialect).NULL_ORDERING
        for stmt in statements:
            _apply_statement(builder, stmt, null_ordering)
        return builder.build()
    finally:
        if was_enabled:
            gc.enable()


def parse_file(path: Path, dialect: str, root: Path) -> list[Statement]:
    """Split a file into statements and parse each, keeping the line it starts on."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        rel = path
    text = path.read_text(encoding="utf-8")
    dia = Dialect.get_or_raise(dialect)
    try:
        tokens = dia.tokenize(text)
    except TokenError as err:
        raise ModelError(f"{rel}: {err}") from None
    statements = []
    parser = dia.parser()  # parse() resets it; one per file, not one per statement
    for chunk in _split_on_semicolons(tokens):
        where = f"{rel}:{chunk[0].line}"
        try:
            parsed = parser.parse(chunk, text)
        except ParseError as err:
            first = err.errors[0] if err.errors else {}
            line = first.get("line", chunk[0].line)
            raise ModelError(f"{rel}:{line}: does not parse: {first.get('description', err)}") from None
        for node in parsed:
            if node is not None:
                statements.append(Statement(node, where))
    return statements


def _split_on_semicolons(tokens: list) -> list[list]:
    chunks, current = [], []
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append(current)
            current = []
        else:
            current.append(tok)
    if current:
        chunks.append(current)
    return chunks


def _apply_statement(builder: SchemaBuilder, stmt: Statement, null_ordering: str) -> None:
    node = stmt.node
    if isinstance(node, exp.Create) and node.kind == "TABLE" and isinstance(node.this, exp.Schema):
        _create_table(builder, node, stmt.where)
    elif isinstance(node, exp.Create) and node.kind == "INDEX":
        _create_index(builder, node, stmt.where, null_ordering)
    elif isinstance(node, exp.Alter) and node.kind == "TABLE" and all(
        isinstance(a, exp.AddConstraint) for a in node.actions
    ):
        draft = builder.existing(_name(node.this), stmt.where)
        for action in node.actions:
            for constraint in action.expressions:
                _table_constraint(draft, constraint, stmt.where)
    else:
        first_line = node.sql(dialect="").split("\n")[0][:60]
        raise ModelError(
            f"{stmt.where}: only CREATE TABLE, CREATE INDEX and ALTER TABLE ... ADD CONSTRAINT "
            f"belong in a model file, found: {first_line}"
        )


def _name(node: exp.Expression) -> str:
    ident = node.this if isinstance(node, exp.Table) else node
    if isinstance(ident, exp.Identifier):
        return ident.name if ident.quoted else ident.name.lower()
    return ident.name.lower()


def _create_table(builder: SchemaBuilder, node: exp.Create, where: str) -> None:
    table_name = _name(node.this.this)
    draft = builder.new_table(table_name, where)
    for item in node.this.expressions:
        if isinstance(item, exp.ColumnDef):
            _column(draft, item, where)
        else:
            _table_constraint(draft, item, where)


def _column(draft: TableDraft, node: exp.ColumnDef, where: str) -> None:
    name = _name(node.this)
    col_where = f"{where}: column {draft.name}.{name}"
    if node.kind is None:
        raise ModelError(f"{col_where} has no type")
    type_name, identity = types.from_sqlglot(node.kind, col_where)
    nullable, default, primary = True, None, False
    for cc in node.constraints:
        kind, cname = cc.kind, (_name(cc.this) if cc.this else None)
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
            raise ModelError(f"{col_where}: unsupported column option {cc.sql(dialect='')}")
    if primary or identity:
        nullable = False
    draft.columns.append(Column(name, type_name, nullable, default, identity))
    if primary:
        draft.set_primary_key(None, (name,), where)


def _table_constraint(draft: TableDraft, node: exp.Expression, where: str) -> None:
    name = None
    if isinstance(node, exp.Constraint):
        name = _name(node.this)
        if len(node.expressions) != 1:
            raise ModelError(f"{where}: constraint {name} must hold exactly one definition")
        node = node.expressions[0]
    if isinstance(node, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        draft.set_primary_key(name, tuple(_name(e) for e in node.expressions), where)
    elif isinstance(node, exp.UniqueColumnConstraint):
        draft.add_unique(name, tuple(_name(e) for e in node.this.expressions))
    elif isinstance(node, exp.CheckColumnConstraint):
        expression = canonical(node.this)
        draft.add_check(name, expression, ())
    elif isinstance(node, exp.ForeignKey):
        columns = tuple(_name(e) for e in node.expressions)
        draft.add_foreign_key(name, columns, *_reference(node.args["reference"], where))
    else:
        raise ModelError(f"{where}: unsupported table constraint in {draft.name}: {node.sql(dialect='')[:60]}")


def _reference(ref: exp.Reference, where: str) -> tuple[str, tuple[str, ...], str, str]:
    target = ref.this
    if isinstance(target, exp.Schema):
        table, columns = _name(target.this), tuple(_name(e) for e in target.expressions)
    else:
        table, columns = _name(target), ()
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


def _create_index(builder: SchemaBuilder, node: exp.Create, where: str, null_ordering: str) -> None:
    index = node.this
    params = index.args.get("params")
    table_name = _name(index.args["table"])
    draft = builder.existing(table_name, where)
    parts = []
    for ordered in params.args.get("columns") or []:
        key = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        descending = bool(isinstance(ordered, exp.Ordered) and ordered.args.get("desc"))
        if isinstance(ordered, exp.Ordered) and bool(ordered.args.get("nulls_first")) != _nulls_first_by_default(
            descending, null_ordering
        ):
            raise ModelError(f"{where}: NULLS FIRST/LAST in index keys is not supported (index on {table_name})")
        if isinstance(key, exp.Column) and not key.table:
            parts.append(IndexPart(_name(key.this), True, descending))
        else:
            parts.append(IndexPart(canonical(key), False, descending))
    where_clause = params.args.get("where")
    name = _name(index.this) if index.this else None
    draft.add_index(name, tuple(parts), bool(node.args.get("unique")), canonical(where_clause.this) if where_clause else None)

