"""Portable column types: the names the schema state uses, and how model types map to them.

A portable type is a short string: a kind and optional integer parameters, written like
SQL (`varchar(255)`, `numeric(10,2)`, `timestamptz(3)`). Each dialect module says how
every kind is spelled on its engine, and refuses the kinds it cannot store faithfully.

A type may name a flavor after `@`: whose declarations it follows on each engine. The
Django model source writes `timestamptz@django` for a DateTimeField: the same kind
(defaults, widening, lint read it as `timestamptz`), declared on each engine as Django's
backend declares it there (`DATETIME(6)` on MySQL, `DATETIME` on SQLite).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from sqlglot import exp

from reviewkit.errors import UnsupportedType

T = exp.DataType.Type

# Kinds, in the order REVIEW.md and the docs list them.
KINDS = (
    "tinyint", "smallint", "mediumint", "integer", "bigint",
    "utinyint", "usmallint", "umediumint", "uinteger", "ubigint",
    "numeric", "real", "double",
    "varchar", "char", "text", "boolean",
    "date", "time", "timetz", "timestamp", "timestamptz", "year",
    "json", "jsonb", "uuid", "blob", "tsvector", "interval", "inet", "enum", "set",
)

# How many integer parameters each kind accepts.
_MAX_PARAMS = {"numeric": 2, "varchar": 1, "char": 1, "time": 1, "timetz": 1, "timestamp": 1, "timestamptz": 1}

# The values an integer-like kind holds: engines without the kind emulate it with a CHECK.
RANGES: dict[str, tuple[int, int]] = {
    "tinyint": (-128, 127),
    "mediumint": (-8388608, 8388607),
    "utinyint": (0, 255),
    "usmallint": (0, 65535),
    "umediumint": (0, 16777215),
    "uinteger": (0, 4294967295),
    "ubigint": (0, 18446744073709551615),
    "year": (1901, 2155),
}
INTEGER_KINDS = ("tinyint", "smallint", "mediumint", "integer", "bigint",
                 "utinyint", "usmallint", "umediumint", "uinteger", "ubigint")

# sqlglot type -> (portable kind, auto-increment)
_FROM_SQLGLOT: dict[T, tuple[str, bool]] = {
    T.TINYINT: ("tinyint", False),
    T.SMALLINT: ("smallint", False),
    T.MEDIUMINT: ("mediumint", False),
    T.INT: ("integer", False),
    T.BIGINT: ("bigint", False),
    T.UTINYINT: ("utinyint", False),
    T.USMALLINT: ("usmallint", False),
    T.UMEDIUMINT: ("umediumint", False),
    T.UINT: ("uinteger", False),
    T.UBIGINT: ("ubigint", False),
    T.SMALLSERIAL: ("smallint", True),
    T.SERIAL: ("integer", True),
    T.BIGSERIAL: ("bigint", True),
    T.DECIMAL: ("numeric", False),
    T.FLOAT: ("real", False),
    T.DOUBLE: ("double", False),
    T.VARCHAR: ("varchar", False),
    T.NVARCHAR: ("varchar", False),
    T.CHAR: ("char", False),
    T.NCHAR: ("char", False),
    T.BPCHAR: ("char", False),
    T.TEXT: ("text", False),
    T.TINYTEXT: ("text", False),
    T.MEDIUMTEXT: ("text", False),
    T.LONGTEXT: ("text", False),
    T.BOOLEAN: ("boolean", False),
    T.DATE: ("date", False),
    T.TIME: ("time", False),
    T.TIMETZ: ("timetz", False),
    T.TIMESTAMP: ("timestamp", False),
    T.DATETIME: ("timestamp", False),
    T.TIMESTAMPTZ: ("timestamptz", False),
    T.YEAR: ("year", False),
    T.JSON: ("json", False),
    T.JSONB: ("jsonb", False),
    T.UUID: ("uuid", False),
    T.INTERVAL: ("interval", False),
    T.INET: ("inet", False),
    T.VARBINARY: ("blob", False),
    T.BLOB: ("blob", False),
    T.TINYBLOB: ("blob", False),
    T.MEDIUMBLOB: ("blob", False),
    T.LONGBLOB: ("blob", False),
}

# Flavor -> the kinds it spells its own way. "django": what Django's backends declare for
# its fields (`smallint@django`...: a key to a positive integer field, UNSIGNED on MySQL only;
# `usmallint@django`...: the positive integer fields themselves, with their `>= 0` check).
# "native": an engine's own type where the portable one is spelled otherwise there: MariaDB
# 10.7+'s UUID, as a MySQL/MariaDB model or database declares it (a portable uuid is
# CHAR(36) there, which MySQL also has); every other engine's plain uuid.
FLAVORS: dict[str, frozenset[str]] = {
    "django": frozenset({"timestamptz", "double", "numeric", "jsonb", "uuid", "smallint", "integer", "bigint",
                         "usmallint", "uinteger", "ubigint", "interval", "inet"}),
    "native": frozenset({"uuid"}),
}

_TYPE_RE = re.compile(r"^([a-z]+)(?:\((\d+)(?:,(\d+))?\))?$")
_VALUES_RE = re.compile(r"^(enum|set)(?: ([^(]+))?\((.*)\)$", re.DOTALL)
_VALUE_RE = re.compile(r"'((?:[^']|'')*)'(?:,|$)")


@dataclass(frozen=True)
class PortableType:
    """A portable type: `varchar(20)`, `integer[]`, `enum mpaa_rating('G','PG')`, `set('a','b')`."""

    kind: str
    params: tuple[int, ...] = ()
    values: tuple[str, ...] = ()  # enum and set: the allowed values, in order
    name: str | None = None  # enum: the type's name (PostgreSQL creates a type of that name)
    array: bool = False  # an array of the kind (PostgreSQL `text[]`)
    flavor: str | None = None  # whose declarations it follows per engine: "django" (see FLAVORS)

    def __str__(self) -> str:
        if self.flavor:
            return f"{self.plain}@{self.flavor}"
        if self.array:
            return f"{PortableType(self.kind, self.params, self.values, self.name)}[]"
        if self.kind in ("enum", "set"):
            head = f"{self.kind} {self.name}" if self.name else self.kind
            return f"{head}({','.join(quote_value(v) for v in self.values)})"
        if not self.params:
            return self.kind
        return f"{self.kind}({','.join(str(p) for p in self.params)})"

    @property
    def element(self) -> PortableType:
        """The type of an array's elements (the type itself when it is no array)."""
        return PortableType(self.kind, self.params, self.values, self.name)

    @property
    def plain(self) -> PortableType:
        """The type without its flavor: what it is everywhere but in its declaration."""
        return replace(self, flavor=None) if self.flavor else self


