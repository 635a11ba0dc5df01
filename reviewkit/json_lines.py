"""JSON written one value per line (schema.json, manifest.json): each value in json's compact form.

A 1,000-table schema has some 20,000 such lines. Encoding each with its own call costs
more in the calls than in the encoding, so `encode_each` encodes them all in one.
"""

from __future__ import annotations

import json
from typing import Any

# One encoder for every value: json.dumps with options builds a new encoder per call.
compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode

# Between two values encoded as one list with the string "\0" between them, json writes
# exactly this; inside a value it can only stand where a string holds "\0" itself.
_BETWEEN = ', "\\u0000", '


def encode_each(values: list[Any]) -> list[str]:
    """Return `compact(value)` of each of `values`, in one call of the encoder.

    The values are encoded as one list with "\\0" between them and the text is split where
    json put those: each boundary gives one `_BETWEEN`, so when the split gives exactly as
    many pieces as values, no value held one and each piece is that value's own text.
    Otherwise each value is encoded on its own.
    """
    if len(values) < 2:
        return [compact(value) for value in values]
    spaced: list[Any] = ["\0"] * (2 * len(values) - 1)
    spaced[0::2] = values
    pieces = compact(spaced)[1:-1].split(_BETWEEN)
    return pieces if len(pieces) == len(values) else [compact(value) for value in values]
