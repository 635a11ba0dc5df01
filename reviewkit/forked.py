"""Run one call in a forked child process while this one goes on with other work.

For work that only computes (reads files, builds values) and whose answer is small: the
child inherits everything the parent has built, runs the call, sends back what it
returned or raised (pickled, through a pipe) and ends without running any of the
parent's clean-up. Where the answer cannot come (the child was killed), the call runs
again here, so a caller gets the same answer either way, only later.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_Outcome = tuple[bool, object]  # (True, what the call returned) or (False, what it raised)


def fork_helps() -> bool:
    """Tell whether a forked child can run beside this process: the platform forks, no other
    thread may hold a lock the child would need, a second CPU is there to run it, and no
    profiler or tracer (cProfile, coverage, a debugger) watches this process, which would
    not see what the child does.

    Never on macOS: there a child forked without `exec` can crash in a system library the
    parent has loaded (the Objective-C runtime, the TLS and Kerberos libraries libpq uses);
    Python's own multiprocessing stopped forking there for that reason.
    """
    if not hasattr(os, "fork") or sys.platform == "darwin" or threading.active_count() > 1:
        return False
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return False
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus > 1


class ForkedCall(Generic[T]):
    """A call running in a child process; `result()` waits for it. Use it as a context manager,
    so that the child is always waited for (killed first when its answer is no longer wanted).
    """

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._outcome: _Outcome | None = None
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            code = 1
            try:
                os.close(read_end)
                _send(write_end, _run(call))
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        self._pid: int | None = pid
        self._read_end = read_end

    def result(self) -> T:
        """Return what the call returned, or raise what it raised."""
        if self._outcome is None:
            self._outcome = self._receive()
        ok, value = self._outcome
        if ok:
            return value  # type: ignore[return-value]
        raise value  # type: ignore[misc]

    def _receive(self) -> _Outcome:
        try:
            data = _read_all(self._read_end)
        finally:
            status = self._reap()
        if status != 0:  # the child died before it had answered (killed, out of memory): ask here instead
            return _run(self._call)
        return pickle.loads(data)

    def _reap(self) -> int:
        """Wait for the child; return its exit code (negative: the signal that ended it)."""
        os.close(self._read_end)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        return os.waitstatus_to_exitcode(status)

    def __enter__(self) -> ForkedCall[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pid is not None:  # the answer was not asked for: the caller failed on its own
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()


def _run(call: Callable[[], object]) -> _Outcome:
    try:
        return True, call()
    except BaseException as err:  # noqa: BLE001 - handed to the parent, which raises it
        return False, err


def _send(fd: int, outcome: _Outcome) -> None:
    ok, value = outcome
    if not ok and isinstance(value, BaseException):
        # The traceback does not cross the pipe; its text does, for --debug.
        value.add_note("in a forked child process:\n" + "".join(traceback.format_exception(value)).rstrip())
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - an answer that cannot be pickled is the child's failure
        data = pickle.dumps((False, RuntimeError(f"the forked child's answer cannot be sent: {err}")))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)
