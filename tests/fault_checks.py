"""What must hold after a stopped `apply`: a true ledger, a true status, a free lock, a recovery with no hand step."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from reviewkit.bundle.store import Bundle
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import LedgerRow, bundle_states, read_rows, verify_chain
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.diff.differences import schema_differences
from reviewkit.schema.state import Schema
from tests.fault_project import cli, cli_url, statements_of
from tests.fault_stops import INTERRUPT, KILL, SERVER, Stopped

# -- the checks after a stop ----------------------------------------------------------------


def ledger(url: DatabaseURL) -> list[LedgerRow]:
    with connect(url) as conn:
        return read_rows(conn)


def live_schema(url: DatabaseURL) -> Schema:
    with connect(url) as conn:
        return introspect(conn)


def stored(url: DatabaseURL, bundle: Bundle | None) -> Schema:
    return get_dialect(url.dialect).compiler.stored_form(bundle.schema() if bundle else Schema())


def _tables(differences) -> set[str]:
    return {d.name.split(".")[0] for d in differences}


def _created(sql: str) -> str | None:
    """The table or index a CREATE statement makes, as `table name` / `index name`, else None."""
    found = re.match(r"\s*CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"]?(\w+)", sql, re.I)
    return f"{found.group(1).lower()} {found.group(2)}" if found else None


def _live_names(live: Schema) -> set[str]:
    names = {f"table {t.name}" for t in live.tables}
    return names | {f"index {ix.name}" for t in live.tables for ix in t.indexes}


def consistency_problems(url: DatabaseURL, bundles: list[Bundle]) -> list[str]:
    """Return how the ledger disagrees with itself or with the live schema (none: consistent).

    Bundles applied form a prefix; with no bundle half-applied, the live schema is the last
    applied bundle's. A bundle at statement k (MariaDB: `running` or `failed`) leaves a live
    schema between its parent's and its own, with every table or index its statements 1..k
    create present and none that statements k+2.. create (statement k+1 may have finished on
    the server after its client died).
    """
    rows = ledger(url)
    problems = list(verify_chain(rows))
    states = bundle_states(rows)
    live = live_schema(url)
    last_applied, half = None, None
    for position, bundle in enumerate(bundles):
        state = states.get(bundle.id)
        if state is not None and state.is_applied:
            if half is not None or (position and last_applied is not bundles[position - 1]):
                problems.append(f"{bundle.id} is applied after a bundle that is not")
            last_applied = bundle
        elif state is not None and state.state == "failed":
            if state.row.statements_done == 0 and get_dialect(url.dialect).transactional_ddl:
                continue  # a transactional failure left nothing behind
            if not get_dialect(url.dialect).transactional_ddl or half is None:
                half = (bundle, state.row)
    if half is None:
        differences = schema_differences(stored(url, last_applied), live)
        if differences:
            problems.append(f"the ledger says {last_applied.id if last_applied else 'nothing'} is the last applied, "
                            f"the live schema differs: {'; '.join(d.describe() for d in differences[:5])}")
        return problems
    bundle, row = half
    parent = bundles[bundles.index(bundle) - 1] if bundles.index(bundle) else None
    before, after = stored(url, parent), stored(url, bundle)
    # A table the bundle creates may be there without its indexes yet: tables are compared, not their parts.
    touched = _tables(schema_differences(before, after))
    foreign = (_tables(schema_differences(before, live)) | _tables(schema_differences(live, after))) - touched
    if foreign:
        problems.append(f"{bundle.id} at statement {row.statements_done}: the live schema differs from its parent and "
                        f"itself beyond the bundle's changes: {sorted(foreign)[:5]}")
    statements = statements_of(bundle, url.dialect)
    names = _live_names(live)
    new = {_created(s.sql) for s in statements} - _live_names(before) - {None}  # made by this bundle, kept
    made_before = {_created(s.sql) for s in statements[:row.statements_done]} & new
    made_after = {_created(s.sql) for s in statements[row.statements_done + 1:]} & new
    if made_before - names:
        problems.append(f"{bundle.id}: the ledger says {row.statements_done} statements are done, but "
                        f"{sorted(made_before - names)[:3]} are not in the database")
    if made_after & names:
        problems.append(f"{bundle.id}: the ledger says {row.statements_done} statements are done, but "
                        f"{sorted(made_after & names)[:3]} of later statements are in the database")
    return problems


def status_report(project: Path, url: DatabaseURL) -> dict:
    shown = cli(project, "status", "--json", "--database", cli_url(url))
    if shown.returncode != 0:
        raise AssertionError(f"status --json exited {shown.returncode}: {shown.stdout}{shown.stderr}")
    return json.loads(shown.stdout)


def status_problems(report: dict, url: DatabaseURL) -> list[str]:
    """Return where `status --json` is not true to the ledger (none: it is)."""
    problems = [f"status lists a ledger problem: {p}" for p in report["ledger_problems"]]
    states = bundle_states(ledger(url))
    for entry in report["bundles"]:
        state = states.get(entry["id"])
        expected = state.state if state else "pending"
        if entry["state"] != expected:
            problems.append(f"status says {entry['id']} is {entry['state']}, the ledger {expected}")
        if expected == "failed" and not get_dialect(url.dialect).transactional_ddl:
            row = state.row
            said = (f"at statement {row.statements_done + 1} of {row.statements_total}"
                    if row.statements_done < row.statements_total else "after its last statement")
            if said not in entry["detail"]:
                problems.append(f"status detail of {entry['id']} does not say {said!r}: {entry['detail']!r}")
            if not entry["explanation"] or any("not in the bundle" in line for line in entry["explanation"]):
                problems.append(f"status explanation of {entry['id']}: {entry['explanation']!r}")
    return problems


def recovery_args(report: dict) -> list[str]:
    """The documented recovery: `apply --resume` where status shows a bundle half-applied, else `apply`.

    `--lock-timeout 1`: the new runner must get the lock within a second of the killed
    session's end.
    """
    half = [b for b in report["bundles"] if b["state"] == "failed" and b["explanation"]]
    return ["apply", "--yes", "--lock-timeout", "1", *(["--resume"] if half else [])]


@dataclass
class Outcome:
    """Everything a trial found, for a test's assertion or the benchmark's counts."""

    stopped: Stopped
    consistency: list[str]
    status: list[str]
    recovery: subprocess.CompletedProcess | None = None
    recovery_args: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # problems after the recovery (none: at the head)

    @property
    def stuck_lock(self) -> bool:
        return self.recovery is not None and self.recovery.returncode == 1 and "migration lock" in self.recovery.stderr

    @property
    def output_problems(self) -> list[str]:
        """How the stopped run's own output falls short: a traceback, an internal error, an unexpected exit."""
        s = self.stopped
        problems = []
        if "Traceback" in s.stderr or "internal error" in s.stderr:
            problems.append(f"the stopped run printed a traceback or internal error: {s.stderr[-600:]}")
        # A server's kill that lands after the runner's last query (its session idle between
        # the last commit and the exit) goes unnoticed: exit 0, which the ledger checks then judge.
        allowed = {0} if s.finished_first else {KILL: {-signal.SIGKILL}, INTERRUPT: {130}, SERVER: {0, 1}}[s.point.kind]
        # A Ctrl-C that lands outside any bundle can meet a run already past its last one and
        # leaving (still running when polled, gone when signalled): exit 0, and silent.
        if s.point.kind == INTERRUPT and not s.mid_bundle and s.exit_code == 0 and not s.stderr.strip():
            allowed = {0}
        if s.exit_code not in allowed:
            problems.append(f"the stopped run exited {s.exit_code} (expected one of {sorted(allowed)}): {s.stderr[-600:]}")
        return problems

    @property
    def recovered_without_hand_step(self) -> bool:
        return self.recovery is not None and self.recovery.returncode == 0 and not self.recovered

    def problems(self) -> list[str]:
        found = self.output_problems + self.consistency + self.status
        if self.recovery is None or self.recovery.returncode != 0:
            said = "" if self.recovery is None else f"{self.recovery.stdout[-800:]}{self.recovery.stderr[-800:]}"
            found.append(f"{' '.join(self.recovery_args)} did not finish: {said}")
        return found + self.recovered


