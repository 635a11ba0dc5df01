"""`apply --fleet`: one project's bundles applied to many databases, N at a time.

Each database goes through the single-database path (`runner.apply`) in a thread of its
own, with its own connection, lock and ledger; the drivers release the GIL while the
server works, so N threads keep N servers busy. What every database shares is read and
checked once: the bundles, the approval gate, and each bundle's files and approvals
(`VerifiedOnce`). A database that fails does not stop the others unless `fail_fast`.

Ctrl-C reaches the main thread only. It stops the fleet: no database starts, and each one
running gets the same KeyboardInterrupt a single apply gets, with its statement cancelled
on the server, so that each runner rolls back or records how far it got as it always does.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Protocol

from reviewkit.config import Settings
from reviewkit.db.runner import ApplyOptions, ApplyResult, Prepared, Progress, Step, apply, prepare, verify_steps
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection, redact
from reviewkit.errors import ConfigError, Interrupted, ReviewkitError, UsageError
from reviewkit.signoff.gate import ApprovalGate

DEFAULT_JOBS = 4
INTERRUPTED = 130


# -- which databases ----------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One database of a fleet: `ref` as the fleet lists it (a name or a URL), `label` as output shows it."""

    ref: str
    label: str
    position: int  # 1-based, in the fleet's listed order


