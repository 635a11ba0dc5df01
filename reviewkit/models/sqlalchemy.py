"""Model source 2: SQLAlchemy `MetaData`, converted into the schema state.

`models = "sqlalchemy:myapp.models:Base.metadata"` names a module (imported with the
project root on `sys.path`) and an attribute path to a `MetaData`. Each table goes through
the same `SchemaBuilder` as the DDL source, so unnamed constraints get the same names and
the same checks apply. The rule throughout: the state holds what SQLAlchemy's PostgreSQL
dialect would emit in `CREATE TABLE` / `CREATE INDEX`.

- Types are compiled with the PostgreSQL dialect (`String(20)` -> `VARCHAR(20)`) and that
  text is mapped like a type in a DDL file, so both sources share one mapping.
- Auto-increment (`identity`): a column with `Identity()`, or the column SQLAlchemy emits
  as SERIAL / BIGSERIAL / SMALLSERIAL: the table's `autoincrement_column` (an integer
  single-column primary key with `autoincrement=True`, or the default `"auto"` when it has
  no foreign key and no other default) that has no Python-side default other than an
  optional `Sequence`. `Identity(always=True)` is PostgreSQL's GENERATED ALWAYS
  (`identity_always`).
- Defaults: only `server_default`, rendered as SQLAlchemy renders it (a plain string is a
  quoted string literal; use `text("0")` for a number). Python-side `default=` never
  reaches the database and is ignored, as are `FetchedValue` markers and comments.
- Names: what SQLAlchemy emits, explicit or from the metadata's naming convention (its
  default convention names indexes `ix_<table>_<column>`). Constraints without a name
  (`None` or SQLAlchemy's `_NONE_NAME`) get reviewkit's names: `users_email_key` for a
  `Column(unique=True)` or an unnamed `UniqueConstraint`, `users_pkey`, `users_age_check`
  for a check declared on a column, `users_check` for one declared on the table.
- Foreign key actions are upper-cased; none given means `NO ACTION`.
- Partial indexes take `postgresql_where`, else `sqlite_where`; both given must agree.
- Table schemas (`schema="sales"`) are ignored, as the DDL source ignores qualifiers.
  Collations, computed columns, deferrable foreign keys and `NULLS FIRST/LAST` index keys
  have no place in the state and are model errors.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from reviewkit.errors import ModelError, UnsupportedType
from reviewkit.models.builder import SchemaBuilder, TableDraft
from reviewkit.schema import types
from reviewkit.schema.expressions import canonical_text, parse_canonical
from reviewkit.schema.state import Column, IndexPart, Schema

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.sql import operators
    from sqlalchemy.sql.expression import ColumnClause
except ImportError:  # the optional extra is not installed
    sa = None

INSTALL_HINT = "pip install 'reviewkit[sqlalchemy]'"


def load_metadata(spec: str, root: Path) -> Schema:
    """Import the `MetaData` that `spec` (`package.module:attr.path`) names and return its schema."""
    if sa is None:
        raise ModelError(f"models = 'sqlalchemy:{spec}' needs SQLAlchemy: {INSTALL_HINT}")
    metadata = _resolve_metadata(spec, root)
    compiler = _PostgresCompiler()
    builder = SchemaBuilder()
    where = f"sqlalchemy:{spec}"
    for table in metadata.tables.values():
        try:
            _add_table(builder, table, compiler, where)
        except sa.exc.SQLAlchemyError as err:
            raise ModelError(f"{where}: table {table.name}: {_first_line(err)}") from None
    return builder.build()


# -- finding the MetaData ------------------------------------------------------------------


def _resolve_metadata(spec: str, root: Path) -> Any:
    module_name, sep, attr_path = spec.partition(":")
    if not sep or not module_name or not attr_path:
        raise ModelError(
            f"models = 'sqlalchemy:{spec}': expected sqlalchemy:package.module:attribute, "
            "e.g. sqlalchemy:myapp.models:Base.metadata"
        )
    obj = _import_module(module_name, root, spec)
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ModelError(f"sqlalchemy:{spec}: module {module_name} has no attribute {attr_path}") from None
    if not isinstance(obj, sa.MetaData):
        hint = f" (did you mean {attr_path}.metadata?)" if isinstance(getattr(obj, "metadata", None), sa.MetaData) else ""
        raise ModelError(f"sqlalchemy:{spec}: {attr_path} is a {type(obj).__name__}, not a SQLAlchemy MetaData{hint}")
    return obj


def _import_module(name: str, root: Path, spec: str) -> Any:
    path = str(root.resolve())
    sys.path.insert(0, path)
    importlib.invalidate_caches()  # the models may have been written after the last import
    try:
        return importlib.import_module(name)
    except Exception as err:  # noqa: BLE001 - a user's module can fail in any way; report it in one line
        raise ModelError(f"sqlalchemy:{spec}: cannot import {name}: {type(err).__name__}: {_first_line(err)}") from None
    finally:
        if path in sys.path:
            sys.path.remove(path)


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


# -- rendering as SQLAlchemy's PostgreSQL dialect does ------------------------------------


class _PostgresCompiler:
    """Render names, types and expressions the way SQLAlchemy's PostgreSQL DDL would."""

    def __init__(self) -> None:
        self.dialect = postgresql.dialect()
        self.ddl = self.dialect.ddl_compiler(self.dialect, None)
        self.sql = self.dialect.statement_compiler(self.dialect, None)

    def name(self, item: Any) -> str | None:
        """Return the emitted name of a constraint or index, or None when it has none."""
        if item.name is None:
            return None
        name = self.ddl.preparer.format_constraint(item, _alembic_quote=False)
        return str(name) if name else None

    def type(self, column: Any, where: str) -> tuple[str, bool]:
        text = column.type.compile(dialect=self.dialect)
        try:
            data_type = exp.DataType.build(text, dialect="postgres")
        except (SqlglotError, ValueError):
            raise UnsupportedType(f"{where}: type {text} has no portable mapping") from None
        return types.from_sqlglot(data_type, where)

    def expression(self, clause: Any) -> str:
        """Return the canonical text of a SQL expression (check, index key, filter)."""
        return canonical_text(self.sql.process(clause, include_table=False, literal_binds=True), "postgres")

    def default(self, column: Any) -> str | None:
        text = self.ddl.get_column_default_string(column)
        return None if text is None else canonical_text(text, "postgres")


