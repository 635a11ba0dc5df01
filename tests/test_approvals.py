"""`reviewkit approve` and `verify` as a DBA and CI run them: what counts and what is refused."""

from __future__ import annotations

import base64
import json
import shutil

import pytest
from cryptography.hazmat.primitives.serialization import load_ssh_public_key

from reviewkit.config import load_settings
from reviewkit.errors import IntegrityError
from reviewkit.signoff.approvals import MESSAGE_PREFIX, check_approvals, sign_approval, write_approval
from reviewkit.signoff.gate import approval_gate
from reviewkit.signoff.keys import load_private_key
from reviewkit.signoff.reviewers import load_reviewers
from tests.terminal import answer_on_terminal

SQL_FILES = [f"{d}/{x}.sql" for d in ("postgres", "mysql", "sqlite") for x in ("up", "down")]


def forge(project, ref: str, signer: str, as_name: str | None = None) -> None:
    """Sign and write an approval with the library, bypassing approve's checks (as a forger would)."""
    key = load_private_key(project.key(signer), lambda path: None)
    write_approval(project.bundle(ref), sign_approval(project.bundle(ref), key, as_name or signer, None))


def test_valid_approval_passes_verify_and_its_signature_checks_out_independently(project):
    refused = project.refused("verify")
    assert "0001_initial: policy not met: 0/1; missing 1 approval" in refused

    done = project.approve("1", "alice", "--comment", "read every line")
    assert "approved 0001_initial as alice" in done.stdout
    assert "policy 1/1 (alice)" in done.stdout
    assert "1/1 (alice)  met" in project.ok("verify").stdout
    report = json.loads(project.ok("verify", "1", "--json").stdout)
    assert report["ok"] and report["bundles"][0]["approvals"][0]["status"] == "valid"

    # The documented message: prefix + canonical JSON of every field but the signature.
    record = json.loads((project.bundle("1").path / "approvals" / "alice.json").read_text())
    assert set(record) == {"format", "reviewer", "fingerprint", "bundle", "digest", "signed_at", "comment", "signature"}
    assert (record["bundle"], record["digest"], record["comment"]) == ("0001_initial", project.bundle("1").digest, "read every line")
    body = {k: v for k, v in record.items() if k != "signature"}
    message = b"reviewkit-approval-v1\n" + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    assert message.startswith(MESSAGE_PREFIX)
    public = load_ssh_public_key(project.public("alice").encode())
    public.verify(base64.b64decode(record["signature"]), message)  # raises when it does not match


def test_high_risk_bundle_needs_two_distinct_reviewers(project):
    project.approve("1", "alice")
    project.add_high_risk_bundle()
    project.approve("2", "alice")
    refused = project.refused("verify", "2")
    assert "0002_drop_phone: policy not met (risk high): 1/2 (alice); missing 1 approval" in refused
    assert project.refused("verify").count("problem:") == 1  # bundle 1 is fine
    project.approve("2", "bob")
    assert "2/2 (alice, bob)" in project.ok("verify").stdout


def test_key_not_in_the_reviewers_file_is_refused(project):
    refused = project.run("approve", "1", "--key", str(project.key("mallory")), "--yes")
    assert refused.returncode == 3 and "is not listed in reviewers.toml" in refused.stderr
    assert not (project.bundle("1").path / "approvals" / "mallory.json").exists()

    forge(project, "1", "mallory")
    out = project.refused("verify")
    assert "0001_initial/approvals/mallory.json: unknown key: reviewers.toml has no [reviewers.mallory]" in out

    forge(project, "1", "mallory", as_name="alice")  # mallory's key, alice's name
    assert "approvals/alice.json: unknown key: reviewers.toml: [reviewers.alice] does not list key SHA256:" in project.refused("verify")


def test_a_flipped_signature_byte_is_a_bad_signature(project):
    project.approve("1", "alice")
    path = project.bundle("1").path / "approvals" / "alice.json"
    record = json.loads(path.read_text())
    raw = bytearray(base64.b64decode(record["signature"]))
    raw[10] ^= 0x01
    record["signature"] = base64.b64encode(bytes(raw)).decode()
    path.write_text(json.dumps(record))
    assert "0001_initial/approvals/alice.json: bad signature" in project.refused("verify")


def test_an_edited_comment_breaks_the_signature(project):
    project.approve("1", "alice", "--comment", "ok")
    path = project.bundle("1").path / "approvals" / "alice.json"
    path.write_text(path.read_text().replace('"ok"', '"ok, and bob agrees"'))
    assert "alice.json: bad signature" in project.refused("verify")