def check_after_stop(project: Path, url: DatabaseURL, stopped: Stopped, bundles: list[Bundle]) -> Outcome:
    """Run the checks (a)-(d) on a stopped run; the database ends at the head when all went well."""
    report = status_report(project, url)
    outcome = Outcome(stopped, consistency_problems(url, bundles), status_problems(report, url))
    outcome.recovery_args = recovery_args(report)
    outcome.recovery = cli(project, *outcome.recovery_args, "--database", cli_url(url))
    if outcome.recovery.returncode == 0:
        outcome.recovered = head_problems(url, bundles)
    return outcome


def head_problems(url: DatabaseURL, bundles: list[Bundle]) -> list[str]:
    """Return how the database falls short of the head: schema, ledger chain, every bundle applied."""
    rows = ledger(url)
    problems = list(verify_chain(rows))
    states = bundle_states(rows)
    if any(not (states.get(b.id) and states[b.id].is_applied) for b in bundles):
        problems.append(f"not every bundle is applied after the recovery: "
                        f"{ {b.id: states[b.id].state if b.id in states else 'pending' for b in bundles} }")
    differences = schema_differences(stored(url, bundles[-1]).ignoring_column_order(),
                                     live_schema(url).ignoring_column_order())
    if differences:
        problems.append(f"after the recovery the live schema is not the head's: "
                        f"{'; '.join(d.describe() for d in differences[:5])}")
    return problems
