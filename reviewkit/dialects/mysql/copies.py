"""What InnoDB copies a whole table for: read by the online compiler and by `lint`.

A column's type change runs in place only when a VARCHAR grows within its length byte, or
ENUM / SET values are added at the end within the same storage size (the "Online DDL"
tables of the MySQL 8.0 and MariaDB manuals); any other type change copies the table
row by row while writes wait.
"""

from __future__ import annotations

from reviewkit.schema.types import parse_type

# The tools that copy a table in the background and swap it in.
TOOLS = "pt-online-schema-change or gh-ost"
# utf8mb4 takes up to 4 bytes a character: past 63 characters a VARCHAR's length takes 2 bytes.
_ONE_LENGTH_BYTE = 63


def grows_in_place(old: str, new: str) -> bool:
    """Tell whether InnoDB changes portable type `old` to `new` without copying the table."""
    a, b = parse_type(old), parse_type(new)
    if a.array or b.array or a.kind != b.kind:
        return False
    if a.kind == "varchar" and a.params and b.params:
        return b.params[0] >= a.params[0] and (b.params[0] <= _ONE_LENGTH_BYTE) == (a.params[0] <= _ONE_LENGTH_BYTE)
    if a.kind == "enum":
        return b.values[:len(a.values)] == a.values and (len(b.values) <= 255) == (len(a.values) <= 255)
    if a.kind == "set":
        return b.values[:len(a.values)] == a.values and _set_bytes(len(a.values)) == _set_bytes(len(b.values))
    return False


def _set_bytes(members: int) -> int:
    size = (members + 7) // 8
    return 8 if size > 4 else size