def test_an_approval_copied_from_another_bundle_is_worthless(project):
    project.add_high_risk_bundle()
    project.set_policy(high_risk_approvals=1)
    project.approve("1", "alice")
    shutil.copy(project.bundle("1").path / "approvals" / "alice.json", project.bundle("2").path / "approvals" / "alice.json")
    out = project.refused("verify", "2")
    assert "0002_drop_phone/approvals/alice.json: wrong bundle: signed for bundle 0001_initial" in out
    assert "policy not met (risk high): 0/1" in out


def test_any_changed_byte_of_any_sql_file_after_approval_is_refused(project):
    project.approve("1", "alice")
    bundle_path = project.bundle("1").path
    for rel in SQL_FILES:
        path = bundle_path / rel
        original = path.read_bytes()
        path.write_bytes(original[:-2] + bytes([original[-2] ^ 0x20]) + original[-1:])
        out = project.refused("verify")
        assert f"0001_initial/{rel}: changed since the bundle was sealed" in out, rel
        path.write_bytes(original)
    project.ok("verify")


def test_approve_refuses_a_bundle_whose_files_do_not_match(project):
    (project.bundle("1").path / "sqlite" / "up.sql").write_text("DROP TABLE customers;\n")
    result = project.run("approve", "1", "--key", str(project.key("alice")), "--yes")
    assert result.returncode == 3 and "sqlite/up.sql: changed since the bundle was sealed" in result.stderr
    assert not (project.bundle("1").path / "approvals" / "alice.json").exists()


def test_an_unlisted_file_is_refused(project):
    project.approve("1", "alice")
    (project.bundle("1").path / "postgres" / "extra.sql").write_text("DROP TABLE orders;\n")
    assert "0001_initial/postgres/extra.sql: not listed in the manifest" in project.refused("verify")


def test_the_author_cannot_approve_their_own_bundle(project):
    result = project.run("approve", "1", "--key", str(project.key("dana-r")), "--yes")
    assert result.returncode == 3
    assert "dana-r is the bundle's author (Dana Developer <dana@example.com>); self-approval is off" in result.stderr
    assert not (project.bundle("1").path / "approvals" / "dana-r.json").exists()


def test_a_forged_self_approval_does_not_count(project):
    forge(project, "1", "dana-r")
    out = project.refused("verify")
    assert "0001_initial/approvals/dana-r.json: self-approval: dana-r is the bundle's author" in out
    project.set_policy(self_approval=True)
    assert "1/1 (dana-r)" in project.ok("verify").stdout


def test_a_required_role_must_be_among_the_approvers(project):
    project.set_policy(required_roles=["dba"])
    project.approve("1", "bob")
    assert "policy not met: 1/1 (bob); missing role dba" in project.refused("verify")
    project.approve("1", "alice")
    assert "2/1 (alice, bob)" in project.ok("verify").stdout


