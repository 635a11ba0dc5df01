"""`reviewkit review`: one static HTML page a DBA opens to review a bundle.

The page holds the bundle's summary, the schema change (each table before and after),
the SQL of every dialect with line numbers, the lint findings linked to their lines,
the approvals, the proofs and the digest. It is one file with its style inline, no
script, and a Content-Security-Policy that lets it load nothing: it can be opened from
a CI artifact or a mail attachment without a server. It is written beside the project,
never into a bundle (a file the manifest does not list would break the bundle).

`collect_review` reads what the page shows (`ReviewData`); `reviewkit.review.page`
renders it; `write_review_page` does both and writes the file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reviewkit.bundle.digest import APPROVALS, verify_files
from reviewkit.bundle.manifest import UnreadableJSON, read_json
from reviewkit.bundle.proofs import ProofState, proof_states
from reviewkit.bundle.store import Bundle, find_bundle, load_bundles
from reviewkit.config import Settings
from reviewkit.errors import OperationFailed, ReviewkitError, UsageError
from reviewkit.review.schema_change import SchemaChange, schema_change
from reviewkit.schema.state import Schema

REVIEW_MD = "REVIEW.md"


@dataclass(frozen=True)
class Script:
    """One of the bundle's SQL files as it is on disk."""

    dialect: str
    title: str  # the engine's name for people: "PostgreSQL"
    direction: str  # up, down
    text: str

    @property
    def file(self) -> str:
        return f"{self.dialect}/{self.direction}.sql"

    @property
    def anchor(self) -> str:
        return f"{self.dialect}-{self.direction}"


@dataclass(frozen=True)
class Approval:
    """One approval file: who signed, when, and whether the signature counts."""

    file: str
    reviewer: str | None
    fingerprint: str | None
    status: str  # valid, stale, unknown key, bad signature, ...; "unchecked" when the reviewers file cannot be read
    detail: str = ""
    signed_at: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class SignOff:
    """The approvals of a bundle and what the policy makes of them."""

    approvals: tuple[Approval, ...]
    summary: str  # "1/1 (alice)"; or why they could not be checked
    met: bool | None  # None: not checked


@dataclass(frozen=True)
class ReviewData:
    bundle: Bundle
    parent: Bundle | None
    review_md: str
    scripts: tuple[Script, ...]
    change: SchemaChange
    file_problems: tuple[str, ...]
    sign_off: SignOff
    proofs: tuple[ProofState, ...]
    written_at: str
    generator: str

    @property
    def manifest(self) -> dict[str, Any]:
        return self.bundle.manifest

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.bundle.manifest["risk"]["findings"]


def collect_review(settings: Settings, ref: str, reviewers: str | None = None) -> ReviewData:
    """Return everything the page of bundle `ref` shows, read from the bundle and its parent."""
    from reviewkit import __version__
    from reviewkit.dialects import get_dialect

    chain = load_bundles(settings.bundles_dir)
    bundle = find_bundle(chain, ref)
    position = chain.index(bundle)
    parent = chain[position - 1] if position else None
    before = parent.schema() if parent is not None else Schema()
    scripts = tuple(Script(name, get_dialect(name).title, direction, _read_text(bundle, f"{name}/{direction}.sql"))
                    for name in bundle.manifest["dialects"] for direction in ("up", "down"))
    problems = verify_files(bundle.path, bundle.manifest)
    return ReviewData(
        bundle=bundle,
        parent=parent,
        review_md=_read_text(bundle, REVIEW_MD),
        scripts=scripts,
        change=schema_change(before, bundle.schema(), bundle.manifest["operations"]),
        file_problems=tuple(problems),
        sign_off=sign_off(settings, bundle, reviewers, problems),
        proofs=tuple(proof_states(bundle)),
        written_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        generator=f"reviewkit {__version__}",
    )


def _read_text(bundle: Bundle, rel: str) -> str:
    """Return a file of the bundle; one that is missing or unreadable is shown as such (verify names it too)."""
    try:
        return (bundle.path / rel).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        return f"-- {bundle.id}/{rel}: cannot read it ({err.strerror or err})\n"


def sign_off(settings: Settings, bundle: Bundle, reviewers: str | None, file_problems: list[str]) -> SignOff:
    """Return the bundle's approvals, each checked against the reviewers file, and the policy's verdict."""
    from reviewkit.signoff.approvals import approval_files, evaluate_with, needs_reviewers
    from reviewkit.signoff.reviewers import load_reviewers, resolve_reviewers_path

    records = {path.name: _approval_record(path) for path in approval_files(bundle)}
    try:
        trusted = (load_reviewers(resolve_reviewers_path(settings, reviewers))
                   if needs_reviewers(bundle, settings.policy) else None)
    except ReviewkitError as why:  # the page is still worth reading: say why nothing was checked
        unchecked = tuple(Approval(f"{bundle.id}/{APPROVALS}/{name}", record.get("reviewer"), record.get("fingerprint"),
                                   "unchecked", str(why), record.get("signed_at"), record.get("comment"))
                          for name, record in records.items())
        return SignOff(unchecked, f"not checked: {why}", None)
    result = evaluate_with(bundle, settings.policy, trusted, file_problems=file_problems)
    approvals = []
    for check in result.checks:
        record = records.get(check.file.rsplit("/", 1)[-1], {})
        approvals.append(Approval(check.file, check.reviewer, check.fingerprint, check.status, check.detail,
                                  record.get("signed_at"), record.get("comment")))
    return SignOff(tuple(approvals), result.summary(), result.met)


def _approval_record(path: Path) -> dict[str, Any]:
    """Return an approval file's fields as far as they are text; a malformed file gives what it can."""
    try:
        record = read_json(path)
    except UnreadableJSON:
        return {}
    if not isinstance(record, dict):
        return {}
    return {key: value for key, value in record.items() if isinstance(value, str)}


def default_page_path(bundle: Bundle) -> Path:
    """Return `review-NNNN.html` in the current folder."""
    return Path.cwd() / f"review-{bundle.number:04d}.html"


def write_review_page(settings: Settings, ref: str, target: Path | None = None, reviewers: str | None = None) -> Path:
    """Write the review page of bundle `ref` to `target` (default: `review-NNNN.html` here); return its path."""
    from reviewkit.review.page import render_page

    data = collect_review(settings, ref, reviewers)
    path = (target or default_page_path(data.bundle)).absolute()
    refuse_bundle_folder(path, settings.bundles_dir, "--html" if target is not None else "the current folder")
    write_atomically(path, render_page(data).encode("utf-8"))
    return path


def refuse_bundle_folder(path: Path, bundles_dir: Path, given_by: str) -> None:
    """Refuse a page path inside a bundle's folder: the bundle would hold a file its manifest does not list."""
    resolved, bundles = path.resolve(), bundles_dir.resolve()
    if resolved.is_relative_to(bundles) and len(resolved.relative_to(bundles).parts) > 1:
        folder = resolved.relative_to(bundles).parts[0]
        raise UsageError(f"{path} ({given_by}) is inside bundle {folder}; the page is never written into a bundle "
                         "(its manifest does not list it): pass --html elsewhere, or run from another folder")


def write_atomically(path: Path, data: bytes) -> None:
    """Write the whole page or nothing: a temporary file beside it, renamed into place."""
    if not path.parent.is_dir():
        raise UsageError(f"--html {path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"--html {path}: is a folder; name the page's file")
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # a page to share: mkstemp's 0600 would keep it from a web server or a colleague
        os.replace(temporary, path)
    except OSError as err:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise OperationFailed(f"{path}: cannot write the review page ({err.strerror or err})") from None
