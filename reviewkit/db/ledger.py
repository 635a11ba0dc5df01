"""The ledger: table `reviewkit_ledger` inside each target database.

One row per bundle run: applied, rolled back (direction `down`), failed, faked, or still
running. Each row's `row_hash` covers its fields and the previous row's hash, so an
edited, deleted or inserted row breaks the chain and `status` / `verify` say which.
Times are stored as ISO 8601 UTC text: the same bytes on every engine, so the hashes
can be recomputed anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reviewkit.bundle.manifest import BUNDLE_ID
from reviewkit.dialects import dialect_names, get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.errors import LedgerMismatch
from reviewkit.schema.state import Column, PrimaryKey, Table

if TYPE_CHECKING:
    from reviewkit.bundle.store import Bundle

LEDGER_TABLE = "reviewkit_ledger"
GENESIS = "0" * 64

# The ledger is declared like any model table and compiled by the dialect modules.
LEDGER = Table(
    LEDGER_TABLE,
    columns=(
        Column("id", "bigint", nullable=False),
        Column("bundle_id", "varchar(255)", nullable=False),
        Column("digest", "varchar(64)", nullable=False),
        Column("dialect", "varchar(16)", nullable=False),
        Column("direction", "varchar(4)", nullable=False),
        Column("status", "varchar(16)", nullable=False),
        Column("statements_total", "integer", nullable=False),
        Column("statements_done", "integer", nullable=False),
        Column("started_at", "varchar(32)", nullable=False),
        Column("finished_at", "varchar(32)"),
        Column("applied_by", "varchar(255)", nullable=False),
        Column("approvals", "text"),
        Column("error", "text"),
        Column("prev_hash", "varchar(64)", nullable=False),
        Column("row_hash", "varchar(64)", nullable=False),
    ),
    primary_key=PrimaryKey(f"{LEDGER_TABLE}_pkey", ("id",)),
)
FIELDS = tuple(c.name for c in LEDGER.columns)


@dataclass(frozen=True)
class LedgerRow:
    id: int
    bundle_id: str
    digest: str
    dialect: str
    direction: str
    status: str
    statements_total: int
    statements_done: int
    started_at: str
    finished_at: str | None
    applied_by: str
    approvals: str | None
    error: str | None
    prev_hash: str
    row_hash: str = ""

    def sealed(self) -> LedgerRow:
        """Return this row with its `row_hash` computed."""
        return replace(self, row_hash=row_hash(self))


def row_hash(row: LedgerRow) -> str:
    fields = {name: getattr(row, name) for name in FIELDS if name != "row_hash"}  # asdict's deep copy: a tenth of status
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- reading and writing ------------------------------------------------------------------


def ledger_exists(conn: Connection) -> bool:
    return get_dialect(conn.dialect).driver.table_exists(conn, LEDGER_TABLE)


def create_ledger(conn: Connection) -> None:
    """Create the ledger table unless it exists. `IF NOT EXISTS`: SQLite's lock is per bundle,
    so two first runners may both find no ledger before either creates it."""
    sql = get_dialect(conn.dialect).compiler.create_table_sql(LEDGER)
    conn.execute(sql.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1))


def read_rows(conn: Connection, from_id: int | None = None) -> list[LedgerRow]:
    """Return every ledger row in id order (none when the table does not exist yet); from `from_id` on, if given."""
    if not ledger_exists(conn):
        return []
    dialect = get_dialect(conn.dialect)
    columns = ", ".join(dialect.quote(f) for f in FIELDS)
    select, order = f"SELECT {columns} FROM {dialect.quote(LEDGER_TABLE)}", f"ORDER BY {dialect.quote('id')}"
    if from_id is None:
        rows = conn.query(f"{select} {order}")
    else:
        rows = conn.query(f"{select} WHERE {dialect.quote('id')} >= %s {order}", [from_id])
    return [row_from_database(values) for values in rows]


class LedgerTail:
    """The ledger as a runner reads it again before each bundle, fetching only the rows from its last read on.

    Under the lock, before each bundle, a runner reads the ledger again: another runner may
    have gone first (SQLite's lock is per bundle), and the new row follows the last one.
    Reading it whole each time made applying N bundles read N^2/2 rows. The last row known is
    read again with the new ones (the runner updates its own row, statement by statement);
    when it is gone or moved, the ledger is read whole.
    """

    def __init__(self) -> None:
        self.rows: list[LedgerRow] = []
        self._of: dict[str, list[LedgerRow]] = {}  # each bundle's rows, in id order

    def read(self, conn: Connection) -> list[LedgerRow]:
        """Return every row of the ledger as it is now."""
        fresh = read_rows(conn, self.rows[-1].id) if self.rows else []
        if not fresh or fresh[0].id != self.rows[-1].id:
            self.rows, self._of = [], {}
            fresh = read_rows(conn)
        else:
            self.rows.pop()
            self._of[fresh[0].bundle_id].pop()
        for row in fresh:
            self.rows.append(row)
            self._of.setdefault(row.bundle_id, []).append(row)
        return self.rows

    def rows_of(self, bundle_ids: Iterable[str]) -> list[LedgerRow]:
        """Return the rows of these bundles only, in id order."""
        return sorted((row for bundle_id in set(bundle_ids) for row in self._of.get(bundle_id, ())), key=lambda r: r.id)


def row_from_database(values: tuple) -> LedgerRow:
    """Return the row a ledger query returned, or refuse one whose fields are not what reviewkit writes.

    Anyone with write access can put anything in the table (SQLite does not even keep
    column types); the hash chain would flag such a row, but it must be readable first.
    """
    fields = dict(zip(FIELDS, values, strict=True))
    where = f"ledger row {fields['id']!r}"
    for name, value in fields.items():
        problem = _field_problem(name, value)
        if problem:
            raise LedgerMismatch(f"{where} in {LEDGER_TABLE}: {name} {problem}; the ledger was edited by hand")
    if fields["statements_done"] > fields["statements_total"]:
        raise LedgerMismatch(f"{where} in {LEDGER_TABLE}: statements_done {fields['statements_done']} exceeds "
                             f"statements_total {fields['statements_total']}; the ledger was edited by hand")
    return LedgerRow(**fields)


_INTEGERS = ("id", "statements_total", "statements_done")
_OPTIONAL = ("finished_at", "approvals", "error")
_HASHES = ("digest", "prev_hash", "row_hash")
_CHOICES = {"direction": ("up", "down"), "status": ("running", "applied", "failed", "faked")}
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Control characters (C0, DEL, C1): a newline would split a one-line error, an escape
# sequence would drive the terminal of whoever runs `status`. Only an engine's error
# message may span lines; reviewkit writes nothing else with them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_ERROR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _field_problem(name: str, value: object) -> str | None:
    """Return what is wrong with one field's value as the database returned it, or None."""
    if name in _INTEGERS:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return None if ok else f"must be a whole number >= 0, not {value!r}"[:120]
    if value is None:
        return None if name in _OPTIONAL else "is empty (NULL)"
    if not isinstance(value, str):
        return f"must be text, not {type(value).__name__}"
    if name in _HASHES and not _HEX64.fullmatch(value):
        return f"must be 64 lowercase hex digits, not {value[:70]!r}"
    if (_CONTROL_IN_ERROR if name == "error" else _CONTROL).search(value):
        return f"holds a control character: {value[:70]!r}"
    if name in _CHOICES and value not in _CHOICES[name]:
        return f"{value[:40]!r} is not one of {', '.join(_CHOICES[name])}"
    if name == "dialect" and value not in dialect_names():
        return f"{value[:40]!r} is not one of {', '.join(dialect_names())}"
    if name == "bundle_id" and not BUNDLE_ID.fullmatch(value):
        return f"must be a bundle id like 0002_add_email, not {value[:70]!r}"
    return None


def insert_row(conn: Connection, row: LedgerRow) -> None:
    dialect = get_dialect(conn.dialect)
    columns = ", ".join(dialect.quote(f) for f in FIELDS)
    values = ", ".join(["%s"] * len(FIELDS))
    conn.execute(f"INSERT INTO {dialect.quote(LEDGER_TABLE)} ({columns}) VALUES ({values})", list(asdict(row).values()))


def update_row(conn: Connection, row: LedgerRow) -> None:
    dialect = get_dialect(conn.dialect)
    sets = ", ".join(f"{dialect.quote(f)} = %s" for f in FIELDS if f != "id")
    values = [v for k, v in asdict(row).items() if k != "id"]
    conn.execute(f"UPDATE {dialect.quote(LEDGER_TABLE)} SET {sets} WHERE {dialect.quote('id')} = %s", [*values, row.id])


def next_row(rows: list[LedgerRow], **fields: object) -> LedgerRow:
    """Return a new, sealed row that follows `rows` in the chain."""
    last = rows[-1] if rows else None
    row = LedgerRow(id=(last.id + 1) if last else 1, prev_hash=last.row_hash if last else GENESIS, **fields)  # type: ignore[arg-type]
    return row.sealed()


# -- what the rows say ----------------------------------------------------------------------


def verify_chain(rows: list[LedgerRow]) -> list[str]:
    """Return one line per broken link: an edited, deleted or inserted row."""
    problems = []
    expected_prev = GENESIS
    for row in rows:
        if row.prev_hash != expected_prev:
            problems.append(f"ledger row {row.id} ({row.bundle_id}): does not follow the row before it; "
                            "a row was deleted or inserted")
        if row_hash(row) != row.row_hash:
            problems.append(f"ledger row {row.id} ({row.bundle_id}): edited after it was written (row_hash differs)")
        expected_prev = row.row_hash
    return problems


@dataclass(frozen=True)
class BundleState:
    """Where one bundle stands in a database, from its latest ledger row."""

    state: str  # pending, applied, faked, failed, rolled back; a squash also partial
    row: LedgerRow | None = None
    via: tuple[str, ...] = ()  # a squash: the replaced bundles this database applied in its stead

    @property
    def detail_via(self) -> str:
        """`as 0002_a..0005_d`: how a squash counts as applied through the bundles it replaces."""
        return f"as {self.via[0]}..{self.via[-1]}" if len(self.via) > 1 else f"as {self.via[0]}" if self.via else ""

    @property
    def is_applied(self) -> bool:
        return self.state in ("applied", "faked")


def bundle_states(rows: list[LedgerRow]) -> dict[str, BundleState]:
    latest: dict[str, LedgerRow] = {}
    for row in rows:
        latest[row.bundle_id] = row
    return {bundle_id: state_of(row) for bundle_id, row in latest.items()}


def state_of(row: LedgerRow) -> BundleState:
    if row.status == "failed" and row.direction == "down" and row.statements_done == 0:
        # A rollback that failed before any of its statements took effect (or was rolled
        # back as a whole) left the bundle as it was: applied, and the rollback can be tried again.
        return BundleState("applied", row)
    if row.status in ("failed", "running"):  # running: the runner died mid-bundle
        return BundleState("failed", row)
    if row.direction == "down":
        return BundleState("rolled back", row)
    return BundleState("faked" if row.status == "faked" else "applied", row)


def ledger_problems(rows: list[LedgerRow], bundles: list[Bundle]) -> list[str]:
    """Return every way a database's ledger and the bundles folder disagree, one line each.

    A broken hash chain, a row for a bundle that is not in the folder (nor replaced by a
    squash), a bundle applied after one that is pending (a gap `apply` would never leave),
    a bundle edited after it was applied, and what a squash's range does not add up to
    (`reviewkit.db.squashed`). `apply` refuses on the first; `status` and `verify --database` list all.
    """
    from reviewkit.db.squashed import ledger_view  # it reads the states this module gives

    problems = verify_chain(rows)
    known = {b.id for b in bundles} | {replaced for b in bundles for replaced in b.replaced_ids}
    states = bundle_states(rows)
    # A bundle rolled back left nothing behind: its rows stay as history when its folder is gone (`rebase` moved it).
    problems += [f"ledger row {row.id} records bundle {row.bundle_id}, which is not in the bundles folder"
                 for row in rows if row.bundle_id not in known and states[row.bundle_id].state != "rolled back"]
    view = ledger_view(rows, bundles)
    problems += view.problems
    first_pending = None
    for bundle in view.chain:
        state = view.states.get(bundle.id, BundleState("pending"))
        if state.is_applied and first_pending:
            problems.append(f"{bundle.id} is applied but the earlier bundle {first_pending} is not")
        if state.is_applied and not state.via and state.row.digest != bundle.digest:
            problems.append(f"{bundle.id}: edited after it was applied (digest {bundle.digest[:12]} differs from the "
                            f"ledger's {state.row.digest[:12]})")
        if not state.is_applied and state.state != "failed":
            first_pending = first_pending or bundle.id
    return problems


_FAILED_STATEMENT = re.compile(r"statement (\d+) \(line \d+\): ")


def failed_statement(row: LedgerRow) -> int:
    """Return the statement a failed run stopped at: the one its error names, else the one after those done.

    They differ after `apply --batch`: the failing statement's group was rolled back with it.
    """
    match = _FAILED_STATEMENT.match(row.error or "")
    named = int(match.group(1)) if match else 0
    return named if named > row.statements_done else row.statements_done + 1


def first_of(problems: list[str]) -> str:
    """One line for an error: the first problem, and how many more there are."""
    return problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
