"""Django fields and expressions in the schema state's terms: portable types, SQL text.

A field's type is what Django's backends declare for it (their `data_types`), written as
the portable type PostgreSQL reads back of its declaration there: `CharField(max_length=20)`
is `varchar(20)`, `DateTimeField` is `timestamptz`, `JSONField` is `jsonb`. Where another
engine's backend declares the field its own way, the type takes the `django` flavor
(`timestamptz@django`: `DATETIME(6)` on MySQL, `DATETIME` on SQLite), so that each engine's
script declares what Django declares there. The positive integer fields are the unsigned
kinds with that flavor (`uinteger@django`): `integer` with a `>= 0` check on PostgreSQL,
`integer UNSIGNED` and the same check on MySQL and SQLite, each engine naming the check
as it names Django's. `DurationField` and `GenericIPAddressField` are PostgreSQL's `interval`
and `inet`, flavored: Django declares them `bigint` (microseconds) and `char(39)` elsewhere.
A custom field that declares its own `db_type` is a model error naming the model, the field
and the type.

Expressions (check conditions, index filters and expressions, `db_default`) are compiled
by Django's own query compiler for SQLite, which needs no driver and no database, and
read back by sqlglot in SQLite's dialect.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError

from reviewkit.errors import ModelError
from reviewkit.schema.defaults import STATEMENT_MOMENT
from reviewkit.schema.expressions import canonical, canonical_text

# Django's internal type -> the portable type of what its backends declare (`@django`: not
# alike on every engine). `{max_length}`, `{max_digits}`, `{decimal_places}` are the field's own.
_TYPES = {
    "AutoField": "integer",
    "BigAutoField": "bigint",
    "SmallAutoField": "smallint",
    "BinaryField": "blob",
    "BooleanField": "boolean",
    "CharField": "varchar({max_length})",
    "DateField": "date",
    "DateTimeField": "timestamptz@django",
    "DecimalField": "numeric({max_digits},{decimal_places})@django",
    "FileField": "varchar({max_length})",
    "FilePathField": "varchar({max_length})",
    "FloatField": "double@django",
    "IntegerField": "integer",
    "BigIntegerField": "bigint",
    "JSONField": "jsonb@django",
    "PositiveBigIntegerField": "ubigint@django",
    "PositiveIntegerField": "uinteger@django",
    "PositiveSmallIntegerField": "usmallint@django",
    "SlugField": "varchar({max_length})",
    "SmallIntegerField": "smallint",
    "TextField": "text",
    "TimeField": "time",
    "UUIDField": "uuid@django",
    "DurationField": "interval@django",
    "GenericIPAddressField": "inet@django",
}
# What PostgreSQL calls the types that have no portable one, for the message.
_UNMAPPED = {
    "IPAddressField": "inet",  # removed in Django 1.9: GenericIPAddressField is its successor
}
AUTO_FIELDS = frozenset({"AutoField", "BigAutoField", "SmallAutoField"})
# A key to a positive integer field: the field's integer without the check, UNSIGNED on MySQL
# only (`rel_db_type`: MySQL's backend matches the related field's type, the others do not).
_KEY_TO_POSITIVE = {"usmallint@django": "smallint@django", "uinteger@django": "integer@django",
                    "ubigint@django": "bigint@django"}


def field_where(field: Any) -> str:
    """Return how messages name a field: `library.Book.title`."""
    return f"{field.model._meta.label}.{field.name}"


def column_type(field: Any) -> str:
    """Return the portable type of a concrete field's column (a foreign key's: its target's, as Django does)."""
    if field.is_relation:
        return _related_type(field.target_field, field)
    internal = _internal_type(field)
    if internal == "CharField" and field.max_length is None:
        return "varchar"  # Django 4.2+ declares an unbounded CharField as varchar on PostgreSQL
    return _TYPES[internal].format(max_length=field.max_length, max_digits=getattr(field, "max_digits", None),
                                   decimal_places=getattr(field, "decimal_places", None))


def _related_type(target: Any, field: Any) -> str:
    """Return the type a foreign key column gets: its target's, as a plain integer where the target counts itself."""
    if target.is_relation:  # a key to a key (a OneToOne primary key): follow it
        return _related_type(target.target_field, field)
    _internal_type(target, field)
    own = column_type(target)
    return _KEY_TO_POSITIVE.get(own, own)