@dataclass(frozen=True)
class Shard:
    """`--shard I/N`: every N-th database of the fleet, starting at the I-th (1-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Read "I/N"; refuse anything but whole numbers with 1 <= I <= N."""
        index, slash, count = text.partition("/")
        if not (slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
            raise UsageError(f"--shard {text}: give I/N, whole numbers with 1 <= I <= N (--shard 2/4: "
                             "the 2nd, 6th, 10th... database of the fleet)")
        return cls(int(index), int(count))

    def take(self, members: list[Member]) -> list[Member]:
        return members[self.index - 1::self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def fleet_members(settings: Settings, fleet: str, shard: Shard | None = None) -> list[Member]:
    """Return the databases of `fleet` in its listed order, only this shard's when given."""
    if fleet not in settings.fleets:
        known = ", ".join(sorted(settings.fleets)) or "none"
        raise ConfigError(f"no fleet named {fleet!r} in [fleets] (known: {known})")
    members = [Member(ref, redact(ref) if "://" in ref else ref, position)
               for position, ref in enumerate(settings.fleets[fleet], 1)]
    return shard.take(members) if shard else members


def check_jobs(jobs: int) -> int:
    """Refuse (exit 2) a `--jobs` below 1."""
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: give how many databases at a time, a whole number of 1 or more")
    return jobs


# -- what each database did ---------------------------------------------------------------


@dataclass
class Outcome:
    """What one database of the fleet reached in this run."""

    member: Member
    result: str = "not run"  # applied, rolled back, up to date, failed, refused, interrupted, not run
    steps: list[Step] = field(default_factory=list)  # the bundles this run took to their end
    statements: int = 0
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0

    @property
    def applied(self) -> int:
        return sum(1 for step in self.steps if step.direction == "up")

    @property
    def rolled_back(self) -> int:
        return sum(1 for step in self.steps if step.direction == "down")

    def done(self, result: ApplyResult) -> None:
        self.steps, self.statements = result.steps, result.statements
        self.result = "up to date" if not result.steps else ("rolled back" if self.rolled_back else "applied")

    def stopped(self, error: ReviewkitError, finished: list[Step]) -> None:
        """Record an apply that raised: what it finished before, and why it stopped."""
        self.steps, self.error, self.exit_code = finished, str(error), error.exit_code
        self.result = "interrupted" if isinstance(error, Interrupted) else ("failed" if error.exit_code == 1 else "refused")


@dataclass
class FleetResult:
    fleet: str
    shard: Shard | None
    outcomes: list[Outcome]
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """The worst database's: an interrupt, then a refusal (3), a usage error (2), a failure (1)."""
        if self.interrupted:
            return INTERRUPTED
        return max((o.exit_code for o in self.outcomes), default=0)


class FleetProgress(Progress, Protocol):
    """A database's progress: the runner's callbacks, and the two the fleet adds around them."""

    def planned(self, steps: list[Step]) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...


# -- checked once -------------------------------------------------------------------------


class VerifiedOnce:
    """Verify each bundle's files and approvals once for the fleet, whichever database needs it first.

    A bundle that does not hold is refused to every database that would run it, with the
    same message, without hashing it again.
    """

    def __init__(self, gate: ApprovalGate) -> None:
        self._gate = gate
        self._lock = threading.Lock()
        self._verdicts: dict[tuple[str, str], ReviewkitError | None] = {}
        self.checked = 0  # bundles hashed and checked, for the tests that count them

    def __call__(self, steps: list[Step]) -> None:
        with self._lock:
            for step in steps:
                key = (step.bundle.id, step.direction)
                if key not in self._verdicts:
                    self.checked += 1
                    try:
                        verify_steps([step], self._gate)
                        self._verdicts[key] = None
                    except ReviewkitError as refused:
                        self._verdicts[key] = refused
                verdict = self._verdicts[key]
                if verdict is not None:
                    raise type(verdict)(str(verdict))  # a fresh one: each thread's traceback its own


# -- the workers --------------------------------------------------------------------------


class Workers:
    """The threads applying right now, each with its connection once open: what a Ctrl-C stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, Connection | None] = {}

    def started(self) -> None:
        with self._lock:
            self._running[threading.get_ident()] = None

    def opened(self, conn: Connection) -> None:
        with self._lock:
            self._running[threading.get_ident()] = conn

    def finished(self) -> None:
        with self._lock:
            self._running.pop(threading.get_ident(), None)

    def interrupt_all(self) -> None:
        """Give each running worker a KeyboardInterrupt, and cancel the statement it waits on."""
        with self._lock:
            for ident, conn in self._running.items():
                _raise_in_thread(ident, KeyboardInterrupt)
                if conn is not None and not conn.is_gone():
                    with suppress(Exception):  # the statement may have ended, the connection with it
                        get_dialect(conn.dialect).driver.interrupt(conn)


def _raise_in_thread(ident: int, kind: type[BaseException]) -> None:
    """Raise `kind` in thread `ident` at its next Python instruction (CPython's PyThreadState_SetAsyncExc).

    A thread waiting in a driver call gets it when the call returns: `interrupt_all`
    cancels the statement so that it returns at once.
    """
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(kind))


@dataclass
class _Tracked:
    """The database's progress, passed through, with the steps it saw finish."""

    inner: FleetProgress
    finished: list[Step] = field(default_factory=list)

    def step_started(self, step: Step, index: int, total: int) -> None:
        self.inner.step_started(step, index, total)

    def statement_done(self, step: Step, number: int) -> None:
        self.inner.statement_done(step, number)

    def step_finished(self, step: Step, seconds: float) -> None:
        self.finished.append(step)
        self.inner.step_finished(step, seconds)

    def note(self, line: str) -> None:
        self.inner.note(line)


@dataclass
class FleetRun:
    """One `apply --fleet`: the databases, what they share, and the threads that work through them."""

    settings: Settings
    members: list[Member]
    options: ApplyOptions
    progress_for: Callable[[Member], FleetProgress]
    confirm: Callable[[list[Step]], bool] | None  # None: nothing needs a person's yes (--yes)
    fail_fast: bool = False
    prepared: Prepared = field(init=False)
    outcomes: list[Outcome] = field(init=False)
    stop: threading.Event = field(default_factory=threading.Event)
    workers: Workers = field(default_factory=Workers)
    confirmed: set[tuple[str, str]] = field(default_factory=set)
    _queue: list[Outcome] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        plain = prepare(self.settings, self.options)
        self.prepared = replace(plain, verify=VerifiedOnce(plain.gate))
        self.outcomes = [Outcome(member) for member in self.members]

    def run(self, jobs: int) -> bool:
        """Apply to every database, `jobs` at a time; return False when Ctrl-C stopped the fleet."""
        self._confirm_once(jobs)
        self._queue = list(reversed(self.outcomes))
        threads = [threading.Thread(target=self._work, name=f"reviewkit-fleet-{n}", daemon=True)
                   for n in range(min(jobs, len(self.outcomes)))]
        for thread in threads:
            thread.start()
        try:
            _join(threads)
        except KeyboardInterrupt:
            self.stop.set()
            self.workers.interrupt_all()
            _join(threads)  # each runner rolls back or records where it stopped; a second Ctrl-C leaves at once
            return False
        return True

    def _next(self) -> Outcome | None:
        with self._lock:
            return None if self.stop.is_set() or not self._queue else self._queue.pop()

    def _work(self) -> None:
        while (outcome := self._next()) is not None:
            self._apply_one(outcome)

    def _apply_one(self, outcome: Outcome) -> None:
        progress = _Tracked(self.progress_for(outcome.member))
        started = time.monotonic()
        try:
            self.workers.started()
            try:
                result = apply(self.settings, outcome.member.ref, self.options, progress, self._confirm_database(progress),
                               self.prepared, self.workers.opened)
                outcome.done(result)
            finally:
                self.workers.finished()
        except KeyboardInterrupt:  # it reached the fleet's code, outside any bundle
            self.workers.finished()
            if outcome.result == "not run":
                outcome.stopped(Interrupted("interrupted before or between bundles"), progress.finished)
        except ReviewkitError as error:
            outcome.stopped(error, progress.finished)
        except Exception as error:  # noqa: BLE001 - a bug on one database must not hide what the others did
            outcome.stopped(ReviewkitError(f"internal error: {type(error).__name__}: {error}"), progress.finished)
        outcome.seconds = time.monotonic() - started
        if self.fail_fast and outcome.exit_code:
            self.stop.set()
        progress.inner.finished(outcome)

    # -- confirmation: once for the fleet -------------------------------------------------

    def _may_need_confirmation(self) -> bool:
        """The CLI asks before down scripts and high-risk bundles: only `--to` or a high-risk bundle can bring them."""
        return self.confirm is not None and (
            self.options.to is not None or any(b.risk_level == "high" for b in self.prepared.bundles))

    def _confirm_once(self, jobs: int) -> None:
        """Plan every database (a dry run), then ask once about all that needs a yes, before any database is touched."""
        if not self._may_need_confirmation():
            return
        planned: dict[tuple[str, str], Step] = {}
        dry = replace(self.options, dry_run=True)

        def plan_one(member: Member) -> None:
            with suppress(ReviewkitError):  # the run itself reports a database it cannot reach or plan
                for step in apply(self.settings, member.ref, dry, prepared=self.prepared).steps:
                    planned.setdefault((step.bundle.id, step.direction), step)

        for_each(plan_one, self.members, jobs)
        steps = list(planned.values())
        if steps and self.confirm(steps):
            self.confirmed.update(planned)

    def _confirm_database(self, progress: _Tracked) -> Callable[[list[Step]], bool]:
        def confirm(steps: list[Step]) -> bool:
            progress.inner.planned(steps)
            fresh = [s for s in steps if (s.bundle.id, s.direction) not in self.confirmed]
            if fresh and self.confirm is not None:
                with self._lock:  # one question at a time; a database whose plan changed since the fleet's
                    if not self.confirm(fresh):
                        return False
                    self.confirmed.update((s.bundle.id, s.direction) for s in fresh)
            return True

        return confirm


def _join(threads: list[threading.Thread]) -> None:
    """Wait for the threads, in short waits: a Ctrl-C is seen between two."""
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def for_each(work: Callable[[Member], None], members: list[Member], jobs: int) -> None:
    """Call `work` on every member, `jobs` threads at a time."""
    queue = list(reversed(members))
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                if not queue:
                    return
                member = queue.pop()
            work(member)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(min(jobs, len(members)))]
    for thread in threads:
        thread.start()
    _join(threads)


def apply_fleet(settings: Settings, fleet: str, options: ApplyOptions, progress_for: Callable[[Member], FleetProgress],
                confirm: Callable[[list[Step]], bool] | None, jobs: int = DEFAULT_JOBS, fail_fast: bool = False,
                shard: Shard | None = None) -> FleetResult:
    """Bring every database of `fleet` (this shard's) to the requested bundle, `jobs` at a time."""
    check_jobs(jobs)
    if options.dry_run:
        raise UsageError("--dry-run works on one database: give --database instead of --fleet")
    run = FleetRun(settings, fleet_members(settings, fleet, shard), options, progress_for, confirm, fail_fast)
    completed = run.run(jobs)
    return FleetResult(fleet, shard, run.outcomes, interrupted=not completed)
