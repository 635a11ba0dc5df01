"""The verification cache (`.reviewkit/verify.json`) on real files: it spares work, never a check.

Each test waits until the bundle's files are older than the cache's racy window (2 s), as
files are in a project anyone works on: the cache keeps nothing about a file changed more
recently than that. The commands run through the real command line (see signoff_support).
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from reviewkit.bundle import judging
from reviewkit.bundle.digest import verify_files
from reviewkit.bundle.store import load_bundles
from reviewkit.bundle.verify_cache import CACHE_FILE, RACY_NS, open_cache
from reviewkit.config import load_settings
from reviewkit.db.status import collect_status
from reviewkit.errors import IntegrityError
from reviewkit.forked import ForkedCall
from reviewkit.local_cache import FOLDER
from reviewkit.signoff.keys import fingerprint_of_line
from reviewkit.signoff.verify import verify_bundles
from tests.signoff_support import SHOP

SCRIPT = "0001_initial/postgres/up.sql"
EDITED = "0001_initial/postgres/up.sql: changed since the bundle was sealed (sha256 differs)"


def settle(folder: Path) -> None:
    """Wait until every file and folder under `folder` changed more than the racy window ago."""
    newest = max(p.lstat().st_ctime_ns for p in [folder, *folder.rglob("*")])
    wait = newest + RACY_NS + 50_000_000 - time.time_ns()
    if wait > 0:
        time.sleep(wait / 1e9)


def cache_path(project) -> Path:
    return project.root / FOLDER / CACHE_FILE


def secret(xdg: Path) -> bytes:
    return (xdg / "reviewkit" / "verify-key").read_bytes()


def read_cache(project, xdg: Path) -> dict:
    """Return the cache's contents, after checking that it is signed with this machine's key."""
    mac, _, payload = cache_path(project).read_bytes().partition(b"\n")
    assert mac == hmac.digest(secret(xdg), payload, "sha256").hex().encode()
    return json.loads(payload)


def write_cache(project, xdg: Path, body: object, key: bytes | None = None) -> None:
    """Write a cache as someone holding the key would (the key of `xdg`, or `key`)."""
    payload = json.dumps(body).encode()
    mac = hmac.digest(key or secret(xdg), payload, "sha256").hex().encode()
    cache_path(project).write_bytes(mac + b"\n" + payload)


def edit_in_place(path: Path) -> None:
    """Change one byte, keeping the size, then put the access and modification times back."""
    before = path.stat()
    data = path.read_bytes()
    index = data.index(b"customers")
    path.write_bytes(data[:index] + b"Customers" + data[index + 9:])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def stat_key(path: Path) -> str:
    seen = path.stat()
    return f"{seen.st_size} {seen.st_mtime_ns} {seen.st_ctime_ns} {seen.st_ino} {seen.st_dev}"


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine's cache folder, where the cache's key lives: outside the project."""
    folder = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("REVIEWKIT_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def signed(project, xdg):
    """The sign-off project with bundle 1 approved by alice, settled, verified once: the cache is warm."""
    project.approve("1", "alice")
    settle(project.root / "bundles")
    project.ok("verify")
    return project


def test_a_warm_run_keeps_every_file_and_says_what_a_cold_one_says(signed, xdg):
    bundles = signed.root / "bundles"
    kept = read_cache(signed, xdg)["files"]["0001_initial"]
    listed = json.loads((bundles / "0001_initial" / "manifest.json").read_text())["files"]
    for rel, sha in listed.items():
        assert kept[rel].endswith(" " + sha) and kept[rel].startswith(stat_key(bundles / "0001_initial" / rel))
    assert {"/", "postgres/", "approvals/", "approvals/alice.json"} <= set(kept)
    assert (xdg / "reviewkit" / "verify-key").stat().st_mode & 0o777 == 0o600

    cold = signed.ok("verify", "--no-cache")
    warm = signed.ok("verify")
    assert warm.stdout == cold.stdout and "1/1 (alice)  met" in warm.stdout
    assert signed.ok("status").stdout == signed.ok("status", REVIEWKIT_NO_CACHE="1").stdout
    assert (signed.root / FOLDER / ".gitignore").read_text().endswith("\n*\n")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_ignores_the_cache_from_init_on(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    from reviewkit.scaffold import init_project

    init_project(tmp_path)
    (tmp_path / FOLDER / CACHE_FILE).write_text("x")
    ignored = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "-q", f"{FOLDER}/{CACHE_FILE}"])
    assert ignored.returncode == 0
    listed = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain"], capture_output=True, text=True).stdout
    assert FOLDER.name not in listed


def test_an_edit_that_keeps_size_and_mtime_is_caught(signed):
    edit_in_place(signed.root / "bundles" / SCRIPT)
    assert EDITED in signed.refused("verify")
    status = signed.run("status", "--check")
    assert status.returncode == 1 and f"FLAG {EDITED}" in status.stdout


