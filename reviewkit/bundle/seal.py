"""`reviewkit seal`: re-list a hand-edited bundle's files, recompute checksums and the digest.

Everything in the bundle folder but `manifest.json`, `approvals/` and `proofs/` is listed;
the risk is what `lint` finds in the scripts as they are now (given by the caller), and
every other manifest field stays as it was. Approvals and proofs of the old digest become
stale.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewkit.bundle.digest import (
    APPROVALS,
    MANIFEST,
    PROOFS,
    compute_digest,
    file_sha256,
    manifest_bytes,
    signed_files,
)
from reviewkit.bundle.manifest import UnreadableJSON, read_json
from reviewkit.bundle.proofs import proof_states
from reviewkit.bundle.store import Bundle
from reviewkit.errors import IntegrityError, OperationFailed


@dataclass(frozen=True)
class SealResult:
    bundle: Bundle  # as sealed now
    old_digest: str
    added: list[str]
    removed: list[str]
    changed: list[str]
    stale: list[str]  # approval files that signed another digest
    stale_proofs: list[str] = field(default_factory=list)  # proof files of another digest
    old_risk: str = ""  # the risk level before sealing

    @property
    def unchanged(self) -> bool:
        return self.old_digest == self.bundle.digest


def seal_bundle(bundle: Bundle, risk: Callable[[Bundle], dict[str, Any]] | None = None) -> SealResult:
    """Rewrite the bundle's manifest to list the files as they are now; return what changed.

    `risk` gives the bundle's risk from its scripts as they are (`reviewkit.lint.bundle_risk`);
    without it the manifest keeps the risk it had.
    """
    files = scan_files(bundle.path)
    _check_scripts(bundle, files)
    old = bundle.manifest["files"]
    manifest = {**bundle.manifest, "files": dict(sorted(files.items()))}
    if risk is not None:
        manifest["risk"] = risk(bundle)
    manifest["digest"] = compute_digest(manifest)
    if manifest != bundle.manifest:
        _write_manifest(bundle.path, manifest_bytes(manifest))
    sealed = Bundle(bundle.path, manifest)
    return SealResult(
        bundle=sealed,
        old_digest=bundle.manifest["digest"],
        added=sorted(set(files) - set(old)),
        removed=sorted(set(old) - set(files)),
        changed=sorted(rel for rel in files if rel in old and old[rel] != files[rel]),
        stale=stale_approvals(sealed),
        stale_proofs=[f"{PROOFS}/{s.dialect}.json" for s in proof_states(sealed) if s.state == "stale"],
        old_risk=bundle.risk_level,
    )


def scan_files(folder: Path) -> dict[str, str]:
    """Return every file the digest covers with its sha256; refuse what the bundle may not hold."""
    files, problems = signed_files(folder)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise IntegrityError(problems[0] + more)
    return {rel: file_sha256(path) for rel, path in files.items()}


def _check_scripts(bundle: Bundle, files: dict[str, str]) -> None:
    for dialect in bundle.manifest["dialects"]:
        for direction in ("up", "down"):
            rel = f"{dialect}/{direction}.sql"
            if rel not in files:
                raise IntegrityError(f"{bundle.id}/{rel}: missing; every dialect of the bundle needs an up and a down script")


def _write_manifest(folder: Path, data: bytes) -> None:
    target = folder / MANIFEST
    try:
        fd, temp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as err:
        raise OperationFailed(f"{target}: cannot write ({err.strerror or err}); the manifest is unchanged") from None


def stale_approvals(bundle: Bundle) -> list[str]:
    """Return the approval files (by name) that do not sign the bundle's current digest."""
    folder = bundle.path / APPROVALS
    stale = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = read_json(path)
        except UnreadableJSON:
            record = None  # malformed: it signs nothing, so it is stale too
        digest = record.get("digest") if isinstance(record, dict) else None
        if digest != bundle.digest:
            stale.append(f"{APPROVALS}/{path.name}")
    return stale
