"""`reviewkit seal` after a hand edit: new checksums and digest, stale approvals, no escapes."""

from __future__ import annotations

import json
import os


def test_seal_after_a_hand_edit_makes_approvals_stale(project):
    project.approve("1", "alice")
    bundle = project.bundle("1")
    with open(bundle.path / "postgres" / "up.sql", "a") as handle:
        handle.write("CREATE INDEX customers_email_idx ON customers (email);\n")
    (bundle.path / "postgres" / "NOTES.md").write_text("why the index\n")
    assert "postgres/up.sql: changed since the bundle was sealed" in project.refused("verify")

    sealed = project.ok("seal", "1").stdout
    assert "added    postgres/NOTES.md" in sealed and "changed  postgres/up.sql" in sealed
    assert "stale    0001_initial/approvals/alice.json" in sealed
    manifest = json.loads((bundle.path / "manifest.json").read_text())
    assert "postgres/NOTES.md" in manifest["files"] and manifest["digest"] != bundle.digest
    assert {k: v for k, v in manifest.items() if k not in ("files", "digest")} == {
        k: v for k, v in bundle.manifest.items() if k not in ("files", "digest")}

    out = project.refused("verify")
    assert "0001_initial/approvals/alice.json: stale: alice signed digest" in out and "approve again" in out
    status = json.loads(project.ok("status", "--json").stdout)
    assert status["bundles"][0]["approvals"] == "0/1; missing 1 approval; stale: alice"
    project.approve("1", "alice")
    project.ok("verify")
    assert "nothing changed" in project.ok("seal", "1").stdout


def test_seal_drops_deleted_files_and_refuses_a_missing_script(project):
    bundle = project.bundle("1")
    (bundle.path / "REVIEW.md").unlink()
    assert "removed  REVIEW.md" in project.ok("seal", "1").stdout
    (bundle.path / "mysql" / "down.sql").unlink()
    assert "0001_initial/mysql/down.sql: missing; every dialect of the bundle needs an up and a down script" in project.refused("seal", "1")


def test_seal_refuses_symlinks_that_leave_the_bundle(project, tmp_path):
    bundle = project.bundle("1")
    secret = tmp_path / "outside.sql"
    secret.write_text("DROP TABLE customers;\n")
    os.symlink(secret, bundle.path / "sqlite" / "extra.sql")
    assert "0001_initial/sqlite/extra.sql: a symlink pointing outside the bundle folder" in project.refused("seal", "1")
    (bundle.path / "sqlite" / "extra.sql").unlink()

    os.symlink(tmp_path, bundle.path / "linked")
    assert "0001_initial/linked: a linked folder" in project.refused("seal", "1")
    (bundle.path / "linked").unlink()

    os.symlink("up.sql", bundle.path / "sqlite" / "same.sql")  # inside: listed like any file
    assert "added    sqlite/same.sql" in project.ok("seal", "1").stdout
    project.approve("1", "alice")
    project.ok("verify")


def test_verify_refuses_what_seal_refuses(project, tmp_path):
    """One walk, one set of rules: a listed file swapped for a link that leaves the bundle, a linked
    folder or a FIFO is refused by verify, status and apply's check too, not hashed through."""
    project.approve("1", "alice")
    bundle = project.bundle("1")
    outside = tmp_path / "outside.sql"
    up = bundle.path / "sqlite" / "up.sql"
    outside.write_bytes(up.read_bytes())  # same bytes: a checksum alone would not notice
    up.unlink()
    os.symlink(outside, up)
    out = project.refused("verify")
    assert "0001_initial/sqlite/up.sql: a symlink pointing outside the bundle folder" in out
    assert "listed in the manifest but missing" not in out
    assert "0001_initial/sqlite/up.sql: a symlink pointing outside" in project.refused("seal", "1")
    up.unlink()
    up.write_bytes(outside.read_bytes())
    project.ok("verify")

    os.symlink(tmp_path, bundle.path / "linked")
    assert "0001_initial/linked: a linked folder" in project.refused("verify")
    (bundle.path / "linked").unlink()

    os.mkfifo(bundle.path / "pipe")
    assert "0001_initial/pipe: not a regular file" in project.refused("verify")
    flags = json.loads(project.run("status", "--json").stdout)["bundles"][0]["flags"]
    assert flags == ["0001_initial/pipe: not a regular file"]


def test_seal_names_a_malformed_approval_as_stale(project):
    """An approval file that is a JSON array, a huge number or nested too deep signs nothing: stale, no crash."""
    approvals = project.bundle("1").path / "approvals"
    approvals.mkdir(exist_ok=True)
    (approvals / "eve.json").write_text("[" * 100_000)
    (approvals / "mallory.json").write_text("1" * 5000)
    (approvals / "trent.json").write_text('["digest"]')
    sealed = project.ok("seal", "1").stdout
    for name in ("eve", "mallory", "trent"):
        assert f"stale    0001_initial/approvals/{name}.json" in sealed
