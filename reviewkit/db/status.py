"""`reviewkit status`: every bundle, its risk and approvals, and where it stands in a database."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from reviewkit.bundle.digest import verify_files
from reviewkit.bundle.judging import judge_beside
from reviewkit.bundle.proofs import proof_states
from reviewkit.bundle.store import Bundle, load_bundles, replaced_problems
from reviewkit.bundle.verify_cache import VerifyCache, open_cache
from reviewkit.config import Settings
from reviewkit.db.ledger import BundleState, LedgerRow, failed_statement, ledger_problems, read_rows
from reviewkit.db.squashed import ledger_view
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection, DatabaseURL
from reviewkit.errors import ReviewkitError
from reviewkit.plural import first_statements
from reviewkit.signoff.gate import ApprovalGate, PolicyGate, approval_gate


@dataclass
class BundleStatus:
    id: str
    created_at: str
    author: str
    risk: str
    approvals: str | None
    state: str | None  # None: no database
    detail: str = ""
    flags: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)  # a half-applied bundle, read from the live schema
    proofs: dict[str, str] = field(default_factory=dict)  # dialect -> proven, failed, stale, none, invalid
    # The same facts as data, for `status --json`: what the strings above say in words.
    head: bool = False  # the newest bundle
    approval_files: list[dict[str, Any]] = field(default_factory=list)  # reviewer, fingerprint, state, file
    approvals_required: int = 0
    approvals_met: bool = True
    applied_at: str | None = None  # the run that applied it (state applied or faked)
    applied_by: str | None = None
    last_run: dict[str, Any] | None = None  # the bundle's latest ledger row

    def to_json(self) -> dict[str, Any]:
        """Return the bundle for `status --json`: to_dict's fields, with approvals as data, not a summary."""
        return {**self.to_dict(), "head": self.head, "approvals": self.approval_files,
                "approvals_required": self.approvals_required, "approvals_met": self.approvals_met,
                "approvals_summary": self.approvals, "applied_at": self.applied_at, "applied_by": self.applied_by,
                "last_run": self.last_run}
    replaces: list[str] = field(default_factory=list)  # a squash: the ids of the bundles it replaces

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": self.created_at, "author": self.author, "risk": self.risk,
                "approvals": self.approvals, "proofs": self.proofs, "state": self.state, "detail": self.detail,
                "flags": self.flags, "explanation": self.explanation, "replaces": self.replaces}

    def proofs_cell(self) -> str:
        """Return the proofs for a table cell: "none", "all proven" when every dialect's state is that, else a line per dialect."""
        states = set(self.proofs.values())
        if states == {"none"}:
            return "none"
        if len(states) == 1 and len(self.proofs) > 1:
            return f"all {states.pop()}"
        return "\n".join(f"{dialect} {state}" for dialect, state in self.proofs.items())


# The states a bundle can be in, in the order the summary line counts them.
STATES = ("applied", "faked", "rolled back", "failed", "pending")


@dataclass
class StatusReport:
    database: str | None
    bundles: list[BundleStatus]
    ledger_problems: list[str] = field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        """True when anything is pending, failed or flagged, or a bundle still to apply is short of approvals.

        `status --check` exits 1 then. A bundle already applied was let through when it ran:
        its approvals against today's policy are `verify`'s to judge.
        """
        return bool(self.ledger_problems) or any(
            b.flags or b.state in ("pending", "failed", "rolled back", "partial")
            or (not b.approvals_met and b.state not in ("applied", "faked")) for b in self.bundles
        )

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "bundles": [b.to_dict() for b in self.bundles],
                "ledger_problems": self.ledger_problems, "needs_attention": self.needs_attention}

    def counts(self) -> dict[str, int]:
        """Return how many bundles are in each state (applied, faked, rolled back, failed, pending), in that order."""
        found = [b.state for b in self.bundles if b.state is not None]
        return {state: found.count(state) for state in STATES if state in found}

    def to_json(self) -> dict[str, Any]:
        """Return the report for `status --json`: to_dict's fields, each bundle as data, and the counts."""
        head = self.bundles[-1].id if self.bundles else None
        # Every state, 0 included, when there is a database to be in; none without one.
        counts = {state.replace(" ", "_"): self.counts().get(state, 0) for state in STATES} if self.database else {}
        flagged = sum(1 for b in self.bundles if b.flags)
        return {**self.to_dict(), "bundles": [b.to_json() for b in self.bundles], "head": head,
                "summary": {"bundles": len(self.bundles), **counts, "flagged": flagged}}


