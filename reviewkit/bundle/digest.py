"""What a bundle's digest covers, and the one walk over a bundle folder that decides it.

The manifest lists every file of the bundle folder with its sha256, except the manifest
itself and the folders of evidence added after sealing (`approvals/`, `proofs/`); the digest is a
sha256 over the manifest's canonical JSON without the digest. `seal` lists the files
this walk finds, `verify` compares them with the manifest: both by the same rules, so
nothing one accepts is refused by the other.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewkit.bundle.verify_cache import VerifyCache

from reviewkit.json_lines import encode_each

MANIFEST = "manifest.json"
APPROVALS = "approvals"
PROOFS = "proofs"
# Top-level folders outside the digest: signatures and proofs are made of it, so they cannot be in it.
UNSIGNED_FOLDERS = (APPROVALS, PROOFS)
_NOT_WALKED = frozenset({MANIFEST, f"{APPROVALS}/", f"{PROOFS}/"})  # as a kept folder listing names them


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """Hash a file in chunks: a large hand-written bundle never sits in memory whole."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def compute_digest(manifest: dict[str, Any]) -> str:
    """Return the digest over every manifest field but `digest` (and so over every file's sha256)."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical.encode("utf-8"))


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """Return manifest.json's bytes: indented, each operation and each finding on a line of its own.

    One line per object reads well in a diff and is written by json's fast encoder (an
    indented dump of a 1,000-table bundle's manifest is pure Python, and slow).
    """
    return (_indented(manifest, "") + "\n").encode("utf-8")


def _indented(value: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{_ONE_LINE.encode(key)}: {_indented(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value:
        if all(isinstance(item, dict) for item in value):  # the operations, the findings: one line each
            items = [f"{inner}{line}" for line in encode_each(value)]
        else:
            items = [f"{inner}{_compact(item) if isinstance(item, dict) else _indented(item, inner)}" for item in value]
        return "[\n" + ",\n".join(items) + f"\n{indent}]"
    return _ONE_LINE.encode(value)


def _compact(value: dict[str, Any]) -> str:
    return _ONE_LINE.encode(value)


_ONE_LINE = json.JSONEncoder(ensure_ascii=False)  # one encoder for every line: json.dumps makes one per call


# -- the walk -----------------------------------------------------------------------------


def signed_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Return the files the digest covers (relative POSIX path -> path) and what may not be there.

    Refused, each a problem naming the file: a linked folder, a symlink pointing outside
    the folder, anything but a regular file, a backslash in a name (a manifest path cannot
    hold it). A symlink to a file inside the folder is hashed as that file.
    """
    found, problems = _signed_paths(folder, None)
    return {rel: Path(path) for rel, path in found.items()}, problems


def _signed_paths(folder: Path, cache: VerifyCache | None) -> tuple[dict[str, str], list[str]]:
    """`signed_files` with paths as strings (a Path per file costs more than its stat), listings from `cache`."""
    files: dict[str, str] = {}
    problems: list[str] = []
    _walk(str(folder), "", _Root(folder), folder.name, files, problems, cache)
    return dict(sorted(files.items())), problems


class _Root:
    """The bundle folder, resolved only when a symlink needs it: most bundles have none."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._resolved: Path | None = None

    def holds(self, path: str) -> bool:
        if self._resolved is None:
            self._resolved = self.folder.resolve()
        return Path(path).resolve().is_relative_to(self._resolved)


def _walk(here: str, prefix: str, root: _Root, label: str, files: dict[str, str], problems: list[str],
          cache: VerifyCache | None) -> None:
    seen = os.stat(here) if cache is not None else None  # before listing: a name added meanwhile changes it
    with os.scandir(here) as found:
        entries = sorted(found, key=lambda e: e.name)
    refused = len(problems)
    for entry in entries:
        rel = prefix + entry.name
        if not prefix and (entry.name == MANIFEST or entry.name in UNSIGNED_FOLDERS):
            continue
        problem = _refusal(entry, root)
        if problem:
            problems.append(f"{label}/{rel}: {problem}")
        elif entry.is_dir(follow_symlinks=False):
            _walk(entry.path, rel + "/", root, label, files, problems, cache)
        else:
            files[rel] = entry.path
    if seen is not None and len(problems) == refused and not any(e.is_symlink() for e in entries):
        # Plain files and folders, nothing refused: the next run may take the listing as it is while the folder's stat is.
        cache.folder(root.folder).keep_listing(prefix.rstrip("/"), seen,
                                         [e.name + ("/" if e.is_dir(follow_symlinks=False) else "") for e in entries])


def _refusal(entry: os.DirEntry, root: _Root) -> str | None:
    """Return why the walk refuses this entry, or None."""
    if "\\" in entry.name:
        return "a backslash in a file name cannot be listed in a manifest; rename the file"
    if entry.is_symlink():
        if entry.is_dir():
            return "a linked folder; copy its files into the bundle instead"
        if not root.holds(entry.path):
            return f"a symlink pointing outside the bundle folder ({os.readlink(entry.path)})"
    if not entry.is_dir(follow_symlinks=False) and not entry.is_file():
        return "not a regular file"
    return None


def verify_files(folder: Path, manifest: dict[str, Any], cache: VerifyCache | None = None,
                 digest: str | None = None) -> list[str]:
    """Return every integrity problem of a bundle folder against its manifest, naming each file.

    `cache` spares reading what has not changed since an earlier run; whatever fails with
    it is checked again from the bytes on disk, so that only the bytes ever refuse.
    `digest` is the digest already recomputed from this manifest, if the caller has it.
    """
    digest = digest or compute_digest(manifest)
    cache = cache if cache is not None and cache.enabled else None
    if cache is not None and digest == manifest["digest"] and \
            cache.folder(folder).vouches(manifest["files"], _NOT_WALKED):
        return []
    problems = _file_problems(folder, manifest, cache, digest)
    if problems and cache is not None and cache.trusted:
        with cache.distrusted():
            problems = _file_problems(folder, manifest, cache, digest)
    return problems


def _file_problems(folder: Path, manifest: dict[str, Any], cache: VerifyCache | None, digest: str) -> list[str]:
    found, problems = _signed_paths(folder, cache)
    label = folder.name  # the bundle's id: the manifest says so
    refused = {p.split(": ", 1)[0] for p in problems}
    listed = manifest["files"]
    for rel, expected in sorted(listed.items()):
        path = found.get(rel)
        if path is None:
            if f"{label}/{rel}" not in refused:
                problems.append(f"{label}/{rel}: listed in the manifest but missing")
            continue
        problem = _hash_problem(path, expected, folder, rel, cache)
        if problem:
            problems.append(f"{label}/{rel}: {problem}")
    problems += [f"{label}/{rel}: not listed in the manifest" for rel in found if rel not in listed]
    if digest != manifest["digest"]:
        problems.append(f"{label}/{MANIFEST}: digest does not match the manifest's contents")
    return problems


def _hash_problem(path: str, expected: str, folder: Path, rel: str, cache: VerifyCache | None) -> str | None:
    """Return why listed file `rel` of `folder` (at `path`) does not match its sha256, or None; a file nobody may read
    is named too."""
    try:
        found = cache.folder(folder).file_sha256(rel) if cache is not None else file_sha256(Path(path))
    except OSError as err:
        return f"cannot read it ({err.strerror or err})"
    if found != expected:
        return "changed since the bundle was sealed (sha256 differs)"
    return None
