"""The differ's questions, answered from outside: the CLI passes an interactive questioner or a silent one.

Only a person can tell a rename from a drop plus an add (`reviewkit.diff.renames`), or
which value the rows that exist should get in a column that becomes NOT NULL without a
default (`reviewkit.diff.one_off_defaults`). The core never reads a terminal: it asks a
`Questioner`, as Django's autodetector asks its `MigrationQuestioner`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OneOffQuestion:
    """Which one-off value should fill the rows of `table` in a column that becomes NOT NULL without a default?"""

    table: str
    column: str
    type_name: str
    made_not_null: bool  # an existing column made NOT NULL (its NULLs are filled), not a column added
    check: Callable[[str], str | None]  # why a value cannot fill the column, or None when it can

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}"

    @property
    def text(self) -> str:
        """The question, in the words of Django's questioner."""
        value = "(an SQL value, e.g. 0 or 'unknown')"
        if self.made_not_null:
            return (f"{self.where} becomes NOT NULL without a default, and existing rows may be NULL: "
                    f"provide a one-off default to fill them {value}, or quit")
        return (f"{self.where} is NOT NULL without a default, and {self.table} may hold rows: "
                f"provide a one-off default for existing rows {value}, or quit")


class Questioner(Protocol):
    """Answers the differ's questions; the CLI passes an interactive or a silent one."""

    def ask_rename_table(self, old: str, new: str) -> bool: ...

    def ask_rename_column(self, table: str, old: str, new: str, type_name: str) -> bool: ...

    def ask_one_off_default(self, question: OneOffQuestion) -> str | None:
        """Return the value as typed (one that `question.check` accepts), or None to quit."""
        ...


class NoInputQuestioner:
    """Answer every question with no: a drop+add stays a drop+add, and no one-off default is given."""

    def ask_rename_table(self, old: str, new: str) -> bool:
        return False

    def ask_rename_column(self, table: str, old: str, new: str, type_name: str) -> bool:
        return False

    def ask_one_off_default(self, question: OneOffQuestion) -> str | None:
        return None