def test_a_file_replaced_by_another_of_the_same_size_and_mtime_is_caught(signed):
    path = signed.root / "bundles" / SCRIPT
    before = path.stat()
    replacement = path.with_name(".replacement")
    replacement.write_bytes(path.read_bytes().replace(b"customers", b"Customers", 1))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)
    assert EDITED in signed.refused("verify")


def test_files_added_or_removed_in_a_kept_folder_are_seen(signed):
    folder = signed.root / "bundles" / "0001_initial"
    (folder / "mysql" / "extra.sql").write_text("DROP TABLE customers;\n")
    assert "0001_initial/mysql/extra.sql: not listed in the manifest" in signed.refused("verify")
    (folder / "mysql" / "extra.sql").unlink()
    (folder / "sqlite" / "down.sql").rename(folder / "down.sql.bak")
    assert "0001_initial/sqlite/down.sql: listed in the manifest but missing" in signed.refused("verify")


def test_an_approval_added_after_a_warm_run_counts(signed):
    signed.approve("1", "bob")
    report = json.loads(signed.ok("verify", "--json").stdout)
    assert [(a["reviewer"], a["status"]) for a in report["bundles"][0]["approvals"]] == [("alice", "valid"), ("bob", "valid")]


def test_a_forged_approval_is_caught_though_the_cache_holds_the_valid_signature_of_that_digest(signed):
    approvals = signed.root / "bundles" / "0001_initial" / "approvals"
    alice = json.loads((approvals / "alice.json").read_text())
    forged = dict(alice, reviewer="bob", fingerprint=fingerprint_of_line(signed.public("bob")))
    (approvals / "bob.json").write_text(json.dumps(forged))  # alice's valid signature, in bob's name
    assert "0001_initial/approvals/bob.json: bad signature" in signed.refused("verify")
    (approvals / "bob.json").unlink()

    # alice's own file, one signature byte changed, same size, times put back: still hers, no longer valid.
    path = approvals / "alice.json"
    before = path.stat()
    raw = bytearray(base64.b64decode(alice["signature"]))
    raw[0] ^= 1
    path.write_text(path.read_text().replace(alice["signature"], base64.b64encode(bytes(raw)).decode()))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert "0001_initial/approvals/alice.json: bad signature" in signed.refused("verify")


def test_no_cache_reads_every_file_again(signed, xdg):
    """A cache entry is believed only for its stat: one forged with the key makes the cached run pass, not these."""
    path = signed.root / "bundles" / SCRIPT
    body = read_cache(signed, xdg)
    edit_in_place(path)
    entry = body["files"]["0001_initial"]["postgres/up.sql"]
    body["files"]["0001_initial"]["postgres/up.sql"] = f"{stat_key(path)} {entry[-64:]}"
    write_cache(signed, xdg, body)
    assert "1/1 (alice)  met" in signed.ok("verify").stdout  # the cache is trusted: its writer could edit anything
    assert EDITED in signed.refused("verify", "--no-cache")
    assert EDITED in signed.refused("verify", REVIEWKIT_NO_CACHE="1")
    assert f"FLAG {EDITED}" in signed.run("status", REVIEWKIT_NO_CACHE="1").stdout
    assert EDITED in signed.refused("verify")  # --no-cache kept what it found: the forged entry is gone


def test_a_cache_that_says_a_file_changed_is_checked_against_the_bytes(signed, xdg):
    """Only the bytes on disk ever refuse: a failure found through the cache is checked again without it."""
    body = read_cache(signed, xdg)
    listed = body["files"]["0001_initial"]
    sha = listed["postgres/up.sql"][-64:]
    listed["postgres/up.sql"] = listed["postgres/up.sql"][:-64] + "0" * 64
    listed["/"] = listed["/"].replace("|", "|unlisted.sql\0", 1)
    write_cache(signed, xdg, body)
    assert "1/1 (alice)  met" in signed.ok("verify").stdout
    kept = read_cache(signed, xdg)["files"]["0001_initial"]
    assert kept["postgres/up.sql"].endswith(" " + sha) and "unlisted.sql" not in kept["/"]


def test_a_cache_signed_with_another_machines_key_is_ignored(signed, xdg, tmp_path, monkeypatch):
    """A cache committed to the repository (`git add -f`) carries its writer's key, not this machine's."""
    path = signed.root / "bundles" / SCRIPT
    body = read_cache(signed, xdg)
    edit_in_place(path)
    body["files"]["0001_initial"]["postgres/up.sql"] = f"{stat_key(path)} {body['files']['0001_initial']['postgres/up.sql'][-64:]}"
    write_cache(signed, xdg, body)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another_machine"))
    assert EDITED in signed.refused("verify")


