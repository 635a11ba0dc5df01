"""`reviewkit prove`: replay a bundle on a scratch database of each dialect, and compare.

On each dialect: every earlier bundle's up script ("earlier bundles"), then the bundle's
"up", "down" and "up again", the live schema read back after each step and compared with
the `schema.json` it should have left, as the engine stores it: the parent's after the
earlier bundles and after down, the bundle's after each up, by drift's comparison
(`diff.differences`: objects by name, a table's column order aside). Scripts run as `apply` runs
them (`db.execute.run_script`), with no ledger: a proof records nothing in the database. A
script too large for the server's lock table in one transaction runs as `apply --batch auto`
runs it.
A failing statement ends the replay (the steps after it are `skipped`); a difference does
not, so that one run shows all of them. The result is written to `proofs/<dialect>.json`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from reviewkit.bundle.digest import PROOFS, verify_files
from reviewkit.bundle.proofs import PROOF_FORMAT, write_proof
from reviewkit.bundle.store import Bundle, find_bundle, load_bundles
from reviewkit.config import Settings, prove_env_var
from reviewkit.db.batches import auto_cuts, schema_before
from reviewkit.db.execute import StatementFailed, run_script
from reviewkit.db.introspect import introspect
from reviewkit.db.scratch import scratch_database
from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import Dialect, LockCapacity
from reviewkit.dialects.connection import Connection, DatabaseURL, parse_url
from reviewkit.dialects.splitter import split_statements
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.errors import ConfigError, IntegrityError, OperationFailed, UsageError
from reviewkit.schema.state import Schema


@dataclass
class StepResult:
    """One step of a replay: the scripts it ran, and what it left."""

    name: str  # "earlier bundles", "up", "down", "up again"
    result: str = "passed"  # passed, failed, skipped
    statements: int = 0  # statements run
    error: dict[str, Any] | None = None  # file, statement, line, message
    differences: list[Difference] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "result": self.result, "statements": self.statements, "error": self.error,
                "differences": [d.to_dict() for d in self.differences]}


@dataclass(frozen=True)
class PlannedStep:
    name: str
    scripts: tuple[tuple[Bundle, str], ...]  # (bundle, direction), in order
    expected: Schema  # as the engine stores it
    exact_order: bool  # false after a rollback: restored columns come last, in tables and in views of `*`


@dataclass(frozen=True)
class DialectProof:
    """The outcome on one dialect: a proof written, or why none could be made."""

    dialect: str
    result: str  # proven, failed
    steps: tuple[StepResult, ...] = ()
    record: dict[str, Any] | None = None  # what proofs/<dialect>.json holds; None when nothing was proven
    file: Path | None = None
    reason: str = ""  # why no proof was made (no server, unreachable)

    def to_dict(self) -> dict[str, Any]:
        file = f"{self.record['bundle']}/{PROOFS}/{self.dialect}.json" if self.record else None
        return {"dialect": self.dialect, "result": self.result, "reason": self.reason or None, "file": file,
                "proof": self.record}


@dataclass(frozen=True)
class ProveReport:
    bundle: Bundle
    proofs: tuple[DialectProof, ...]

    @property
    def ok(self) -> bool:
        return all(p.result == "proven" for p in self.proofs)

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle.id, "digest": self.bundle.digest, "result": "proven" if self.ok else "failed",
                "dialects": [p.to_dict() for p in self.proofs]}


Started = Callable[[str], None]  # told each dialect's name as its replay starts


def prove(settings: Settings, ref: str | None, only: str | None = None, started: Started = lambda d: None) -> ProveReport:
    """Prove bundle `ref` (default: the newest) on each of its dialects, or only on `only`; write the proofs."""
    bundles = load_bundles(settings.bundles_dir)
    if not bundles:
        raise UsageError("there are no bundles to prove; run `reviewkit generate` first")
    bundle = find_bundle(bundles, ref) if ref is not None else bundles[-1]
    chain = bundles[: bundles.index(bundle) + 1]
    dialects = _dialects(bundle, only)
    _check_files(chain)
    servers = {name: prove_server(settings, name) for name in dialects}  # every config error before anything runs
    proofs = []
    for name in dialects:
        started(name)
        proofs.append(prove_dialect(chain, get_dialect(name), servers[name]))
    return ProveReport(bundle, tuple(proofs))


def _dialects(bundle: Bundle, only: str | None) -> list[str]:
    carried = bundle.manifest["dialects"]
    if only is None:
        return list(carried)
    get_dialect(only)  # an unknown name: exit 2 naming the known ones
    if only not in carried:
        raise UsageError(f"{bundle.id}: bundle carries no {only} scripts (it has {', '.join(carried)})")
    return [only]


def _check_files(chain: list[Bundle]) -> None:
    """Refuse (exit 3) to prove bytes other than the ones the digests cover: a proof names a digest."""
    for bundle in chain:
        problems = verify_files(bundle.path, bundle.manifest)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise IntegrityError(f"{problems[0]}{more}; not proving: run `reviewkit seal` after a hand edit")


def prove_server(settings: Settings, dialect: str) -> DatabaseURL | None:
    """Return the server `prove` uses for `dialect`: REVIEWKIT_PROVE_<D>_URL, else [prove]; None when unset."""
    raw = settings.prove_server(dialect)
    if raw is None:
        return None
    url = parse_url(raw, settings.root)
    if url.dialect != dialect:
        raise ConfigError(f"[prove] {dialect} (or {prove_env_var(dialect)}): {url.redacted()} is a "
                          f"{get_dialect(url.dialect).title} URL, not a {get_dialect(dialect).title} one")
    return url


def prove_dialect(chain: list[Bundle], dialect: Dialect, server: DatabaseURL | None) -> DialectProof:
    """Replay the chain's last bundle on a scratch database of `dialect`; write and return its proof."""
    if not dialect.file_based and server is None:
        reason = f"no server: set [prove] {dialect.name} or {prove_env_var(dialect.name)}"
        return DialectProof(dialect.name, "failed", reason=reason)
    try:
        with scratch_database(dialect, server) as conn:
            version = dialect.driver.server_version(conn)
            steps = replay(conn, chain)
    except OperationFailed as err:  # the server: unreachable, no right to create a database...
        return DialectProof(dialect.name, "failed", reason=str(err))
    record = proof_record(chain[-1], dialect.name, version, steps)
    return DialectProof(dialect.name, record["result"], tuple(steps), record, write_proof(chain[-1], record))


