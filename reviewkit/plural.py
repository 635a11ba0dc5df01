"""Counts in messages: "1 operation", "2 operations", never "1 operations" or "2 bundle(s)"."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """Return `number noun`, the noun in the plural unless the number is 1 (`plural` for irregular ones)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def first_statements(count: int) -> str:
    """Return the statements a run got through, as messages say it: "no statement", "statement 1", "statements 1-5"."""
    return "no statement" if count == 0 else ("statement 1" if count == 1 else f"statements 1-{count}")
