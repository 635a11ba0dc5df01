"""`reviewkit.forked`: a call run in a forked child answers as it would have here, and leaves no process behind."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from reviewkit.errors import ModelError
from reviewkit.forked import ForkedCall, fork_helps

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")


def _gone(pid: int) -> bool:
    """Tell whether `pid` was waited for already (no zombie left of it)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_child_answers_with_what_the_call_returned():
    parent = os.getpid()
    with ForkedCall(lambda: (os.getpid(), ["a" * 10] * 100_000)) as child:  # more than a pipe's buffer holds
        pid, big = child.result()
    assert pid != parent and big == ["a" * 10] * 100_000 and _gone(pid)


def test_what_the_call_raised_is_raised_with_its_traceback_as_a_note():
    def refuse():
        raise ModelError("models/a.sql:3: does not parse")

    with ForkedCall(refuse) as child, pytest.raises(ModelError, match="does not parse") as raised:
        child.result()
    assert any("in a forked child process" in note and "refuse" in note for note in raised.value.__notes__)


def test_a_child_that_dies_before_answering_is_asked_again_here():
    parent = os.getpid()

    def die_in_the_child():
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return "answered here"

    with ForkedCall(die_in_the_child) as child:
        assert child.result() == "answered here"


def test_an_answer_that_cannot_be_sent_is_an_error():
    with ForkedCall(lambda: lambda: None) as child, pytest.raises(RuntimeError, match="cannot be sent"):
        child.result()


def test_a_child_whose_answer_is_not_wanted_is_ended_and_waited_for():
    with pytest.raises(KeyError), ForkedCall(lambda: signal.pause()) as child:
        pid = child._pid
        raise KeyError("the caller failed on its own")
    assert _gone(pid)


def test_fork_helps_only_with_one_thread_and_a_second_cpu_off_macos(monkeypatch):
    monkeypatch.setattr(sys, "gettrace", lambda: None)  # as in a `reviewkit` process, even under coverage
    monkeypatch.setattr(sys, "getprofile", lambda: None)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert not fork_helps()
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert fork_helps()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not fork_helps()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr("threading.active_count", lambda: 2)
    assert not fork_helps()
