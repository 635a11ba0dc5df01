"""The objects around tables that schema dumps carry: enum types, domains, sequences, comments.

None of them is a table, but each changes what a column is:
- `CREATE TYPE name AS ENUM (...)`: a column of that type holds one of the values
  (`enum name('a','b')` in the state);
- `CREATE DOMAIN name AS base ... CHECK (VALUE ...)`: a column of the domain is the base
  type plus the domain's checks, NOT NULL and default, resolved into the table;
- `CREATE SEQUENCE` with `DEFAULT nextval('seq')` (how pg_dump writes `serial`), or
  `ALTER TABLE ... ADD GENERATED ... AS IDENTITY`: an auto-increment column;
- `COMMENT ON TABLE/COLUMN`: the comment, kept in the state.

sqlglot reads enums, sequences and comments; domains, `ALTER TYPE ... ADD VALUE` and
`ADD GENERATED ... AS IDENTITY` it does not, so those are read here from their tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from reviewkit.dialects import get_dialect
from reviewkit.errors import ModelError
from reviewkit.schema.expressions import canonical
from reviewkit.schema.types import PortableType, from_sqlglot

if TYPE_CHECKING:
    from reviewkit.models.ddl import Statement
    from reviewkit.models.ddl_tables import ModelContext


@dataclass(frozen=True)
class Domain:
    """A domain, resolved: what a column of it becomes."""

    type: str  # portable base type
    nullable: bool = True
    default: str | None = None
    checks: tuple[str, ...] = ()  # canonical expressions over the column `value`


@dataclass
class Declarations:
    """The named objects declared so far, by name (lowercased unless quoted)."""

    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    sequences: set[str] = field(default_factory=set)
    used_sequences: dict[str, str] = field(default_factory=dict)  # sequence -> "table.column" using it


# -- enum types -------------------------------------------------------------------------


def create_enum(context: ModelContext, stmt: Statement) -> None:
    """CREATE TYPE name AS ENUM ('a', 'b')."""
    node = stmt.node
    name = _object_name(context, node.this)
    if not isinstance(node.expression, exp.DataType) or node.expression.this != exp.DataType.Type.ENUM:
        raise ModelError(f"{stmt.where}: CREATE TYPE {name}: only enum types (AS ENUM) are modelled")
    values = tuple(str(item.this) for item in node.expression.expressions)
    if not values or len(set(values)) != len(values):
        raise ModelError(f"{stmt.where}: enum type {name} needs distinct values")
    _declare(context, name, stmt.where)
    context.declared.enums[name] = values


_ADD_VALUE = re.compile(
    r"^\s*ALTER\s+TYPE\s+(?P<name>\S+)\s+ADD\s+VALUE\s+(?:IF\s+NOT\s+EXISTS\s+)?'(?P<value>(?:[^']|'')*)'"
    r"(?:\s+(?P<where>BEFORE|AFTER)\s+'(?P<other>(?:[^']|'')*)')?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def alter_enum(context: ModelContext, stmt: Statement) -> None:
    """ALTER TYPE name ADD VALUE 'v' [BEFORE|AFTER 'w']: the enum as a model file declares it step by step."""
    match = _ADD_VALUE.match(stmt.source)
    if match is None:
        raise ModelError(f"{stmt.where}: only ALTER TYPE ... ADD VALUE is read in a model file")
    name = _identifier(match.group("name"))
    values = list(context.declared.enums.get(name) or ())
    if not values:
        raise ModelError(f"{stmt.where}: ALTER TYPE {name}: no enum type {name} is declared before it")
    value = match.group("value").replace("''", "'")
    if value not in values:
        other = (match.group("other") or "").replace("''", "'")
        at = len(values) if not match.group("where") else values.index(other) + (match.group("where").upper() == "AFTER")
        values.insert(at, value)
    context.declared.enums[name] = tuple(values)


# -- domains ----------------------------------------------------------------------------

_DOMAIN = re.compile(r"^\s*CREATE\s+DOMAIN\s+(?P<name>(?:\"[^\"]+\"|[\w.]+)(?:\.\"[^\"]+\")?)\s+(?:AS\s+)?(?P<rest>.*)$",
                     re.IGNORECASE | re.DOTALL)
_DOMAIN_CLAUSE = re.compile(r"\b(CONSTRAINT|CHECK|NOT\s+NULL|NULL|DEFAULT|COLLATE)\b", re.IGNORECASE)


def create_domain(context: ModelContext, stmt: Statement) -> None:
    """CREATE DOMAIN name AS base [DEFAULT x] [NOT NULL] [CONSTRAINT c] CHECK (VALUE ...)."""
    match = _DOMAIN.match(stmt.source)
    if match is None:
        raise ModelError(f"{stmt.where}: CREATE DOMAIN does not parse")
    name = _identifier(match.group("name"))
    rest = match.group("rest")
    first_clause = _first_clause_at_depth_zero(rest)
    type_text, clauses = rest[:first_clause].strip(), rest[first_clause:]
    base = resolve_type(context, _build_type(type_text, context.dialect, stmt.where), f"{stmt.where}: domain {name}")
    domain = Domain(base.type)
    for kind, body in _domain_clauses(clauses, stmt.where):
        if kind == "NOT NULL":
            domain = replace(domain, nullable=False)
        elif kind == "DEFAULT":
            domain = replace(domain, default=canonical(_expression(body, context.dialect, stmt.where)))
        elif kind == "CHECK":
            domain = replace(domain, checks=domain.checks + (canonical(_expression(body, context.dialect, stmt.where)),))
        elif kind == "COLLATE":
            raise ModelError(f"{stmt.where}: domain {name}: COLLATE is not supported")
    _declare(context, name, stmt.where)
    context.declared.domains[name] = replace(domain, checks=domain.checks + base.checks)


def _first_clause_at_depth_zero(text: str) -> int:
    depth = 0
    for match in re.finditer(r"[()]|" + _DOMAIN_CLAUSE.pattern, text, re.IGNORECASE):
        token = match.group()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif depth == 0:
            return match.start()
    return len(text)


def _domain_clauses(text: str, where: str) -> list[tuple[str, str]]:
    """Split a domain's clauses: [("CHECK", "(VALUE > 0)"), ("NOT NULL", ""), ("DEFAULT", "0")]."""
    clauses = []
    pos = 0
    while pos < len(text):
        match = _DOMAIN_CLAUSE.search(text, pos)
        if match is None:
            break
        word = " ".join(match.group(1).upper().split())
        if word == "CONSTRAINT":  # the name only; the constraint follows
            name_end = re.match(r"\s*(\"[^\"]*\"|\w+)", text[match.end():])
            pos = match.end() + (name_end.end() if name_end else 0)
            continue
        if word in ("NOT NULL", "NULL"):
            clauses.append((word, ""))
            pos = match.end()
            continue
        end = match.end() + _first_clause_at_depth_zero(text[match.end():])
        clauses.append((word, text[match.end():end].strip()))
        pos = end
    if not clauses and text.strip():
        raise ModelError(f"{where}: CREATE DOMAIN: cannot read {text.strip()[:40]!r}")
    return clauses


