"""`reviewkit apply`: verify, plan, lock, run bundles in order, record each in the ledger.

Where DDL is transactional (PostgreSQL, SQLite) a bundle and its ledger row commit
together or not at all; a failure is recorded afterwards as a `failed` row and leaves
nothing else behind. Where it is not (MySQL/MariaDB, an online bundle, or a PostgreSQL
bundle with CREATE INDEX CONCURRENTLY) the ledger row is written first and advanced after
every statement, so after a failure or a crash it says exactly how far the bundle got.
`apply --batch` commits a transactional bundle in groups of statements, each with its
ledger row advanced, the same way (`reviewkit.db.batches`), and a PostgreSQL bundle whose
one transaction would not fit the server's lock table is refused before anything runs.
What runs is planned in `reviewkit.db.plan`; where a half-applied bundle starts again, or
its rollback starts, in `reviewkit.db.resume`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Protocol

from reviewkit.bundle.digest import verify_files
from reviewkit.bundle.store import Bundle, load_bundles, replaced_problems
from reviewkit.bundle.verify_cache import VerifyCache, open_cache
from reviewkit.config import Settings, os_user
from reviewkit.db.batches import GroupedRuns, check_lock_table, grouped
from reviewkit.db.execute import in_one_transaction, ledger_error, run_statement
from reviewkit.db.ledger import (
    BundleState,
    LedgerRow,
    LedgerTail,
    create_ledger,
    first_of,
    insert_row,
    ledger_exists,
    next_row,
    now_iso,
    read_rows,
    update_row,
)
from reviewkit.db.plan import ApplyOptions, Step, plan
from reviewkit.db.squashed import ledger_view
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import Dialect, LockCapacity
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.driver import Driver
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.errors import IntegrityError, Interrupted, OperationFailed, UsageError
from reviewkit.plural import first_statements
from reviewkit.signoff.gate import ApprovalGate, approval_gate


class Progress(Protocol):
    def step_started(self, step: Step, index: int, total: int) -> None: ...

    def statement_done(self, step: Step, number: int) -> None: ...

    def step_finished(self, step: Step, seconds: float) -> None: ...

    def note(self, line: str) -> None: ...


class SilentProgress:
    def step_started(self, step: Step, index: int, total: int) -> None:
        pass

    def statement_done(self, step: Step, number: int) -> None:
        pass

    def step_finished(self, step: Step, seconds: float) -> None:
        pass

    def note(self, line: str) -> None:
        pass


@dataclass
class ApplyResult:
    steps: list[Step] = field(default_factory=list)  # the steps this run took (or would take: dry run)
    statements: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    done_elsewhere: list[Step] = field(default_factory=list)  # planned, then found done by another runner
    notes: list[str] = field(default_factory=list)  # what a dry run says of the server's lock table and --batch


def resolve_actor(explicit: str | None) -> str:
    """--actor, else REVIEWKIT_ACTOR, else the OS user; refused when the ledger could not keep it."""
    actor, given_by = (explicit, "--actor") if explicit else (os.environ.get("REVIEWKIT_ACTOR"), "REVIEWKIT_ACTOR")
    if not actor:
        actor, given_by = os_user(), "the OS user name"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in actor):
        # The ledger refuses such a row when it is read back: never write one.
        raise UsageError(f"{given_by} {actor[:70]!r} holds a control character; give a name on one line")
    return actor


# -- running ------------------------------------------------------------------------------


@dataclass
class Runner(GroupedRuns):
    conn: Connection
    options: ApplyOptions
    progress: Progress
    approvals_for: Callable[[Bundle], list[dict]]
    actor: str = ""
    # Steps another runner took between this one's plan and its turn at the lock (SQLite's
    # lock is per bundle): skipped, and reported as theirs.
    done_elsewhere: list[Step] = field(default_factory=list)
    chain: list[Bundle] = field(default_factory=list)  # every bundle: a squash's state may come from its originals' rows
    ledger: LedgerTail = field(default_factory=LedgerTail)  # read again before each bundle, only what is new
    capacity: LockCapacity | None = None  # the server's lock table, where the engine has one (`--batch auto`)

    @property
    def dialect(self) -> Dialect:
        return get_dialect(self.conn.dialect)

    @property
    def driver(self) -> Driver:
        return self.dialect.driver

    def run(self, steps: list[Step]) -> int:
        done = 0
        for index, step in enumerate(steps, 1):
            started = time.monotonic()
            self.progress.step_started(step, index, len(steps))
            if self.options.fake:
                self._record_fake(step)
            elif grouped(self.conn.dialect, step.statements, step.bundle.online, self.options.batch, step.start_at):
                done += self._run_in_groups(step)
            elif in_one_transaction(self.conn.dialect, step.statements, step.bundle.online):
                done += self._run_in_transaction(step)
            else:
                done += self._run_statement_by_statement(step)
            self.progress.step_finished(step, time.monotonic() - started)
        return done

    def _row(self, rows: list[LedgerRow], step: Step, status: str, done: int, error: str | None = None) -> LedgerRow:
        finished = None if status == "running" else now_iso()
        approvals = self.approvals_for(step.bundle) if step.direction == "up" else []
        return next_row(
            rows, bundle_id=step.bundle.id, digest=step.bundle.digest, dialect=self.conn.dialect,
            direction=step.direction, status=status, statements_total=len(step.statements), statements_done=done,
            started_at=now_iso(), finished_at=finished, applied_by=self.actor,
            approvals=json.dumps(approvals, sort_keys=True), error=error,
        )

    def _still_due(self, step: Step) -> bool:
        """Re-check under the lock: another runner may have done this step meanwhile."""
        # The rows of this bundle (and of those it replaces) say: the whole ledger each time made apply quadratic.
        mine = self.ledger.rows_of([step.bundle.id, *step.bundle.replaced_ids])
        state = ledger_view(mine, [step.bundle]).states.get(step.bundle.id, BundleState("pending"))
        due = state.is_applied == (step.direction == "down") or state.state == "failed"
        if not due:
            self.done_elsewhere.append(step)
            self.progress.note(f"{step.bundle.id}: {'applied' if step.direction == 'up' else 'rolled back'} "
                               "by another runner meanwhile; skipped")
        return due

    def _record_fake(self, step: Step) -> None:
        self.driver.begin_bundle(self.conn)
        rows = self.ledger.read(self.conn)
        if self._still_due(step):
            insert_row(self.conn, self._row(rows, step, "faked", 0))
        self.conn.commit()

    def _run_in_transaction(self, step: Step) -> int:
        restore = self.driver.prepare_session(self.conn)
        try:
            self.driver.begin_bundle(self.conn)
            rows = self.ledger.read(self.conn)
            if not self._still_due(step):
                self.conn.rollback()
                return 0
            try:
                if not self._execute_batches(step):
                    # A batch failed: start over one statement at a time to name the culprit.
                    self.conn.rollback()
                    self.driver.begin_bundle(self.conn)
                    rows = self.ledger.read(self.conn)
                    for number, statement in enumerate(step.statements, 1):
                        self._execute(step, number, statement)
                insert_row(self.conn, self._row(rows, step, "applied", len(step.statements)))
                self.conn.commit()
            except OperationFailed as failure:
                if self.conn.is_gone():  # the server rolled the transaction back; nothing can be recorded
                    raise
                self.conn.rollback()
                self._record_failure(step, failure)
                raise
            except KeyboardInterrupt:
                with suppress(OperationFailed):  # a connection the interrupt broke has rolled back on its own
                    self.conn.rollback()
                raise Interrupted(f"interrupted: nothing of {step.bundle.id} was applied (its transaction was "
                                  "rolled back)") from None
        finally:
            self._restore(restore)
        return len(step.statements)

    def _restore(self, restore: Callable[[], None]) -> None:
        """Give the session its settings back, unless the connection is gone (the session with it)."""
        if self.conn.is_gone():
            return
        restore()

    def _run_statement_by_statement(self, step: Step) -> int:
        rows = self.ledger.read(self.conn)
        if not self._still_due(step):
            return 0
        row = self._row(rows, step, "running", step.start_at)
        insert_row(self.conn, row)
        restore = self.driver.prepare_session(self.conn)
        try:
            for number, statement in enumerate(step.statements, 1):
                if number <= step.start_at:
                    self._set_up_session_again(step, number, statement)
                    continue
                try:
                    self._execute(step, number, statement)
                except OperationFailed as failure:
                    if not self.conn.is_gone():  # else the row stays `running`: the next run reads it as stopped
                        update_row(self.conn, replace(row, status="failed", finished_at=now_iso(),
                                                      error=ledger_error(failure)).sealed())
                    raise
                except KeyboardInterrupt:
                    # The driver may be half-way through reading the server's answer: nothing more
                    # can be said on this connection. Closed, it ends its session (and lock).
                    with suppress(Exception):
                        self.driver.cancel_statement(self.conn)
                    with suppress(Exception):
                        self.conn.close()
                    raise Interrupted(
                        f"interrupted at statement {number} of {len(step.statements)} of {step.bundle.id}: "
                        f"{first_statements(number - 1)} committed, statement {number} cancelled; "
                        "`reviewkit apply --resume` goes on from what the database has") from None
                row = replace(row, statements_done=number).sealed()
                update_row(self.conn, row)
        finally:
            self._restore(restore)
        update_row(self.conn, replace(row, status="applied", finished_at=now_iso()).sealed())
        return len(step.statements) - step.start_at

    def _set_up_session_again(self, step: Step, number: int, statement: ScriptStatement) -> None:
        """A resumed bundle runs on a new session: what the statements already done set for theirs is set again."""
        if self.driver.session_setting(statement.sql):
            self._execute(step, number, statement)
            self.progress.note(f"{step.bundle.id}: statement {number} sets up the session; run again before resuming: "
                               f"{statement.sql.strip().splitlines()[0][:80]}")

    def _execute_batches(self, step: Step) -> bool:
        """Run the statements in batches, one round trip each; False when a batch failed.

        Where the engine runs several statements per call and nothing needs a statement's
        own result (PostgreSQL), this keeps a large bundle within reach of `psql -1 -f`.
        """
        size = self.dialect.batch_size
        start = 0
        for chunk in _batches(step.statements, size):
            if size == 1:
                self._execute(step, start + 1, chunk[0])
            else:
                try:
                    self.conn.execute(";\n".join(s.sql for s in chunk))
                except OperationFailed:
                    return False
                self.progress.statement_done(step, start + len(chunk))
            start += len(chunk)
        return True

    def _execute(self, step: Step, number: int, statement: ScriptStatement) -> None:
        where = f"{step.bundle.id}/{self.conn.dialect}/{step.direction}.sql"
        run_statement(self.conn, statement, number, where, self.progress.note)
        self.progress.statement_done(step, number)

    def _record_failure(self, step: Step, failure: OperationFailed) -> None:
        """Record a failed transactional run: nothing of it remains, so no statement counts as done."""
        self.driver.begin_bundle(self.conn)
        rows = self.ledger.read(self.conn)
        insert_row(self.conn, self._row(rows, step, "failed", 0, error=ledger_error(failure)))
        self.conn.commit()


def _batches(statements: Iterable[ScriptStatement], size: int) -> Iterator[list[ScriptStatement]]:
    """Yield the statements `size` at a time, reading them as they come (a large script is never held whole)."""
    batch: list[ScriptStatement] = []
    for statement in statements:
        batch.append(statement)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def verify_steps(steps: list[Step], gate: ApprovalGate, cache: VerifyCache | None = None) -> None:
    """Refuse (exit 3) before anything runs when a bundle's files or approvals do not hold.

    `cache` spares reading what an earlier run found unchanged (`reviewkit.bundle.verify_cache`).
    """
    for step in steps:
        bundle = step.bundle
        problems = verify_files(bundle.path, bundle.manifest, cache, bundle.computed_digest) + replaced_problems(bundle, cache)
        if problems:
            raise IntegrityError(first_of(problems))
        if step.direction == "up":
            gate.check(step.bundle)


@dataclass(frozen=True)
class Prepared:
    """What every apply reads before it connects: the bundles, the approval gate, how steps are verified.

    A fleet prepares once and passes the same to each database: the bundles are read once,
    and `verify` remembers what it has checked, so each bundle's files and approvals are
    verified once for every database.
    """

    bundles: list[Bundle]
    gate: ApprovalGate
    verify: Callable[[list[Step]], None]


def prepare(settings: Settings, options: ApplyOptions) -> Prepared:
    """Read the bundles and the approval policy; refuse when there is nothing to apply."""
    cache = open_cache(settings.root, settings.bundles_dir)
    gate = approval_gate(settings, options.reviewers, cache)
    bundles = load_bundles(settings.bundles_dir, cache)
    if not bundles:
        raise UsageError("there are no bundles to apply; run `reviewkit generate` first")

    def verify(steps: list[Step]) -> None:
        verify_steps(steps, gate, cache)
        cache.save()

    return Prepared(bundles, gate, verify)


def _started_where_the_schema_says(conn: Connection, bundles: list[Bundle], steps: list[Step], options: ApplyOptions,
                                   note: Callable[[str], None]) -> list[Step]:
    """Start a resumed run, or the rollback of a bundle that ran in part, where the live schema says.

    Read with the differ and each engine's compiler, imported only then: `apply` does without them otherwise.
    `--fake` records what a DBA did by hand, and runs nothing.
    """
    if not options.resume and not (steps[0].over_part and not options.fake):
        return steps
    from reviewkit.db.resume import resumed_from_live_schema, rolled_back_from_live_schema

    chain = ledger_view(read_rows(conn), bundles).chain
    start = resumed_from_live_schema if options.resume else rolled_back_from_live_schema
    return start(conn, chain, steps, note)


def apply(
    settings: Settings,
    database: str | None,
    options: ApplyOptions,
    progress: Progress | None = None,
    confirm: Callable[[list[Step]], bool] = lambda steps: True,
    prepared: Prepared | None = None,
    opened: Callable[[Connection], None] = lambda conn: None,
) -> ApplyResult:
    """Bring a database to the requested bundle; see ApplyOptions for the forms.

    `prepared` is what `prepare` returns, when the caller has it already (a fleet);
    `opened` is told the connection once it is open (a fleet cancels its statement on Ctrl-C).
    """
    prepared = prepared or prepare(settings, options)
    bundles, gate, verify = prepared.bundles, prepared.gate, prepared.verify
    url = target_url(settings, database)
    actor = None if options.dry_run else resolve_actor(options.actor)  # refused before anything is touched
    conn = open_database(url, create=not options.dry_run)
    if conn is None:  # a dry run against a database file that does not exist yet
        steps = plan(bundles, [], url.dialect, options)
        verify(steps)
        return ApplyResult(steps, dry_run=True)
    with conn:
        opened(conn)
        driver = get_dialect(conn.dialect).driver
        if options.dry_run:
            rows = read_rows(conn)
            steps = plan(bundles, rows, conn.dialect, options)
            verify(steps)
            _, notes = (None, []) if options.fake else \
                check_lock_table(conn, steps, ledger_view(rows, bundles).chain, options.batch, refuse=False)
            return ApplyResult(steps, dry_run=True, notes=notes)
        # Lock before reading the ledger: a row another runner is writing right now is
        # in progress, not failed.
        driver.acquire_lock(conn, options.lock_timeout)
        try:
            rows = read_rows(conn)
            steps = plan(bundles, rows, conn.dialect, options)
            verify(steps)
            # Refused before the question and before the ledger is made: nothing is touched. --fake runs nothing.
            capacity, notes = (None, []) if options.fake else \
                check_lock_table(conn, steps, ledger_view(rows, bundles).chain, options.batch)
            if not steps or not confirm(steps):
                return ApplyResult([])
            if not ledger_exists(conn):
                create_ledger(conn)
            progress = progress or SilentProgress()
            steps = _started_where_the_schema_says(conn, bundles, steps, options, progress.note)
            for note in notes:
                progress.note(note)
            runner = Runner(conn, options, progress, gate.approvals, actor, chain=bundles, capacity=capacity)
            started = time.monotonic()
            count = runner.run(steps)
            elsewhere = {id(step) for step in runner.done_elsewhere}
            taken = [step for step in steps if id(step) not in elsewhere]
            return ApplyResult(taken, count, time.monotonic() - started, done_elsewhere=runner.done_elsewhere)
        finally:
            if not conn.is_gone():  # a session lock ends with its session
                driver.release_lock(conn)
