"""Column defaults, normalised by the column's portable type into the one form every engine reads alike.

Model files carry defaults as their authors wrote them: `DEFAULT 'false'` on a boolean,
`DEFAULT '5'` on an integer, `DEFAULT 'now'::date`. PostgreSQL converts such literals to
the column's type; MySQL refuses some of them at apply time and SQLite stores the text as
it is. So each default is rewritten once, when the models are built, as the canonical
literal or function its type calls for (`FALSE`, `5`, `CURRENT_DATE`), and a default that
fits no engine, or would change meaning on one, is a model error naming the column and
the value. What each engine refuses beyond this is its compiler's `check_default`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from sqlglot import exp

from reviewkit.errors import ModelError
from reviewkit.schema.expressions import canonical, parse_canonical
from reviewkit.schema.types import INTEGER_KINDS, PortableType, parse_type


class _Refused(Exception):
    """A default that does not fit its column; the message says why."""


# PostgreSQL's boolean input spellings (https://www.postgresql.org/docs/current/datatype-boolean.html).
_TRUE_WORDS = {"true", "t", "yes", "y", "on", "1"}
_FALSE_WORDS = {"false", "f", "no", "n", "off", "0"}

_INTEGER_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
_TEMPORAL = {"date", "time", "timetz", "timestamp", "timestamptz"}

_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_TEXT = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")
_TIMESTAMP_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](.+)$")

# The "current moment" functions, by what they give: a date, a time, or a timestamp.
_MOMENTS: dict[type[exp.Expression], str] = {
    exp.CurrentDate: "date",
    exp.CurrentTime: "time",
    exp.Localtime: "time",
    exp.CurrentTimestamp: "timestamp",
    exp.Localtimestamp: "timestamp",
}
# PostgreSQL's other name for now(); sqlglot knows it by name only.
_TIMESTAMP_FUNCTIONS = {"TRANSACTION_TIMESTAMP"}
_CAST_MOMENTS = {
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIME: "time",
    exp.DataType.Type.TIMETZ: "time",
}
_TIMESTAMP_TYPES = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.DATETIME}
_CURRENT = {"date": exp.CurrentDate, "time": exp.CurrentTime, "timestamp": exp.CurrentTimestamp}


def normalize_default(default: str | None, column_type: str, where: str) -> str | None:
    """Return the canonical default for a column of `column_type`, or raise naming `where` (`t.c`)."""
    if default is None:
        return None
    normalized, refusal = _normalized(default, column_type)
    if refusal is not None:
        raise ModelError(f"{where}: default {default} {refusal}")
    return normalized


def implicit_value(column_type: str) -> str | None:
    """Return the value MySQL gives the rows of a NOT NULL column added without a default (canonical SQL), for
    the types every engine takes it in: 0, '', FALSE, an enum's first value. None for other types: MySQL's zero
    date, for one, is no date elsewhere."""
    portable = parse_type(column_type)
    if portable.array:
        return None
    if portable.kind in _NUMBERS:
        node: exp.Expression = exp.Literal.number(0)
    elif portable.kind in ("varchar", "char", "text"):
        node = exp.Literal.string("")
    elif portable.kind == "boolean":
        node = exp.false()
    elif portable.kind == "enum" and portable.values:
        node = exp.Literal.string(portable.values[0])
    else:
        return None
    return fit_default(canonical(node), column_type)[0]


_NUMBERS = {*INTEGER_KINDS, "numeric", "real", "double"} - {"year"}


def fit_default(default: str, column_type: str) -> tuple[str | None, str | None]:
    """Return (the canonical form of `default` for a column of `column_type`, None), or (None, why it does not fit).

    NULL gives (None, None): it is no value at all.
    """
    return _normalized(default, column_type)


@lru_cache(maxsize=4096)
def _normalized(default: str, column_type: str) -> tuple[str | None, str | None]:
    """Return (normal form, None) or (None, why it is refused); a schema repeats a few defaults many times."""
    node = parse_canonical(default)
    if isinstance(node, exp.Null):
        return None, None  # DEFAULT NULL is no default on every engine (PostgreSQL does not even store it)
    try:
        normalized = _normalize(node, parse_type(column_type))
    except _Refused as refusal:
        return None, str(refusal)
    return (default if normalized is node else canonical(normalized)), None


# PostgreSQL's statement_timestamp(): the moment of the statement, where its CURRENT_TIMESTAMP
# is the transaction's. It is Django's Now() on PostgreSQL; MySQL's CURRENT_TIMESTAMP and
# SQLite's are the statement's moment already, and each engine's compiler declares it as
# Django declares Now() there (MySQL: CURRENT_TIMESTAMP; SQLite: STRFTIME to the millisecond). Kept as it is on a date or
# time column too: PostgreSQL casts it as it stores each row, as `migrate` leaves it.
STATEMENT_MOMENT = "STATEMENT_TIMESTAMP()"


def is_statement_moment(default: str | None) -> bool:
    return default == STATEMENT_MOMENT


def _normalize(node: exp.Expression, portable: PortableType) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.upper() == "STATEMENT_TIMESTAMP" and not node.expressions:
        if portable.kind in _TEMPORAL and not portable.array:
            return exp.Anonymous(this="STATEMENT_TIMESTAMP")
        raise _Refused(f"is a date/time function on this {portable.kind} column; each engine would write the moment "
                       "in its own format")
    moment = _moment_of(node)
    if moment is None and portable.kind in _TEMPORAL and (_string(node) or "").strip().lower() == "now":
        moment = _column_moment(portable.kind)  # PostgreSQL would fold 'now' into the moment of CREATE TABLE
    if moment is not None:
        return _moment_for(moment, portable.kind)
    rule = None if portable.array else _LITERAL_RULES.get(portable.kind)  # '{}' is an array's text, not an element's
    if rule is None or not _is_literal(node):
        return node  # other expressions are the engines' to accept or refuse (check_default)
    return rule(node, portable)


def _is_literal(node: exp.Expression) -> bool:
    return isinstance(node, (exp.Literal, exp.Boolean)) or (
        isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string
    )


def number_text(node: exp.Expression) -> str | None:
    """Return the text of a number literal (`-1.5`), or None for anything else."""
    if isinstance(node, exp.Neg):
        inner = number_text(node.this)
        return None if inner is None else "-" + inner
    if isinstance(node, exp.Literal) and not node.is_string:
        return node.this
    return None


def _string(node: exp.Expression) -> str | None:
    return node.this if isinstance(node, exp.Literal) and node.is_string else None


def _number(text: str) -> exp.Expression:
    return parse_canonical(text)  # `-5` parses as a negation, as a model's -5 does


# -- the current moment ----------------------------------------------------------------


def _moment_of(node: exp.Expression) -> str | None:
    """Return "date", "time" or "timestamp" for a current-moment default (`now()`, `CURRENT_DATE`), else None."""
    for kind, moment in _MOMENTS.items():
        if isinstance(node, kind):
            return moment
    if isinstance(node, exp.Anonymous) and node.name.upper() in _TIMESTAMP_FUNCTIONS and not node.expressions:
        return "timestamp"
    if isinstance(node, exp.Cast):
        return _cast_moment(_moment_of(node.this), node.to.this)
    return None


def _cast_moment(inner: str | None, target: exp.DataType.Type) -> str | None:
    """Return what a cast of a moment gives: now()::date is today's date, CURRENT_DATE::timestamp its midnight."""
    if inner is None:
        return None
    if target in _TIMESTAMP_TYPES:
        return inner if inner != "time" else None
    cast_to = _CAST_MOMENTS.get(target)
    if cast_to is None or (cast_to == "time" and inner == "date"):
        return None  # no such cast (PostgreSQL refuses it): left to the engines
    return cast_to


