"""The names a Django-migrated PostgreSQL database gives its indexes and constraints.

Django names what it creates itself (`_create_index_name`: table, columns, an 8-digit md5
digest of both, a suffix) and leaves PostgreSQL to name the rest (the primary key, a
column's inline UNIQUE and CHECK), which PostgreSQL does with `makeObjectName`. Both are
mirrored here so that a bundle and `migrate` name each object alike, and `DROP INDEX`
in a later bundle finds the index Django made.
"""

from __future__ import annotations

from hashlib import md5

# PostgreSQL's identifier limit (NAMEDATALEN - 1): Django's max_name_length() there.
MAX_NAME = 63


def names_digest(*args: str, length: int) -> str:
    """Return Django's digest of `args` (django.db.backends.utils.names_digest)."""
    digest = md5(usedforsecurity=False)
    for arg in args:
        digest.update(arg.encode())
    return digest.hexdigest()[:length]


def django_index_name(table: str, columns: list[str] | tuple[str, ...], suffix: str = "") -> str:
    """Return the name Django's schema editor gives an index or constraint it creates (`_create_index_name`)."""
    hash_suffix = names_digest(table, *columns, length=8) + suffix
    name = f"{table}_{'_'.join(columns)}_{hash_suffix}"
    if len(name) <= MAX_NAME:
        return name
    if len(hash_suffix) > MAX_NAME / 3:
        hash_suffix = hash_suffix[: MAX_NAME // 3]
    other = (MAX_NAME - len(hash_suffix)) // 2 - 1
    name = f"{table[:other]}_{'_'.join(columns)[:other]}_{hash_suffix}"
    if name[0] == "_" or name[0].isdigit():
        name = f"D{name[:-1]}"
    return name


def foreign_key_name(table: str, column: str, to_table: str, to_column: str) -> str:
    """Return the name Django gives a foreign key constraint: `<table>_<column>_<digest>_fk_<to_table>_<to_column>`."""
    return django_index_name(table, [column], f"_fk_{to_table}_{to_column}")


def postgres_object_name(table: str, column: str | None, label: str) -> str:
    """Return the name PostgreSQL gives an unnamed constraint (`makeObjectName`): `books_isbn_key`.

    Too long a name loses characters from the longer of table and column, one at a time,
    until it fits; the label is kept whole.
    """
    overhead = len(label) + 1 + (1 if column else 0)
    available = MAX_NAME - overhead
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
