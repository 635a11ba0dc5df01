"""A plain CREATE INDEX, as reviewkit writes it into a model file, read from its text.

`baseline` writes each index as `CREATE [UNIQUE] INDEX "name" ON "table" ("col" [DESC], ...)`
in the models' dialect: two thirds of a large schema's model statements. Such a statement
says nothing but its names, UNIQUE and DESC, so it is read from those words, as sqlglot's
tree of it would be read (`ddl_tables._create_index`). Any other CREATE INDEX (a name left
unquoted, a schema, USING, an expression, an operator class, a filter, INCLUDE, NULLS
FIRST/LAST, other spacing) is parsed by sqlglot.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from reviewkit.dialects import get_dialect
from reviewkit.schema.state import IndexPart

if TYPE_CHECKING:
    from reviewkit.models.ddl import Statement
    from reviewkit.models.ddl_tables import ModelContext


def is_plain_index(sql: str, dialect: str) -> bool:
    return _statement(dialect).fullmatch(sql) is not None


def create_plain_index(context: ModelContext, stmt: Statement) -> None:
    """Add the index a plain CREATE INDEX declares to its table (`is_plain_index` said it is one)."""
    match = _statement(context.dialect).fullmatch(stmt.source)  # it matches: read_from_text chose this handler
    unique, name, table, keys = match.group("unique"), match.group("name"), match.group("table"), match.group("keys")
    table = _unquoted(table)
    if table in context.left_out:  # as apply_statement leaves out what sqlglot's tree names
        context.problems.ignored.append((f"{stmt.label} on a table left out", stmt.where))
        return
    draft = context.builder.existing(table, stmt.where)
    parts = tuple(IndexPart(_unquoted(key.group("column")), True, key.group("desc") is not None)
                  for key in _key(context.dialect).finditer(keys))
    draft.add_index(_unquoted(name), parts, unique is not None, None, None, ())


def _unquoted(quoted: str) -> str:
    """Return a quoted name as written (as `ddl_tables.name_of` reads a quoted identifier)."""
    return quoted[1:-1].replace(quoted[0] * 2, quoted[0])


@cache
def _name(dialect: str) -> str:
    quote = re.escape(get_dialect(dialect).identifier_quotes[0])
    return f"{quote}(?:[^{quote}]|{quote}{quote})+{quote}"


@cache
def _statement(dialect: str) -> re.Pattern[str]:
    name = _name(dialect)
    key = rf"{name}(?: DESC)?"
    return re.compile(rf"CREATE (?P<unique>UNIQUE )?INDEX (?P<name>{name}) ON (?P<table>{name}) "
                      rf"\((?P<keys>{key}(?:, {key})*)\)")


@cache
def _key(dialect: str) -> re.Pattern[str]:
    return re.compile(rf"(?P<column>{_name(dialect)})(?P<desc> DESC)?")
