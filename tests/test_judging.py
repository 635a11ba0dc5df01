"""`reviewkit.bundle.judging`: a long history judged by two processes reads as if judged by one.

The work splits itself through two shared counters: these tests judge plain numbers (the
judge is all `judge_beside` calls on a bundle), and check that every one is judged, in
order, by whichever process took it, whatever each side is slowed by. The verdicts and the
cache that `status` and `verify` build this way are in test_verify_cache.py.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from reviewkit.bundle import judging
from reviewkit.bundle.verify_cache import VerifyCache

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")

COUNT = 400


@pytest.fixture(autouse=True)
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judging, "FORK_FROM_BUNDLES", 2)
    monkeypatch.setattr(judging, "fork_helps", lambda: True)  # a one-CPU machine forks all the same here


def slow_judge(item: int) -> tuple[int, int]:
    time.sleep(0.0005)  # long enough for both processes to take some
    return item, os.getpid()


def judged(meanwhile=lambda: "done", judge=slow_judge) -> tuple[list[tuple[int, int]], object]:
    return judging.judge_beside(list(range(COUNT)), judge, VerifyCache(None, None, ""), meanwhile)  # type: ignore[arg-type]


def test_both_processes_judge_and_every_item_is_judged_once_in_order():
    verdicts, done = judged()
    assert [item for item, _ in verdicts] == list(range(COUNT)) and done == "done"
    pids = [pid for _, pid in verdicts]
    assert pids[0] == os.getpid() and pids[-1] != os.getpid()
    parent_part = pids.index(pids[-1])
    assert set(pids[:parent_part]) == {os.getpid()} and set(pids[parent_part:]) == {pids[-1]}  # two runs, no mixing


def test_the_child_takes_more_while_this_process_does_its_other_work():
    verdicts, done = judged(meanwhile=lambda: time.sleep(0.15) or "ledger read")
    assert done == "ledger read" and [item for item, _ in verdicts] == list(range(COUNT))
    by_child = sum(1 for _, pid in verdicts if pid != os.getpid())
    assert by_child > COUNT * 0.6


@pytest.mark.parametrize(("parent_reads", "child_reads"), [
    (150, 250),  # each reads the other's counter wrong: a gap, 150 to 250, that this process judges after
    (300, 100),  # each reads it late: 100 to 300 judged twice, this process's verdicts kept
])
def test_where_the_two_stop_wrong_every_item_is_judged_and_this_processs_verdict_kept(monkeypatch, parent_reads,
                                                                                     child_reads):
    monkeypatch.setattr(judging._Progress, "child_start", lambda self: parent_reads)
    monkeypatch.setattr(judging._Progress, "parent_end", lambda self: child_reads)
    verdicts, _ = judged(judge=lambda item: (item, os.getpid()))
    assert [item for item, _ in verdicts] == list(range(COUNT))
    here = max(parent_reads, child_reads)  # the parent's part, and the gap it filled
    assert {pid for item, pid in verdicts if item < here} == {os.getpid()}
    assert os.getpid() not in {pid for item, pid in verdicts if item >= here}


def test_a_child_that_dies_has_its_part_judged_here():
    parent = os.getpid()

    def judge(item: int) -> tuple[int, int]:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return item, os.getpid()

    verdicts, _ = judged(judge=judge)
    assert verdicts == [(item, parent) for item in range(COUNT)]


def test_an_error_in_the_child_is_raised_here_after_the_items_before_it():
    parent = os.getpid()
    judged_here: list[int] = []

    def judge(item: int) -> int:
        if os.getpid() == parent:
            judged_here.append(item)
        if item == COUNT - 1:
            raise ValueError(f"item {item} refused")
        return item

    with pytest.raises(ValueError, match=f"item {COUNT - 1} refused"):
        judged(judge=judge)
    assert judged_here == list(range(COUNT))
