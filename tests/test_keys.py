"""Keys and the reviewers file: `reviewkit keygen`, keys made by ssh-keygen, malformed entries."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tomllib

import pytest

from reviewkit.signoff.keys import fingerprint_of_line
from reviewkit.signoff.reviewers import Reviewer, split_author


@pytest.fixture
def ssh_keygen() -> str:
    """Return the ssh-keygen program; skip outside CI when it is not installed."""
    found = shutil.which("ssh-keygen")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ssh-keygen is not installed (apt-get install openssh-client)", pytrace=False)
        pytest.skip("ssh-keygen is not installed (apt-get install openssh-client) to test keys it makes")
    return found


def test_keygen_writes_a_private_key_0600_and_prints_the_entry(project, tmp_path):
    result = project.ok("keygen", "carol", "--out", str(tmp_path / "mine"))
    private, public = tmp_path / "mine" / "carol", tmp_path / "mine" / "carol.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    entry = tomllib.loads(result.stdout)["reviewers"]["carol"]
    assert entry["keys"] == [public.read_text().strip()] and entry["keys"][0].startswith("ssh-ed25519 ")
    assert "never commit it" in result.stderr

    again = project.run("keygen", "carol", "--out", str(tmp_path / "mine"))
    assert again.returncode == 2 and "carol already exists" in again.stderr
    bad = project.run("keygen", "../carol")
    assert bad.returncode == 2 and "a reviewer name uses letters" in bad.stderr


def test_keygen_output_appended_to_the_reviewers_file_works(project):
    entry = project.ok("keygen", "erin.w", "--out", str(project.keys)).stdout
    with open(project.root / "reviewers.toml", "a") as handle:
        handle.write(entry)
    project.approve("1", "erin.w")
    assert "1/1 (erin.w)" in project.ok("verify").stdout


def test_fingerprints_match_ssh_keygen(project, ssh_keygen):
    listed = subprocess.run([ssh_keygen, "-lf", str(project.keys / "alice.pub")], capture_output=True, text=True, check=True)
    assert fingerprint_of_line(project.public("alice")) == listed.stdout.split()[1]


def test_a_passphrase_protected_ssh_keygen_key_works(project, ssh_keygen):
    key = project.keys / "id_ed25519"
    subprocess.run([ssh_keygen, "-q", "-t", "ed25519", "-N", "correct horse", "-C", "erin@laptop", "-f", str(key)], check=True)
    project.write_reviewers(project.reviewers | {"erin": {"keys": [(project.keys / "id_ed25519.pub").read_text().strip()]}})

    missing = project.run("approve", "1", "--key", str(key), "--yes")
    assert missing.returncode == 2 and "passphrase-protected; run on a terminal to be asked, or set REVIEWKIT_KEY_PASSPHRASE" in missing.stderr
    wrong = project.run("approve", "1", "--key", str(key), "--yes", REVIEWKIT_KEY_PASSPHRASE="wrong")
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    project.ok("approve", "1", "--key", str(key), "--yes", REVIEWKIT_KEY_PASSPHRASE="correct horse")
    assert "1/1 (erin)" in project.ok("verify").stdout


def test_other_key_types_are_refused_clearly(project, ssh_keygen):
    key = project.keys / "id_rsa"
    subprocess.run([ssh_keygen, "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(key)], check=True)
    result = project.run("approve", "1", "--key", str(key), "--yes")
    assert result.returncode == 2 and "an RSA key; reviewkit signs with Ed25519 keys only" in result.stderr
    public = project.run("approve", "1", "--key", str(project.keys / "id_rsa.pub"), "--yes")
    assert public.returncode == 2 and "a public key; pass the private key file" in public.stderr

    project.write_reviewers(project.reviewers | {"rsa-user": {"keys": [(project.keys / "id_rsa.pub").read_text().strip()]}})
    listed = project.run("verify")
    assert listed.returncode == 2
    assert "reviewers.toml: [reviewers.rsa-user]: keys[0]: a ssh-rsa key; reviewkit accepts ssh-ed25519 keys only" in listed.stderr


@pytest.mark.parametrize(("body", "message"), [
    ('[reviewers.bob]\nkeys = "ssh-ed25519 AAAA"\n', "[reviewers.bob]: keys must be a list of non-empty strings"),
    ('[reviewers.bob]\nkeys = []\n', "[reviewers.bob]: keys must list at least one"),
    ('[reviewers.bob]\nkeys = ["ssh-ed25519 !!!"]\n', "[reviewers.bob]: keys[0]: the key's base64 does not decode"),
    ('[reviewers.bob]\nkeys = ["KEY"]\nrole = ["dba"]\n', "[reviewers.bob]: unknown field 'role'"),
    ('[reviewer.bob]\n', "unknown table or key 'reviewer'"),
    ('[reviewers.bob\n', "reviewers.toml: "),
    ('[reviewers.bob]\nkeys = ["KEY"]\nroles = [' + "1" * 5000 + ']\n', "reviewers.toml: not valid TOML (Exceeds the limit (4300 digits)"),
    ('[reviewers."bob\\nsmith"]\nkeys = ["KEY"]\n', 'reviewers.toml: [reviewers."bob\\nsmith"]: a reviewer name uses letters'),
])
def test_a_malformed_reviewers_file_names_file_and_reviewer(project, body, message):
    (project.root / "reviewers.toml").write_text(body.replace("KEY", project.public("bob")))
    result = project.run("verify")
    assert result.returncode == 2 and message in result.stderr and "reviewers.toml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("author", "is_alice"), [
    ("Alice Smith <ALICE@example.com>", True),
    ("alice@example.com", True),
    ("ALICE", True),
    ("Alice Smith <alice@other.org>", False),
    ("alicia", False),
])
def test_the_author_matches_a_reviewer_by_name_or_email(author, is_alice):
    alice = Reviewer("alice", (), (), emails=("alice@example.com",))
    assert alice.is_author(author) is is_alice
    assert split_author("Ann <ann@x.org>") == ("Ann", "ann@x.org")
