"""What PostgreSQL rewrites a whole table for: read by the online compiler and by `lint`.

A column's type change keeps the stored values (no rewrite) only when a varchar grows or
becomes text, or a numeric gains precision at the same scale (PostgreSQL's ALTER TABLE
documentation, "Notes"); a column added with a volatile default is computed for every row.
"""

from __future__ import annotations

import re

from reviewkit.schema.types import parse_type

# The tools that copy a table in the background and swap it in; for PostgreSQL, pg-osc.
TOOLS = "pg-osc (or, on MySQL, pt-online-schema-change and gh-ost)"

# Functions whose value differs per row: a default calling one is written into every row.
VOLATILE_DEFAULT = re.compile(
    r"\b(RANDOM|CLOCK_TIMESTAMP|TIMEOFDAY|GEN_RANDOM_UUID|UUID_GENERATE_V\d\w*|NEXTVAL|TXID_CURRENT)\s*\(",
    re.IGNORECASE,
)


def keeps_rows(old: str, new: str) -> bool:
    """Tell whether PostgreSQL changes a column from portable type `old` to `new` without rewriting its table."""
    before, after = parse_type(old), parse_type(new)
    if before.array or after.array:
        return False
    if before.kind in ("varchar", "text") and after.kind in ("varchar", "text"):
        if after.kind == "text" or not after.params:
            return True
        return before.kind == "varchar" and bool(before.params) and after.params[0] >= before.params[0]
    if before.kind == after.kind == "numeric" and len(before.params) == 2 and len(after.params) == 2:
        return after.params[1] == before.params[1] and after.params[0] >= before.params[0]
    return False