def quote_value(value: str) -> str:
    """Quote an enum or set value as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


@lru_cache(maxsize=1024)
def parse_type(text: str) -> PortableType:
    """Split a portable type string like `numeric(10,2)` into kind and parameters."""
    head, at, flavor = text.rpartition("@")
    if at and flavor.isalpha():  # an enum's values end in `)`: an `@` in one is no flavor
        plain = parse_type(head)
        if plain.kind not in FLAVORS.get(flavor, ()) or plain.array:
            raise UnsupportedType(f"unknown portable type {text!r}")
        return replace(plain, flavor=flavor)
    if text.endswith("[]"):
        element = parse_type(text[:-2])
        if element.array or element.kind in ("enum", "set"):
            raise UnsupportedType(f"unknown portable type {text!r}")
        return PortableType(element.kind, element.params, array=True)
    match = _VALUES_RE.match(text)
    if match:
        return PortableType(match.group(1), values=_split_values(match.group(3), text), name=match.group(2))
    match = _TYPE_RE.match(text)
    if not match or match.group(1) not in KINDS or match.group(1) in ("enum", "set"):
        raise UnsupportedType(f"unknown portable type {text!r}")
    params = tuple(int(g) for g in match.groups()[1:] if g is not None)
    return PortableType(match.group(1), params)


def _split_values(text: str, whole: str) -> tuple[str, ...]:
    values, pos = [], 0
    while pos < len(text):
        match = _VALUE_RE.match(text, pos)
        if match is None:
            raise UnsupportedType(f"unknown portable type {whole!r}")
        values.append(match.group(1).replace("''", "'"))
        pos = match.end()
    if not values:
        raise UnsupportedType(f"unknown portable type {whole!r}")
    return tuple(values)


_TIMES = ("time", "timestamp", "timestamptz")


def from_sqlglot(
    data_type: exp.DataType, where: str, dialect: str = "", time_precision: int | None = None,
) -> tuple[str, bool]:
    """Return (portable type, auto-increment) for a parsed model type, or raise naming `where`.

    Messages spell the type in the models' `dialect`, as the user wrote it (`POINT`, not
    sqlglot's internal names). An ENUM comes back without a name: the model reader names it.
    `time_precision`: the fractional-second digits a TIME or TIMESTAMP without any keeps in
    the models' dialect (`Dialect.default_time_precision`; None: the portable default).
    """
    if data_type.this == T.TINYINT and _int_params(data_type) == (1,):
        return "boolean", False  # MySQL's spelling of BOOLEAN
    if data_type.this == T.ARRAY:
        return _array(data_type, where, dialect), False
    if data_type.this in (T.ENUM, T.SET):
        kind = "enum" if data_type.this == T.ENUM else "set"
        return str(PortableType(kind, values=_literal_values(data_type, where, dialect))), False
    mapped = _FROM_SQLGLOT.get(data_type.this)
    if mapped is None:
        raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} has no portable mapping "
                              "(see the README's table of portable types)")
    kind, identity = mapped
    params = _int_params(data_type)
    if kind not in _MAX_PARAMS and kind != "double":
        params = ()  # display widths like INT(11) carry no meaning
    if kind == "double" and params:
        # FLOAT(p): the SQL standard's binary precision; PostgreSQL makes p <= 24 a REAL.
        kind, params = ("real" if params[0] <= 24 else "double"), ()
    if kind == "numeric" and len(params) == 1:
        params = (params[0], 0)  # NUMERIC(p) is NUMERIC(p,0) everywhere; say it one way
    if len(params) > _MAX_PARAMS.get(kind, 0):
        raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} has too many parameters")
    if kind in _TIMES and not params and time_precision is not None:
        params = (time_precision,)  # MySQL's DATETIME keeps whole seconds
    return _portable_name(kind, params), identity


@lru_cache(maxsize=1024)
def _portable_name(kind: str, params: tuple[int, ...]) -> str:
    return str(PortableType(kind, params))  # a schema spells the same few types thousands of times


def _array(data_type: exp.DataType, where: str, dialect: str) -> str:
    inner = data_type.expressions[0] if data_type.expressions else None
    if not isinstance(inner, exp.DataType) or inner.this in (T.ARRAY, T.ENUM, T.SET):
        raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} has no portable mapping "
                              "(arrays of one scalar type only)")
    element, _ = from_sqlglot(inner, where, dialect)
    return element + "[]"


def _literal_values(data_type: exp.DataType, where: str, dialect: str) -> tuple[str, ...]:
    values = []
    for item in data_type.expressions:
        if not (isinstance(item, exp.Literal) and item.is_string):
            raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} lists a value that is not a string")
        values.append(item.this)
    if not values or len(set(values)) != len(values):
        raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} needs distinct values")
    return tuple(values)


def _int_params(data_type: exp.DataType) -> tuple[int, ...]:
    params = []
    for param in data_type.expressions:
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        if not isinstance(value, exp.Literal) or value.is_string:
            raise UnsupportedType(f"type {data_type.sql()} has a parameter reviewkit cannot read")
        params.append(int(value.this))
    return tuple(params)


def named_enum(type_name: str, table: str, column: str) -> str:
    """Name an inline MySQL ENUM after its table and column: PostgreSQL needs a named type for it."""
    portable = parse_type(type_name)
    if portable.kind == "enum" and portable.name is None:
        return str(replace(portable, name=f"{table}_{column}"))
    return type_name


_INT_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1),
               **{kind: RANGES[kind] for kind in INTEGER_KINDS if kind in RANGES}}
_WIDENING_TEXT_KINDS = {"char", "varchar", "text"}


def holds_collation(type_name: str) -> bool:
    """Tell whether a column of this portable type keeps a collation in the models (Column.collation): text kinds."""
    portable = parse_type(type_name)
    return portable.kind in _WIDENING_TEXT_KINDS and not portable.array


def is_widening(old: PortableType, new: PortableType) -> bool:
    """Return True when every value of `old` fits `new` unchanged."""
    if old.array != new.array:
        return False
    if old.kind in ("enum", "set") and new.kind == old.kind:
        return set(old.values) <= set(new.values)
    if old.kind in _INT_RANGES and new.kind in _INT_RANGES:
        (old_low, old_high), (new_low, new_high) = _INT_RANGES[old.kind], _INT_RANGES[new.kind]
        return new_low <= old_low and old_high <= new_high
    if old.kind in _INT_RANGES and new.kind == "numeric":
        return not new.params or new.params[0] - (new.params[1] if len(new.params) > 1 else 0) >= 19
    if old.kind in _WIDENING_TEXT_KINDS and new.kind in ("varchar", "text"):
        if new.kind == "text" or not new.params:
            return True
        return bool(old.params) and old.kind != "text" and new.params[0] >= old.params[0]
    if (old.kind, new.kind) in (("real", "double"), ("json", "jsonb"), ("jsonb", "json"), ("timestamp", "timestamptz")):
        return True
    if old.kind == new.kind == "numeric":
        if not new.params:
            return True
        if not old.params:
            return False
        old_p, old_s = old.params[0], (old.params[1] if len(old.params) > 1 else 0)
        new_p, new_s = new.params[0], (new.params[1] if len(new.params) > 1 else 0)
        return new_s >= old_s and new_p - new_s >= old_p - old_s
    if old.kind == new.kind and old.kind in ("time", "timetz", "timestamp", "timestamptz"):
        return (new.params[0] if new.params else 6) >= (old.params[0] if old.params else 6)
    return False