def collect_status(settings: Settings, database: str | None, reviewers: str | None = None) -> StatusReport:
    """Return the status of every bundle, and of the database when one is reachable.

    `reviewers` is `--reviewers`: the trusted reviewers file the approvals are checked against.
    The database's ledger is read while the bundles are judged (`judge_beside`).
    """
    cache = open_cache(settings.root, settings.bundles_dir)
    gate = approval_gate(settings, reviewers, cache)
    bundles = load_bundles(settings.bundles_dir, cache)
    url = target_url(settings, database)
    judged = partial(_bundle_status, gate=gate, cache=cache)
    statuses, ledger = judge_beside(bundles, judged, cache, partial(_read_ledger, url, bundles))
    if ledger.rows is not None:
        states = ledger_view(ledger.rows, bundles).states
        applied_runs = _applied_runs(ledger.rows)
        for bundle, status in zip(bundles, statuses, strict=True):
            _add_state(status, bundle, states.get(bundle.id, BundleState("pending")), applied_runs)
    for status in statuses:
        status.explanation = ledger.explained.get(status.id, [])
    if statuses:
        statuses[-1].head = True
    cache.save(complete=True)
    return StatusReport(ledger.where, statuses, ledger.problems)


@dataclass
class _Ledger:
    """What a database's ledger says of the bundles (nothing, when there is no database)."""

    where: str | None = None  # the database, its password left out
    rows: list[LedgerRow] | None = None
    explained: dict[str, list[str]] = field(default_factory=dict)  # a half-applied bundle: what took effect
    problems: list[str] = field(default_factory=list)


def _read_ledger(url: DatabaseURL, bundles: list[Bundle]) -> _Ledger:
    """Read the ledger of the database at `url` (none there: an empty `_Ledger`) and judge it against `bundles`."""
    conn = open_database(url, create=False)
    if conn is None:
        return _Ledger()
    with conn:
        rows = read_rows(conn)
        view = ledger_view(rows, bundles)
        explained = _half_applied(conn, view.chain, view.states)
        # A replaced bundle this database is part-way through shows under the squash that stands for it.
        for original, squash in view.expanded.items():
            explained.setdefault(squash.id, []).extend(explained.pop(original, []))
        return _Ledger(conn.url.redacted(), rows, explained, ledger_problems(rows, bundles))


def _applied_runs(rows: list[LedgerRow]) -> dict[str, LedgerRow]:
    """Return each bundle's latest run that applied (or faked) it: found once, not by a scan of the ledger per bundle."""
    return {row.bundle_id: row for row in rows if row.direction == "up" and row.status in ("applied", "faked")}


def _half_applied(conn: Connection, bundles: list[Bundle], states: dict[str, BundleState]) -> dict[str, list[str]]:
    """Explain, from the live schema, each bundle that failed after statements that committed on their own.

    That is every failure on MySQL; elsewhere, a bundle that ran statement by statement (an
    online bundle, CONCURRENTLY) and failed after its first statement.
    """
    transactional = get_dialect(conn.dialect).transactional_ddl
    failed = {bundle.id for bundle in bundles if (state := states.get(bundle.id)) is not None and state.state == "failed"
              and state.row is not None and not (transactional and state.row.statements_done == 0)}
    if not failed:
        return {}  # nothing failed half-way: a failed transactional bundle left nothing behind
    from reviewkit.db.partial import explain_partial  # reads the live schema: sqlglot, only when needed

    explained = {}
    for position, bundle in enumerate(bundles):
        state = states.get(bundle.id)
        if bundle.id in failed and state is not None and state.row is not None:
            parent = bundles[position - 1] if position else None
            try:
                explained[bundle.id] = explain_partial(conn, bundle, parent, state.row)
            except ReviewkitError as err:  # the explanation helps; its failure must not hide the status
                explained[bundle.id] = [f"cannot compare with the live schema: {err}"]
    return explained


def database_ledger_problems(settings: Settings, database: str, bundles: list[Bundle]) -> list[str]:
    """Read a database's ledger and return its problems against `bundles`, the whole chain (`verify --database`)."""
    conn_url = target_url(settings, database)
    conn = open_database(conn_url, create=False)
    if conn is None:
        return [f"database {conn_url.redacted()}: the file does not exist"]
    with conn:
        rows = read_rows(conn)
    return ledger_problems(rows, bundles)


