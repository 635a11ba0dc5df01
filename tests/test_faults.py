"""Faults outside the SQL: an interrupted start, an unwritable folder or database file, server errors.

Each gets one or two plain lines naming what and where, its exit code, no traceback, and
leaves the project and the database as they were.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_runner import STEP1, STEP2, bundles_of, cli_url, edit_script, ledger, live_matches, run

# A child that raises KeyboardInterrupt (what Ctrl-C raises) while the command's modules
# load, as an early Ctrl-C does: the moment is made certain instead of raced for.
_INTERRUPTED_IMPORT = """
import builtins, sys
sys.argv = ["reviewkit", "status"]
real_import = builtins.__import__
def interrupting(name, *args, **kwargs):
    if name == "typer":
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupting
from reviewkit.cli import main
main()
"""


def test_ctrl_c_while_the_command_loads_is_one_line_and_130(tmp_path):
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_IMPORT], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "interrupted\n"


def _project(root: Path, models: str = STEP1) -> Path:
    assert run(root, "init").returncode == 0
    config = root / "reviewkit.toml"
    config.write_text(config.read_text().replace("approvals = 1", "approvals = 0")
                      .replace("high_risk_approvals = 2", "high_risk_approvals = 0"))
    (root / "models" / "schema.sql").write_text(models)
    return root


def _read_only(path: Path) -> None:
    """Make `path` unwritable even for root where the file system allows it (chattr +i), else by its mode."""
    if os.geteuid() == 0 and shutil.which("chattr"):
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if made.returncode == 0:
            return
        pytest.skip(f"running as root and chattr +i is refused here: {made.stderr.decode().strip()}")
    path.chmod(0o555 if path.is_dir() else 0o444)


def _writable(path: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755 if path.is_dir() else 0o644)


def test_generate_into_a_file_where_bundles_should_be(tmp_path):
    project = _project(tmp_path)
    shutil.rmtree(project / "bundles")
    (project / "bundles").write_text("not a folder\n")
    made = run(project, "generate", "--no-input")
    assert made.returncode == 1, made.stdout + made.stderr
    assert made.stderr.strip().endswith("bundles: is a file, not the bundles folder; nothing was written")
    assert "Traceback" not in made.stderr and "internal error" not in made.stderr
    assert (project / "bundles").read_text() == "not a folder\n"


def test_generate_into_a_read_only_bundles_folder(tmp_path):
    project = _project(tmp_path)
    _read_only(project / "bundles")
    try:
        made = run(project, "generate", "--no-input")
    finally:
        _writable(project / "bundles")
    assert made.returncode == 1, made.stdout + made.stderr
    assert "bundles: cannot write the bundle there (" in made.stderr and "nothing was written" in made.stderr
    assert "internal error" not in made.stderr and len(made.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (project / "bundles").iterdir()) == [".gitkeep"]


def test_apply_to_a_read_only_sqlite_file_names_it_and_changes_nothing(tmp_path):
    project = _project(tmp_path)
    assert run(project, "generate", "--no-input").returncode == 0
    database = tmp_path / "app.db"
    url = f"sqlite:///{database}"
    assert run(project, "apply", "--database", url).returncode == 0
    (project / "models" / "schema.sql").write_text(STEP2)
    assert run(project, "generate", "--no-input").returncode == 0
    before = database.read_bytes()
    _read_only(database)
    try:
        refused = run(project, "apply", "--database", url)
    finally:
        _writable(database)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"error: {database}: attempt to write a readonly database" in refused.stderr
    assert database.read_bytes() == before


def test_postgres_errors_keep_their_detail_and_hint(tmp_path, postgres_url):
    project = _project(tmp_path)
    assert run(project, "generate", "--no-input").returncode == 0
    assert run(project, "generate", "--empty", "data").returncode == 0
    edit_script(project, 2, "postgres", lambda text: text + "INSERT INTO authors (id, name) VALUES (1, 'a'), (1, 'b');\n")
    failed = run(project, "apply", "--database", cli_url(postgres_url))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "duplicate key value violates unique constraint" in failed.stderr
    assert "(detail: Key (id)=(1) already exists.)" in failed.stderr
    assert [r.status for r in ledger(postgres_url)] == ["applied", "failed"]
    assert live_matches(postgres_url, bundles_of(project)[0])

    edit_script(project, 2, "postgres", lambda text: text.replace("INSERT INTO authors (id, name) VALUES (1, 'a'), (1, 'b');",
                                                                  "SELECT no_such_function(1);"))
    hinted = run(project, "apply", "--database", cli_url(postgres_url))
    assert hinted.returncode == 1
    assert "function no_such_function(integer) does not exist (hint: No function matches" in hinted.stderr