def proof_record(bundle: Bundle, dialect: str, server_version: str, steps: list[StepResult]) -> dict[str, Any]:
    """Return the content of `proofs/<dialect>.json`."""
    proven = all(s.result == "passed" for s in steps)
    return {
        "format": PROOF_FORMAT,
        "bundle": bundle.id,
        "digest": bundle.digest,
        "dialect": dialect,
        "server_version": server_version,
        "result": "proven" if proven else "failed",
        "steps": [s.to_dict() for s in steps],
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


# -- the replay -----------------------------------------------------------------------------


def replay_plan(chain: list[Bundle], dialect: Dialect) -> list[PlannedStep]:
    """Return the steps that prove the chain's last bundle, each with the schema it must leave."""
    *earlier, bundle = chain
    stored = dialect.compiler.stored_form
    parent = stored(earlier[-1].schema() if earlier else Schema())
    mine = stored(bundle.schema())
    return [
        PlannedStep("earlier bundles", tuple((b, "up") for b in earlier), parent, True),
        PlannedStep("up", ((bundle, "up"),), mine, True),
        PlannedStep("down", ((bundle, "down"),), parent, False),
        PlannedStep("up again", ((bundle, "up"),), mine, False),
    ]


def replay(conn: Connection, chain: list[Bundle]) -> list[StepResult]:
    """Run the plan on `conn`, an empty database; return each step's result."""
    dialect = get_dialect(conn.dialect)
    # A script too large for the server's lock table in one transaction is replayed as
    # `apply --batch auto` runs it: the proof is of what the script makes, and the size is lint's word.
    capacity = dialect.lock_table.read(conn) if dialect.lock_table is not None else None
    results: list[StepResult] = []
    for planned in replay_plan(chain, dialect):
        if any(r.error is not None for r in results):
            results.append(StepResult(planned.name, "skipped"))
            continue
        results.append(run_step(conn, planned, chain, capacity))
    return results


def run_step(conn: Connection, planned: PlannedStep, chain: list[Bundle], capacity: LockCapacity | None) -> StepResult:
    """Run one step's scripts, then compare the live schema with the one expected.

    With the server's lock table (`capacity`), a transaction that would not fit it commits in groups.
    """
    step = StepResult(planned.name)
    lock_table = get_dialect(conn.dialect).lock_table
    for bundle, direction in planned.scripts:
        where = f"{bundle.id}/{conn.dialect}/{direction}.sql"
        cuts = None
        if capacity is not None and lock_table is not None:
            counter = lock_table.counter(schema_before(bundle, direction, chain))
            cuts = partial(auto_cuts, counter=counter, capacity=capacity)
        try:
            statements = split_statements(bundle.script(conn.dialect, direction), conn.dialect)
            run_script(conn, statements, where, online=bundle.online, cuts=cuts)
        except StatementFailed as failure:
            step.result, step.statements = "failed", step.statements + failure.number - 1
            step.error = {"file": where, "statement": failure.number, "line": failure.line, "message": failure.message}
            return step
        except (UsageError, OSError) as err:  # an earlier bundle without this dialect, an unreadable script
            step.result = "failed"
            step.error = {"file": where, "statement": None, "line": None, "message": getattr(err, "strerror", None) or str(err)}
            return step
        step.statements += len(statements)
    # unmapped: a hand-edited script may create a type reviewkit has no name for; it is a difference, not a stop.
    live = introspect(conn, unmapped=True)
    step.differences = schema_differences(_compared(planned.expected, planned.exact_order), _compared(live, planned.exact_order))
    if step.differences:
        step.result = "failed"
    return step


def _compared(schema: Schema, exact_order: bool) -> Schema:
    return schema if exact_order else schema.ignoring_column_order()
