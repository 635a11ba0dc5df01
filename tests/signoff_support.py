"""A reviewkit project with reviewers and keys, for the sign-off tests.

The keys live outside the project folder, as a reviewer's would; commands run through
the real command line in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from reviewkit.bundle.store import Bundle, find_bundle, load_bundles
from reviewkit.signoff.keys import generate_key_files

AUTHOR = "Dana Developer <dana@example.com>"
SHOP = """\
CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(255) NOT NULL, phone text);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id));
"""
# alice and bob review; dana writes the bundles (and is a reviewer too, matched by email).
REVIEWERS = {
    "alice": {"emails": ["alice@example.com"], "roles": ["dba"]},
    "bob": {"emails": ["bob@example.com"], "roles": []},
    "dana-r": {"emails": ["DANA@example.com"], "roles": ["dba"]},
}
_SCRUBBED = ("REVIEWKIT_REVIEWERS", "REVIEWKIT_KEY_PASSPHRASE", "REVIEWKIT_DATABASE_URL",
             "REVIEWKIT_PROVE_POSTGRES_URL", "REVIEWKIT_PROVE_MYSQL_URL")


@dataclass
class Project:
    root: Path
    keys: Path  # outside the project, like a reviewer's ~/.ssh

    @property
    def reviewers(self) -> dict[str, dict]:
        """Return the reviewers the project starts with (alice, bob, dana-r)."""
        return {name: dict(entry) for name, entry in REVIEWERS.items()}

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """Run `reviewkit ARGS` in the project, not on a terminal."""
        full = {k: v for k, v in os.environ.items() if k not in _SCRUBBED} | {"REVIEWKIT_AUTHOR": AUTHOR} | env
        return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=self.root, capture_output=True,
                              text=True, env=full, stdin=subprocess.DEVNULL)

    def ok(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        result = self.run(*args, **env)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def refused(self, *args: str, **env: str) -> str:
        """Run a command that must be refused (exit 3); return its output."""
        result = self.run(*args, **env)
        assert result.returncode == 3, result.stdout + result.stderr
        return result.stdout + result.stderr

    def key(self, name: str) -> Path:
        """Return the private key file of `name`, making the pair on first use."""
        path = self.keys / name
        if not path.exists():
            generate_key_files(name, self.keys)
        return path

    def public(self, name: str) -> str:
        self.key(name)
        return (self.keys / f"{name}.pub").read_text().strip()

    def approve(self, ref: str, name: str, *more: str) -> subprocess.CompletedProcess:
        return self.ok("approve", ref, "--key", str(self.key(name)), "--yes", *more)

    def bundle(self, ref: str) -> Bundle:
        return find_bundle(load_bundles(self.root / "bundles"), ref)

    def write_reviewers(self, entries: dict[str, dict], path: Path | None = None) -> Path:
        """Write a reviewers file; each entry gets its own key unless it names `keys`."""
        text = ""
        for name, entry in entries.items():
            keys = entry.get("keys", [self.public(name)])
            text += f"[reviewers.{name}]\nkeys = {json.dumps(keys)}\n"
            text += f"emails = {json.dumps(entry.get('emails', []))}\nroles = {json.dumps(entry.get('roles', []))}\n\n"
        target = path or self.root / "reviewers.toml"
        target.write_text(text)
        return target

    def set_policy(self, **values: object) -> None:
        """Rewrite [policy] (the last table of reviewkit.toml) with `values` over the defaults."""
        config = self.root / "reviewkit.toml"
        head = config.read_text().split("[policy]")[0]
        policy = {"approvals": 1, "high_risk_approvals": 2, "self_approval": False} | values
        lines = [f"{k} = {json.dumps(v)}" for k, v in policy.items()]
        config.write_text(head + "[policy]\n" + "\n".join(lines) + "\n")

    def add_high_risk_bundle(self) -> Bundle:
        """Generate bundle 2, which drops a column (risk high)."""
        (self.root / "models" / "schema.sql").write_text(SHOP.replace(", phone text", ""))
        self.ok("generate", "--no-input", "drop_phone")
        bundle = self.bundle("2")
        assert bundle.risk_level == "high"
        return bundle


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the project once: init and generate take a second, copying it takes none."""
    root = tmp_path_factory.mktemp("signoff") / "project"
    root.mkdir()
    p = Project(root, root.parent / "keys")
    p.ok("init")
    (root / "models" / "schema.sql").write_text(SHOP)
    p.ok("generate")
    return root


@pytest.fixture
def project(tmp_path: Path, _template: Path) -> Project:
    """Return a project with bundle 0001_initial (risk low) and REVIEWERS in reviewers.toml."""
    p = Project(tmp_path / "project", tmp_path / "keys")
    shutil.copytree(_template, p.root, symlinks=True)
    p.keys.mkdir()
    assert p.bundle("1").risk_level == "low"
    p.write_reviewers(REVIEWERS)
    return p
