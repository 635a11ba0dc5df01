"""Bundles on disk: reading and writing them, and loading them in the order of their chain.

A bundle is a folder `bundles/NNNN_slug/` holding `manifest.json`, `schema.json`,
`REVIEW.md`, one `<dialect>/{up,down}.sql` pair per dialect, and `approvals/`. What the
digest covers is `reviewkit.bundle.digest`'s business.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.bundle.digest import APPROVALS, MANIFEST, compute_digest, manifest_bytes, sha256_hex, verify_files
from reviewkit.bundle.manifest import BUNDLE_FORMAT as BUNDLE_FORMAT  # where the generator finds it
from reviewkit.bundle.manifest import BUNDLE_ID, UnreadableJSON, check_manifest, json_from_bytes, read_json
from reviewkit.bundle.verify_cache import shortener
from reviewkit.errors import BundleNotFound, IntegrityError, OperationFailed
from reviewkit.schema.state import Schema, schema_from_json

if TYPE_CHECKING:
    from reviewkit.bundle.verify_cache import VerifyCache

SCHEMA = "schema.json"


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]
    # A squash's replaced bundles still in the bundles folder, in chain order (`load_bundles` fills it in).
    originals: tuple[Bundle, ...] = ()
    # The digest recomputed from the manifest when it was read (`read_bundle`), so that it is computed once.
    checked_digest: str | None = field(default=None, compare=False, repr=False)

    @property
    def computed_digest(self) -> str:
        """The digest of the manifest's contents, as checks compare `digest` with: never the field itself."""
        return self.checked_digest if self.checked_digest is not None else compute_digest(self.manifest)

    @property
    def id(self) -> str:
        return self.manifest["id"]

    @property
    def number(self) -> int:
        return int(self.id.split("_", 1)[0])

    @property
    def replaces(self) -> list[dict[str, str]]:
        """The bundles a squash replaces (`{"id", "digest"}`, in chain order); empty for any other bundle."""
        return self.manifest.get("replaces", [])

    @property
    def replaced_ids(self) -> list[str]:
        return [item["id"] for item in self.replaces]

    @property
    def last_number(self) -> int:
        """The number the next bundle follows: a squash's is that of the last bundle it replaces."""
        return int(self.replaced_ids[-1].split("_", 1)[0]) if self.replaces else self.number

    @property
    def range_label(self) -> str:
        """`0002_a..0005_d`: the bundles a squash replaces, for messages."""
        return f"{self.replaced_ids[0]}..{self.replaced_ids[-1]}" if self.replaces else self.id

    @property
    def parent(self) -> str | None:
        return self.manifest["parent"]

    @property
    def digest(self) -> str:
        return self.manifest["digest"]

    @property
    def online(self) -> bool:
        """Whether the bundle is in the lock-safe forms (`generate --online`): its scripts run statement by statement."""
        return self.manifest.get("online", False) is True

    @property
    def risk_level(self) -> str:
        return self.manifest["risk"]["level"]

    def script_path(self, dialect: str, direction: str) -> Path:
        return self.path / dialect / f"{direction}.sql"

    def script(self, dialect: str, direction: str) -> str:
        """Return a script's text, read whole: for generated (small) scripts; `bundle.script_file` streams them."""
        return self.script_path_checked(dialect, direction).read_text(encoding="utf-8")

    def script_path_checked(self, dialect: str, direction: str) -> Path:
        """Return a script's path, refusing a dialect the bundle does not carry."""
        if dialect not in self.manifest["dialects"]:
            raise BundleNotFound(f"{self.id}: bundle carries no {dialect} scripts (it has {', '.join(self.manifest['dialects'])})")
        return self.script_path(dialect, direction)

    def schema(self) -> Schema:
        try:
            return schema_from_json((self.path / SCHEMA).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
            raise IntegrityError(f"{self.id}/{SCHEMA}: unreadable schema snapshot ({type(err).__name__}: {str(err)[:200]})") from None


# -- writing ----------------------------------------------------------------------------


def write_bundle(bundles_dir: Path, bundle_id: str, files: dict[str, bytes], manifest: dict[str, Any]) -> Bundle:
    """Write the bundle atomically: into a temporary folder, then renamed into place.

    `manifest` gets `files` and `digest` filled in here.
    """
    return stage_bundle(bundles_dir, bundle_id, files, manifest).commit()


@dataclass(frozen=True)
class StagedBundle:
    """A bundle written into a temporary folder beside its place, not yet a bundle of the project."""

    staging: Path
    final: Path
    manifest: dict[str, Any]
    made_folder: bool = False  # the bundles folder did not exist before: `discard` removes it again

    def commit(self) -> Bundle:
        """Rename the bundle into place, in one step."""
        try:
            os.rename(self.staging, self.final)
        except OSError as err:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise OperationFailed(f"{self.final}: cannot write the bundle ({err.strerror or err}); nothing was written") from None
        return Bundle(self.final, self.manifest)

    def discard(self) -> None:
        """Remove what was written, leaving the project as it was."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.made_folder:
            with suppress(OSError):  # something else was put there meanwhile: it stays
                self.final.parent.rmdir()


def stage_bundle(bundles_dir: Path, bundle_id: str, files: dict[str, bytes], manifest: dict[str, Any]) -> StagedBundle:
    """Write the bundle into a temporary folder beside its place; `commit` puts it in place.

    `manifest` gets `files` and `digest` filled in here.
    """
    manifest = dict(manifest)
    manifest["files"] = {path: sha256_hex(data) for path, data in sorted(files.items())}
    manifest["digest"] = compute_digest(manifest)
    check_manifest(manifest, bundle_id, f"{bundle_id}/{MANIFEST}")  # never write a bundle that cannot be read back
    made_folder = not bundles_dir.exists()
    final = bundles_dir / bundle_id
    if bundles_dir.exists() and not bundles_dir.is_dir():
        raise OperationFailed(f"{bundles_dir}: is a file, not the bundles folder; nothing was written")
    try:
        bundles_dir.mkdir(parents=True, exist_ok=True)
        if final.exists():
            raise IntegrityError(f"{final}: a bundle with this id already exists")
        staging = Path(tempfile.mkdtemp(prefix=f".{bundle_id}.", dir=bundles_dir))
    except OSError as err:  # a read-only or full disk, a file where the folder should be
        raise OperationFailed(f"{bundles_dir}: cannot write the bundle there ({err.strerror or err}); "
                              "nothing was written") from None
    try:
        for rel, data in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (staging / APPROVALS).mkdir()
        (staging / MANIFEST).write_bytes(manifest_bytes(manifest))
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise OperationFailed(f"{final}: cannot write the bundle ({err.strerror or err}); nothing was written") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedBundle(staging, final, manifest, made_folder)


# -- reading ----------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    """Return the manifest of bundle folder `path`, every field checked; raise IntegrityError naming the file."""
    where = f"{path.name}/{MANIFEST}"
    try:
        manifest = read_json(path / MANIFEST)
    except UnreadableJSON as why:
        raise IntegrityError(f"{where}: {why}") from None
    return check_manifest(manifest, path.name, where)


def read_bundle(path: Path, cache: VerifyCache | None = None) -> Bundle:
    """Return the bundle in folder `path`, its manifest checked and its digest recomputed, once each.

    A manifest whose bytes `cache` knows valid (with a digest that matched) is only parsed.
    """
    if cache is None or not cache.enabled:
        manifest = read_manifest(path)
        return Bundle(path, manifest, checked_digest=compute_digest(manifest))
    where = f"{path.name}/{MANIFEST}"
    try:
        with open(cache.near(os.path.join(path, MANIFEST)), "rb") as handle:
            data = handle.read()
    except OSError:
        return read_bundle(path)  # read_manifest names the file and the reason
    if cache.known(b"manifest", path.name.encode(), data):
        manifest = json.loads(data)
        return Bundle(path, manifest, checked_digest=manifest["digest"])
    try:
        manifest = check_manifest(json_from_bytes(data), path.name, where)
    except UnreadableJSON as why:
        raise IntegrityError(f"{where}: {why}") from None
    digest = compute_digest(manifest)
    if digest == manifest["digest"]:
        cache.remember(b"manifest", path.name.encode(), data)
    return Bundle(path, manifest, checked_digest=digest)


def load_bundles(bundles_dir: Path, cache: VerifyCache | None = None) -> list[Bundle]:
    """Return every bundle, ordered along the parent chain; refuse forks and gaps.

    A squash stands in the chain in place of the bundles it replaces, which are left out of
    it and attached to the squash (`Bundle.originals`) while they are still in the folder.
    `cache` spares checking again manifests an earlier run found valid.
    """
    found = read_bundles(bundles_dir, cache)
    squashes = _squashes_of(found)
    replaced = {b.id for b in found if b.id in squashes}
    chain = order_chain([b for b in found if b.id not in replaced], _continues_after(squashes))
    by_id = {b.id: b for b in found}
    return [_with_originals(b, by_id) if b.replaces else b for b in chain]


def read_bundles(bundles_dir: Path, cache: VerifyCache | None = None) -> list[Bundle]:
    """Return every bundle, sorted by folder name, in no chain: what `rebase` reads a forked history with."""
    if not bundles_dir.is_dir():
        return []
    return [read_bundle(p, cache) for p in bundle_folders(bundles_dir)]


def bundle_folders(bundles_dir: Path) -> list[Path]:
    """Return the bundle folders; refuse, naming it, a folder that is not one.

    A folder skipped in silence would be a bundle `apply` never runs (`0003-x/`, a copy
    without its manifest). Files (a README) and hidden folders (a bundle being written,
    `.git`) are left alone.
    """
    with os.scandir(bundles_dir) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    near = shortener()
    for name in names:
        where = f"{bundles_dir.name}/{name}/"
        if not BUNDLE_ID.fullmatch(name):
            raise IntegrityError(f"{where} is not a bundle: bundle folders are named like 0003_add_email; "
                                 f"move anything else out of {bundles_dir.name}/")
        if not os.path.isfile(near(os.path.join(bundles_dir, name, MANIFEST))):
            raise IntegrityError(f"{where} has no {MANIFEST}, so it is not a bundle: restore it from version "
                                 f"control, or remove the folder")
    return [bundles_dir / name for name in names]


def _squashes_of(bundles: list[Bundle]) -> dict[str, Bundle]:
    """Return the squash that replaces each replaced id (present or not); refuse an id two squashes replace."""
    squashes: dict[str, Bundle] = {}
    for bundle in bundles:
        for replaced in bundle.replaced_ids:
            if replaced in squashes:
                raise IntegrityError(f"{replaced} is replaced by both {squashes[replaced].id} and {bundle.id}; "
                                     "keep one of the two squashes")
            squashes[replaced] = bundle
    nested = [b.id for b in bundles if b.replaces and b.id in squashes]
    if nested:
        raise IntegrityError(f"{nested[0]} is a squash replaced by the squash {squashes[nested[0]].id}: "
                             "a squash cannot replace another squash")
    return squashes


def _continues_after(squashes: dict[str, Bundle]) -> Callable[[Bundle], str | None]:
    """Return the parent a bundle has in the chain: a bundle after a squashed range continues after the squash."""
    def parent_of(bundle: Bundle) -> str | None:
        squash = squashes.get(bundle.parent or "")
        if squash is None:
            return bundle.parent
        if bundle.parent != squash.replaced_ids[-1]:
            raise IntegrityError(f"{bundle.id}: its parent {bundle.parent} is inside the range {squash.range_label} that "
                                 f"{squash.id} replaces, not its end: merge it into one line of history")
        return squash.id

    return parent_of


def _with_originals(squash: Bundle, by_id: dict[str, Bundle]) -> Bundle:
    """Return the squash with the bundles it replaces that are still in the folder; refuse them off its chain."""
    originals = []
    expected_parent = squash.parent
    for replaced in squash.replaced_ids:
        original = by_id.get(replaced)
        if original is not None:
            if original.parent != expected_parent:
                raise IntegrityError(f"{original.id}: its parent is {original.parent or '(none)'}, but {squash.id} replaces "
                                     f"it as the bundle after {expected_parent or '(none)'}")
            originals.append(original)
        expected_parent = replaced
    return replace(squash, originals=tuple(originals))


def replaced_problems(squash: Bundle, cache: VerifyCache | None = None) -> list[str]:
    """Return how the replaced bundles still in the folder differ from what the squash says it replaces.

    Each must match its own manifest, and its digest must be the one `replaces` lists: a
    database that is part-way through the range runs them, and a database that applied
    them counts the squash as applied on the strength of those digests.
    """
    listed = {item["id"]: item["digest"] for item in squash.replaces}
    problems = []
    for original in squash.originals:
        problems += verify_files(original.path, original.manifest, cache, original.computed_digest)
        if original.digest != listed[original.id]:
            problems.append(f"{squash.id}/{MANIFEST}: replaces {original.id} with digest {listed[original.id][:12]}, "
                            f"but that bundle's digest is {original.digest[:12]} (edited after the squash)")
    return problems


def order_chain(bundles: list[Bundle], parent_of: Callable[[Bundle], str | None] = lambda b: b.parent) -> list[Bundle]:
    by_parent: dict[str | None, list[Bundle]] = {}
    ids = {b.id for b in bundles}
    for b in bundles:
        parent = parent_of(b)
        if parent is not None and parent not in ids:
            raise IntegrityError(f"{b.id}: its parent {b.parent} is not in the bundles folder")
        by_parent.setdefault(parent, []).append(b)
    for parent, children in by_parent.items():
        if len(children) > 1:
            names = ", ".join(c.id for c in children)
            raise IntegrityError(f"bundles {names} share the parent {parent or '(none)'}: two branches each added one; "
                                 "move the bundle of the branch merged last onto the other with `reviewkit rebase BUNDLE`")
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
    for squash in (b for b in bundles if b.replaces):
        for replaced in squash.replaced_ids:
            if ref == replaced or (ref.isdigit() and int(ref) == int(replaced.split("_", 1)[0])):
                raise BundleNotFound(f"{replaced} is replaced by the squash {squash.id}; name {squash.number} "
                                     f"({squash.id}) or a bundle outside {squash.range_label}")
    raise BundleNotFound(f"no bundle matches {ref!r}" + (f" (latest is {bundles[-1].id})" if bundles else " (there are no bundles yet)"))