# -- sequences --------------------------------------------------------------------------


def create_sequence(context: ModelContext, stmt: Statement) -> None:
    """CREATE SEQUENCE name ...: only the plain counter an auto-increment column means (start 1, step 1)."""
    node = stmt.node
    name = _object_name(context, node.this)
    for prop in (node.args.get("properties") or exp.Properties(expressions=[])).expressions:
        if not isinstance(prop, exp.SequenceProperties):
            continue
        for key in ("start", "increment", "minvalue"):
            value = prop.args.get(key)
            if value is not None and value.sql() not in ("1",):
                raise ModelError(f"{stmt.where}: sequence {name}: {key.upper()} {value.sql()} has no equivalent in an "
                                 "auto-increment column on every engine (only START 1, INCREMENT 1)")
        if prop.args.get("maxvalue") is not None:
            raise ModelError(f"{stmt.where}: sequence {name}: MAXVALUE has no equivalent in an auto-increment column")
    _declare(context, name, stmt.where)
    context.declared.sequences.add(name)


def sequence_of_default(context: ModelContext, default: exp.Expression, where: str) -> str | None:
    """Return the sequence a `nextval('seq'::regclass)` default draws from, or None for another default."""
    node = default
    while isinstance(node, exp.Paren):
        node = node.this
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "nextval" and len(node.expressions) == 1):
        return None
    argument = node.expressions[0]
    while isinstance(argument, exp.Cast):
        argument = argument.this
    if not (isinstance(argument, exp.Literal) and argument.is_string):
        raise ModelError(f"{where}: nextval(...) must name its sequence")
    name = _identifier(argument.this)
    if name not in context.declared.sequences:
        raise ModelError(f"{where}: DEFAULT nextval('{argument.this}'): no CREATE SEQUENCE {name} in the models")
    return name


