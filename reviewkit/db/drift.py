"""`reviewkit drift`: does the live database still match the bundle it was last brought to?

The expected schema is the `schema.json` of the newest bundle the database's ledger shows
applied (the empty schema without a ledger), as the database's engine stores it; the
actual one is read from the engine's catalog. The ledger is checked first: a tampered
ledger cannot say which bundle the database should match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import Settings
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import first_of, ledger_problems, read_rows
from reviewkit.db.squashed import ledger_view
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.dialects.introspection import UnmodelledProperty, in_order
from reviewkit.diff.differences import CHANGED, Difference, schema_differences
from reviewkit.errors import LedgerMismatch, OperationFailed
from reviewkit.models import DJANGO_PREFIX
from reviewkit.schema.state import Schema


@dataclass
class DriftReport:
    database: str  # the URL without its password
    bundle: str | None  # the bundle the database should match; None: no bundle applied
    differences: list[Difference] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"database": self.database, "bundle": self.bundle,
                "differences": [d.to_dict() for d in self.differences]}


def check_drift(settings: Settings, database: str | None) -> DriftReport:
    """Compare the live schema of `database` with the schema its newest applied bundle left."""
    url = target_url(settings, database)
    conn = open_database(url, create=False)
    if conn is None:
        raise OperationFailed(f"database {url.redacted()}: the file does not exist")
    bundles = load_bundles(settings.bundles_dir)
    with conn:
        rows = read_rows(conn)
        problems = ledger_problems(rows, bundles)
        if problems:
            raise LedgerMismatch(f"database {url.redacted()}: {first_of(problems)}")
        newest = newest_applied(bundles, rows)
        expected = newest.schema() if newest else Schema()
        actual = without_foreign_ledgers(settings, introspect(conn, unmapped=True))
        properties = get_dialect(url.dialect).introspection.read_unmodelled_properties(conn)
    compiler = get_dialect(url.dialect).compiler
    differences = schema_differences(compiler.stored_form(expected), actual)
    implied = compiler.implied_properties(expected)
    return DriftReport(url.redacted(), newest.id if newest else None,
                       differences + _property_differences(properties, implied, actual, differences))


def _property_differences(properties: list[UnmodelledProperty], implied: set[UnmodelledProperty],
                          actual: Schema, differences: list[Difference]) -> list[Difference]:
    """Compare what the models cannot say with what the expected schema implies on this engine (`implied`).

    A property no bundle made is a change; so is one the bundles made that is gone. A table
    the live schema does not hold (the ledgers) is left out, and so is an object reported
    as added or missing already, or on a table reported so.
    """
    reported = {(d.object, d.name) for d in differences if d.change != CHANGED}
    views = {view.name for view in actual.views}
    live = {p for p in properties if actual.table(p.table) is not None or (p.object == "view" and p.name in views)}
    changes = [Difference(p.object, p.name, CHANGED, {p.key: None}, {p.key: p.value}) for p in in_order(live - implied)]
    changes += [Difference(p.object, p.name, CHANGED, {p.key: p.value}, {p.key: None}) for p in in_order(implied - live)]
    return [d for d in changes if (d.object, d.name) not in reported and ("table", d.name.split(".", 1)[0]) not in reported]


# Django's own ledger of the migrations `migrate` ran: a project adopting reviewkit from Django
# keeps it (and may still read it), as reviewkit keeps reviewkit_ledger; no model declares it.
DJANGO_LEDGER = "django_migrations"


def without_foreign_ledgers(settings: Settings, live: Schema) -> Schema:
    """Return the live schema without the migration ledger of the tool the models come from."""
    django = any(m.startswith(DJANGO_PREFIX) for m in settings.models)
    return live.without_table(DJANGO_LEDGER) if django and live.table(DJANGO_LEDGER) else live


def newest_applied(bundles: list[Bundle], rows: list) -> Bundle | None:
    """Return the last bundle, in bundle order, that the ledger shows applied or faked.

    A squash counts once the database applied the bundles it replaces; part-way through
    them, the last one applied is the bundle to match.
    """
    view = ledger_view(rows, bundles)
    applied = [b for b in view.chain if b.id in view.states and view.states[b.id].is_applied]
    return applied[-1] if applied else None