def _moment_for(moment: str, kind: str) -> exp.Expression:
    """Return the current-moment function a column of `kind` takes for `moment`, at insert time on every engine."""
    if kind not in _TEMPORAL:
        raise _Refused(
            f"is a date/time function on this {kind} column; each engine would write the moment in its own format"
        )
    column_moment = _column_moment(kind)
    if moment == column_moment or moment == "timestamp":
        return _CURRENT[column_moment]()
    if moment == "date" and column_moment == "timestamp":
        return exp.CurrentDate()  # midnight of the day of the insert, on every engine
    raise _Refused(f"is a {moment} and cannot fill this {kind} column")


def _column_moment(kind: str) -> str:
    return {"date": "date", "time": "time", "timetz": "time"}.get(kind, "timestamp")


# -- literals, one rule per kind ---------------------------------------------------------


def _boolean(node: exp.Expression, portable: PortableType) -> exp.Expression:
    if isinstance(node, exp.Boolean):
        return node
    text = _string(node) if _string(node) is not None else number_text(node)
    word = (text or "").strip().lower()
    if word in _TRUE_WORDS:
        return exp.true()
    if word in _FALSE_WORDS:
        return exp.false()
    raise _Refused("is not a boolean; write TRUE or FALSE")


def _integer(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _plain_number(node, portable.kind)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _Refused(f"is not a number for this {portable.kind} column") from None
    if value != value.to_integral_value():
        raise _Refused(f"is not a whole number; this {portable.kind} column would round it")
    limit = _INTEGER_RANGES[portable.kind]
    if not -limit <= value < limit:
        raise _Refused(f"is out of range for this {portable.kind} column")
    return _number(str(int(value)))


def _decimal(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _plain_number(node, portable.kind)
    if portable.kind == "numeric" and len(portable.params) == 2:
        _check_fits(Decimal(text), *portable.params)
    return _number(text)


def _plain_number(node: exp.Expression, kind: str) -> str:
    """Return a number default (`5`, `'0.00'`, `1e3`) as plain decimal text, or refuse anything else."""
    text = number_text(node)
    if text is None:
        text = _string(node)
        if text is None or not _NUMBER_TEXT.match(text.strip()):
            raise _Refused(f"is not a number for this {kind} column")
        text = text.strip().lstrip("+")
    if "e" in text.lower():
        # PostgreSQL stores 1e3 as 1000; say it that way from the start.
        value = Decimal(text)
        text = format(abs(value) if value == 0 else value, "f")
    return text


def _check_fits(value: Decimal, precision: int, scale: int) -> None:
    sign, digits, exponent = value.as_tuple()
    decimals = max(0, -int(exponent))
    if decimals > scale:
        raise _Refused(f"has more than {scale} decimals; numeric({precision},{scale}) would round it")
    whole_digits = len(digits) - decimals if value != 0 else 0
    if whole_digits > precision - scale:
        raise _Refused(f"does not fit numeric({precision},{scale})")


def _text(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _string(node)
    if text is None:
        text = number_text(node)
        if text is None:  # TRUE is 'true' on PostgreSQL and '1' on MySQL
            raise _Refused(f"is not text; write the {portable.kind} value as a string")
    if portable.params and len(text) > portable.params[0]:
        raise _Refused(f"is longer than {portable}")
    return exp.Literal.string(text)


def _json(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _string(node)
    if text is None:
        raise _Refused(f"is not a string; write JSON as a string ('0', '{{}}') on a {portable.kind} column")
    try:
        value = json.loads(
            text, parse_float=Decimal, parse_int=Decimal, parse_constant=_no_constant, object_pairs_hook=dict,
        )
    except ValueError as err:
        raise _Refused(f"is not JSON ({err})") from None
    if portable.kind == "jsonb":
        return exp.Literal.string(jsonb_text(value))
    return node


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; PostgreSQL does not


def jsonb_text(value: object) -> str:
    """Return JSON text as PostgreSQL's jsonb prints it (keys by length, then bytes; `, ` and `: `)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{_json_string(k)}: {jsonb_text(value[k])}" for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(jsonb_text(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return format(abs(value) if value == 0 else value, "f")
    if isinstance(value, str):
        return _json_string(value)
    return json.dumps(value)  # true, false, null


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _uuid(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _string(node)
    try:
        return exp.Literal.string(str(uuid.UUID(text or "")))  # PostgreSQL prints the lowercase hyphenated form
    except ValueError:
        raise _Refused("is not a UUID") from None


def _blob(node: exp.Expression, portable: PortableType) -> exp.Expression:
    raise _Refused(
        "on a blob column is read differently by each engine (PostgreSQL takes it as escaped bytes, "
        "SQLite stores text); leave blob columns without a literal default"
    )


def _date(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _temporal_string(node, portable)
    if text.lower() == "today":
        return exp.CurrentDate()
    if not _DATE_TEXT.match(text) or not _is_valid(date.fromisoformat, text):
        raise _Refused("is not an ISO 8601 date (YYYY-MM-DD)")
    return exp.Literal.string(text)


def _time(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _temporal_string(node, portable)
    return exp.Literal.string(_time_text(text, portable))


def _timestamp(node: exp.Expression, portable: PortableType) -> exp.Expression:
    text = _temporal_string(node, portable)
    match = _TIMESTAMP_TEXT.match(text)
    if match is None or not _DATE_TEXT.match(match.group(1)) or not _is_valid(date.fromisoformat, match.group(1)):
        raise _Refused("is not an ISO 8601 timestamp (YYYY-MM-DD HH:MM:SS)")
    return exp.Literal.string(f"{match.group(1)} {_time_text(match.group(2), portable)}")


def _with_zone(node: exp.Expression, portable: PortableType) -> exp.Expression:
    _temporal_string(node, portable)
    raise _Refused(
        f"is a fixed {portable.kind}: each engine reads and shows it in its session's time zone; "
        "use a column without a time zone for a fixed moment"
    )


def _temporal_string(node: exp.Expression, portable: PortableType) -> str:
    """Return the string of a date/time literal ('now' has become the current moment before this)."""
    text = _string(node)
    if text is None:
        raise _Refused(f"is not a {portable.kind}; write it as a string")
    text = text.strip()
    if text.lower() == "today" and portable.kind != "date":
        raise _Refused(
            f"means midnight of the day the table is created on PostgreSQL; for {portable.kind} columns "
            "write CURRENT_DATE (midnight of the insert's day) or CURRENT_TIMESTAMP"
        )
    return text


def _time_text(text: str, portable: PortableType) -> str:
    """Return a time of day as PostgreSQL prints it (`10:00:00`, `10:00:00.5`), checked against the precision."""
    match = _TIME_TEXT.match(text)
    if match is None or not _is_valid(time.fromisoformat, text):
        raise _Refused("is not an ISO 8601 time (HH:MM:SS)")
    hours, minutes, seconds, fraction = match.groups()
    fraction = (fraction or "").rstrip("0")
    precision = portable.params[0] if portable.params else 6
    if len(fraction) > precision:
        raise _Refused(f"has more fractional digits than {portable} keeps")
    return f"{hours}:{minutes}:{seconds or '00'}" + (f".{fraction}" if fraction else "")


def _is_valid(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True


_LITERAL_RULES: dict[str, Callable[[exp.Expression, PortableType], exp.Expression]] = {
    "smallint": _integer, "integer": _integer, "bigint": _integer,
    "numeric": _decimal, "real": _decimal, "double": _decimal,
    "varchar": _text, "char": _text, "text": _text,
    "boolean": _boolean,
    "date": _date, "time": _time, "timestamp": _timestamp, "timetz": _with_zone, "timestamptz": _with_zone,
    "json": _json, "jsonb": _json, "uuid": _uuid, "blob": _blob,
}