def test_the_trusted_reviewers_file_replaces_the_repositorys(project, tmp_path):
    trusted = project.write_reviewers({"alice": project.reviewers["alice"]}, tmp_path / "trusted-reviewers.toml")
    project.write_reviewers(project.reviewers | {"mallory": {"roles": ["dba"]}})  # a commit adds a key to the repo's file
    project.approve("1", "mallory")
    assert "1/1 (mallory)" in project.ok("verify").stdout  # the repository's own file trusts it

    out = project.refused("verify", REVIEWKIT_REVIEWERS=str(trusted))
    assert "approvals/mallory.json: unknown key: trusted-reviewers.toml has no [reviewers.mallory]" in out
    assert "mallory.json: unknown key" in project.refused("verify", "--reviewers", str(trusted))
    result = project.run("approve", "1", "--key", str(project.key("mallory")), "--yes", REVIEWKIT_REVIEWERS=str(trusted))
    assert result.returncode == 3 and "not listed in trusted-reviewers.toml" in result.stderr

    project.approve("1", "alice", "--reviewers", str(trusted))
    assert "1/1 (alice)" in project.ok("verify", REVIEWKIT_REVIEWERS=str(trusted)).stdout
    missing = project.run("verify", "--reviewers", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "nope.toml: reviewers file not found" in missing.stderr


def test_reviewers_sharing_a_key_count_once_and_must_pick_a_name(project):
    shared = project.public("alice")
    project.write_reviewers(project.reviewers | {"bob": {"keys": [shared]}})
    result = project.run("approve", "1", "--key", str(project.key("alice")), "--yes")
    assert result.returncode == 2 and "listed for several reviewers (alice, bob); pick one with --as NAME" in result.stderr
    project.approve("1", "alice", "--as", "alice")
    project.approve("1", "alice", "--as", "bob")
    project.add_high_risk_bundle()
    project.approve("2", "alice", "--as", "alice")
    project.approve("2", "alice", "--as", "bob")
    out = project.refused("verify", "2")
    assert "approvals/bob.json: duplicate key: key SHA256:" in out and "already counts for alice" in out
    assert "1/2 (alice); missing 1 approval" in out
    wrong = project.run("approve", "1", "--key", str(project.key("alice")), "--yes", "--as", "dana-r")
    assert wrong.returncode == 3 and "does not list this key under [reviewers.dana-r]" in wrong.stderr


def test_malformed_approval_files_are_named(project):
    folder = project.bundle("1").path / "approvals"
    (folder / "alice.json").write_text("{not json")
    (folder / "bob.json").write_text(json.dumps({"reviewer": "bob"}))
    out = project.refused("verify")
    assert "0001_initial/approvals/alice.json: malformed: not valid JSON" in out
    assert "0001_initial/approvals/bob.json: malformed: expected the fields" in out


def approval_check(project, ref: str = "1"):
    """Return the one approval check of bundle `ref`, in-process, as verify computes it."""
    bundle = project.bundle(ref)
    (check,) = check_approvals(bundle, load_reviewers(project.root / "reviewers.toml"), load_settings(project.root).policy)
    return check


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("reviewer", "alice/../bob", "field 'reviewer' is not a reviewer name (letters, digits, '.', '_', '-'): the string \"alice/../bob\""),
    ("reviewer", "", "field 'reviewer' is not a reviewer name"),
    ("fingerprint", "MD5:4a:5b", "field 'fingerprint' is not an OpenSSH key fingerprint (SHA256:...): the string \"MD5:4a:5b\""),
    ("fingerprint", "SHA256:" + "A" * 42, "field 'fingerprint' is not an OpenSSH key fingerprint"),
    ("digest", "ABC", "field 'digest' is not a sha256 (64 lowercase hex digits): the string \"ABC\""),
    ("digest", "0" * 64 + "\n", "field 'digest' is not a sha256 (64 lowercase hex digits)"),
    ("signed_at", "2026-11-25", "field 'signed_at' is not a UTC time like 2026-11-25T17:30:00Z: the string \"2026-11-25\""),
    ("signed_at", "2026-11-25T25:00:00Z", "field 'signed_at' is not a UTC time"),
    ("signed_at", 1764091846, "field 'signed_at' has the wrong type (1764091846)"),
    ("bundle", "0001_initial\nok", "field 'bundle' is not a bundle id: the string \"0001_initial\\nok\""),
    ("format", 10**200, "format a 201-digit number is not supported (expected 1)"),
    ("format", True, "field 'format' has the wrong type (true)"),
    ("comment", ["ok"], "field 'comment' has the wrong type (an array)"),
    ("signature", "not base64!", "the signature is not base64"),
])
def test_an_approval_field_of_the_wrong_shape_is_malformed(project, field, value, reason):
    forge(project, "1", "alice")
    path = project.bundle("1").path / "approvals" / "alice.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {field: value}))
    check = approval_check(project)
    assert check.status == "malformed" and check.detail.startswith(reason), check.detail
    assert check.line().isprintable()


@pytest.mark.parametrize(("data", "reason"), [
    (b'{"format": ' + b"1" * 5000 + b"}", "not valid JSON (Exceeds the limit (4300 digits) for integer string conversion"),
    (b'{"comment": "caf\xe9"}', "not UTF-8 text (byte 0xe9 at offset 16)"),
    (b"[" * 100_000, "not valid JSON (arrays or objects nested too deeply)"),
    (b'{"format": 1, "format": 1}', 'not valid JSON (the key "format" appears twice in one object)'),
    (b'{"format": Infinity}', "not valid JSON (Infinity is not a JSON number)"),
    (b'"alice"', "expected the fields bundle, comment, digest, fingerprint, format, reviewer, signature, signed_at; found the string"),
])
def test_an_approval_file_that_does_not_parse_is_malformed_with_the_reason(project, data, reason):
    (project.bundle("1").path / "approvals" / "alice.json").write_bytes(data)
    check = approval_check(project)
    assert check.status == "malformed" and check.detail.startswith(reason), check.detail


