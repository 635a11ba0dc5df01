"""Deterministic names for constraints and indexes the models leave unnamed.

PostgreSQL's own conventions (`orders_pkey`, `orders_customer_id_fkey`), so a name
reads the same in a model, a bundle and `\\d orders`; shortened with a hash suffix to
fit the 63-byte limit that PostgreSQL and MySQL (64) share.
"""

from __future__ import annotations

import hashlib

MAX_IDENTIFIER = 63


def constraint_name(table: str, columns: tuple[str, ...] | list[str], suffix: str) -> str:
    """Return the conventional name, e.g. `orders_customer_id_fkey`."""
    parts = [table, *columns] if columns else [table]
    return fit("_".join(parts) + "_" + suffix)


def fit(name: str) -> str:
    """Shorten `name` to the identifier limit, keeping it unique with a stable hash."""
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return name.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore") + "_" + digest


def unique_among(name: str, taken: set[str]) -> str:
    """Return `name`, or `name1`, `name2`... whichever is not yet taken."""
    candidate, n = name, 0
    while candidate in taken:
        n += 1
        candidate = fit(f"{name}{n}")
    taken.add(candidate)
    return candidate


def postgres_object_name(table: str, column: str | None, label: str) -> str:
    """Return the name PostgreSQL gives an unnamed constraint (`makeObjectName`): `books_isbn_key`.

    Too long a name loses characters from the longer of table and column, one at a time,
    until it fits; the label is kept whole.
    """
    overhead = len(label) + 1 + (1 if column else 0)
    available = MAX_IDENTIFIER - overhead
    table_chars, column_chars = len(table.encode()), len((column or "").encode())
    while table_chars + column_chars > available:
        if table_chars > column_chars:
            table_chars -= 1
        else:
            column_chars -= 1
    head = _clip(table, table_chars)
    if column:
        head += "_" + _clip(column, column_chars)
    return f"{head}_{label}"


def _clip(text: str, size: int) -> str:
    """Return the first `size` bytes of `text`, never cutting a character in two (pg_mbcliplen)."""
    return text.encode()[:size].decode(errors="ignore")
