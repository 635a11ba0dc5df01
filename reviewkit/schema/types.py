"""Portable column types: the names the schema state uses, and how model types map to them.

A portable type is a short string: a kind and optional integer parameters, written like
SQL (`varchar(255)`, `numeric(10,2)`, `timestamptz(3)`). Each dialect module says how
every kind is spelled on its engine, and refuses the kinds it cannot store faithfully.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp

from reviewkit.errors import UnsupportedType

T = exp.DataType.Type

# Kinds, in the order REVIEW.md and the docs list them.
KINDS = (
    "smallint", "integer", "bigint", "numeric", "real", "double",
    "varchar", "char", "text", "boolean",
    "date", "time", "timetz", "timestamp", "timestamptz",
    "json", "jsonb", "uuid", "blob",
)

# How many integer parameters each kind accepts.
_MAX_PARAMS = {"numeric": 2, "varchar": 1, "char": 1, "time": 1, "timetz": 1, "timestamp": 1, "timestamptz": 1}

# sqlglot type -> (portable kind, auto-increment)
_FROM_SQLGLOT: dict[T, tuple[str, bool]] = {
    T.SMALLINT: ("smallint", False),
    T.INT: ("integer", False),
    T.MEDIUMINT: ("integer", False),
    T.BIGINT: ("bigint", False),
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
    T.MEDIUMTEXT: ("text", False),
    T.LONGTEXT: ("text", False),
    T.BOOLEAN: ("boolean", False),
    T.DATE: ("date", False),
    T.TIME: ("time", False),
    T.TIMETZ: ("timetz", False),
    T.TIMESTAMP: ("timestamp", False),
    T.DATETIME: ("timestamp", False),
    T.TIMESTAMPTZ: ("timestamptz", False),
    T.JSON: ("json", False),
    T.JSONB: ("jsonb", False),
    T.UUID: ("uuid", False),
    T.VARBINARY: ("blob", False),
    T.BLOB: ("blob", False),
    T.MEDIUMBLOB: ("blob", False),
    T.LONGBLOB: ("blob", False),
}

_TYPE_RE = re.compile(r"^([a-z]+)(?:\((\d+)(?:,(\d+))?\))?$")


@dataclass(frozen=True)
class PortableType:
    kind: str
    params: tuple[int, ...] = ()

    def __str__(self) -> str:
        if not self.params:
            return self.kind
        return f"{self.kind}({','.join(str(p) for p in self.params)})"


@lru_cache(maxsize=1024)
def parse_type(text: str) -> PortableType:
    """Split a portable type string like `numeric(10,2)` into kind and parameters."""
    match = _TYPE_RE.match(text)
    if not match or match.group(1) not in KINDS:
        raise UnsupportedType(f"unknown portable type {text!r}")
    params = tuple(int(g) for g in match.groups()[1:] if g is not None)
    return PortableType(match.group(1), params)


def from_sqlglot(data_type: exp.DataType, where: str, dialect: str = "") -> tuple[str, bool]:
    """Return (portable type, auto-increment) for a parsed model type, or raise naming `where`.

    Messages spell the type in the models' `dialect`, as the user wrote it (`SMALLINT UNSIGNED`,
    not sqlglot's internal `USMALLINT`).
    """
    if data_type.this == T.TINYINT and _int_params(data_type) == (1,):
        return "boolean", False  # MySQL's spelling of BOOLEAN
    mapped = _FROM_SQLGLOT.get(data_type.this)
    if mapped is None:
        raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} has no portable mapping "
                              "(see the README's table of portable types)")
    kind, identity = mapped
    params = _int_params(data_type)
    if kind in ("smallint", "integer", "bigint", "real", "text", "boolean", "date", "json", "jsonb", "uuid", "blob"):
        params = ()  # display widths like INT(11) carry no meaning
    if kind == "double" and params:
        # FLOAT(p): the SQL standard's binary precision; PostgreSQL makes p <= 24 a REAL.
        kind, params = ("real" if params[0] <= 24 else "double"), ()
    if kind == "numeric" and len(params) == 1:
        params = (params[0], 0)  # NUMERIC(p) is NUMERIC(p,0) everywhere; say it one way
    if len(params) > _MAX_PARAMS.get(kind, 0):
        raise UnsupportedType(f"{where}: type {data_type.sql(dialect=dialect)} has too many parameters")
    return str(PortableType(kind, params)), identity


def _int_params(data_type: exp.DataType) -> tuple[int, ...]:
    params = []
    for param in data_type.expressions:
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        if not isinstance(value, exp.Literal) or value.is_string:
            raise UnsupportedType(f"type {data_type.sql()} has a parameter reviewkit cannot read")
        params.append(int(value.this))
    return tuple(params)
