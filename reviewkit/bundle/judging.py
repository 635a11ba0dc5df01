"""Judging every bundle of a long history: files, approvals and proofs, with the second CPU.

`status` and `verify` judge each bundle on its own: a few `stat` calls and keyed hashes
when the verification cache knows it, nothing shared with the next. Over thousands of
bundles that is most of their time, so with a second CPU a forked child judges from the
last bundle back while this process does its other work (`meanwhile`: reading a
database's ledger) and then judges from the first bundle on, until the two meet. Each
says in a shared page how far it got, so the work splits itself whatever each side is
slowed by. The child sends back its verdicts and what it confirmed of the cache
(`VerifyCache.confirmed`), never the bundles: the parent has those already, and pickling
their manifests back would cost what the child saved.
"""

from __future__ import annotations

import gc
import mmap
import struct
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

from reviewkit.bundle.store import Bundle
from reviewkit.bundle.verify_cache import Confirmed, VerifyCache
from reviewkit.forked import ForkedCall, fork_helps

R = TypeVar("R")
T = TypeVar("T")

# Below this many bundles a forked child costs more than the bundles it would judge (about 50 µs each).
FORK_FROM_BUNDLES = 1_000


def judge_beside(bundles: list[Bundle], judge: Callable[[Bundle], R], cache: VerifyCache,
                 meanwhile: Callable[[], T]) -> tuple[list[R], T]:
    """Return `judge(bundle)` for each bundle, in order, and what `meanwhile()` returned.

    `meanwhile` runs here first, while a forked child (where one helps) judges from the
    last bundle back. `judge`'s results are sent back pickled: they must not hold the
    bundle. A child that fails or cannot answer has its part judged again here, so that
    an error is raised as it would be in one process.
    """
    if len(bundles) < FORK_FROM_BUNDLES or not fork_helps():
        done = meanwhile()
        return [judge(bundle) for bundle in bundles], done
    progress = _Progress(len(bundles))
    gc.freeze()  # the collector would walk, and so copy, every page the two processes share
    try:
        with ForkedCall(partial(_judged_from_the_end, judge, bundles, cache, progress)) as child:
            done = meanwhile()
            verdicts = []
            while len(verdicts) < progress.child_start():
                progress.parent_took_to(len(verdicts) + 1)
                verdicts.append(judge(bundles[len(verdicts)]))
            try:
                theirs = child.result()
            except Exception:  # noqa: BLE001 - judged again here, where it is raised from this process's own objects
                theirs = _Theirs(len(bundles), [], None)
    finally:
        gc.unfreeze()
        progress.close()
    if theirs.confirmed is not None:
        cache.take(theirs.confirmed)
    # The two met where each read the other's progress: a bundle both took is kept as judged here.
    verdicts += [judge(bundle) for bundle in bundles[len(verdicts):theirs.start]]
    return verdicts + theirs.verdicts[len(verdicts) - theirs.start:], done


class _Theirs(Generic[R]):
    """What the child sends back: its verdicts, of bundles `start` to the last, and what it confirmed of the cache."""

    def __init__(self, start: int, verdicts: list[R], confirmed: Confirmed | None) -> None:
        self.start, self.verdicts, self.confirmed = start, verdicts, confirmed


def _judged_from_the_end(judge: Callable[[Bundle], R], bundles: list[Bundle], cache: VerifyCache,
                         progress: _Progress) -> _Theirs[R]:
    """In the child: judge from the last bundle back until the parent's progress is reached."""
    start = len(bundles)
    verdicts = []
    while start > progress.parent_end():
        start -= 1
        progress.child_took_from(start)
        verdicts.append(judge(bundles[start]))
    verdicts.reverse()
    return _Theirs(start, verdicts, cache.confirmed())


class _Progress:
    """Two counters in a page the parent and its forked child share: how far each has taken the bundles.

    The parent takes bundles [0, parent_end), the child [child_start, count). Each reads
    the other's counter before taking one more, so they stop where they meet. A counter
    read a moment late only makes the reader go on: one bundle judged twice (the parent's
    verdict is kept), never one left out; and `judge_beside` judges any gap itself.
    """

    _PARENT, _CHILD = 0, 8  # the offsets of the two counters

    def __init__(self, count: int) -> None:
        self._page = mmap.mmap(-1, 16)  # anonymous and shared: a forked child sees the same bytes
        self.parent_took_to(0)
        self.child_took_from(count)

    def parent_took_to(self, end: int) -> None:
        struct.pack_into("q", self._page, self._PARENT, end)

    def parent_end(self) -> int:
        return struct.unpack_from("q", self._page, self._PARENT)[0]

    def child_took_from(self, start: int) -> None:
        struct.pack_into("q", self._page, self._CHILD, start)

    def child_start(self) -> int:
        return struct.unpack_from("q", self._page, self._CHILD)[0]

    def close(self) -> None:
        self._page.close()
