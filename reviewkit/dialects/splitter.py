"""Split an SQL script into statements, the way psql, mysql and sqlite3 read them.

A hand-rolled scanner rather than a parser: it only needs to know where strings,
quoted identifiers, comments and dollar-quoted bodies begin and end (each dialect's
`ScriptRules` say which it has), so it can split scripts that no SQL parser fully
understands (procedure bodies, `DELIMITER` blocks) and stays fast on large files. Each
statement keeps the line it starts on, so errors can name it.

`split_stream` reads a script as a stream of text chunks (a 1 GB data bundle read from its
file) and yields each statement as soon as it is complete, holding only the statement being
read and the chunk after it: the same scanner, run one statement at a time over a buffer
that is topped up whenever a statement could still continue past its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import ScriptRules


@dataclass(frozen=True)
class ScriptStatement:
    sql: str  # without the delimiter and without the comments before it
    line: int  # 1-based line where the statement's text starts


_SPACE = re.compile(r"\s*")
_DELIMITER = re.compile(r"delimiter[ \t]+(\S+)[^\n]*(?:\n|$)", re.IGNORECASE)
_CLOSERS = {"[": "]"}
_TRIGGER = re.compile(r"create\s+(?:temp\s+|temporary\s+)?trigger\b", re.IGNORECASE)
_ENDS_WITH_END = re.compile(r"\bend\Z", re.IGNORECASE)
_COPY_FROM_STDIN = re.compile(r"copy\b.*\bfrom\s+stdin\b", re.IGNORECASE | re.DOTALL)
_END_OF_COPY_DATA = re.compile(r"^\\\.[ \t]*$", re.MULTILINE)


# No decision of the scanner looks further past the end of what a statement consumed than
# this; a statement that ends closer than this to the end of the buffer waits for more text.
_LOOKAHEAD = 64


def split_statements(text: str, dialect: str) -> list[ScriptStatement]:
    """Return the statements of an SQL script in `dialect`, in order, with their lines."""
    return _Scanner(text, get_dialect(dialect).script_rules).run()


def split_stream(chunks: Iterable[str], dialect: str) -> Iterator[ScriptStatement]:
    """Yield the statements of a script given as text chunks, as `split_statements` returns them for the whole text."""
    scanner = _Scanner("", get_dialect(dialect).script_rules)
    source = iter(chunks)
    pos, final = 0, False
    while True:
        saved = scanner.state()
        end = scanner.advance(pos)
        if final or (end is not None and end + _LOOKAHEAD <= len(scanner.text)):
            yield from scanner.statements
            scanner.statements.clear()
            if end is None:
                return
            pos = end
            continue
        # The statement may go on past the buffer: forget what was read of it and top the buffer up.
        scanner.restore(saved)
        pos = scanner.top_up(pos, source)
        final = pos < 0
        pos = abs(pos) - 1 if final else pos


class _Scanner:
    def __init__(self, text: str, rules: ScriptRules) -> None:
        self.text = text
        self.rules = rules
        self.statements: list[ScriptStatement] = []
        self._line_offset = 0
        self._line = 1
        self._copy_data_next = False
        self._set_delimiter(";")

    def run(self) -> list[ScriptStatement]:
        pos: int | None = 0
        while pos is not None:
            pos = self.advance(pos)
        return self.statements

    def advance(self, pos: int) -> int | None:
        """Read the next statement (or meta-command, or COPY rows) from `pos`; None when only a gap is left."""
        if self._copy_data_next:
            self._copy_data_next = False
            return self._skip_copy_data(pos)
        pos = self._skip_gap(pos)
        if pos >= len(self.text):
            return None
        if self.rules.backslash_commands and self.text.startswith("\\", pos):
            return self._read_meta_command(pos)
        pos = self._read_statement(pos)
        self._copy_data_next = self.rules.copy_data and _COPY_FROM_STDIN.match(self.statements[-1].sql) is not None
        return pos

    # -- reading a stream ------------------------------------------------------------------

    def state(self) -> tuple[str, bool, int, int]:
        return self.delimiter, self._copy_data_next, self._line, self._line_offset

    def restore(self, state: tuple[str, bool, int, int]) -> None:
        """Go back to `state` (taken before a statement that turned out to need more text)."""
        delimiter, self._copy_data_next, self._line, self._line_offset = state
        if delimiter != self.delimiter:
            self._set_delimiter(delimiter)
        self.statements.clear()

    def top_up(self, pos: int, source: Iterator[str]) -> int:
        """Drop the text before `pos` and append at least as much as is left; return the new `pos`.

        At the end of the source, return `-(pos + 1)` instead. Two characters before `pos`
        stay: the scanner looks back that far (`E'`, `a$b`). Reading at least the buffer's
        length again keeps a statement larger than a chunk linear to read.
        """
        cut = min(max(pos - 2, 0), self._line_offset)
        rest = self.text[cut:]
        more: list[str] = []
        wanted = max(len(rest) - (pos - cut), 1)
        for chunk in source:
            more.append(chunk)
            wanted -= len(chunk)
            if wanted <= 0:
                break
        self.text = rest + "".join(more)
        self._line_offset -= cut
        pos -= cut
        return pos if more and wanted <= 0 else -(pos + 1)

    def _read_meta_command(self, start: int) -> int:
        """Read a psql meta-command (`\\c db`): it ends at the end of its line, not at a delimiter."""
        end = _line_end(self.text, start)
        self._emit(start, end)
        return end

    def _skip_copy_data(self, pos: int) -> int:
        """Skip the rows that follow `COPY ... FROM stdin;`, up to and with the line `\\.`."""
        match = _END_OF_COPY_DATA.search(self.text, _line_end(self.text, pos))
        return len(self.text) if match is None else match.end()

    def _set_delimiter(self, delimiter: str) -> None:
        self.delimiter = delimiter
        specials = set(self.rules.quotes) | {"-", "/", delimiter[0]}
        if self.rules.hash_comments:
            specials.add("#")
        if self.rules.dollar_quotes:
            specials.add("$")
        self._special = re.compile("[" + "".join(re.escape(c) for c in sorted(specials)) + "]")
        # What `_read_statement` steps over without a decision: plain text, and quoted text
        # that `_skip_token` would end at its first closing quote (`_plain_quoted`). One match
        # instead of a search and a call for each of a statement's many quoted names.
        plain = "[^" + "".join(re.escape(c) for c in sorted(specials)) + "]+"
        quoted = [_plain_quoted(q).pattern for q in self.rules.quotes if q not in _CLOSERS and q != delimiter[0]]
        self._plain_run = re.compile("(?:" + "|".join([plain, *quoted]) + ")*")

    def _line_at(self, offset: int) -> int:
        # Offsets only grow, so counting newlines since the last call keeps this linear.
        self._line += self.text.count("\n", self._line_offset, offset)
        self._line_offset = offset
        return self._line

    def _skip_gap(self, pos: int) -> int:
        """Skip whitespace, comments, empty statements and DELIMITER commands."""
        text = self.text
        while True:
            pos = _SPACE.match(text, pos).end()
            if pos >= len(text):
                return pos
            end = self._comment_end(pos, leading=True)
            if end is not None:
                pos = end
            elif text.startswith(self.delimiter, pos):
                pos += len(self.delimiter)
            elif self.rules.delimiter_command and (match := _DELIMITER.match(text, pos)):
                self._set_delimiter(match.group(1))
                pos = match.end()
            else:
                return pos

    def _read_statement(self, start: int) -> int:
        """Read the statement starting at `start`; return the offset after its delimiter."""
        text, pos = self.text, start
        in_trigger = self.rules.trigger_bodies and _TRIGGER.match(text, start) is not None
        while True:
            match = self._special.search(text, self._plain_run.match(text, pos).end())
            if match is None:
                self._emit(start, len(text))
                return len(text)
            pos = match.start()
            if not text.startswith(self.delimiter, pos):
                pos = self._skip_token(pos)
            elif in_trigger and not self._after_end(start, pos):
                pos += len(self.delimiter)  # a statement inside the trigger's body
            else:
                self._emit(start, pos)
                return pos + len(self.delimiter)

    def _after_end(self, start: int, pos: int) -> bool:
        """Tell whether the statement text before `pos` ends with the keyword END."""
        return _ENDS_WITH_END.search(self.text[start:pos].rstrip()) is not None

    def _skip_token(self, pos: int) -> int:
        """Skip the quoted text, comment or dollar-quoted body at `pos`, if any."""
        char = self.text[pos]
        if char in self.rules.quotes:
            plain = _plain_quoted(char).match(self.text, pos) if char not in _CLOSERS else None
            if plain is not None:  # most names and strings: no backslash and no doubled quote inside
                return plain.end()
            backslash = char in self.rules.backslash_quotes or self._is_escape_string(pos)
            return self._quoted_end(pos, _CLOSERS.get(char, char), backslash)
        if char == "$" and self.rules.dollar_quotes:
            return self._dollar_end(pos)
        end = self._comment_end(pos, leading=False)
        return end if end is not None else pos + 1

    def _emit(self, start: int, end: int) -> None:
        sql = self.text[start:end].rstrip()
        if sql:
            self.statements.append(ScriptStatement(sql, self._line_at(start)))

    def _comment_end(self, pos: int, leading: bool) -> int | None:
        """Return where the comment at `pos` ends, or None when no comment starts there."""
        text = self.text
        if text.startswith("--", pos) and (not self.rules.dash_needs_space or _space_or_end(text, pos + 2)):
            return _line_end(text, pos)
        if text.startswith("#", pos) and self.rules.hash_comments:
            return _line_end(text, pos)
        if text.startswith("/*", pos):
            # MySQL runs /*! ... */ as SQL: at a statement's start it is the statement.
            if leading and self.rules.executable_comments and text.startswith("/*!", pos):
                return None
            return self._block_comment_end(pos)
        return None

    def _block_comment_end(self, pos: int) -> int:
        text, depth, pos = self.text, 1, pos + 2
        while depth:
            close = text.find("*/", pos)
            if close < 0:
                return len(text)
            if self.rules.nested_comments:
                opened = text.find("/*", pos, close)
                if opened >= 0:
                    depth, pos = depth + 1, opened + 2
                    continue
            depth, pos = depth - 1, close + 2
        return pos

    def _quoted_end(self, pos: int, quote: str, backslash: bool) -> int:
        """Return the offset after the quote that closes the one at `pos`."""
        text, pos = self.text, pos + 1
        stops = _quote_stops(quote, backslash)
        while True:
            match = stops.search(text, pos)
            if match is None:
                return len(text)
            if match.group() == "\\":
                pos = match.end() + 1
            elif text.startswith(quote, match.end()) and quote != "]":
                pos = match.end() + 1  # a doubled quote stands for itself
            else:
                return match.end()

    def _is_escape_string(self, pos: int) -> bool:
        if not self.rules.escape_strings or self.text[pos] != "'" or pos == 0:
            return False
        prefix = self.text[pos - 1]
        return prefix in "eE" and (pos < 2 or not _is_word(self.text[pos - 2]))

    def _dollar_end(self, pos: int) -> int:
        text = self.text
        if pos > 0 and (_is_word(text[pos - 1]) or text[pos - 1] == "$"):
            return pos + 1  # part of an identifier like a$b, or a parameter like $1
        match = _dollar_tag().match(text, pos)
        if match is None:
            return pos + 1
        close = text.find(match.group(), match.end())
        return len(text) if close < 0 else close + len(match.group())


@cache
def _dollar_tag() -> re.Pattern[str]:
    """Match `$$` or `$tag$`. Compiled when a script first has one: its ranges of every non-ASCII
    character take milliseconds to compile, in every process that splits a script."""
    return re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*)?\$")


@cache
def _plain_quoted(quote: str) -> re.Pattern[str]:
    """Match a quoted text with neither a backslash nor a doubled quote in it, which every reading ends alike."""
    q = re.escape(quote)
    return re.compile(f"{q}[^{q}\\\\]*{q}(?!{q})")


@cache
def _quote_stops(quote: str, backslash: bool) -> re.Pattern[str]:
    return re.compile(re.escape(quote) + (r"|\\" if backslash else ""))


def _line_end(text: str, pos: int) -> int:
    newline = text.find("\n", pos)
    return len(text) if newline < 0 else newline + 1


def _space_or_end(text: str, pos: int) -> bool:
    return pos >= len(text) or text[pos].isspace()


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
