"""CREATE [OR REPLACE] VIEW in a model file: the view's name, its column list and its query.

sqlglot reads the statement, but not all that dumps write around the query: MySQL's
`ALGORITHM=...`, `DEFINER=...` and `SQL SECURITY ...` before VIEW, and PostgreSQL's and
MySQL's `WITH [CASCADED | LOCAL] CHECK OPTION` after it. Those are blanked out of the text
sqlglot parses (spaces, so that lines and positions stay where they were) and read here
from the statement's own text. MySQL's options say who the view runs as and how MySQL
plans it, which no other engine has: they are left out and counted in one warning. The
check option is kept.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from reviewkit.errors import ModelError
from reviewkit.schema.state import View
from reviewkit.schema.views import ViewQueryError, canonical_query

if TYPE_CHECKING:
    from reviewkit.models.ddl import Statement
    from reviewkit.models.ddl_tables import ModelContext

_USER = r"""(?:`[^`]*`|'[^']*'|"[^"]*"|\w+(?:\(\))?)"""
_MYSQL_OPTION = re.compile(
    rf"ALGORITHM\s*=\s*\w+|DEFINER\s*=\s*{_USER}(?:\s*@\s*{_USER})?|SQL\s+SECURITY\s+(?:DEFINER|INVOKER)",
    re.IGNORECASE,
)
_HEAD = re.compile(rf"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?P<options>(?:(?:{_MYSQL_OPTION.pattern})\s+)*)VIEW\b",
                   re.IGNORECASE)
_CHECK_OPTION = re.compile(r"\bWITH\s+(?:(?P<level>CASCADED|LOCAL)\s+)?CHECK\s+OPTION\s*;?\s*$", re.IGNORECASE)
_OPTION_WORD = {"ALGORITHM": "ALGORITHM=", "DEFINER": "DEFINER=", "SQL": "SQL SECURITY"}


def parsable(source: str) -> str:
    """Return the statement with what sqlglot cannot read blanked out: MySQL's view options, the check option."""
    text = source
    head = _HEAD.match(text)
    if head is not None and head.group("options"):
        text = _blank(text, head.start("options"), head.end("options"))
    check = _CHECK_OPTION.search(text)
    if check is not None:
        text = _blank(text, check.start(), check.end())
    return text


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def create_view(context: ModelContext, stmt: Statement) -> None:
    """CREATE [OR REPLACE] VIEW name [(columns)] AS query [WITH CHECK OPTION]."""
    from reviewkit.models.ddl_tables import name_of, table_name

    node = stmt.node
    target = node.this
    name = table_name(context, target.this if isinstance(target, exp.Schema) else target)
    columns = tuple(name_of(c) for c in target.expressions) if isinstance(target, exp.Schema) else ()
    _refuse_properties(node, name, stmt.where)
    query = node.expression
    if not isinstance(query, exp.Query):
        raise ModelError(f"{stmt.where}: view {name}: only a SELECT query is read (not {query.key.upper()})")
    _strip_qualifiers(context, query)
    called = _routines_called(query) & context.left_out_routines
    if called and context.ignore_unsupported:
        context.problems.ignored.append((f"CREATE VIEW calling a function left out ({sorted(called)[0]})", stmt.where))
        return
    try:
        text = canonical_query(query, context.dialect)
    except ViewQueryError as err:
        if context.ignore_unsupported:  # a query reviewkit cannot hold faithfully is left out, said so
            context.problems.ignored.append(("CREATE VIEW whose query reviewkit cannot hold as written", stmt.where))
            return
        raise ModelError(f"{stmt.where}: view {name}: {err}") from None
    _note_mysql_options(context, stmt.source)
    context.builder.new_view(View(name, text, columns, _check_option(stmt.source)), stmt.where, stmt.source)


def _routines_called(query: exp.Expression) -> set[str]:
    """Return the names of the functions a query calls, lowercased (sqlglot knows some by other names)."""
    names = set()
    for call in query.find_all(exp.Func):
        if isinstance(call, exp.Anonymous):
            names.add(call.name.lower())
        else:
            names.update(name.lower() for name in type(call).sql_names())
    return names


def _refuse_properties(node: exp.Create, name: str, where: str) -> None:
    for prop in (node.args.get("properties") or exp.Properties(expressions=[])).expressions:
        if isinstance(prop, exp.TemporaryProperty):
            raise ModelError(f"{where}: view {name} is temporary: it lasts one session and is no part of the schema")
        raise ModelError(f"{where}: view {name}: {prop.sql()} is not supported")


def _strip_qualifiers(context: ModelContext, query: exp.Expression) -> None:
    """Drop the schema from `sakila.actor` and `public.actor.first_name`: reviewkit manages one schema.

    The schemas are recorded, so that a view reading another schema's table is refused as
    tables spread over several schemas are, instead of being read from this one.
    """
    from reviewkit.models.ddl_tables import name_of, table_name

    for table in query.find_all(exp.Table):
        table_name(context, table)
        table.set("db", None)
        table.set("catalog", None)
    for column in query.find_all(exp.Column):
        if column.args.get("db") is not None:
            context.schemas.add(name_of(column.args["db"]))
        column.set("db", None)
        column.set("catalog", None)


def _note_mysql_options(context: ModelContext, source: str) -> None:
    head = _HEAD.match(source)
    for option in _MYSQL_OPTION.finditer(head.group("options") if head else ""):
        word = option.group().split("=")[0].split()[0].upper()
        context.problems.noted[_OPTION_WORD[word]] += 1


def _check_option(source: str) -> str | None:
    """Return "cascaded" or "local" for WITH [CASCADED | LOCAL] CHECK OPTION (CASCADED when unsaid, as both engines read it)."""
    check = _CHECK_OPTION.search(source)
    if check is None:
        return None
    return (check.group("level") or "cascaded").lower()