def use_sequence(context: ModelContext, sequence: str, column: str, where: str) -> None:
    """Record that `column` draws from `sequence`; a sequence shared by two columns is no auto-increment."""
    other = context.declared.used_sequences.get(sequence)
    if other is not None and other != column:
        raise ModelError(f"{where}: sequence {sequence} feeds both {other} and {column}; "
                         "only a sequence of one column maps to an auto-increment column")
    context.declared.used_sequences[sequence] = column


_ADD_IDENTITY = re.compile(
    r"^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?(?P<table>\S+)\s+ALTER\s+(?:COLUMN\s+)?(?P<column>\S+)\s+ADD\s+GENERATED\s+"
    r"(?:(?P<always>ALWAYS)|BY\s+DEFAULT)\s+AS\s+IDENTITY\b(?P<options>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_IDENTITY_OPTION = re.compile(r"\b(START\s+WITH|INCREMENT\s+BY|MINVALUE|MAXVALUE)\s+(-?\d+)", re.IGNORECASE)


def is_add_identity(source: str) -> bool:
    return _ADD_IDENTITY.match(source) is not None


def add_identity(context: ModelContext, stmt: Statement) -> None:
    """ALTER TABLE t ALTER COLUMN c ADD GENERATED ... AS IDENTITY (...), as pg_dump writes identity columns."""
    match = _ADD_IDENTITY.match(stmt.source)
    for option, value in _IDENTITY_OPTION.findall(match.group("options")):
        keyword = " ".join(option.upper().split())
        if (keyword in ("START WITH", "INCREMENT BY", "MINVALUE") and value != "1") or keyword == "MAXVALUE":
            raise ModelError(f"{stmt.where}: identity {keyword} {value} has no equivalent on every engine")
    table = _identifier(match.group("table"))
    draft = context.builder.existing(table, stmt.where)
    column = _identifier(match.group("column"))
    draft.replace_column(column, stmt.where, identity=True, identity_always=match.group("always") is not None,
                         default=None)


# -- comments ---------------------------------------------------------------------------


def comment(context: ModelContext, stmt: Statement) -> None:
    """COMMENT ON TABLE t IS '...' / COMMENT ON COLUMN t.c IS '...' (NULL removes it)."""
    node = stmt.node
    text = None if isinstance(node.expression, exp.Null) else node.expression.this
    kind = (node.args.get("kind") or "").upper()
    target = node.this
    if kind == "TABLE":
        draft = context.builder.existing(_object_name(context, target), stmt.where)
        draft.comment = text
    elif kind == "COLUMN" and isinstance(target, exp.Column) and target.args.get("table") is not None:
        draft = context.builder.existing(_identifier_node(target.args["table"]), stmt.where)
        draft.replace_column(_identifier_node(target.this), stmt.where, comment=text)
    else:
        raise ModelError(f"{stmt.where}: COMMENT ON {kind} is not kept (only tables and columns)")


_COMMENT_NULL = re.compile(r"^\s*COMMENT\s+ON\s+(?P<kind>TABLE|COLUMN)\s+(?P<target>.+?)\s+IS\s+NULL\s*$",
                           re.IGNORECASE | re.DOTALL)


def is_comment_removal(source: str) -> bool:
    return _COMMENT_NULL.match(source) is not None


def remove_comment(context: ModelContext, stmt: Statement) -> None:
    """COMMENT ON TABLE/COLUMN ... IS NULL (which sqlglot does not parse): no comment."""
    match = _COMMENT_NULL.match(stmt.source)
    parts = re.findall(r'"(?:[^"]|"")*"|[^."\s]+', match.group("target"))
    names = [_identifier(p) for p in parts]
    if match.group("kind").upper() == "TABLE":
        context.builder.existing(names[-1], stmt.where).comment = None
    elif len(names) >= 2:
        context.builder.existing(names[-2], stmt.where).replace_column(names[-1], stmt.where, comment=None)
    else:
        raise ModelError(f"{stmt.where}: COMMENT ON COLUMN needs table.column")


# -- types of columns -------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedType:
    """What a column's declared type becomes: a portable type, maybe with a domain's extras."""

    type: str
    identity: bool = False
    domain: Domain | None = None
    checks: tuple[str, ...] = ()


def resolve_type(context: ModelContext, data_type: exp.DataType, where: str) -> ResolvedType:
    """Return the portable type of a declared type: built-in, or an enum or domain the models declare."""
    if data_type.this == exp.DataType.Type.USERDEFINED:
        name = _identifier(str(data_type.args.get("kind") or ""))
        if name in context.declared.enums:
            return ResolvedType(str(PortableType("enum", values=context.declared.enums[name], name=name)))
        if name in context.declared.domains:
            domain = context.declared.domains[name]
            return ResolvedType(domain.type, domain=domain)
        if name == "tsvector":
            return ResolvedType("tsvector")
        raise ModelError(f"{where}: type {data_type.sql(dialect=context.dialect)} is neither a built-in type reviewkit "
                         "maps nor an enum type or domain declared in the models")
    # A large schema declares a few built-in types thousands of times: each is resolved once.
    key = _builtin_key(data_type, context.dialect)
    resolved = _BUILTIN.get(key) if key is not None else None
    if resolved is None:
        engine = get_dialect(context.dialect)
        own = engine.declared_types.get(data_type.this.name)
        type_name, identity = (own, False) if own else from_sqlglot(data_type, where, context.dialect,
                                                                     engine.default_time_precision)
        resolved = ResolvedType(type_name, identity)
        if key is not None and len(_BUILTIN) < _BUILTIN_KEPT:
            _BUILTIN[key] = resolved
    return resolved


_BUILTIN: dict[tuple, ResolvedType] = {}
_BUILTIN_KEPT = 4096


def _builtin_key(data_type: exp.DataType, dialect: str) -> tuple | None:
    """Return what a built-in type with only numbers for parameters (`NUMERIC(10, 2)`) is; None for any other."""
    params = []
    for param in data_type.expressions:
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        if not isinstance(value, exp.Literal) or value.is_string:
            return None  # an array's element type, an enum's values
        params.append(value.this)
    return data_type.this, dialect, tuple(params)


def _build_type(text: str, dialect: str, where: str) -> exp.DataType:
    try:
        return exp.DataType.build(text, dialect=dialect, udt=True)
    except (ParseError, ValueError):
        raise ModelError(f"{where}: type {text!r} does not parse") from None


def _expression(text: str, dialect: str, where: str) -> exp.Expression:
    try:
        return sqlglot.parse_one(text, read=dialect)
    except ParseError:
        raise ModelError(f"{where}: expression {text!r} does not parse") from None


# -- names ------------------------------------------------------------------------------


def _declare(context: ModelContext, name: str, where: str) -> None:
    declared = context.declared
    if name in declared.enums or name in declared.domains or name in declared.sequences:
        raise ModelError(f"{where}: {name} is declared twice")


def _object_name(context: ModelContext, node: exp.Expression) -> str:
    from reviewkit.models.ddl_tables import table_name

    return table_name(context, node)


def _identifier_node(node: exp.Expression) -> str:
    ident = node.this if isinstance(node, exp.Table) else node
    if isinstance(ident, exp.Identifier) and ident.quoted:
        return ident.name
    return ident.name.lower()


def _identifier(text: str) -> str:
    """Return the last part of a possibly qualified, possibly quoted name: `public."bıgınt"` -> `bıgınt`."""
    parts = re.findall(r'"((?:[^"]|"")*)"|([^."]+)', text.strip())
    if not parts:
        return text
    quoted, plain = parts[-1]
    return quoted.replace('""', '"') if quoted else plain.lower()
