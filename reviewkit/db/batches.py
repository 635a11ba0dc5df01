"""`apply --batch`: a bundle committed in groups of statements, and the lock table a transaction must fit in.

Where DDL is transactional a bundle runs in one transaction, which holds a lock on every
object it touches until it commits. PostgreSQL keeps those locks in one shared table of
fixed size (the dialect's `lock_table`): a bundle of a few thousand tables does not fit,
and fails part-way with "out of shared memory". Before anything runs, `check_lock_table`
estimates each such transaction and refuses the run when one does not fit the server
(`LockTableTooSmall`), naming the two remedies.

`--batch N` commits every N statements; `--batch auto` as many as fit the server's lock
table. Each group commits with the ledger row that counts its statements, as MySQL's
progress is recorded statement by statement: a failure in a group leaves the groups
before it committed, the row `failed` at the first statement of its group, and
`apply --resume` goes on from there. An engine whose DDL commits statement by statement
(MySQL, MariaDB) has nothing to group: `--batch` changes nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reviewkit.bundle.store import Bundle
from reviewkit.db.execute import in_one_transaction, ledger_error
from reviewkit.db.ledger import LedgerRow, LedgerTail, insert_row, now_iso, update_row
from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import LockCapacity, LockCounter, LockTable
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.errors import Interrupted, LockTableTooSmall, OperationFailed, UsageError
from reviewkit.plural import counted, first_statements
from reviewkit.schema.state import Schema

if TYPE_CHECKING:
    from reviewkit.db.plan import ApplyOptions, Step
    from reviewkit.db.runner import Progress
    from reviewkit.dialects.base import Dialect
    from reviewkit.dialects.driver import Driver

AUTO = "auto"
Numbered = tuple[int, ScriptStatement]
_NOT_DUE = object()  # another runner did the step meanwhile
_NO_ROOM = object()  # the lock table had no room for the group: run it again in halves


@dataclass(frozen=True)
class Batch:
    """`--batch N` (statements per transaction) or `--batch auto` (as many as the server's lock table holds)."""

    size: int | None = None  # None: auto

    @classmethod
    def parse(cls, text: str) -> Batch:
        """Read `--batch`'s value, or refuse it (exit 2)."""
        if text.strip().lower() == AUTO:
            return cls()
        try:
            size = int(text)
        except ValueError:
            size = 0
        if size < 1:
            raise UsageError(f"--batch {text}: give the statements per transaction, a whole number above 0, "
                             "or auto (as many as the server's lock table holds)")
        return cls(size)

    def __str__(self) -> str:
        return AUTO if self.size is None else str(self.size)


@dataclass(frozen=True)
class StepLocks:
    """What a step's transactions take of the server's lock table."""

    label: str
    largest: int  # the most locks one of its transactions takes (without --batch: its one transaction's)
    groups: int  # its transactions: 1 without --batch


def grouped(dialect: str, statements: Sequence[ScriptStatement], online: bool, batch: Batch | None,
            start_at: int) -> bool:
    """Tell whether a step runs in groups: it would run in one transaction, and `--batch` is given or it resumes
    a batched run (part of it committed already)."""
    return (batch is not None or start_at > 0) and in_one_transaction(dialect, statements, online)


def schema_before(bundle: Bundle, direction: str, chain: list[Bundle]) -> Callable[[], Schema | None]:
    """Return what reads the schema a step's script starts from: the parent's for up, the bundle's own for down."""
    def read() -> Schema | None:
        if direction == "down":
            return bundle.schema()
        position = next((i for i, b in enumerate(chain) if b.id == bundle.id), 0)
        return chain[position - 1].schema() if position else Schema()
    return read


class _Cutter:
    """Decide, statement by statement, where one group ends and the next begins."""

    def __init__(self, batch: Batch | None, counter: LockCounter | None, capacity: LockCapacity | None) -> None:
        self.batch, self.counter, self.capacity = batch, counter, capacity
        self.count = 0  # statements in the group so far
        self.largest = 0  # the most locks a group took

    def starts_group(self, sql: str) -> bool:
        """Count the next statement in; return True when it begins a new group (the first group aside)."""
        before = self.counter.total if self.counter is not None else 0
        if self.counter is not None:
            self.counter.add(sql)
        cut = False
        if self.count and self.batch is not None:
            if self.batch.size is not None:
                cut = self.count >= self.batch.size
            elif self.capacity is not None and self.counter is not None:
                cut = self.counter.total > self.capacity.budget
        if cut:
            self.count = 0
            if self.counter is not None:  # the statement goes to the new group: counted there alone
                self.largest = max(self.largest, before)
                self.counter.reset()
                self.counter.add(sql)
        self.count += 1
        return cut

    def finish(self) -> None:
        if self.counter is not None:
            self.largest = max(self.largest, self.counter.total)


def measure(statements: Iterable[ScriptStatement], start_at: int, lock_table: LockTable,
            before: Callable[[], Schema | None], batch: Batch | None, capacity: LockCapacity) -> StepLocks:
    """Return what a step's transactions take of the lock table, the statements after `start_at` counted.

    One pass over the statements, read as they come (a large script is never held whole).
    """
    cutter = _Cutter(batch, lock_table.counter(before), capacity)
    count = 0
    for number, statement in enumerate(statements, 1):
        if number > start_at:
            count += 1 if cutter.starts_group(statement.sql) or number == start_at + 1 else 0
    cutter.finish()
    return StepLocks("", cutter.largest, count)


def groups(statements: Iterable[ScriptStatement], start_at: int, batch: Batch | None, counter: LockCounter | None,
           capacity: LockCapacity | None) -> Iterator[tuple[list[Numbered], bool]]:
    """Yield the statements after `start_at` in the groups that commit together, each with whether it is the last.

    `counter` counts locks for `--batch auto` (None otherwise). Read as they come, so the
    last group is known when it is reached.
    """
    cutter = _Cutter(batch, counter, capacity)
    group: list[Numbered] = []
    for number, statement in enumerate(statements, 1):
        if number <= start_at:
            continue
        if cutter.starts_group(statement.sql):
            yield group, False
            group = []
        group.append((number, statement))
    if group:
        yield group, True


def auto_cuts(statements: Iterable[ScriptStatement], counter: LockCounter, capacity: LockCapacity) -> set[int]:
    """Return the numbers of the statements that begin a new transaction under `--batch auto` (the first aside)."""
    cutter = _Cutter(Batch(), counter, capacity)
    return {number for number, statement in enumerate(statements, 1) if cutter.starts_group(statement.sql)}


# -- running a step in groups ---------------------------------------------------------------


class GroupedRuns:
    """The runner's way through a step in groups of statements (`reviewkit.db.runner.Runner` is one).

    It uses the runner's connection, driver, options, progress, ledger rows (`_row`,
    `_still_due`) and statements (`_execute`).
    """

    conn: Connection
    options: ApplyOptions
    chain: list[Bundle]
    ledger: LedgerTail
    capacity: LockCapacity | None
    dialect: Dialect
    driver: Driver
    progress: Progress

    def _run_in_groups(self, step: Step) -> int:
        """Run a step in transactions of `--batch` statements, each committed with the ledger row that counts it.

        As on MySQL the row says how far the step got: `running` with the statements committed,
        `failed` when a group failed (rolled back whole), `applied` with the last group. A group
        for which the server's lock table has no room (other sessions hold the slots the
        estimate counted on) is rolled back and run again in halves.
        """
        restore = self.driver.prepare_session(self.conn)
        row: LedgerRow | None = None
        try:
            for group, last in groups(step.statements, step.start_at, self.options.batch, self._lock_counter(step),
                                      self.capacity):
                parts = [group]
                while parts:
                    part = parts.pop(0)
                    outcome = self._commit_group(step, part, row, last and not parts)
                    if outcome is _NOT_DUE:
                        return 0
                    if outcome is _NO_ROOM:
                        half = len(part) // 2
                        parts[:0] = [part[:half], part[half:]]
                        self.progress.note(f"{step.bundle.id}: the server's lock table had no room for statements "
                                           f"{part[0][0]}-{part[-1][0]} (other sessions hold its slots): run again "
                                           f"in groups of {half} or fewer")
                        continue
                    row = outcome
            if row is None:  # nothing was left to run (the live schema had the rest): recorded as applied
                row = self._record_done(step)
        finally:
            self._restore(restore)
        return (row.statements_done if row else step.start_at) - step.start_at

    def _commit_group(self, step: Step, group: list[Numbered], row: LedgerRow | None, last: bool) -> object:
        """Run one group in a transaction with the ledger row that counts it; return the row, or what stopped it."""
        self.driver.begin_bundle(self.conn)
        rows = self.ledger.read(self.conn)
        if row is None and not self._still_due(step):
            self.conn.rollback()
            return _NOT_DUE
        if not self._run_group(step, group, row):
            return _NO_ROOM
        row = self._count_group(step, rows, row, group[-1][0], last)
        self.conn.commit()
        return row

    def _record_done(self, step: Step) -> LedgerRow | None:
        self.driver.begin_bundle(self.conn)
        rows = self.ledger.read(self.conn)
        row = None
        if self._still_due(step):
            row = self._row(rows, step, "applied", step.start_at)
            insert_row(self.conn, row)
        self.conn.commit()
        return row

    def _count_group(self, step: Step, rows: list[LedgerRow], row: LedgerRow | None, done: int, last: bool) -> LedgerRow:
        """Write, in the group's transaction, the row that says `done` statements are committed."""
        status = "applied" if last else "running"
        if row is None:
            row = self._row(rows, step, status, done)
            insert_row(self.conn, row)
            return row
        row = replace(row, statements_done=done, status=status, finished_at=now_iso() if last else None).sealed()
        update_row(self.conn, row)
        return row

    def _lock_counter(self, step: Step) -> LockCounter | None:
        """What counts a group's locks for `--batch auto`; None when groups are cut by their number of statements."""
        batch, lock_table = self.options.batch, self.dialect.lock_table
        if batch is None or batch.size is not None or lock_table is None:
            return None
        return lock_table.counter(schema_before(step.bundle, step.direction, self.chain))

    def _run_group(self, step: Step, group: list[Numbered], row: LedgerRow | None) -> bool:
        """Run one group of a batched step in the open transaction; False when the lock table had no room for it
        (rolled back: it is to run again in smaller groups). On a failure, record it and raise."""
        try:
            try:
                self._send(step, group)
            except OperationFailed as failure:
                if self.conn.is_gone():
                    raise
                self.conn.rollback()
                if len(group) > 1 and self._no_room(failure):
                    return False
                self.driver.begin_bundle(self.conn)  # start over one statement at a time, to name the culprit
                for number, statement in group:
                    self._execute(step, number, statement)
        except OperationFailed as failure:
            if self.conn.is_gone():  # the row stays `running` at the groups committed: read as a stopped run
                raise
            self.conn.rollback()
            self._record_group_failure(step, row, group[0][0] - 1, failure)
            raise
        except KeyboardInterrupt:
            with suppress(OperationFailed):
                self.conn.rollback()
            raise self._interrupted(step, row, group[0][0] - 1) from None
        return True

    def _send(self, step: Step, group: list[Numbered]) -> None:
        """Run a group's statements, as many per round trip as the engine takes (`batch_size`)."""
        size = self.dialect.batch_size
        for start in range(0, len(group), size):
            chunk = group[start:start + size]
            if size == 1:
                self._execute(step, *chunk[0])
                continue
            self.conn.execute(";\n".join(statement.sql for _, statement in chunk))
            self.progress.statement_done(step, chunk[-1][0])

    def _no_room(self, failure: OperationFailed) -> bool:
        lock_table = self.dialect.lock_table
        return lock_table is not None and lock_table.full(str(failure))

    @staticmethod
    def _interrupted(step: Step, row: LedgerRow | None, done: int) -> Interrupted:
        if row is None and done == 0:
            return Interrupted(f"interrupted: nothing of {step.bundle.id} was applied (its first group of statements "
                               "was rolled back)")
        return Interrupted(f"interrupted in {step.bundle.id}: {first_statements(done)} committed (--batch), the group "
                           f"from statement {done + 1} rolled back; `reviewkit apply --resume` goes on from there")

    def _record_group_failure(self, step: Step, row: LedgerRow | None, done: int, failure: OperationFailed) -> None:
        """Record a failed group: the groups before it stay committed, and the row says how many statements they hold."""
        self.driver.begin_bundle(self.conn)
        rows = self.ledger.read(self.conn)
        if row is None:
            insert_row(self.conn, self._row(rows, step, "failed", done, error=ledger_error(failure)))
        else:
            update_row(self.conn, replace(row, status="failed", finished_at=now_iso(),
                                          error=ledger_error(failure)).sealed())
        self.conn.commit()


# -- before anything runs ------------------------------------------------------------------


def check_lock_table(conn: Connection, steps: Sequence, chain: list[Bundle], batch: Batch | None,
                     refuse: bool = True) -> tuple[LockCapacity | None, list[str]]:
    """Read the server's lock table and judge each step that runs in one transaction (or in groups) against it.

    Return the server's lock table (None where the engine has none to fill) and lines for
    the user. With `refuse` (a run, not a dry run), a step whose transaction does not fit
    raises LockTableTooSmall before anything ran.
    """
    engine = get_dialect(conn.dialect)
    notes: list[str] = []
    if batch is not None and not engine.transactional_ddl:
        notes.append(f"--batch {batch}: {engine.title} commits each statement on its own, as every run there does; "
                     "nothing to group")
    lock_table = engine.lock_table
    if lock_table is None:
        return None, notes
    capacity = lock_table.read(conn)
    for step in steps:
        if not in_one_transaction(conn.dialect, step.statements, step.bundle.online):
            continue  # statement by statement: each transaction holds one statement's locks
        locks = replace(measure(step.statements, step.start_at, lock_table,
                                schema_before(step.bundle, step.direction, chain), batch, capacity), label=step.label)
        if locks.largest > capacity.budget:
            if refuse:
                raise LockTableTooSmall(_too_many(locks, capacity, batch))
            notes.append(f"would be refused: {_too_many(locks, capacity, batch)}")
        elif batch is not None and not refuse:
            notes.append(f"{step.label}: --batch {batch} commits {counted(locks.groups, 'group')} of statements, "
                         f"the largest taking about {locks.largest:,} locks (this server: {capacity.budget:,} for "
                         "one transaction)")
    return capacity, notes


def _too_many(locks: StepLocks, capacity: LockCapacity, batch: Batch | None) -> str:
    """The refusal: the bundle, its estimate, the server's table, and what makes it fit."""
    if batch is None:
        what = f"{locks.label} takes about {locks.largest:,} locks in its one transaction"
        remedy = "apply it with --batch auto (or --batch N: N statements per transaction, each group recorded " \
                 "in the ledger)"
    else:
        what = f"{locks.label}: a transaction of --batch {batch} takes about {locks.largest:,} locks"
        remedy = "give a smaller --batch, or --batch auto"
    return (f"{what}; this server's lock table holds {capacity.describe()}, of which one transaction may take "
            f"{capacity.budget:,} (the rest is kept for other sessions); nothing was run\n"
            f"  {remedy}, or {capacity.remedy}")