def _bundle_status(bundle: Bundle, gate: ApprovalGate, cache: VerifyCache | None = None) -> BundleStatus:
    """Return what the bundle itself says: its files, approvals and proofs (the database's part is `_add_state`'s)."""
    m = bundle.manifest
    status = BundleStatus(bundle.id, m["created_at"], m["author"], bundle.risk_level, gate.summary(bundle), None,
                          replaces=bundle.replaced_ids)
    status.flags += verify_files(bundle.path, bundle.manifest, cache, bundle.computed_digest) + replaced_problems(bundle, cache)
    # The judgement apply refuses on and verify reports: approval files that are not right
    # are flags; a policy not (yet) met needs attention too, as the approvals column says.
    status.flags += gate.flags(bundle)
    for proof in proof_states(bundle, cache):
        status.proofs[proof.dialect] = proof.state
        if proof.state == "invalid":
            status.flags.append(f"{proof.file}: not a valid proof: {proof.detail}")
    if isinstance(gate, PolicyGate):
        result = gate.result(bundle)
        # Only a "valid" approval counts; the others say why not (stale, unknown key, duplicate key, ...).
        status.approval_files = [{"reviewer": c.reviewer, "fingerprint": c.fingerprint, "state": c.status,
                                  "file": c.file} for c in result.checks]
        status.approvals_required, status.approvals_met = result.needed, result.met
    return status


def _add_state(status: BundleStatus, bundle: Bundle, state: BundleState, applied_runs: dict[str, LedgerRow]) -> None:
    """Fill in where the bundle stands in the database, in words and as data.

    `applied_runs` is each bundle's latest run that applied it (`_applied_runs`).
    """
    status.state = state.state
    row = state.row
    if row is None:
        return
    if state.state in ("applied", "faked", "rolled back"):
        status.detail = f"{(row.finished_at or '')[:16].replace('T', ' ')} by {row.applied_by}"
        if state.via:
            status.detail = f"{state.detail_via}, {status.detail}"
    elif state.state == "failed":
        which = f"{row.bundle_id} " if row.bundle_id != bundle.id else ""  # a replaced bundle, run in the squash's stead
        status.detail = which + failure_detail(row, get_dialect(row.dialect).transactional_ddl)
    elif state.state == "partial":
        rest = [i for i in bundle.replaced_ids if i not in state.via]
        status.detail = f"{', '.join(state.via)} applied of the {len(bundle.replaces)} it replaces; apply runs {', '.join(rest)}"
    status.last_run = {"direction": row.direction, "status": row.status, "started_at": row.started_at,
                       "finished_at": row.finished_at, "by": row.applied_by, "statements_done": row.statements_done,
                       "statements_total": row.statements_total, "error": row.error}
    applied = applied_runs.get(bundle.id)
    if state.is_applied and applied is not None:  # a failed rollback after the run that applied it leaves it applied
        status.applied_at, status.applied_by = applied.finished_at, applied.applied_by


def failure_detail(row: LedgerRow, transactional: bool) -> str:
    """Say how a run that did not finish ended, each fact once.

    A transactional run that failed left nothing (statements_done is 0 whatever statement
    failed: the error names it); one that ran statement by statement stopped at the
    statement after those done.
    """
    error = row.error or ""
    if row.status == "failed" and row.statements_done == 0 and transactional:
        return f"failed and rolled back, nothing applied: {error}".rstrip(": ")
    at = row.statements_done + 1
    done = first_statements(at - 1)
    if row.status == "running" and row.statements_done >= row.statements_total:
        return (f"interrupted after its last statement ({done} committed), before it was recorded as applied; "
                "`apply --resume` records it")
    how = "interrupted" if row.status == "running" else "failed"
    failed = failed_statement(row) if row.status == "failed" else at
    kept = f"{done} committed"
    if failed > at:  # --batch: the statements of the failing one's group were rolled back with it
        kept += f"; {'statement' if failed == at + 1 else 'statements'} {at}{f'-{failed - 1}' if failed > at + 1 else ''}" \
                " rolled back with it"
    said = _without_statement(error, failed)
    return f"{how} at statement {failed} of {row.statements_total} ({kept}){': ' + said if said else ''}"


def _without_statement(error: str, number: int) -> str:
    """Return the ledger's error with its leading `statement N (line L):` as `line L:` when N is already named."""
    return re.sub(rf"^statement {number} \(line (\d+)\): ", r"line \1: ", error)
