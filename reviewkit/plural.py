"""Counts in messages: "1 operation", "2 operations", never "1 operations" or "2 bundle(s)"."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """Return `number noun`, the noun in the plural unless the number is 1 (`plural` for irregular ones)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
