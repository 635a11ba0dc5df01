"""Bundles on disk: the manifest, checksums, the digest, and loading bundles in order.

A bundle is a folder `bundles/NNNN_slug/` holding `manifest.json`, `schema.json`,
`REVIEW.md`, one `<dialect>/{up,down}.sql` pair per dialect, and `approvals/`.
The manifest lists every other file with its sha256; the digest is a sha256 over the
manifest's canonical JSON without the digest itself, so it changes when any byte of any
listed file or any manifest field changes. Approvals live outside the digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewkit.bundle.manifest import BUNDLE_FORMAT as BUNDLE_FORMAT  # where the generator finds it
from reviewkit.bundle.manifest import BUNDLE_ID, UnreadableJSON, check_manifest, read_json
from reviewkit.errors import BundleNotFound, IntegrityError, OperationFailed
from reviewkit.schema.state import Schema, schema_from_json

MANIFEST = "manifest.json"
SCHEMA = "schema.json"
APPROVALS = "approvals"


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return self.manifest["id"]

    @property
    def number(self) -> int:
        return int(self.id.split("_", 1)[0])

    @property
    def parent(self) -> str | None:
        return self.manifest["parent"]

    @property
    def digest(self) -> str:
        return self.manifest["digest"]

    @property
    def risk_level(self) -> str:
        return self.manifest["risk"]["level"]

    def script_path(self, dialect: str, direction: str) -> Path:
        return self.path / dialect / f"{direction}.sql"

    def script(self, dialect: str, direction: str) -> str:
        if dialect not in self.manifest["dialects"]:
            raise BundleNotFound(f"{self.id}: bundle carries no {dialect} scripts (it has {', '.join(self.manifest['dialects'])})")
        return self.script_path(dialect, direction).read_text(encoding="utf-8")

    def schema(self) -> Schema:
        try:
            return schema_from_json((self.path / SCHEMA).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise IntegrityError(f"{self.id}/{SCHEMA}: unreadable schema snapshot ({err})") from None


# -- checksums and the digest -----------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compute_digest(manifest: dict[str, Any]) -> str:
    """Return the digest over every manifest field but `digest` (and so over every file's sha256)."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical.encode("utf-8"))


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# -- writing ----------------------------------------------------------------------------


def write_bundle(bundles_dir: Path, bundle_id: str, files: dict[str, bytes], manifest: dict[str, Any]) -> Bundle:
    """Write the bundle atomically: into a temporary folder, then renamed into place.

    `manifest` gets `files` and `digest` filled in here.
    """
    manifest = dict(manifest)
    manifest["files"] = {path: sha256_hex(data) for path, data in sorted(files.items())}
    manifest["digest"] = compute_digest(manifest)
    check_manifest(manifest, bundle_id, f"{bundle_id}/{MANIFEST}")  # never write a bundle that cannot be read back
    bundles_dir.mkdir(parents=True, exist_ok=True)
    final = bundles_dir / bundle_id
    if final.exists():
        raise IntegrityError(f"{final}: a bundle with this id already exists")
    staging = Path(tempfile.mkdtemp(prefix=f".{bundle_id}.", dir=bundles_dir))
    try:
        for rel, data in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (staging / APPROVALS).mkdir()
        (staging / MANIFEST).write_bytes(manifest_bytes(manifest))
        os.rename(staging, final)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise OperationFailed(f"{final}: cannot write the bundle ({err.strerror or err}); nothing was written") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Bundle(final, manifest)


# -- reading ----------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    """Return the manifest of bundle folder `path`, every field checked; raise IntegrityError naming the file."""
    where = f"{path.name}/{MANIFEST}"
    try:
        manifest = read_json(path / MANIFEST)
    except UnreadableJSON as why:
        raise IntegrityError(f"{where}: {why}") from None
    return check_manifest(manifest, path.name, where)


def load_bundles(bundles_dir: Path) -> list[Bundle]:
    """Return every bundle, ordered along the parent chain; refuse forks and gaps."""
    if not bundles_dir.is_dir():
        return []
    found = [Bundle(p, read_manifest(p)) for p in sorted(bundles_dir.iterdir()) if p.is_dir() and BUNDLE_ID.fullmatch(p.name)]
    return order_chain(found)


def order_chain(bundles: list[Bundle]) -> list[Bundle]:
    by_parent: dict[str | None, list[Bundle]] = {}
    ids = {b.id for b in bundles}
    for b in bundles:
        if b.parent is not None and b.parent not in ids:
            raise IntegrityError(f"{b.id}: its parent {b.parent} is not in the bundles folder")
        by_parent.setdefault(b.parent, []).append(b)
    for parent, children in by_parent.items():
        if len(children) > 1:
            names = ", ".join(c.id for c in children)
            raise IntegrityError(f"bundles {names} share the parent {parent or '(none)'}: merge them into one line of history")
    chain: list[Bundle] = []
    current: str | None = None
    while current in by_parent:
        nxt = by_parent[current][0]
        chain.append(nxt)
        current = nxt.id
    if len(chain) != len(bundles):
        stray = sorted(ids - {b.id for b in chain})
        raise IntegrityError(f"bundle {stray[0]} is not on the chain that starts at the first bundle")
    return chain


def find_bundle(bundles: list[Bundle], ref: str) -> Bundle:
    """Find a bundle by number (`2`, `0002`), id (`0002_add_email`) or path."""
    ref_path = Path(ref)
    for b in bundles:
        if ref in (b.id,) or (ref.isdigit() and int(ref) == b.number):
            return b
        if ref_path.exists() and ref_path.resolve() == b.path.resolve():
            return b
    raise BundleNotFound(f"no bundle matches {ref!r}" + (f" (latest is {bundles[-1].id})" if bundles else " (there are no bundles yet)"))


def file_sha256(path: Path) -> str:
    """Hash a file in chunks: a large hand-written bundle never sits in memory whole."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_files(bundle: Bundle) -> list[str]:
    """Return every integrity problem of the bundle's files, naming each file."""
    problems = []
    listed = bundle.manifest["files"]
    for rel, expected in sorted(listed.items()):
        problem = _listed_file_problem(bundle, rel, expected)
        if problem:
            problems.append(problem)
    for rel in _files_on_disk(bundle.path):
        if rel != MANIFEST and rel.split("/")[0] != APPROVALS and rel not in listed:
            problems.append(f"{bundle.id}/{rel}: not listed in the manifest")
    if compute_digest(bundle.manifest) != bundle.digest:
        problems.append(f"{bundle.id}/{MANIFEST}: digest does not match the manifest's contents")
    return problems


def _listed_file_problem(bundle: Bundle, rel: str, expected: str) -> str | None:
    """Return what is wrong with one listed file, if anything; a file that cannot be read is named too."""
    path = bundle.path / rel
    try:
        if not path.is_file():
            return f"{bundle.id}/{rel}: listed in the manifest but missing"
        if file_sha256(path) != expected:
            return f"{bundle.id}/{rel}: changed since the bundle was sealed (sha256 differs)"
    except OSError as err:  # a name too long for the file system, a file nobody may read
        return f"{bundle.id}/{rel}: cannot read it ({err.strerror or err})"
    return None


def _files_on_disk(folder: Path) -> list[str]:
    """Return every file below `folder` as a relative POSIX path, sorted."""
    found = []
    for current, _dirs, files in os.walk(folder):
        base = os.path.relpath(current, folder)
        for name in files:
            found.append(name if base == "." else f"{base}/{name}".replace(os.sep, "/"))
    return sorted(found)
