"""`reviewkit lint`: the review of locks and risk, over the bytes the DBA signs.

`engine` runs each dialect's rules (`reviewkit.dialects.<engine>.lint_rules`) over a
bundle's scripts; `findings` weighs them by table size and applies the DBA's allowances;
`formats` writes them for a terminal, JSON, GitHub or GitLab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.bundle.script_file import KEEP_WHOLE_BELOW, is_large
from reviewkit.bundle.store import SCHEMA, Bundle, find_bundle, load_bundles
from reviewkit.config import Settings
from reviewkit.errors import IntegrityError, OperationFailed, UsageError
from reviewkit.lint import cache
from reviewkit.lint.findings import Finding, at_or_above, weighed, weighed_locks

if TYPE_CHECKING:
    from reviewkit.dialects.base import LockCapacity


@dataclass(frozen=True)
class LintRequest:
    bundles: tuple[str, ...] = ()  # BUNDLE arguments; none: the newest
    all: bool = False
    dialect: str | None = None
    database: str | None = None  # tables' live sizes come from here


def lint_project(settings: Settings, request: LintRequest) -> list[Finding]:
    """Return the findings of every script of the bundles asked for, in bundle, dialect and file order."""
    bundles = load_bundles(settings.bundles_dir)
    if not bundles:
        raise UsageError("there are no bundles to lint; run `reviewkit generate` first")
    rows, capacity = _live_sizes(settings, request.database) if request.database else ({}, {})
    found: list[Finding] = []
    for bundle in _chosen(bundles, request):
        position = bundles.index(bundle)
        parent = bundles[position - 1] if position else None
        dialects = [request.dialect] if request.dialect else list(bundle.manifest["dialects"])
        for dialect in dialects:
            if dialect not in bundle.manifest["dialects"]:
                continue
            for direction, before in (("up", parent), ("down", bundle)):
                raw = _script_findings(settings, bundle, dialect, direction, before)
                found += [weighed_locks(weighed(f, rows.get(dialect), settings.lint), capacity.get(dialect))
                          for f in raw if f.rule not in settings.lint.disable]
    return found


def _script_findings(settings: Settings, bundle: Bundle, dialect: str, direction: str, before: Bundle | None) -> list[Finding]:
    """Return one script's findings, from the cache when its bytes were linted before."""
    path = bundle.script_path(dialect, direction)
    root = settings.root.resolve()
    shown = str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path)
    if is_large(path):
        return [_too_large(path, shown)]
    try:
        script = path.read_bytes()
        before_bytes = (before.path / SCHEMA).read_bytes() if before is not None else b""
    except OSError as err:
        raise IntegrityError(f"{shown}: cannot read it ({err.strerror or err})") from None
    entry = cache.key(script, dialect, before_bytes, shown, bundle.online)
    kept = cache.load(settings.root, entry)
    if kept is not None:
        return kept
    from reviewkit.lint.engine import lint_script, rules_of  # sqlglot: imported only for bytes not linted before
    from reviewkit.schema.state import Schema

    schema = before.schema() if before is not None else Schema()
    text = script.decode("utf-8", errors="replace")
    found = lint_script(text, dialect, shown, schema, rules_of(dialect), bundle.online)
    cache.store(settings.root, entry, found)
    return found


def _too_large(path: Path, shown: str) -> Finding:
    """The one finding on a script too large to lint statement by statement (a hand-written data backfill).

    Parsing every statement of a 1 GB script would take hours and gigabytes; its size is
    what a reviewer must know, and reading it is theirs to do.
    """
    size = path.stat().st_size
    return Finding(
        rule="script-too-large", level="medium", file=shown, line=1, statement=1,
        message=f"{size / (1 << 20):,.0f} MB script: too large to lint statement by statement "
                f"(limit {KEEP_WHOLE_BELOW >> 20} MB); read it before approving",
        help="keep schema changes in a bundle of their own, where lint reads every statement; "
             "this one then holds only data",
    )


def bundle_risk(settings: Settings, bundle: Bundle) -> dict:
    """Return the manifest's `risk` for `bundle` as its up scripts are now: what `seal` writes after a hand edit."""
    from reviewkit.lint.risk import BundleFinding, NumberedOperations, kept, risk_of

    bundles = load_bundles(settings.bundles_dir)
    position = next((i for i, b in enumerate(bundles) if b.id == bundle.id), None)
    parent = bundles[position - 1] if position else None
    found: list[BundleFinding] = []
    for dialect in bundle.manifest["dialects"]:
        large = is_large(bundle.script_path(dialect, "up"))
        numbered = NumberedOperations("" if large else bundle.script(dialect, "up"))  # large: none numbered
        operations = len(bundle.manifest["operations"])
        for finding in kept(_script_findings(settings, bundle, dialect, "up", parent), settings.lint):
            found.append(BundleFinding(dialect, finding, numbered.index_above(finding.line, operations)))
    found.sort(key=lambda f: (-1 if f.operation is None else f.operation))
    return risk_of(found)


def failing(findings: list[Finding], threshold: str) -> list[Finding]:
    """The findings that make `lint` exit 1: at or above `threshold`, and not allowed."""
    return [f for f in findings if f.allowed is None and at_or_above(f.level, threshold)]


def _chosen(bundles: list[Bundle], request: LintRequest) -> list[Bundle]:
    if request.all:
        return bundles
    if request.bundles:
        return [find_bundle(bundles, ref) for ref in request.bundles]
    return [bundles[-1]]


def _live_sizes(settings: Settings, database: str) -> tuple[dict[str, dict[str, int]], dict[str, LockCapacity]]:
    """Return the live row estimate of each table of `database`, and its server's lock table where the engine
    has one to fill, each under its dialect's name."""
    from reviewkit.db.target import open_database, target_url
    from reviewkit.dialects import get_dialect

    url = target_url(settings, database)
    conn = open_database(url, create=False)
    if conn is None:
        raise OperationFailed(f"database {url.redacted()}: the file does not exist")
    dialect = get_dialect(url.dialect)
    with conn:
        rows = dialect.introspection.read_table_rows(conn)
        capacity = {url.dialect: dialect.lock_table.read(conn)} if dialect.lock_table is not None else {}
    return {url.dialect: rows}, capacity