CORRUPT = {
    "garbage": lambda data, sign: os.urandom(400),
    "empty": lambda data, sign: b"",
    "truncated": lambda data, sign: data[: len(data) // 2],
    "one byte changed": lambda data, sign: data[:-3] + bytes([data[-3] ^ 1]) + data[-2:],
    "not JSON, signed": lambda data, sign: sign(b"{not json"),
    "wrong types, signed": lambda data, sign: sign(json.dumps(
        {"format": 1, "stamp": json.loads(data.partition(b"\n")[2])["stamp"], "files": ["x"], "facts": {"a": 1}}).encode()),
    "wrong entry types, signed": lambda data, sign: sign(json.dumps(
        {"format": 1, "stamp": json.loads(data.partition(b"\n")[2])["stamp"],
         "files": {"0001_initial": {"/": 7, "postgres/": None, "postgres/up.sql": ["x"], "REVIEW.md": "short"}},
         "facts": [1, None, "f" * 64]}).encode()),
    "another format, signed": lambda data, sign: sign(data.partition(b"\n")[2].replace(b'"format":1', b'"format":2')),
    "a deep nesting, signed": lambda data, sign: sign(b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("damage", list(CORRUPT), ids=list(CORRUPT))
def test_a_corrupt_cache_is_ignored_and_written_again(signed, xdg, damage):
    good = signed.ok("verify", "--no-cache").stdout

    def sign(payload: bytes) -> bytes:
        return hmac.digest(secret(xdg), payload, "sha256").hex().encode() + b"\n" + payload

    data = cache_path(signed).read_bytes()
    cache_path(signed).write_bytes(CORRUPT[damage](data, sign))
    result = signed.ok("verify")
    assert result.stdout == good and result.stderr == ""
    assert read_cache(signed, xdg)["files"]["0001_initial"]  # rebuilt, signed again

    cache_path(signed).write_bytes(CORRUPT[damage](data, sign))
    edit_in_place(signed.root / "bundles" / SCRIPT)
    assert EDITED in signed.refused("verify")


def test_a_cache_that_cannot_be_written_changes_nothing(signed):
    shutil.rmtree(signed.root / FOLDER)
    (signed.root / FOLDER).write_text("a file where the folder should be")
    result = signed.ok("verify")
    assert "1/1 (alice)  met" in result.stdout and result.stderr == ""
    assert signed.ok("status").stderr == ""


def test_without_a_place_for_the_key_nothing_is_kept(project, tmp_path, monkeypatch):
    """No writable cache folder for the key (a read-only home): no cache, every run checks everything."""
    (tmp_path / "not_a_folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not_a_folder" / "cache"))
    project.approve("1", "alice")
    settle(project.root / "bundles")
    result = project.ok("verify")
    assert "1/1 (alice)  met" in result.stdout and result.stderr == ""
    assert not cache_path(project).exists()
    edit_in_place(project.root / "bundles" / SCRIPT)
    assert EDITED in project.refused("verify")


def test_apply_and_status_use_the_same_cache(signed):
    database = "sqlite:///cached.sqlite3"
    applied = signed.ok("apply", "--database", database, "--yes")
    assert "Applied 1 bundle" in applied.stdout
    assert "applied" in signed.ok("status", "--database", database).stdout
    edit_in_place(signed.root / "bundles" / SCRIPT)
    assert f"FLAG {EDITED}" in signed.run("status", "--database", database).stdout
    assert EDITED in signed.refused("apply", "--database", "sqlite:///other.sqlite3", "--yes")


def test_nothing_changed_within_the_racy_window_is_kept(project, xdg):
    """A file changed in the same clock tick as a check could change again unseen: it is hashed every time."""
    project.approve("1", "alice")
    root = project.root
    settings_bundles = root / "bundles"
    cache = open_cache(root, settings_bundles)
    bundle = load_bundles(settings_bundles, cache)[0]
    assert verify_files(bundle.path, bundle.manifest, cache, bundle.computed_digest) == []
    assert "postgres/up.sql" not in cache.folder(bundle.path).new  # just written: not kept

    cache = open_cache(root, settings_bundles)
    cache.started += RACY_NS + 10**9  # the same files, seen by a run 3 s later
    assert verify_files(bundle.path, bundle.manifest, cache, bundle.computed_digest) == []
    kept = cache.folder(bundle.path).new
    assert kept["postgres/up.sql"].endswith(" " + bundle.manifest["files"]["postgres/up.sql"])
    assert kept["postgres/"].startswith(stat_key(bundle.path / "postgres") + "|")


def _judging_beside(monkeypatch: pytest.MonkeyPatch, fork_from: int) -> list[int]:
    """Make `judge_beside` fork from `fork_from` bundles on; return the list each child started is counted in."""
    started: list[int] = []

    def counted(*args, **kwargs):
        started.append(1)
        return ForkedCall(*args, **kwargs)

    monkeypatch.setattr(judging, "FORK_FROM_BUNDLES", fork_from)
    monkeypatch.setattr(judging, "fork_helps", lambda: True)  # a one-CPU machine forks all the same here
    monkeypatch.setattr(judging, "ForkedCall", counted)
    return started


def _verdicts(project, xdg) -> tuple[dict, list[dict], dict]:
    """Return what verify and status find, in-process, and the cache they leave."""
    settings = load_settings(project.root)
    verified = verify_bundles(settings).to_dict()
    status = [b.to_json() for b in collect_status(settings, None).bundles]
    return verified, status, read_cache(project, xdg)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")
def test_a_long_history_judged_half_in_a_forked_child_reads_as_in_one_process(signed, xdg, monkeypatch):
    """The child judges bundle 2 and sends back what it found and what it confirmed of the cache."""
    signed.add_high_risk_bundle()
    signed.approve("2", "alice")
    settle(signed.root / "bundles")
    monkeypatch.chdir(signed.root)
    in_one = _judging_beside(monkeypatch, 10**9)
    warm = _verdicts(signed, xdg)  # kept: bundle 2's files too, now settled
    assert warm[0]["ok"] is False and "0002_drop_phone: policy not met (risk high)" in warm[0]["problems"][0]
    assert len(warm[2]["files"]["0002_drop_phone"]) > 10

    beside = _judging_beside(monkeypatch, 2)
    assert _verdicts(signed, xdg) == warm and beside == [1, 1] and in_one == []  # verify, then status

    # The child's half changed: a script edited in place, a forged approval; it finds them, and keeps what still holds.
    edit_in_place(signed.root / "bundles" / "0002_drop_phone" / "postgres" / "up.sql")
    approvals = signed.root / "bundles" / "0002_drop_phone" / "approvals"
    alice = json.loads((approvals / "alice.json").read_text())
    (approvals / "bob.json").write_text(json.dumps(dict(alice, reviewer="bob", fingerprint=fingerprint_of_line(signed.public("bob")))))
    found = _verdicts(signed, xdg)
    problems = found[0]["problems"]
    assert "0002_drop_phone/postgres/up.sql: changed since the bundle was sealed (sha256 differs)" in problems
    assert "0002_drop_phone/approvals/bob.json: bad signature" in " ".join(problems)
    assert beside == [1, 1, 1, 1]
    _judging_beside(monkeypatch, 10**9)
    assert _verdicts(signed, xdg) == found


def test_a_forked_judge_that_fails_is_judged_again_here_and_fails_as_in_one_process(signed, monkeypatch):
    signed.add_high_risk_bundle()
    parent = os.getpid()
    settings = load_settings(signed.root)
    bundles = load_bundles(settings.bundles_dir)
    judged_here: list[str] = []

    def judge(bundle):
        if os.getpid() == parent:
            judged_here.append(bundle.id)
        if bundle.number == 2:
            raise IntegrityError(f"{bundle.id}: refused")
        return bundle.id

    started = _judging_beside(monkeypatch, 2)
    with pytest.raises(IntegrityError, match="0002_drop_phone: refused"):
        judging.judge_beside(bundles, judge, open_cache(settings.root, settings.bundles_dir), lambda: None)
    assert started == [1] and judged_here == ["0001_initial", "0002_drop_phone"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")
def test_a_squash_judged_in_a_forked_child_keeps_what_it_found_of_its_originals(signed, xdg, monkeypatch):
    """The squash checks the bundles it replaces, still in the folder: the child sends back their folders too."""
    signed.add_high_risk_bundle()
    (signed.root / "models" / "schema.sql").write_text(SHOP.replace(", phone text", ", phone text, fax text"))
    signed.ok("generate", "--no-input", "add_fax")
    signed.ok("squash", "2", "3", "tidy")
    settle(signed.root / "bundles")
    monkeypatch.chdir(signed.root)
    _judging_beside(monkeypatch, 10**9)
    warm = _verdicts(signed, xdg)
    assert {"0002_drop_phone", "0003_add_fax"} <= set(warm[2]["files"])  # the originals' folders are kept

    edit_in_place(signed.root / "bundles" / "0003_add_fax" / "postgres" / "up.sql")
    one_process = _verdicts(signed, xdg)
    assert "0003_add_fax/postgres/up.sql: changed since the bundle was sealed (sha256 differs)" in one_process[0]["problems"]
    started = _judging_beside(monkeypatch, 1)  # the squash may be judged by either process
    assert _verdicts(signed, xdg) == one_process and started == [1, 1]
