"""The names a Django-migrated PostgreSQL database gives its indexes and constraints.

Django names what it creates itself (`_create_index_name`: table, columns, an 8-digit md5
digest of both, a suffix) and leaves PostgreSQL to name the rest (the primary key, a
column's inline UNIQUE and CHECK), which PostgreSQL does with `makeObjectName`
(`reviewkit.schema.naming.postgres_object_name`). Both are mirrored so that a bundle and
`migrate` name each object alike, and `DROP INDEX` in a later bundle finds the index
Django made.
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
