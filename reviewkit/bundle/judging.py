"""Judging every bundle of a long history: files, approvals and proofs, half of them beside.

`status` and `verify` judge each bundle on its own: a few `stat` calls and keyed hashes
when the verification cache knows it, nothing shared with the next. Over thousands of
bundles that is most of their time, so with a second CPU a forked child judges the later
half while this process judges the first. The child sends back its verdicts and what it
confirmed of the cache (`VerifyCache.confirmed`), never the bundles: the parent has
those already, and pickling their manifests back would cost what the child saved.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from reviewkit.bundle.store import Bundle
from reviewkit.bundle.verify_cache import Confirmed, VerifyCache
from reviewkit.forked import ForkedCall, fork_helps

R = TypeVar("R")

# Below this many bundles a forked child costs more than the half it would judge (about 45 µs a bundle).
FORK_FROM_BUNDLES = 1_000


def judge_each(bundles: list[Bundle], judge: Callable[[Bundle], R], cache: VerifyCache) -> list[R]:
    """Return `judge(bundle)` for each bundle, in order; the later half in a forked child when that helps.

    `judge`'s results are sent back pickled: they must not hold the bundle. A child that
    fails or cannot answer has its half judged again here, so that an error is raised
    as it would be in one process, after the bundles before it.
    """
    if len(bundles) < FORK_FROM_BUNDLES or not fork_helps():
        return [judge(bundle) for bundle in bundles]
    half = len(bundles) // 2
    later = bundles[half:]
    with ForkedCall(partial(_judged_with_cache, judge, later, cache)) as child:
        verdicts = [judge(bundle) for bundle in bundles[:half]]
        try:
            theirs, confirmed = child.result()
        except Exception:  # noqa: BLE001 - judged again here, where it is raised from this process's own objects
            return verdicts + [judge(bundle) for bundle in later]
    cache.take(confirmed)
    return verdicts + theirs


def _judged_with_cache(judge: Callable[[Bundle], R], bundles: list[Bundle], cache: VerifyCache) -> tuple[list[R], Confirmed]:
    """In the child: the verdicts, and what judging them confirmed of the cache."""
    return [judge(bundle) for bundle in bundles], cache.confirmed()
