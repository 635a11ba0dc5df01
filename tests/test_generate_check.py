"""`generate --check`: the pre-commit and CI gate. It reads and diffs, and never writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_generate import SHOP, run


def _files(root: Path) -> dict[str, bytes]:
    """Every file under the project, with its bytes: what a check must leave as it found it."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    """A project whose models match its one bundle."""
    assert run(tmp_path, "init").returncode == 0
    (tmp_path / "models" / "schema.sql").write_text(SHOP)
    made = run(tmp_path, "generate", "--no-input")
    assert made.returncode == 0, made.stderr
    return tmp_path


def test_models_without_a_first_bundle_fail_the_check(tmp_path):
    assert run(tmp_path, "init").returncode == 0
    quiet = run(tmp_path, "generate", "--check")  # the scaffold declares no table yet
    assert quiet.returncode == 0 and "No changes detected" in quiet.stdout, quiet.stdout + quiet.stderr
    (tmp_path / "models" / "schema.sql").write_text(SHOP)
    before = _files(tmp_path)
    found = run(tmp_path, "generate", "--check")
    assert found.returncode == 1, found.stdout + found.stderr
    assert "differ from an empty schema (no bundle yet): 2 changes without a bundle" in found.stdout
    assert "  - Create table customers (2 columns)" in found.stdout
    assert _files(tmp_path) == before and not any(p.is_dir() for p in (tmp_path / "bundles").iterdir())


def test_models_that_match_the_newest_bundle_pass(generated):
    passed = run(generated, "generate", "--check")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.strip() == "No changes detected: the models match bundle 0001_initial"


def test_each_change_is_listed_and_nothing_is_written(generated):
    models = generated / "models" / "schema.sql"
    models.write_text(SHOP.replace("email varchar(255)", "mail varchar(255)")
                      + "CREATE INDEX orders_total_idx ON orders (total);\n")
    before = _files(generated)
    found = run(generated, "generate", "--check")
    assert found.returncode == 1, found.stdout + found.stderr
    lines = found.stdout.splitlines()
    assert lines[0] == "The models differ from bundle 0001_initial: 5 changes without a bundle"
    assert lines[1:6] == ["  - Drop unique constraint customers_email_key on customers",
                          "  - Drop column customers.email and its data",
                          "  - Add column customers.mail varchar(255) NOT NULL",
                          "  - Add unique constraint customers_mail_key on customers",
                          "  - Add index orders_total_idx on orders (total)"]
    assert _files(generated) == before  # no bundle, no lint cache, nothing

    renamed = run(generated, "generate", "--check", "--rename", "customers.email=customers.mail")
    assert renamed.returncode == 1
    assert "  - Rename column customers.email to mail" in renamed.stdout
    assert "Drop column" not in renamed.stdout

    # generate itself then writes exactly what the check announced, and the check passes again
    assert run(generated, "generate", "--no-input", "--rename", "customers.email=customers.mail").returncode == 0
    assert run(generated, "generate", "--check").returncode == 0


def test_a_broken_model_is_an_error_not_a_pass(generated):
    (generated / "models" / "schema.sql").write_text(SHOP + "CREATE TABLE broken (id bigint PRIMARY KEY,,);\n")
    failed = run(generated, "generate", "--check")
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "schema.sql" in failed.stderr and "Traceback" not in failed.stderr


def test_check_with_empty_is_a_usage_error(generated):
    refused = run(generated, "generate", "--check", "--empty")
    assert refused.returncode == 2 and "--check" in refused.stderr and "--empty" in refused.stderr
    assert sorted(p.name for p in (generated / "bundles").iterdir() if p.is_dir()) == ["0001_initial"]