def test_missing_and_unknown_approval_fields_are_listed(project):
    forge(project, "1", "alice")
    path = project.bundle("1").path / "approvals" / "alice.json"
    record = json.loads(path.read_text())
    del record["digest"]
    path.write_text(json.dumps(record | {"sig\nnature": 1, "x": 2}))
    assert approval_check(project).detail.endswith('; missing digest; unknown "sig\\nnature", "x"')


def test_a_lone_surrogate_in_a_comment_is_malformed_not_a_crash(project):
    forge(project, "1", "alice")
    path = project.bundle("1").path / "approvals" / "alice.json"
    path.write_text(path.read_text().replace('"comment": null', '"comment": "\\udc00"'))
    check = approval_check(project)
    assert (check.status, check.detail) == ("malformed", "a string holds a lone surrogate escape (\\ud800 to \\udfff), which is not text")


def test_verify_names_an_approval_with_a_huge_integer(project):
    (project.bundle("1").path / "approvals" / "alice.json").write_text('{"format": ' + "7" * 5000 + "}")
    out = project.refused("verify")
    assert "0001_initial/approvals/alice.json: malformed: not valid JSON (Exceeds the limit (4300 digits)" in out
    assert "Traceback" not in out


def test_approve_needs_yes_when_not_on_a_terminal(project):
    result = project.run("approve", "1", "--key", str(project.key("alice")))
    assert result.returncode == 2 and "pass --yes" in result.stderr


def test_approve_on_a_terminal_shows_the_risk_and_asks(project):
    key = str(project.key("alice"))
    code, seen = answer_on_terminal(project.root, ["approve", "1", "--key", key], b"Approve 0001_initial as alice?", b"y\n")
    assert b"risk     low" in seen and b"author   Dana Developer" in seen
    assert b"lint     " in seen and b"(reviewkit lint 1)" in seen  # the lint of the bytes being signed
    assert code == 0, seen.decode(errors="replace")
    project.ok("verify")


def test_approve_with_yes_says_what_the_lint_found(project):
    approved = project.ok("approve", "1", "--key", str(project.key("alice")), "--yes")
    assert "lint     " in approved.stdout and "high" in approved.stdout


def test_the_gate_apply_and_status_pass_bundles_through(project):
    gate = approval_gate(load_settings(project.root), None)
    with pytest.raises(IntegrityError, match="^0001_initial: policy not met: 0/1; missing 1 approval$"):
        gate.check(project.bundle("1"))
    assert gate.summary(project.bundle("1")) == "0/1; missing 1 approval"
    project.approve("1", "alice")
    gate = approval_gate(load_settings(project.root), None)  # a gate evaluates each bundle once
    gate.check(project.bundle("1"))
    assert gate.summary(project.bundle("1")) == "1/1 (alice)"
    fingerprint = json.loads((project.bundle("1").path / "approvals" / "alice.json").read_text())["fingerprint"]
    assert gate.approvals(project.bundle("1")) == [{"reviewer": "alice", "fingerprint": fingerprint}]

    project.set_policy(approvals=0, high_risk_approvals=0)
    (project.root / "reviewers.toml").unlink()  # no reviewers file needed when nothing is required
    gate = approval_gate(load_settings(project.root), None)
    gate.check(project.bundle("1"))
    assert gate.approvals(project.bundle("1")) == [] and gate.summary(project.bundle("1")) is None


def test_status_check_verify_and_apply_judge_approvals_alike(project, tmp_path):
    """One judgement: what apply refuses and verify reports, status --check fails on."""
    database = f"sqlite:///{tmp_path / 'one.db'}"

    def verdicts() -> tuple[int, int, int]:
        status = project.run("status", "--check")
        verify = project.run("verify", "1")
        apply = project.run("apply", "--dry-run", "--database", database)
        return status.returncode, verify.returncode, apply.returncode

    assert verdicts() == (1, 3, 3)  # not approved yet: all three say so
    project.approve("1", "alice")
    assert verdicts() == (0, 0, 0)
    assert json.loads(project.run("status", "--json").stdout)["bundles"][0]["approved"] is True
    (project.bundle("1").path / "approvals" / "x.json").write_text("garbage{")
    status = project.run("status", "--check")
    assert verdicts() == (1, 3, 3)
    assert "FLAG 0001_initial/approvals/x.json: malformed: not valid JSON" in status.stdout, status.stdout
    (project.bundle("1").path / "approvals" / "x.json").unlink()
    assert verdicts() == (0, 0, 0)