# -- tables --------------------------------------------------------------------------------


def _add_table(builder: SchemaBuilder, table: Any, compiler: _PostgresCompiler, where: str) -> None:
    draft = builder.new_table(table.name, where)
    for fk in table.foreign_keys:
        fk.column  # noqa: B018 - resolve now: an unknown target table beats "no type" on the column
    for column in table.columns:
        draft.columns.append(_column(column, compiler, where))
        for check in _in_creation_order(c for c in column.constraints if isinstance(c, sa.CheckConstraint)):
            draft.add_check(compiler.name(check), compiler.expression(check.sqltext), (column.name,))
    for constraint in _in_creation_order(table.constraints):
        _table_constraint(draft, constraint, compiler, where)
    for index in _in_creation_order(table.indexes):
        _index(draft, index, compiler, where)


def _in_creation_order(items: Any) -> list[Any]:
    # SQLAlchemy keeps constraints and indexes in sets; its CREATE TABLE sorts them this way.
    return sorted(items, key=lambda item: getattr(item, "_creation_order", 0))


def _column(column: Any, compiler: _PostgresCompiler, where: str) -> Column:
    col_where = f"{where}: column {column.table.name}.{column.name}"
    if getattr(column.type, "collation", None):
        raise ModelError(f"{col_where}: collations are not supported")
    if column.computed is not None:
        raise ModelError(f"{col_where}: computed columns are not supported")
    type_name, _ = compiler.type(column, col_where)
    identity = column.identity is not None or _is_serial(column)
    nullable = bool(column.nullable) and not identity
    always = column.identity is not None and bool(column.identity.always)  # Identity(always=True)
    return Column(column.name, type_name, nullable, compiler.default(column), identity, identity_always=always)


