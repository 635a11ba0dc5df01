"""What the schema statements of a DDL model file declare: tables, their keys, indexes.

CREATE TABLE (column and table constraints), CREATE [UNIQUE] INDEX (several columns,
expressions, partial `WHERE`), and ALTER TABLE [ONLY] ... ADD CONSTRAINT as pg_dump writes
them. Each statement goes into the `SchemaBuilder`; a statement it cannot take is a
problem recorded with its file, line and source text, and the run goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from reviewkit.dialects import get_dialect
from reviewkit.errors import ModelError
from reviewkit.models import ddl_index_text, ddl_objects, ddl_views
from reviewkit.models.builder import SchemaBuilder, TableDraft
from reviewkit.models.ddl_objects import Declarations
from reviewkit.models.problems import Problems
from reviewkit.schema import types
from reviewkit.schema.expressions import canonical, parse_canonical
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
    declared: Declarations = field(default_factory=Declarations)  # enum types, domains, sequences
    ignore_unsupported: bool = False
    left_out: set[str] = field(default_factory=set)  # tables skipped with what made them (partitions...)
    left_out_routines: set[str] = field(default_factory=set)  # functions and aggregates the models skip

    @cached_property
    def null_ordering(self) -> str:
        return Dialect.get_or_raise(self.dialect).NULL_ORDERING


def apply_statement(context: ModelContext, stmt: Statement) -> None:
    """Add what one parsed statement declares; record a problem instead of raising."""
    if context.left_out and _target_table(stmt.node) in context.left_out:  # most models leave nothing out
        context.problems.ignored.append((f"{stmt.label} on a table left out", stmt.where))
        return
    try:
        _dispatch(context, stmt)
    except LeaveTableOut as out:
        context.builder.forget(out.table)
        context.left_out.add(out.table)
        context.problems.ignored.append((f"CREATE TABLE with a type reviewkit cannot map ({out.type_text})", stmt.where))
    except ModelError as err:
        context.problems.add_error(err, stmt.source)


class LeaveTableOut(Exception):
    """With ignore_unsupported, a table whose column has a type no engine here can hold is left out."""

    def __init__(self, table: str, type_text: str) -> None:
        super().__init__(table)
        self.table, self.type_text = table, type_text


def _target_table(node: exp.Expression | None) -> str | None:
    """Return the table a parsed statement is about: created, indexed, altered or commented on."""
    if isinstance(node, exp.Create) and node.kind == "TABLE" and isinstance(node.this, exp.Schema):
        return name_of(node.this.this)
    if isinstance(node, exp.Create) and node.kind == "INDEX" and node.this.args.get("table") is not None:
        return name_of(node.this.args["table"])
    if isinstance(node, exp.Alter) and node.kind == "TABLE":
        return name_of(node.this)
    if isinstance(node, exp.Comment) and isinstance(node.this, exp.Column) and node.this.args.get("table") is not None:
        return name_of(node.this.args["table"])
    if isinstance(node, exp.Comment) and isinstance(node.this, exp.Table):
        return name_of(node.this)
    return None


def _dispatch(context: ModelContext, stmt: Statement) -> None:
    node = stmt.node
    if node is None:  # read from its text: sqlglot does not parse these
        _TEXT_HANDLERS[stmt.label](context, stmt)
    elif isinstance(node, exp.Create) and node.kind == "TABLE" and isinstance(node.this, exp.Schema):
        _create_table(context, stmt)
    elif isinstance(node, exp.Create) and node.kind == "INDEX":
        _create_index(context, stmt)
    elif isinstance(node, exp.Create) and node.kind == "TYPE":
        ddl_objects.create_enum(context, stmt)
    elif isinstance(node, exp.Create) and node.kind == "SEQUENCE":
        ddl_objects.create_sequence(context, stmt)
    elif isinstance(node, exp.Create) and node.kind == "VIEW":
        ddl_views.create_view(context, stmt)
    elif isinstance(node, exp.Comment):
        ddl_objects.comment(context, stmt)
    elif isinstance(node, exp.Alter) and node.kind == "TABLE":
        _alter_table(context, stmt)
    else:
        raise ModelError(f"{stmt.where}: this statement is not one reviewkit can read in a model")


# Statements sqlglot cannot parse, or need not, read from their text: the label of their kind -> handler.
_TEXT_HANDLERS = {
    "CREATE INDEX": ddl_index_text.create_plain_index,  # only a plain one (read_from_text)
    "CREATE DOMAIN": ddl_objects.create_domain,
    "ALTER TYPE": ddl_objects.alter_enum,
    "ALTER TABLE": ddl_objects.add_identity,
    "COMMENT ON TABLE": ddl_objects.remove_comment,
    "COMMENT ON COLUMN": ddl_objects.remove_comment,
}


_KIND_OF_INDEX = re.compile(r"^(\s*CREATE\s+)(FULLTEXT|SPATIAL)\s+(INDEX\s+(?:`[^`]+`|\S+)\s+ON\s+(?:`[^`]+`|[^\s(]+))\s*",
                            re.IGNORECASE)


def parsable_text(label: str, source: str) -> str:
    """Return what sqlglot parses of a statement: its text, less the clauses read from the text instead.

    MySQL's `CREATE FULLTEXT INDEX i ON t (...)`, which sqlglot does not read, is read as
    the index method it is: `CREATE INDEX i ON t USING fulltext (...)`.
    """
    if label == "CREATE VIEW":
        return ddl_views.parsable(source)
    if label == "CREATE INDEX":
        return _KIND_OF_INDEX.sub(lambda m: f"{m.group(1)}{m.group(3)} USING {m.group(2).lower()} ", source, count=1)
    return source


def read_from_text(label: str, source: str, dialect: str) -> bool:
    """Tell whether a statement is read from its text rather than parsed by sqlglot."""
    if label == "CREATE INDEX":
        return ddl_index_text.is_plain_index(source, dialect)
    if label == "ALTER TABLE":
        return ddl_objects.is_add_identity(source)
    if label.startswith("COMMENT ON"):
        return ddl_objects.is_comment_removal(source)
    return label in _TEXT_HANDLERS


def _alter_table(context: ModelContext, stmt: Statement) -> None:
    """ALTER TABLE [ONLY] t ADD CONSTRAINT ... / ALTER COLUMN c SET DEFAULT ..., as pg_dump writes them."""
    node = stmt.node
    draft = context.builder.existing(table_name(context, node.this), stmt.where)
    for action in node.actions:
        if isinstance(action, exp.AddConstraint):
            for constraint in action.expressions:
                _table_constraint(context, draft, constraint, stmt.where)
        elif isinstance(action, exp.AlterColumn) and action.args.get("default") is not None and len(
            [k for k, v in action.args.items() if v is not None and k != "this"]
        ) == 1:
            _set_default(context, draft, name_of(action.this), action.args["default"], stmt.where)
        else:
            raise ModelError(f"{stmt.where}: ALTER TABLE {draft.name}: only ADD CONSTRAINT and ALTER COLUMN ... "
                             "SET DEFAULT are read in a model file")


def _set_default(context: ModelContext, draft: TableDraft, column: str, default: exp.Expression, where: str) -> None:
    sequence = ddl_objects.sequence_of_default(context, default, where)
    if sequence is not None:
        ddl_objects.use_sequence(context, sequence, f"{draft.name}.{column}", where)
        draft.replace_column(column, where, identity=True, default=None)
    else:
        draft.replace_column(column, where, default=canonical(default))


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
            _table_constraint(context, draft, item, stmt.where)
    _table_options(context, draft, node.args.get("properties"), stmt)


def _table_options(context: ModelContext, draft: TableDraft, properties: exp.Properties | None, stmt: Statement) -> None:
    """Keep a table's COMMENT; MySQL's storage options (ENGINE=, CHARSET=) are noted and left out."""
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.SchemaCommentProperty):
            draft.comment = prop.this.this
        elif isinstance(prop, exp.EngineProperty) and prop.this.name.lower() != "innodb":
            # Not a storage detail: MyISAM and MEMORY tables have no transactions and no foreign keys.
            context.problems.add(stmt.where, f"table {draft.name}: ENGINE={prop.this.name} is not supported (a bundle "
                                             "builds the server's default engine, InnoDB)", stmt.source)
        elif isinstance(prop, _STORAGE_OPTIONS):
            context.problems.noted[_option_word(prop)] += 1
        else:
            context.problems.add(stmt.where, f"table {draft.name}: option {prop.sql(dialect=context.dialect)} "
                                             "is not supported", stmt.source)


_STORAGE_OPTIONS = (
    exp.EngineProperty, exp.CharacterSetProperty, exp.CollateProperty, exp.AutoIncrementProperty,
    exp.RowFormatProperty, exp.ChecksumProperty,
)


def _option_word(prop: exp.Expression) -> str:
    if isinstance(prop, exp.CharacterSetProperty):
        return "DEFAULT CHARSET="
    return prop.sql(dialect="mysql").split("=")[0].strip() + "="


def _column(context: ModelContext, draft: TableDraft, node: exp.ColumnDef, stmt: Statement) -> None:
    name = name_of(node.this)
    at = stmt.where_at(node.this)
    col_where = f"{at}: column {draft.name}.{name}"
    if node.kind is None:
        raise ModelError(f"{col_where} has no type")
    try:
        resolved = ddl_objects.resolve_type(context, node.kind, col_where)
    except ModelError as err:
        if context.ignore_unsupported:
            raise LeaveTableOut(draft.name, node.kind.sql(dialect=context.dialect)) from None
        context.problems.add_error(err, stmt.source_at(node.this))
        # The run fails already; a stand-in type keeps the table whole, so that its keys
        # and the foreign keys to it are still checked instead of reported missing.
        resolved = ddl_objects.ResolvedType("text")
    fields: dict = {"name": name, "type": types.named_enum(resolved.type, draft.name, name), "identity": resolved.identity}
    if resolved.domain is not None:
        _with_domain(draft, fields, resolved.domain)
    primary = False
    stored = any(_is_generation(cc.args.get("kind")) for cc in node.constraints) and _generated_is_stored(
        stmt.source, node.this.meta.get("start"))
    for cc in node.constraints:
        kind, cname = cc.args.get("kind"), (name_of(cc.this) if cc.this else None)
        try:
            primary = _column_option(context, draft, fields, kind, cname, col_where, stored) or primary
        except ModelError as err:
            context.problems.add_error(err, stmt.source_at(node.this))
    if primary or fields["identity"]:
        fields["nullable"] = False
    draft.columns.append(Column(**fields))
    if primary:
        draft.set_primary_key(None, (name,), stmt.where)


def _is_generation(kind: exp.Expression | None) -> bool:
    """Tell whether a column option computes the column (not an identity, which says no STORED to look for)."""
    return isinstance(kind, exp.ComputedColumnConstraint) or (
        isinstance(kind, exp.GeneratedAsIdentityColumnConstraint) and kind.args.get("expression") is not None)


_GENERATED_AS = re.compile(r"\b(?:GENERATED\s+ALWAYS\s+)?AS\s*\(", re.IGNORECASE)
_STORAGE_WORD = re.compile(r"\s*(STORED|PERSISTENT|VIRTUAL)\b", re.IGNORECASE)


def _generated_is_stored(source: str, start: int | None) -> bool:
    """Tell whether the generated column defined at `start` says STORED (or MariaDB's PERSISTENT).

    sqlglot reads the expression but not this word, and the default differs by engine
    (VIRTUAL in MySQL and PostgreSQL 18): read it from the source, after the expression.
    """
    match = _GENERATED_AS.search(source, start or 0)
    if match is None:
        return False
    depth, pos = 1, match.end()
    while pos < len(source) and depth:
        depth += {"(": 1, ")": -1}.get(source[pos], 0)
        pos += 1
    word = _STORAGE_WORD.match(source, pos)
    return word is not None and word.group(1).upper() in ("STORED", "PERSISTENT")


def _with_domain(draft: TableDraft, fields: dict, domain: ddl_objects.Domain) -> None:
    """Give a column of a domain the domain's NOT NULL, default and checks (over the column, not VALUE)."""
    for check in domain.checks:
        draft.add_check(None, rename_value(check, fields["name"]), (fields["name"],))
    fields["nullable"], fields["default"] = domain.nullable, domain.default


def rename_value(expression: str, column: str) -> str:
    """Return a domain check with VALUE replaced by the column it now checks."""
    node = parse_canonical(expression).copy()
    for col in node.find_all(exp.Column):
        if col.name.lower() == "value" and not col.table:
            col.replace(exp.column(column))
    return canonical(node)


def _column_option(
    context: ModelContext, draft: TableDraft, fields: dict, kind: exp.Expression, cname: str | None, where: str,
    stored: bool,
) -> bool:
    """Apply one column option (NOT NULL, DEFAULT, a key, a comment...) to `fields`; return whether it is the key."""
    name = fields["name"]
    if isinstance(kind, exp.NotNullColumnConstraint):
        fields["nullable"] = bool(kind.args.get("allow_null"))
    elif isinstance(kind, exp.DefaultColumnConstraint):
        sequence = ddl_objects.sequence_of_default(context, kind.this, where)
        if sequence is not None:
            ddl_objects.use_sequence(context, sequence, f"{draft.name}.{name}", where)
            fields["identity"], fields["default"] = True, None
        else:
            fields["default"] = canonical(kind.this)
    elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
        return True
    elif isinstance(kind, exp.UniqueColumnConstraint):
        _refuse_nulls_not_distinct(kind, where)
        draft.add_unique(cname, (name,))
    elif isinstance(kind, exp.CheckColumnConstraint):
        draft.add_check(cname, canonical(kind.this), (name,))
    elif isinstance(kind, exp.Reference):
        draft.add_foreign_key(cname, (name,), *_reference(kind, where))
    elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint) and kind.args.get("expression") is not None:
        # GENERATED ALWAYS AS (expression) with its STORED/VIRTUAL word blanked out: a computed column.
        fields["generated"], fields["stored"] = canonical(kind.args["expression"]), stored
    elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        fields["identity"], fields["identity_always"] = True, bool(kind.this)  # this: ALWAYS rather than BY DEFAULT
    elif isinstance(kind, exp.AutoIncrementColumnConstraint):
        fields["identity"] = True
    elif isinstance(kind, exp.OnUpdateColumnConstraint):
        fields["on_update"] = _on_update(kind, where)
    elif isinstance(kind, exp.CommentColumnConstraint):
        fields["comment"] = kind.this.this
    elif isinstance(kind, exp.ComputedColumnConstraint):
        fields["generated"], fields["stored"] = canonical(kind.this), stored
    elif isinstance(kind, exp.BinaryColumnConstraint):
        fields["collation"] = "binary"
    elif isinstance(kind, exp.CollateColumnConstraint):
        fields["collation"] = _collation(context, kind) or fields.get("collation")
    elif isinstance(kind, (exp.CharacterSetColumnConstraint, exp.ZeroFillColumnConstraint)):
        context.problems.noted["CHARACTER SET" if isinstance(kind, exp.CharacterSetColumnConstraint) else "ZEROFILL"] += 1
    else:
        raise ModelError(f"{where}: unsupported column option {kind.sql(dialect=context.dialect)}")
    return False


def _on_update(kind: exp.OnUpdateColumnConstraint, where: str) -> str:
    value = kind.this
    if isinstance(value, (exp.CurrentTimestamp, exp.CurrentDatetime)) or (
        isinstance(value, exp.Anonymous) and value.name.upper() in ("NOW", "CURRENT_TIMESTAMP", "LOCALTIMESTAMP")
    ):
        return "CURRENT_TIMESTAMP"
    raise ModelError(f"{where}: ON UPDATE {value.sql()} is not supported (only ON UPDATE CURRENT_TIMESTAMP)")


def _collation(context: ModelContext, kind: exp.CollateColumnConstraint) -> str | None:
    """A binary collation (`utf8mb4_bin`, `C`) compares bytes: kept; MySQL's default-like `_ci` ones are noted."""
    collation = kind.this.name.lower() if isinstance(kind.this, (exp.Identifier, exp.Var, exp.Column)) else str(kind.this)
    collation = collation.strip('"`\'').lower()
    if collation.endswith("_bin") or collation in ("binary", "c", "posix"):
        return "binary"
    context.problems.noted["COLLATE " + collation] += 1
    return None


def _table_constraint(context: ModelContext, draft: TableDraft, node: exp.Expression, where: str) -> None:
    name = None
    if isinstance(node, exp.Constraint):
        name = name_of(node.this)
        if len(node.expressions) != 1:
            raise ModelError(f"{where}: constraint {name} must hold exactly one definition")
        node = node.expressions[0]
    if isinstance(node, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        draft.set_primary_key(name, tuple(name_of(e) for e in node.expressions), where)
    elif isinstance(node, exp.UniqueColumnConstraint):
        _refuse_nulls_not_distinct(node, where)
        # MySQL's `UNIQUE KEY name (cols)` names it inside; `CONSTRAINT name UNIQUE (cols)` outside.
        inner = node.this.this if isinstance(node.this, exp.Schema) else None
        draft.add_unique(name or (name_of(inner) if inner is not None else None), _key_columns(context, node.this, draft, where))
    elif isinstance(node, exp.CheckColumnConstraint):
        draft.add_check(name, canonical(node.this), ())
    elif isinstance(node, exp.ForeignKey):
        columns = tuple(name_of(e) for e in node.expressions)
        draft.add_foreign_key(name, columns, *_reference(node.args["reference"], where))
    elif isinstance(node, exp.IndexColumnConstraint):
        _inline_index(context, draft, node, where)
    else:
        raise ModelError(f"{where}: unsupported table constraint in {draft.name}: {node.sql(dialect='')[:60]}")


def _refuse_nulls_not_distinct(unique: exp.UniqueColumnConstraint, where: str) -> None:
    if unique.args.get("nulls"):  # sqlglot's flag for NULLS NOT DISTINCT
        raise ModelError(f"{where}: UNIQUE NULLS NOT DISTINCT is not supported (MySQL and SQLite keys let NULLs repeat; "
                         "a unique index on COALESCE(column, ...) says it on PostgreSQL)")


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


def _key_columns(context: ModelContext, schema: exp.Expression, draft: TableDraft, where: str) -> tuple[str, ...]:
    columns = []
    for item in schema.expressions:
        prefixed = _prefixed_column(context, draft, item, where)
        columns.append(prefixed if prefixed is not None else name_of(item))
    return tuple(columns)


def _prefixed_column(context: ModelContext, draft: TableDraft, key: exp.Expression, where: str) -> str | None:
    """Return the column a MySQL key prefix `col(N)` keys, when N is the prefix a bundle gives that column (its key is
    then the column's own: a bundle says it again); refuse any other prefix. None: `key` is no prefix.

    Inside CREATE TABLE sqlglot reads a prefix as such; in CREATE INDEX as a call of a function named as the column.
    """
    if isinstance(key, exp.ColumnPrefix):
        column, length = name_of(key.this), key.expression
    elif (isinstance(key, exp.Anonymous) and get_dialect(context.dialect).key_prefixes and len(key.expressions) == 1
          and isinstance(key.expressions[0], exp.Literal) and not key.expressions[0].is_string
          and any(c.name == key.name for c in draft.columns)):
        column, length = key.name, key.expressions[0]
    else:
        return None
    declared = next((c for c in draft.columns if c.name == column), None)
    if declared is not None and get_dialect(context.dialect).key_prefix(declared.type) == int(length.this):
        return column
    raise ModelError(f"{where}: key on {draft.name}: a prefix length ({column}({length.this})) is not supported "
                     "(a bundle keys a text, blob or json column by its first 255 characters, any other whole)")


def _inline_index(context: ModelContext, draft: TableDraft, node: exp.IndexColumnConstraint, where: str) -> None:
    """MySQL's `KEY name (cols)`, `INDEX (cols)`, `FULLTEXT KEY name (cols)` inside CREATE TABLE."""
    kind = (node.args.get("kind") or "").lower() or None  # FULLTEXT, SPATIAL
    if node.args.get("index_type"):
        using = str(node.args["index_type"]).lower()
        if using != "btree":
            kind = kind or using
    parts = []
    for item in node.expressions:
        key = item.this if isinstance(item, exp.Ordered) else item
        descending = bool(isinstance(item, exp.Ordered) and item.args.get("desc"))
        prefixed = _prefixed_column(context, draft, key, where)
        if prefixed is not None:
            parts.append(IndexPart(prefixed, True, descending))
        elif isinstance(key, exp.Column) and not key.table:
            parts.append(IndexPart(name_of(key.this), True, descending))
        else:
            parts.append(IndexPart(canonical(key), False, descending))
    name = name_of(node.this) if node.this is not None else None
    draft.add_index(name, tuple(parts), False, None, kind)


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
        opclass = None
        if isinstance(key, exp.Opclass):
            key, opclass = key.this, key.expression.name.lower()
        descending = bool(isinstance(ordered, exp.Ordered) and ordered.args.get("desc"))
        if isinstance(ordered, exp.Ordered) and bool(ordered.args.get("nulls_first")) != _nulls_first_by_default(
            descending, context.null_ordering
        ):
            raise ModelError(f"{where}: NULLS FIRST/LAST in index keys is not supported (index on {table})")
        prefixed = _prefixed_column(context, draft, key, where)
        if prefixed is not None:
            parts.append(IndexPart(prefixed, True, descending, opclass))
        elif isinstance(key, exp.Column) and not key.table:
            parts.append(IndexPart(name_of(key.this), True, descending, opclass))
        else:
            parts.append(IndexPart(canonical(key), False, descending, opclass))
    where_clause = params.args.get("where")
    using = params.args.get("using")
    method = using.name.lower() if using is not None and using.name.lower() != "btree" else None
    include = tuple(name_of(e) for e in params.args.get("include") or ())
    name = name_of(index.this) if index.this else None
    filter_text = canonical(where_clause.this) if where_clause else None
    draft.add_index(name, tuple(parts), bool(node.args.get("unique")), filter_text, method, include)


def _refuse_index_options(params: exp.IndexParameters, table: str, where: str) -> None:
    """Refuse what an index says beyond its keys, method, INCLUDE and filter, rather than build a different index."""
    for option, words in (("with_storage", "WITH (storage parameters)"), ("partition_by", "PARTITION BY"), ("on", "ON")):
        if params.args.get(option):
            raise ModelError(f"{where}: index on {table}: {words} is not supported")
