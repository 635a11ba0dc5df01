"""What `reviewkit apply` will do: the steps from where the ledger says the database is to the bundle asked for.

A database is a prefix of the chain applied, and at most one bundle past it that failed
half-way (where DDL commits as it goes, or in groups): `apply` goes on past it only with
`--resume`, and going back starts with it (where its down.sql starts is read from the
live schema: `reviewkit.db.resume`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from reviewkit.bundle.script_file import bundle_statements
from reviewkit.bundle.store import Bundle, find_bundle
from reviewkit.db.batches import Batch
from reviewkit.db.ledger import BundleState, LedgerRow, failed_statement, first_of, ledger_problems
from reviewkit.db.squashed import ledger_view
from reviewkit.dialects import get_dialect
from reviewkit.dialects.splitter import ScriptStatement
from reviewkit.errors import BundleNotFound, LedgerMismatch, UsageError
from reviewkit.plural import counted, first_statements


@dataclass(frozen=True)
class ApplyOptions:
    target: str | None = None  # apply up to this bundle
    to: str | None = None  # go up or down to exactly this bundle ("0" or "zero": before the first)
    dry_run: bool = False
    fake: bool = False
    resume: bool = False
    lock_timeout: float = 10.0
    actor: str | None = None
    reviewers: str | None = None
    batch: Batch | None = None  # commit every N statements, or as many as the lock table holds (transactional engines)


@dataclass(frozen=True)
class Step:
    bundle: Bundle
    direction: str  # up or down
    statements: Sequence[ScriptStatement]  # read from the file on each pass when the script is large
    start_at: int = 0  # statements already done (resume)
    # down.sql of a bundle whose up.sql ran in part: where it starts is read from the live schema (`rollback_point`).
    over_part: bool = False

    @property
    def label(self) -> str:
        return f"{self.bundle.id} ({self.direction})"


def plan(bundles: list[Bundle], rows: list[LedgerRow], dialect: str, options: ApplyOptions) -> list[Step]:
    """Return the steps that bring the database to the requested bundle."""
    problems = ledger_problems(rows, bundles)
    if problems:
        raise LedgerMismatch(first_of(problems))
    # A squash, or the bundles it replaces where this database is part-way through them.
    view = ledger_view(rows, bundles)
    logical, bundles, states = bundles, view.chain, view.states
    applied = [b for b in bundles if states.get(b.id, BundleState("pending")).is_applied]
    failed = [b for b in bundles if states.get(b.id, BundleState("pending")).state == "failed"]
    head = len(applied)  # applied bundles form a prefix of the chain (checked above)

    if options.to is not None:
        goal = _position(bundles, options.to, logical)
    elif options.target is not None:
        goal = _position(bundles, options.target, logical)
        if goal < head:
            raise UsageError(f"{bundles[goal - 1].id} is already applied; use --to {options.target} to roll back to it")
    else:
        goal = len(bundles)

    if failed and not transactional_failure(states[failed[0].id], dialect):
        broken = failed[0]
        row = states[broken.id].row
        if options.resume:
            return _resume_step(broken, row, dialect, bundles, goal)
        if goal >= head + 1 or row.direction == "down":
            raise LedgerMismatch(_refusal(broken, row, None if goal >= head + 1 else (options.to or options.target)))
    elif options.resume:
        raise UsageError("--resume: no bundle is waiting to be resumed on this database")

    # A bundle that failed half-way is the newest of all: going back starts with it, where the live schema says.
    half_done = [b for b in failed if not transactional_failure(states[b.id], dialect)]
    if goal > head or (goal == head and not half_done):
        return [_step(b, "up", dialect) for b in bundles[head:goal]]
    return [replace(_step(b, "down", dialect), over_part=True) for b in half_done] + \
        [_step(b, "down", dialect) for b in reversed(bundles[goal:head])]


def transactional_failure(state: BundleState, dialect: str) -> bool:
    """A failed row left nothing behind where the whole bundle ran in one transaction."""
    return state.row is not None and state.row.status == "failed" and state.row.statements_done == 0 and \
        get_dialect(dialect).transactional_ddl


def stopped_after_last_statement(row: LedgerRow) -> bool:
    """A run stopped between its last statement and the row that records the bundle applied.

    The ledger row is advanced after each statement, then marked applied: a runner killed
    (or a connection ended, or Ctrl-C) between the two leaves it `running` with every
    statement done. Nothing is left to run; `--resume` records it.
    """
    return row.status == "running" and row.statements_done >= row.statements_total


def _refusal(bundle: Bundle, row: LedgerRow, down_to: str | None = None) -> str:
    """Why `apply` does not go on past a half-applied bundle, and what does; `down_to`: the bundle `--to` asked
    for, below a half-done rollback."""
    if row.direction == "down":
        how = "was stopped" if row.status == "running" else "failed"
        to = f" --to {down_to}" if down_to else ""
        return (f"the rollback of {bundle.id} (down.sql) {how} at statement {failed_statement(row)} of "
                f"{row.statements_total} on this database, {first_statements(row.statements_done)} committed; "
                f"{'fix the cause, then ' if row.status == 'failed' else ''}run `reviewkit apply{to} --resume` to "
                "finish the rollback from what the database has")
    if stopped_after_last_statement(row):
        return (f"{bundle.id} was stopped after its last statement ({row.statements_done} of {row.statements_total} "
                "committed) before it was recorded as applied; run `reviewkit apply --resume` to record it")
    if row.status == "running":  # the runner was stopped: nothing to fix, the live schema says where to go on
        return (f"{bundle.id} was stopped at statement {row.statements_done + 1} of {row.statements_total} on this "
                "database; run `reviewkit apply --resume` to go on from what the database has (or `--to` an earlier "
                "bundle)")
    return (f"{bundle.id} failed at statement {failed_statement(row)} of {row.statements_total} on this database; "
            "fix the cause, reseal the bundle, then run `reviewkit apply --resume` (or `--to` an earlier bundle)")


def _resume_step(bundle: Bundle, row: LedgerRow, dialect: str, bundles: list[Bundle], goal: int) -> list[Step]:
    step = _step(bundle, row.direction, dialect)
    finished = row.statements_done == len(step.statements) and row.digest == bundle.digest
    if row.statements_done >= len(step.statements) and not finished:
        raise UsageError(f"--resume: {bundle.id} now has {counted(len(step.statements), 'statement')}, "
                         f"but {row.statements_done} were already done")
    steps = [replace(step, start_at=row.statements_done)]
    position = _position(bundles, bundle.id)
    if row.direction == "up":
        steps += [_step(b, "up", dialect) for b in bundles[position:goal]]
    else:  # the rollback finished, on down to the bundle `--to` names
        steps += [_step(b, "down", dialect) for b in reversed(bundles[goal:position - 1])]
    return steps


def _step(bundle: Bundle, direction: str, dialect: str) -> Step:
    return Step(bundle, direction, bundle_statements(bundle, dialect, direction))


def _position(bundles: list[Bundle], ref: str, logical: list[Bundle] | None = None) -> int:
    """Return how many bundles are applied once `ref` is the newest ("0" means none).

    `bundles` is the chain as this database goes through it; `logical`, the bundles' own
    chain, where `ref` is read first: a squash this database goes through as the bundles
    it replaces stands for the last of them, and those bundles are found by name too.
    """
    if ref in ("0", "zero"):
        return 0
    if logical is None:
        return bundles.index(find_bundle(bundles, ref)) + 1
    try:
        target = find_bundle(logical, ref)
    except BundleNotFound:
        try:
            return bundles.index(find_bundle(bundles, ref)) + 1  # a replaced bundle this database still goes through
        except BundleNotFound:
            pass
        raise
    if target not in bundles and target.originals and target.originals[-1] in bundles:
        target = target.originals[-1]
    return bundles.index(target) + 1
