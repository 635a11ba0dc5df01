"""Run reviewkit on a real pseudo-terminal and answer its question, as a person would."""

from __future__ import annotations

import os
import pty
import sys
from pathlib import Path


def answer_on_terminal(cwd: Path, args: list[str], prompt: bytes, answer: bytes, env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Run `reviewkit ARGS` on a pty, wait for `prompt`, type `answer`; return (exit code, all output)."""
    pid, fd = _spawn(cwd, args, env)
    seen = b""
    while prompt not in seen:
        chunk = os.read(fd, 1024)
        assert chunk, seen
        seen += chunk
    os.write(fd, answer)
    return _finish(pid, fd, seen)


def run_on_terminal(cwd: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Run `reviewkit ARGS` on a pty; return (exit code, all output, line ends as the program wrote them)."""
    pid, fd = _spawn(cwd, args, env)
    code, seen = _finish(pid, fd, b"")
    return code, seen.replace(b"\r\n", b"\n")


def _spawn(cwd: Path, args: list[str], env: dict[str, str] | None) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: reviewkit with the pty as its terminal
        os.chdir(cwd)
        os.environ.update(env or {})
        os.execv(sys.executable, [sys.executable, "-m", "reviewkit", *args])
    return pid, fd


def _finish(pid: int, fd: int, seen: bytes) -> tuple[int, bytes]:
    """Read what the child writes until it closes the terminal; return its exit code and the output."""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen
