"""What earlier runs verified, kept so that a bundle unchanged since costs a few `stat` calls.

`verify`, `status` and `apply` check every file of every bundle against its sha256 and
every approval's Ed25519 signature. Like git's index, this cache keeps, per file, the
sha256 found for its (size, mtime_ns, ctime_ns, inode, device), and per folder the names
found in it for the folder's own stat: a file or folder whose stat still matches is not
read again. It also keeps facts found true, each as a keyed hash of what it is about: a
manifest valid (its bytes and folder), a signature valid (the public key, the signed
message, the signature), an approval good (its bytes sign this bundle's digest with this
reviewer's key). It lives in `.reviewkit/verify.json`, which git ignores.

It only ever saves work, and decides nothing on its own:
- an entry is kept only for a file or folder whose mtime and ctime are more than 2 s older
  than the run that read it: an edit within the same clock tick could leave its stat
  equal ("racy git"). An edit changes ctime even when size and mtime are put back
  (`touch -r`, `os.utime`), and a file replaced by another has another inode;
- a hit can only make a check pass: whatever fails against it is checked again without it;
- the file carries an HMAC under a secret kept outside the project (`~/.cache/reviewkit/`),
  so a cache committed to the repository (`git add -f`) is ignored on every other machine;
- a cache that is missing, unreadable, corrupt or of another reviewkit is ignored, and
  written again whole. `verify --no-cache` and REVIEWKIT_NO_CACHE=1 leave it out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from reviewkit import __version__
from reviewkit.local_cache import FOLDER as LOCAL_FOLDER
from reviewkit.local_cache import local_folder

CACHE_FILE = "verify.json"
NO_CACHE_ENV = "REVIEWKIT_NO_CACHE"
FORMAT = 1
RACY_NS = 2_000_000_000  # what is changed less than this before a run may be changed again unseen
_KEY_BYTES = 32
# The modules whose rules a kept verdict (a manifest, an approval valid; a folder's listing) was made by:
# a reviewkit that judges otherwise starts from an empty cache.
_RULES = ("bundle/manifest.py", "bundle/digest.py", "bundle/verify_cache.py", "signoff/approvals.py", "signoff/keys.py")


class VerifyCache:
    """The cache of one run: what was kept (`_old_*`), and what this run found or confirmed (`_new_*`)."""

    def __init__(self, path: Path | None, secret: bytes | None, stamp: str, old: dict | None = None) -> None:
        self.path, self.secret, self.stamp = path, secret, stamp
        self.enabled = secret is not None
        self.started = time.time_ns()
        self.trusted = True  # False while a check that failed is made again from the bytes
        old = old or {}
        files = old.get("files")
        self._old_files: dict = files if isinstance(files, dict) else {}
        facts = old.get("facts")
        self._old_facts = {f for f in facts if isinstance(f, str)} if isinstance(facts, list) else set()
        self._new_files: dict[str, dict[str, str]] = {}
        self._new_facts: set[str] = set()
        self._folders: dict[str, KeptFolder] = {}
        self.near = shortener()

    def folder(self, bundle: Path) -> KeptFolder:
        """Return what is kept of the bundle folder at `bundle` (kept under its name): its files and folders, by stat."""
        name = bundle.name
        kept = self._folders.get(name)
        if kept is None:
            old = self._old_files.get(name)
            kept = self._folders[name] = KeptFolder(self, old if isinstance(old, dict) else {},
                                                    self._new_files.setdefault(name, {}), self.near(str(bundle)))
        return kept

    @contextmanager
    def distrusted(self) -> Iterator[None]:
        """Check again from the bytes on disk, keeping what is found: a failure is never the cache's word."""
        self.trusted = False
        try:
            yield
        finally:
            self.trusted = True

    # -- facts, by content ----------------------------------------------------------------

    def known(self, *parts: bytes) -> bool:
        """Return whether this fact (a manifest valid, a signature valid) was established before."""
        if not self.enabled or not self.trusted:
            return False
        fact = self._fact(parts)
        if fact in self._old_facts:
            self._new_facts.add(fact)
            return True
        return False

    def remember(self, *parts: bytes) -> None:
        """Keep a fact just established: a manifest found valid, a signature verified."""
        if self.enabled:
            self._new_facts.add(self._fact(parts))

    def _fact(self, parts: tuple[bytes, ...]) -> str:
        """A keyed hash of the parts, each prefixed by its length: no two facts read the same."""
        message = b"".join(len(part).to_bytes(8, "big") + part for part in parts)
        return hmac.digest(self.secret or b"", message, "sha256").hex()

    # -- across a fork --------------------------------------------------------------------

    def confirmed(self) -> Confirmed:
        """Return what this run has confirmed or found so far, for a parent process to `take`.

        A forked child judging bundles sends it back: a folder whose entries all hold as
        kept is named only (the parent has the same kept entries), the others' entries
        are sent whole, with the facts.
        """
        unchanged, found = [], {}
        for name, new in self._new_files.items():
            if new == self._old_files.get(name):
                unchanged.append(name)
            else:
                found[name] = new
        return Confirmed(unchanged, found, self._new_facts)

    def take(self, confirmed: Confirmed) -> None:
        """Keep what a forked child confirmed or found, as if this process had."""
        for name in confirmed.unchanged:
            self._new_files.setdefault(name, {}).update(self._old_files[name])
        for name, entries in confirmed.found.items():
            self._new_files.setdefault(name, {}).update(entries)
        self._new_facts |= confirmed.facts

    # -- writing --------------------------------------------------------------------------

    def save(self, complete: bool = False) -> None:
        """Write what this run found, if it differs from what was kept; never raise.

        `complete`: this run looked at every bundle, so what it did not see is gone (a
        bundle removed, a file renamed) and is dropped; otherwise it is kept beside.
        """
        if not self.enabled or self.path is None:
            return
        files = dict(self._new_files) if complete else {**self._old_files, **self._new_files}
        facts = self._new_facts if complete else self._old_facts | self._new_facts
        if files == self._old_files and facts == self._old_facts:
            return
        body = {"format": FORMAT, "stamp": self.stamp, "files": files, "facts": sorted(facts)}
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        mac = hmac.digest(self.secret or b"", payload, "sha256").hex().encode("ascii")
        with suppress(OSError):  # a read-only project verifies all the same, only without keeping what it found
            temporary = local_folder(self.path.parent.parent) / f".{CACHE_FILE}.{os.getpid()}.tmp"
            temporary.write_bytes(mac + b"\n" + payload)
            temporary.replace(self.path)


@dataclass(frozen=True)
class Confirmed:
    """What a run confirmed or found of the cache (`VerifyCache.confirmed`)."""

    unchanged: list[str]  # folders whose every kept entry was confirmed
    found: dict[str, dict[str, str]]  # the other folders: their entries as this run found them
    facts: set[str]


class KeptFolder:
    """The entries of one bundle folder: `rel` -> "size mtime_ns ctime_ns inode device sha256" for a file,
    `rel/` -> "size mtime_ns ctime_ns inode device|name\\0folder/\\0..." for a folder (its own entry: "/").

    `base` is the folder's path as the kernel takes it fastest (`VerifyCache.near`); `rel` paths are under it.
    """

    __slots__ = ("cache", "old", "new", "base")

    def __init__(self, cache: VerifyCache, old: dict, new: dict[str, str], base: str) -> None:
        self.cache, self.old, self.new, self.base = cache, old, new, base

    def kept_sha256(self, rel: str) -> str | None:
        """Return the sha256 kept for file `rel` when its stat is unchanged, else None; OSError as stat."""
        entry = self.old.get(rel) if self.cache.trusted else None
        if entry.__class__ is not str or entry[:-65] != _stat_key(os.stat(f"{self.base}/{rel}")):
            return None
        self.new[rel] = entry
        return entry[-64:]

    def vouches(self, listed: dict[str, str], skipped: frozenset[str]) -> bool:
        """Return whether every folder and file of the bundle is as kept, and the files are exactly `listed`.

        `listed` maps each file (relative path) to its sha256; `skipped` are names the top
        folder holds that are not looked into (a folder's ends in "/"). One stat per folder and
        file, and no file read: a bundle unchanged since an earlier run costs that much.
        """
        if not self.cache.trusted:
            return False
        old, new, folder, found = self.old, self.new, self.base, 0
        pending = [""]
        try:
            while pending:
                rel = pending.pop()
                key = rel + "/"
                entry = old.get(key)
                if entry.__class__ is not str or entry.partition("|")[0] != _stat_key(os.stat(f"{folder}/{rel}")):
                    return False
                new[key] = entry
                names = entry.partition("|")[2]
                for name in names.split("\0") if names else ():
                    if not rel and name in skipped:
                        continue
                    if name.endswith("/"):
                        pending.append(rel + "/" + name[:-1] if rel else name[:-1])
                        continue
                    file = f"{rel}/{name}" if rel else name
                    kept = old.get(file)
                    if kept.__class__ is not str or kept[-64:] != listed.get(file) or \
                            kept[:-65] != _stat_key(os.stat(f"{folder}/{file}")):
                        return False
                    new[file] = kept
                    found += 1
        except OSError:  # gone meanwhile: the walk says what is missing
            return False
        return found == len(listed)

    def file_sha256(self, rel: str) -> str:
        """Return the sha256 of file `rel`: kept, when its stat is unchanged, else read; OSError as reading."""
        kept = self.kept_sha256(rel)
        if kept is not None:
            return kept
        with open(f"{self.base}/{rel}", "rb") as handle:
            seen = os.fstat(handle.fileno())  # before reading: a change while hashing gives the next run another stat
            sha = hashlib.file_digest(handle, "sha256").hexdigest()
        self._note(rel, seen, f" {sha}")
        return sha

    def read_bytes(self, rel: str) -> tuple[bytes, str]:
        """Return small file `rel`'s bytes and their sha256, keeping the sha256 for its stat; OSError as reading."""
        with open(f"{self.base}/{rel}", "rb") as handle:
            seen = os.fstat(handle.fileno())
            data = handle.read()
        sha = hashlib.sha256(data).hexdigest()
        self._note(rel, seen, f" {sha}")
        return data, sha

    def listing(self, rel: str) -> tuple[list[str] | None, os.stat_result]:
        """Return the names kept for folder `rel` when its stat is unchanged (None otherwise), and its stat.

        A folder's name ends in "/". The stat is taken before the caller lists the folder, so that a name
        added meanwhile gives the next run another stat.
        """
        seen = os.stat(self._path(rel))
        key = rel + "/"
        entry = self.old.get(key) if self.cache.trusted else None
        if entry.__class__ is str:
            stat_part, _, names = entry.partition("|")
            if stat_part == _stat_key(seen):
                self.new[key] = entry
                return (names.split("\0") if names else []), seen
        return None, seen

    def names(self, rel: str) -> list[str] | None:
        """Return the names of the files and folders in folder `rel`, sorted, kept while its stat is unchanged.

        A folder's name ends in "/"; a link counts as what it points to; anything else (a
        pipe, a broken link) is left out. None when there is no such folder.
        """
        try:
            names, seen = self.listing(rel)
            if names is not None:
                return names
            with os.scandir(self._path(rel)) as found:
                entries = sorted(found, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return None
        names = [e.name + ("/" if e.is_dir() else "") for e in entries if e.is_file() or e.is_dir()]
        if len(names) == len(entries) and not any(e.is_symlink() for e in entries):
            self.keep_listing(rel, seen, names)
        return names

    def keep_listing(self, rel: str, seen: os.stat_result, names: list[str]) -> None:
        """Keep the names found in a folder whose stat was `seen` before listing it."""
        self._note(rel + "/", seen, "|" + "\0".join(names))

    def confirmed_names(self, rel: str) -> list[str] | None:
        """Return the names of folder `rel` as this run found them (listed, or kept and unchanged), else None."""
        entry = self.new.get(rel + "/")
        if entry is None:
            return None
        names = entry.partition("|")[2]
        return names.split("\0") if names else []

    def _path(self, rel: str) -> str:
        return f"{self.base}/{rel}" if rel else self.base

    def _note(self, key: str, seen: os.stat_result, value: str) -> None:
        """Keep what was found for a stat, unless it changed too recently to be told apart from a later change."""
        limit = self.cache.started - RACY_NS
        if self.cache.enabled and seen.st_mtime_ns < limit and seen.st_ctime_ns < limit:
            self.new[key] = _stat_key(seen) + value


def shortener() -> Callable[[str], str]:
    """Return a function giving a path under the working folder as relative to it, and any other path as it is.

    The kernel looks each component of a path up again at every `stat` and `open`, and a
    cached status makes some fifteen of them per bundle: from a project's root,
    `bundles/0003_x/postgres/up.sql` costs about half what the same path from `/` costs
    a few folders down (0.11 s against 0.19 s for 40,000 stats here).
    """
    try:
        prefix = os.path.join(os.getcwd(), "")
    except OSError:  # the working folder is gone: every path stays as it is
        return lambda path: path
    cut = len(prefix)
    return lambda path: path[cut:] if path.startswith(prefix) and len(path) > cut else path


def _stat_key(seen: os.stat_result) -> str:
    return f"{seen.st_size} {seen.st_mtime_ns} {seen.st_ctime_ns} {seen.st_ino} {seen.st_dev}"


def open_cache(root: Path, bundles_dir: Path, enabled: bool = True) -> VerifyCache:
    """Return the verification cache of the project at `root` (one that keeps nothing when disabled or unusable)."""
    if not enabled or os.environ.get(NO_CACHE_ENV, "") not in ("", "0"):
        return VerifyCache(None, None, "")
    secret = machine_secret()
    if secret is None:
        return VerifyCache(None, None, "")
    stamp = _stamp(bundles_dir)
    path = root / LOCAL_FOLDER / CACHE_FILE
    return VerifyCache(path, secret, stamp, _load(path, secret, stamp))


def _load(path: Path, secret: bytes, stamp: str) -> dict | None:
    """Return the kept cache, or None when there is none that this reviewkit, for this project, may trust."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mac, _, payload = data.partition(b"\n")
    if not hmac.compare_digest(mac, hmac.digest(secret, payload, "sha256").hex().encode("ascii")):
        return None  # damaged, or written without this machine's secret (committed, copied in)
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("stamp") != stamp:
        return None
    return body


def _stamp(bundles_dir: Path) -> str:
    """Return what a kept verdict holds for: this reviewkit's version and rules, and this bundles folder."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(f"{__version__}\0{bundles_dir.resolve()}".encode())
    for rel in _RULES:
        try:
            digest.update((package / rel).read_bytes())
        except OSError:
            digest.update(rel.encode())
    return digest.hexdigest()


def machine_secret() -> bytes | None:
    """Return this user's cache key (`~/.cache/reviewkit/verify-key`, made once, mode 0600), or None when there is none."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME", ""))
        if not base.is_absolute():  # unset, or relative: the XDG rules say ignore it
            base = Path.home() / ".cache"
        path = base / "reviewkit" / "verify-key"
        if not path.exists():
            _make_secret(path)
        data = path.read_bytes()
    except (OSError, RuntimeError):  # no home, a read-only home: no cache, full verification every time
        return None
    return data if len(data) == _KEY_BYTES else None


def _make_secret(path: Path) -> None:
    """Write a new random key at `path`, whole or not at all: another run making one at once wins or loses whole."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_KEY_BYTES))
        with suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
