"""`status --fleet`: where every database of a fleet stands, read from each one's own ledger.

The bundles are read and checked once (their files, approvals and proofs are the same for
every database), through the verification cache as `status` checks them; each database
then costs one connection and one read of its ledger,
N at a time. The JSON of several shards merges by concatenating their `databases`: each
database's ledger is the truth, whichever machine applied to it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from reviewkit.bundle.digest import verify_files
from reviewkit.bundle.judging import judge_beside
from reviewkit.bundle.store import Bundle, load_bundles, replaced_problems
from reviewkit.bundle.verify_cache import VerifyCache, open_cache
from reviewkit.config import Settings
from reviewkit.db.fleet import Member, Shard, check_jobs, fleet_members, for_each
from reviewkit.db.ledger import BundleState, ledger_problems, read_rows
from reviewkit.db.squashed import ledger_view
from reviewkit.db.status import failure_detail
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.errors import ReviewkitError
from reviewkit.signoff.gate import ApprovalGate, approval_gate


@dataclass
class DatabaseStatus:
    """One database's place in the history: the state of every bundle, and what needs attention."""

    member: Member
    states: dict[str, str] = field(default_factory=dict)  # bundle id -> applied, faked, rolled back, failed, pending...
    failures: list[str] = field(default_factory=list)  # "0002_add: failed at statement 2 of 3 ..."
    ledger_problems: list[str] = field(default_factory=list)
    error: str | None = None  # the database could not be read
    exists: bool = True  # False: a SQLite file not created yet

    @property
    def head(self) -> str | None:
        """Return the newest bundle applied (or faked) here, or None."""
        applied = [bundle for bundle, state in self.states.items() if state in ("applied", "faked")]
        return applied[-1] if applied else None

    @property
    def pending(self) -> int:
        return sum(1 for state in self.states.values() if state not in ("applied", "faked"))

    @property
    def needs_attention(self) -> bool:
        return bool(self.error or self.ledger_problems or self.pending)

    def summary(self) -> str:
        """Return the state in words: "at the head", "2 pending", "failed: ...", "cannot read: ..."."""
        if self.error:
            return f"cannot read: {self.error}"
        if self.ledger_problems:
            return f"ledger: {self.ledger_problems[0]}"
        if self.failures:
            return self.failures[0]
        if not self.pending:
            return "at the head"
        return f"{self.pending} pending" + ("" if self.exists else " (no database file yet)")

    def to_json(self) -> dict[str, Any]:
        return {"database": self.member.label, "position": self.member.position, "head": self.head,
                "pending": None if self.error else self.pending, "bundles": self.states, "failures": self.failures,
                "ledger_problems": self.ledger_problems, "error": self.error, "exists": self.exists,
                "needs_attention": self.needs_attention}


@dataclass
class FleetStatus:
    fleet: str
    shard: Shard | None
    bundles: list[str]  # ids, oldest first
    flags: list[str]  # what is wrong with the bundles themselves: the same for every database
    databases: list[DatabaseStatus]

    @property
    def needs_attention(self) -> bool:
        return bool(self.flags) or any(db.needs_attention for db in self.databases)

    @property
    def unreadable(self) -> list[DatabaseStatus]:
        return [db for db in self.databases if db.error]

    def to_json(self) -> dict[str, Any]:
        head = self.bundles[-1] if self.bundles else None
        return {"fleet": self.fleet, "shard": str(self.shard) if self.shard else None, "head": head,
                "bundles": self.bundles, "flags": self.flags, "databases": [db.to_json() for db in self.databases],
                "summary": {"databases": len(self.databases),
                            "at_head": sum(1 for db in self.databases if not db.needs_attention),
                            "behind": sum(1 for db in self.databases if db.pending and not db.failures and not db.error),
                            "failed": sum(1 for db in self.databases if db.failures),
                            "unreadable": len(self.unreadable)},
                "needs_attention": self.needs_attention}


def collect_fleet_status(settings: Settings, fleet: str, reviewers: str | None = None, jobs: int = 4,
                         shard: Shard | None = None) -> FleetStatus:
    """Read every database of the fleet (this shard's), `jobs` at a time."""
    check_jobs(jobs)
    members = fleet_members(settings, fleet, shard)
    cache = open_cache(settings.root, settings.bundles_dir)
    bundles = load_bundles(settings.bundles_dir, cache)
    gate = approval_gate(settings, reviewers, cache)
    judged, _ = judge_beside(bundles, partial(_bundle_flags, gate=gate, cache=cache), cache, lambda: None)
    flags = [flag for bundle_flags in judged for flag in bundle_flags]
    cache.save(complete=True)
    statuses = {member.position: DatabaseStatus(member) for member in members}
    lock = threading.Lock()

    def read(member: Member) -> None:
        status = _database_status(settings, member, bundles)
        with lock:
            statuses[member.position] = status

    for_each(read, members, jobs)
    return FleetStatus(fleet, shard, [b.id for b in bundles], flags, [statuses[m.position] for m in members])


def _bundle_flags(bundle: Bundle, gate: ApprovalGate, cache: VerifyCache) -> list[str]:
    """What is wrong with the bundle itself, the same for every database: its files, a squash's originals, approvals."""
    return (verify_files(bundle.path, bundle.manifest, cache, bundle.computed_digest) + replaced_problems(bundle, cache)
            + gate.flags(bundle))


def _database_status(settings: Settings, member: Member, bundles: list[Bundle]) -> DatabaseStatus:
    status = DatabaseStatus(member)
    try:
        conn = open_database(target_url(settings, member.ref), create=False)
        if conn is None:
            status.exists = False
            status.states = {bundle.id: "pending" for bundle in bundles}
            return status
        with conn:
            rows = read_rows(conn)
            transactional = get_dialect(conn.dialect).transactional_ddl
    except ReviewkitError as error:
        status.error = str(error)
        return status
    states = ledger_view(rows, bundles).states
    for bundle in bundles:
        state = states.get(bundle.id, BundleState("pending"))
        status.states[bundle.id] = state.state
        if state.state == "failed" and state.row is not None:
            status.failures.append(f"{bundle.id}: {failure_detail(state.row, transactional)}")
    status.ledger_problems = ledger_problems(rows, bundles)
    return status