def _is_serial(column: Any) -> bool:
    """Tell whether SQLAlchemy's PostgreSQL dialect emits this column as SERIAL."""
    if column is not column.table.autoincrement_column:
        return False
    default = column.default
    return default is None or (isinstance(default, sa.Sequence) and default.optional)


def _table_constraint(draft: TableDraft, constraint: Any, compiler: _PostgresCompiler, where: str) -> None:
    name = compiler.name(constraint)
    columns = tuple(c.name for c in constraint.columns)
    if isinstance(constraint, sa.PrimaryKeyConstraint):
        if columns:
            draft.set_primary_key(name, columns, where)
    elif isinstance(constraint, sa.UniqueConstraint):
        draft.add_unique(name, columns)
    elif isinstance(constraint, sa.CheckConstraint):
        draft.add_check(name, compiler.expression(constraint.sqltext), ())
    elif isinstance(constraint, sa.ForeignKeyConstraint):
        _foreign_key(draft, constraint, name, columns, where)
    else:
        raise ModelError(f"{where}: table {draft.name}: unsupported constraint {type(constraint).__name__}")


def _foreign_key(draft: TableDraft, fk: Any, name: str | None, columns: tuple[str, ...], where: str) -> None:
    if fk.deferrable is not None or fk.initially is not None or fk.match is not None:
        raise ModelError(f"{where}: foreign key on {draft.name} ({', '.join(columns)}): DEFERRABLE, INITIALLY "
                         "and MATCH are not supported")
    ref_columns = tuple(element.column.name for element in fk.elements)
    draft.add_foreign_key(
        name, columns, fk.referred_table.name, ref_columns,
        (fk.ondelete or "NO ACTION").upper(), (fk.onupdate or "NO ACTION").upper(),
    )


def _index(draft: TableDraft, index: Any, compiler: _PostgresCompiler, where: str) -> None:
    parts = tuple(_index_part(key, draft, compiler, where) for key in index.expressions)
    draft.add_index(compiler.name(index), parts, bool(index.unique), _index_filter(draft, index, compiler, where))


def _index_part(key: Any, draft: TableDraft, compiler: _PostgresCompiler, where: str) -> IndexPart:
    descending = False
    if isinstance(key, sa.UnaryExpression) and key.modifier in (operators.desc_op, operators.asc_op):
        descending = key.modifier is operators.desc_op
        key = key.element
    if isinstance(key, sa.UnaryExpression) and key.modifier in (operators.nulls_first_op, operators.nulls_last_op):
        raise ModelError(f"{where}: index on {draft.name}: NULLS FIRST/LAST is not supported")
    if isinstance(key, ColumnClause) and not key.is_literal and (key.table is None or key.table.name == draft.name):
        return IndexPart(key.name, True, descending)
    text = compiler.expression(key)
    node = parse_canonical(text)
    if isinstance(node, exp.Column) and not node.table:  # text("email") is still a plain column key
        return IndexPart(node.name, True, descending)
    return IndexPart(text, False, descending)


def _index_filter(draft: TableDraft, index: Any, compiler: _PostgresCompiler, where: str) -> str | None:
    filters = [compiler.expression(f) for f in (
        index.dialect_kwargs.get("postgresql_where"), index.dialect_kwargs.get("sqlite_where"),
    ) if f is not None]
    if len(set(filters)) > 1:
        raise ModelError(f"{where}: index {index.name} on {draft.name}: postgresql_where and sqlite_where differ")
    return filters[0] if filters else None