def _internal_type(field: Any, referrer: Any | None = None) -> str:
    """Return the field's internal type, or raise when it has no mapping: model, field and type named."""
    where = field_where(referrer or field)
    internal = field.get_internal_type()
    if _declares_own_type(field):
        raise ModelError(f"django: {where}: {type(field).__name__} declares its own db_type(); reviewkit maps "
                         "Django's built-in field types only")
    if internal in _UNMAPPED:
        raise ModelError(f"django: {where}: {internal} ({_UNMAPPED[internal]} on PostgreSQL) has no portable type")
    if internal not in _TYPES:
        raise ModelError(f"django: {where}: field type {internal} ({type(field).__name__}) has no portable type")
    if getattr(field, "db_collation", None):
        raise ModelError(f"django: {where}: db_collation is not supported")
    return internal


def _declares_own_type(field: Any) -> bool:
    """Tell whether a field class outside Django overrides db_type(): its column type is its own."""
    for cls in type(field).__mro__:
        if "db_type" in vars(cls):
            return not cls.__module__.startswith("django.")
    return False


# -- SQL expressions, as Django compiles them ---------------------------------------------


class ExpressionCompiler:
    """Compile Django expressions and conditions to canonical SQL text through Django's SQLite compiler."""

    def __init__(self) -> None:
        from django.db.utils import ConnectionHandler

        # A handler of its own: the project's databases are neither opened nor changed.
        handler = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})
        self.connection = handler["default"]
        # SQLite's backend hands decimals over as text; PostgreSQL's as numbers, which the state keeps.
        self.connection.ops.adapt_decimalfield_value = lambda value, *args, **kwargs: value

    def condition(self, model: Any, condition: Any, where: str) -> str:
        """Return a Q object (a check, an index filter) as canonical SQL."""
        from django.db.models.sql import Query

        query = Query(model=model, alias_cols=False)
        compiler = query.get_compiler(connection=self.connection)
        sql, params = query.build_where(condition).as_sql(compiler, self.connection)
        return self._canonical(sql % tuple(canonical(_literal(p, where)) for p in params), where)

    def expression(self, model: Any, expression: Any, where: str) -> str:
        """Return an index key expression (`Lower("title")`) as canonical SQL."""
        from django.db.models.sql import Query

        query = Query(model=model, alias_cols=False)
        compiler = query.get_compiler(connection=self.connection)
        sql, params = compiler.compile(expression.resolve_expression(query))
        return self._canonical(sql % tuple(canonical(_literal(p, where)) for p in params), where)

    def _canonical(self, sql: str, where: str) -> str:
        try:
            return canonical_text(sql, "sqlite")
        except SqlglotError as err:
            raise ModelError(f"django: {where}: cannot read the SQL Django makes of it ({sql}): {err}") from None


def db_default(field: Any, compiler: ExpressionCompiler) -> str | None:
    """Return the field's database default (`db_default`, Django 5.0+) as SQL text, or None.

    Django's `default=` lives in Python: Django never leaves it in the database.
    """
    has_db_default = getattr(field, "has_db_default", None)
    if has_db_default is None or not has_db_default():
        return None
    from django.db.models import Value
    from django.db.models.functions import Now

    expression = field._db_default_expression
    if isinstance(expression, Value):
        return canonical(_literal(expression.value, field_where(field)))
    if isinstance(expression, Now):
        # The statement's moment, on any date or time field: STATEMENT_TIMESTAMP() on PostgreSQL,
        # where CURRENT_TIMESTAMP is the transaction's, and each engine's own as Django declares it.
        return STATEMENT_MOMENT
    # Any other expression would be rendered by an engine's compiler in its own dialect,
    # and its meaning is not known to be the same elsewhere.
    raise ModelError(f"django: {field_where(field)}: db_default {expression!r} is not supported "
                     "(a value or Now() is)")


def _literal(value: Any, where: str) -> exp.Expression:
    """Return a Python value as the SQL literal a default holds."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        text = str(value)
        return exp.Neg(this=exp.Literal.number(text[1:])) if text.startswith("-") else exp.Literal.number(text)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return exp.Literal.string(value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat())
    if isinstance(value, str | uuid.UUID):
        return exp.Literal.string(str(value))
    raise ModelError(f"django: {where}: db_default {value!r} is not a value reviewkit can write as SQL")
