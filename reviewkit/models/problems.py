"""Every problem of a model run, collected and reported at once.

A user fixing a schema dump should not have to run `generate` once per problem: each
reader records what it cannot take (file, line, the source text) and goes on; the run
ends with one ModelError listing them all.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from reviewkit.errors import ModelError, UnsupportedType
from reviewkit.plural import counted

_WHERE = re.compile(r"^([^\n:]+:\d+): ")  # "models/shop.sql:12: " at the start of a message
_SHOWN_SOURCE = 100
_SHOWN_PROBLEMS = 50  # enough to see the pattern; a dump read in the wrong dialect fails on every statement
_IGNORE_HINT = "ignore_unsupported = true in [reviewkit] skips such statements with a warning"  # characters of the statement's first line quoted under a problem


@dataclass(frozen=True)
class Problem:
    where: str  # "models/shop.sql:12"
    message: str
    source: str = ""  # the statement's text as the file has it

    def lines(self) -> list[str]:
        first = f"{self.where}: {self.message}" if self.where else self.message
        quoted = quote_source(self.source)
        return [first, f"    {quoted}"] if quoted else [first]


def _position(problem: Problem) -> tuple[str, int]:
    """Sort problems by file and line, as the user reads the files; the unplaced last."""
    file, _, line = problem.where.rpartition(":")
    return (file, int(line)) if line.isdigit() else ("\uffff", 0)


def quote_source(source: str) -> str:
    """Return the first line of a statement's text, shortened for a message."""
    line = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    return line if len(line) <= _SHOWN_SOURCE else line[: _SHOWN_SOURCE - 3] + "..."


@dataclass
class Problems:
    """The problems and the skipped statements of one model run."""

    found: list[Problem] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)  # noise: label -> count
    noted: Counter[str] = field(default_factory=Counter)  # clauses left out (ENGINE=, CHARACTER SET, DEFINER=): word -> count
    ignored: list[tuple[str, str]] = field(default_factory=list)  # unsupported, skipped: (label, where)
    renamed_indexes: list[tuple[str, str, str]] = field(default_factory=list)  # (table, model's name, name given)
    type_errors: bool = False  # a problem is an unknown or unmappable type
    unsupported: bool = False  # a statement of a kind reviewkit does not model

    def add(self, where: str, message: str, source: str = "") -> None:
        self.found.append(Problem(where, message, source))

    def add_unsupported(self, where: str, label: str, source: str) -> None:
        """Record a statement of a kind reviewkit does not model (a function, a trigger)."""
        self.found.append(Problem(where, f"{label} is not part of the schema reviewkit models", source))
        self.unsupported = True

    def add_error(self, error: ModelError, source: str = "") -> None:
        """Record a ModelError raised by a reader; its message starts with where it happened."""
        match = _WHERE.match(str(error))
        where, message = (match.group(1), str(error)[match.end():]) if match else ("", str(error))
        self.found.append(Problem(where, message, source))
        self.type_errors = self.type_errors or isinstance(error, UnsupportedType)

    def raise_if_any(self) -> None:
        if not self.found:
            return
        found = sorted(self.found, key=_position)
        if len(found) == 1 and self.unsupported:  # two lines: the problem with its remedy, and the source
            found = [Problem(found[0].where, found[0].message + f" ({_IGNORE_HINT})", found[0].source)]
        lines = [line for problem in found[:_SHOWN_PROBLEMS] for line in problem.lines()]
        if len(found) > _SHOWN_PROBLEMS:
            lines.append(f"... and {len(found) - _SHOWN_PROBLEMS} more")
        if len(found) > 1:
            lines.insert(0, f"{len(found)} problems in the models:")
            if self.unsupported:
                lines.append(_IGNORE_HINT[0].upper() + _IGNORE_HINT[1:])
        error = UnsupportedType if self.type_errors else ModelError
        raise error("\n".join(lines))

    def warnings(self) -> list[str]:
        """Return one line for the noise skipped and one for the unsupported statements ignored."""
        out = []
        if self.skipped:
            total = sum(self.skipped.values())
            counts = ", ".join(f"{n} {label}" for label, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append(f"skipped {total} statement{'s' if total != 1 else ''} that are not schema: {counts}")
        if self.noted:
            counts = ", ".join(f"{n} {word}" for word, n in sorted(self.noted.items(), key=lambda kv: (-kv[1], kv[0])))
            out.append(f"left out or read as the engine does, clauses of the models' dialect no other engine has: {counts}")
        if self.renamed_indexes:
            shown = ", ".join(f"{table}.{old} -> {new}" for table, old, new in self.renamed_indexes[:5])
            more = f" and {len(self.renamed_indexes) - 5} more" if len(self.renamed_indexes) > 5 else ""
            out.append(f"renamed {counted(len(self.renamed_indexes), 'index', 'indexes')} whose name another table's index has "
                       f"(PostgreSQL and SQLite name indexes once per schema): {shown}{more}")
        if self.ignored:
            by_label: dict[str, list[str]] = {}
            for label, where in self.ignored:
                by_label.setdefault(label, []).append(where)
            parts = [f"{len(wheres)} {label} (first at {wheres[0]})" for label, wheres in by_label.items()]
            out.append(f"ignore_unsupported: skipped {counted(len(self.ignored), 'statement')} reviewkit does not model: "
                       + ", ".join(parts))
        return out
