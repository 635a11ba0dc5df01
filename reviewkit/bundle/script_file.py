"""A bundle script's statements, read from its file as a stream: a 1 GB data bundle is never in memory whole.

A generated bundle's scripts are small and are kept in memory after the first read, as
before. A script above `KEEP_WHOLE_BELOW` bytes (a hand-written backfill) is read again,
1 MB at a time, on every pass over its statements: one pass counts them (the ledger needs
`statements_total` before the first runs), the next runs them. Each pass hashes the bytes
it reads and, at its end, refuses a file whose sha256 is no longer the one the manifest
lists: what runs is what was verified, even when the file is edited during a long run.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import overload

from reviewkit.bundle.store import Bundle
from reviewkit.dialects import get_dialect
from reviewkit.dialects.splitter import ScriptStatement, split_stream
from reviewkit.errors import IntegrityError

CHUNK_BYTES = 1 << 20  # what one read takes from the file
KEEP_WHOLE_BELOW = 8 << 20  # scripts smaller than this (bytes) keep their statements in memory


def is_large(path: Path) -> bool:
    """Tell whether a script is too large to be read whole by the commands that read small scripts whole."""
    try:
        return path.stat().st_size >= KEEP_WHOLE_BELOW
    except OSError:
        return False


def read_chunks(path: Path, hashed: hashlib._Hash | None = None) -> Iterator[str]:
    """Yield the text of a UTF-8 file in chunks, as `Path.read_text` would give it (newlines translated)."""
    raw = path.open("rb", buffering=0)
    source = _Hashing(raw, hashed) if hashed is not None else raw
    with io.TextIOWrapper(io.BufferedReader(source, CHUNK_BYTES), encoding="utf-8") as text:
        while chunk := text.read(CHUNK_BYTES):
            yield chunk


class _Hashing(io.RawIOBase):
    """A raw file that feeds every byte read into a hash."""

    def __init__(self, raw: io.RawIOBase, hashed: hashlib._Hash) -> None:
        self.raw, self.hashed = raw, hashed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self.raw.readinto(buffer) or 0
        self.hashed.update(memoryview(buffer)[:count])
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


class ScriptStatements(Sequence[ScriptStatement]):
    """The statements of one script file, split as `split_statements` splits its text.

    `label` names the file in errors (`0003_backfill/postgres/up.sql`); `sha256`, when given,
    is what every pass must have read; `watch`, a question the counting pass answers for
    every statement at once (`any_watched`), so that it needs no pass of its own.
    """

    def __init__(self, path: Path, dialect: str, label: str, sha256: str | None = None,
                 watch: Callable[[str], bool] | None = None) -> None:
        self.path, self.dialect, self.label, self.sha256, self.watch = path, dialect, label, sha256, watch
        self._kept: tuple[ScriptStatement, ...] | None = None
        self._count: int | None = None
        self._watched = False

    def __iter__(self) -> Iterator[ScriptStatement]:
        if self._kept is None and not is_large(self.path):
            len(self)  # keeps them
        if self._kept is not None:
            return iter(self._kept)
        return self._read()

    def __len__(self) -> int:
        if self._kept is not None:
            return len(self._kept)
        if self._count is None:
            if is_large(self.path):
                self._count = self._count_pass()
            else:
                self._kept = tuple(self._read())
                return len(self._kept)
        return self._count

    @overload
    def __getitem__(self, index: int) -> ScriptStatement: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ScriptStatement]: ...

    def __getitem__(self, index: int | slice) -> ScriptStatement | Sequence[ScriptStatement]:
        if self._kept is None and not is_large(self.path):
            len(self)  # keeps them
        if self._kept is not None:
            return self._kept[index]
        # A large script: read up to the statement asked for (a rare question: resume, explanations).
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return tuple(islice(self._read(), start, stop, step))
        position = index + len(self) if index < 0 else index
        found = next(islice(self._read(), position, None), None) if position >= 0 else None
        if found is None:
            raise IndexError(index)
        return found

    @property
    def any_watched(self) -> bool:
        """Whether `watch` says yes of any statement."""
        if self.watch is None:
            return False
        len(self)
        return any(self.watch(s.sql) for s in self._kept) if self._kept is not None else self._watched

    def _count_pass(self) -> int:
        count = 0
        for statement in self._read():
            count += 1
            if self.watch is not None and not self._watched:
                self._watched = self.watch(statement.sql)
        return count

    @property
    def kept_whole(self) -> bool:
        """Whether the statements are held in memory (a small script, read once)."""
        return self._kept is not None

    def _read(self) -> Iterator[ScriptStatement]:
        hashed = hashlib.sha256()
        try:
            yield from split_stream(read_chunks(self.path, hashed), self.dialect)
        except OSError as err:
            raise IntegrityError(f"{self.label}: cannot read it ({err.strerror or err})") from None
        except UnicodeDecodeError as err:
            raise IntegrityError(f"{self.label}: not UTF-8 text ({err.reason})") from None
        if self.sha256 is not None and hashed.hexdigest() != self.sha256:
            raise IntegrityError(f"{self.label}: changed while being read (sha256 differs from the manifest's); "
                                 "seal and approve it again")


def bundle_statements(bundle: Bundle, dialect: str, direction: str) -> ScriptStatements:
    """Return the statements of one of `bundle`'s scripts, checked against its manifest on every read."""
    path = bundle.script_path_checked(dialect, direction)
    rel = f"{dialect}/{direction}.sql"
    watch = get_dialect(dialect).driver.needs_autocommit  # what decides whether the script runs in one transaction
    return ScriptStatements(path, dialect, f"{bundle.id}/{rel}", bundle.manifest["files"].get(rel), watch)
