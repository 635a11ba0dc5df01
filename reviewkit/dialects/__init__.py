"""The engines reviewkit speaks, each a package of its own, looked up by name.

Everything PostgreSQL, MySQL/MariaDB or SQLite does differently lives in its package:
`__init__` declares the engine (names, URL schemes, capability flags), `compiler` its SQL,
`driver` its connections, session and lock, `introspect` its catalog. The modules beside
them hold what the engines share. Adding an engine means adding a package here and its
name to `PACKAGES`.
"""

from __future__ import annotations

import importlib
from functools import cache

from reviewkit.dialects.base import Dialect
from reviewkit.errors import UsageError

# The packages of reviewkit.dialects that are engines, in the order a new project lists them.
PACKAGES = ("postgres", "mysql", "sqlite")


@cache
def _registry() -> dict[str, Dialect]:
    dialects = (importlib.import_module(f"{__name__}.{package}").DIALECT for package in PACKAGES)
    return {dialect.name: dialect for dialect in dialects}


def dialect_names() -> tuple[str, ...]:
    """Return the name of every dialect reviewkit can compile for and connect to."""
    return tuple(_registry())


def get_dialect(name: str) -> Dialect:
    """Return the dialect called `name`, or refuse naming the known ones."""
    try:
        return _registry()[name]
    except KeyError:
        raise UsageError(f"unknown dialect {name!r} (known: {', '.join(_registry())})") from None


def dialect_for_scheme(scheme: str) -> Dialect | None:
    """Return the dialect a database URL scheme (`postgresql+psycopg`, `mariadb`...) means, if any."""
    scheme = scheme.lower()
    for dialect in _registry().values():
        if scheme in dialect.url_schemes:
            return dialect
    return None


def url_schemes() -> tuple[str, ...]:
    """Return every URL scheme some dialect accepts, for error messages."""
    return tuple(scheme for dialect in _registry().values() for scheme in dialect.url_schemes)
