"""`reviewkit squash FROM TO`: one bundle in place of a range, on real SQLite, PostgreSQL and MariaDB.

The history: 0001 makes authors; 0002 adds books; 0003 adds authors.email NOT NULL over
existing rows (a one-off default); 0004 indexes books.title and renames authors.name to
full_name; 0005 (generated before the squash, so its parent is 0004) adds books.isbn.
`squash 2 4` replaces 0002..0004.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reviewkit.bundle.digest import compute_digest, manifest_bytes
from reviewkit.bundle.store import load_bundles
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import read_rows
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.schema.state import Schema
from reviewkit.signoff.keys import generate_key_files
from tests.conftest import another_database
from tests.test_runner import CONFIG, cli_url, run

MODELS = [
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);\n",
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);\n"
    "CREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors (id),"
    " title varchar(200) NOT NULL);\n",
]
MODELS.append(MODELS[1].replace("name varchar(100) NOT NULL)", "name varchar(100) NOT NULL, email varchar(200) NOT NULL)"))
MODELS.append(MODELS[2].replace(" name varchar", " full_name varchar") + "CREATE INDEX books_title_idx ON books (title);\n")
MODELS.append(MODELS[3].replace("title varchar(200) NOT NULL)", "title varchar(200) NOT NULL, isbn varchar(20))"))
GENERATE = [
    ("one",), ("two",), ("three", "--default", "authors.email='unknown'"),
    ("four", "--rename", "authors.name=authors.full_name"), ("five",),
]
SQUASH = "0002_squashed_0004_tidy"
ORIGINALS = ["0002_two", "0003_three", "0004_four"]


def ok(project: Path, *args: str) -> str:
    result = run(project, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def refused(project: Path, code: int, *args: str) -> str:
    result = run(project, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout + result.stderr


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with its five bundles and the squash, built once; the squash is kept beside it."""
    root = tmp_path_factory.mktemp("squash") / "project"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    for models, args in zip(MODELS, GENERATE, strict=True):
        (root / "models" / "schema.sql").write_text(models)
        ok(root, "generate", "--no-input", *args)
    ok(root, "squash", "2", "4", "tidy")
    shutil.move(root / "bundles" / SQUASH, root.parent / SQUASH)
    return root


@pytest.fixture
def project(tmp_path: Path, _template: Path) -> Path:
    """The project without the squash yet: `add_squash` puts it in."""
    root = tmp_path / "project"
    shutil.copytree(_template, root)
    shutil.copytree(_template.parent / SQUASH, tmp_path / "squash")
    return root


def add_squash(project: Path) -> None:
    shutil.copytree(project.parent / "squash", project / "bundles" / SQUASH)


def remove_originals(project: Path) -> None:
    for original in ORIGINALS:
        shutil.rmtree(project / "bundles" / original)


def ledger_ids(url: DatabaseURL) -> list[tuple[str, str]]:
    with connect(url) as conn:
        return [(row.bundle_id, row.direction) for row in read_rows(conn)]


def live_schema(url: DatabaseURL) -> Schema:
    with connect(url) as conn:
        return introspect(conn).ignoring_column_order()


def expected_schema(url: DatabaseURL, project: Path, ref: str) -> Schema:
    bundle = next(b for b in load_bundles(project / "bundles") if b.id.startswith(ref))
    return get_dialect(url.dialect).compiler.stored_form(bundle.schema()).ignoring_column_order()


def status_of(project: Path, url: DatabaseURL) -> dict[str, dict]:
    report = json.loads(run(project, "status", "--json", "--database", cli_url(url)).stdout)
    return {b["id"]: b for b in report["bundles"]}


def execute(url: DatabaseURL, sql: str) -> None:
    with connect(url) as conn:  # autocommit
        conn.execute(sql)


def rows_of(url: DatabaseURL, sql: str) -> list[tuple]:
    with connect(url) as conn:
        return [tuple(r) for r in conn.query(sql)]


# -- the bundle ---------------------------------------------------------------------------


def test_squash_is_generated_with_replaces_and_the_last_schema(project: Path) -> None:
    add_squash(project)
    squash = project / "bundles" / SQUASH
    manifest = json.loads((squash / "manifest.json").read_text())
    originals = {b.id: b for b in [*load_bundles(project / "bundles")[1].originals]}
    assert [item["id"] for item in manifest["replaces"]] == ORIGINALS
    assert [item["digest"] for item in manifest["replaces"]] == [originals[i].digest for i in ORIGINALS]
    assert manifest["parent"] == "0001_one"
    assert (squash / "schema.json").read_bytes() == (project / "bundles" / "0004_four" / "schema.json").read_bytes()
    ops = manifest["operations"]
    # The rename is carried over (the rows survive), and so is the value 0003 filled existing rows with.
    assert {"op": "rename_column", "table": "authors", "column": "name", "new_name": "full_name"} in ops
    assert any(op["op"] == "add_column" and op["column"] == "email" and op["fill"] == "'unknown'" for op in ops)
    assert not any(op["op"] in ("drop_column", "add_index") for op in ops)  # the index comes with the new table
    assert "Squash** of 3 bundles" in (squash / "REVIEW.md").read_text()
    assert "RENAME COLUMN" in (squash / "postgres" / "up.sql").read_text()
    chain = load_bundles(project / "bundles")
    assert [b.id for b in chain] == ["0001_one", SQUASH, "0005_five"]
    assert [b.id for b in chain[1].originals] == ORIGINALS
    ok(project, "verify")
    assert "0002_squashed_0004_tidy" in ok(project, "show", "2")  # number 2 names the squash now
    assert "0003_three is replaced by the squash" in refused(project, 2, "show", "3")


def test_generate_after_a_squash_numbers_after_the_range(project: Path) -> None:
    shutil.rmtree(project / "bundles" / "0005_five")
    add_squash(project)
    (project / "models" / "schema.sql").write_text(MODELS[4])
    ok(project, "generate", "--no-input", "isbn")
    new = load_bundles(project / "bundles")[-1]
    assert new.id == "0005_isbn" and new.parent == SQUASH


# -- databases ------------------------------------------------------------------------------


def test_fresh_database_applies_the_squash_alone(project: Path, engine_url: DatabaseURL, request, tmp_path: Path) -> None:
    by_originals = another_database(request, engine_url.dialect, tmp_path)
    ok(project, "apply", "--database", cli_url(by_originals))
    assert [b for b, _ in ledger_ids(by_originals)] == ["0001_one", *ORIGINALS, "0005_five"]
    add_squash(project)
    ok(project, "apply", "--database", cli_url(engine_url))
    assert [b for b, _ in ledger_ids(engine_url)] == ["0001_one", SQUASH, "0005_five"]
    assert live_schema(engine_url) == live_schema(by_originals) == expected_schema(engine_url, project, "0005")
    states = status_of(project, engine_url)
    assert states[SQUASH]["state"] == "applied" and states[SQUASH]["replaces"] == ORIGINALS
    assert run(project, "drift", "--database", cli_url(engine_url)).returncode == 0


def test_database_that_applied_the_originals_counts_the_squash_applied(project: Path, engine_url: DatabaseURL) -> None:
    url = cli_url(engine_url)
    ok(project, "apply", "4", "--database", url)
    execute(engine_url, "INSERT INTO authors (full_name, email) VALUES ('Ann', 'ann@example.com')")
    add_squash(project)
    states = status_of(project, engine_url)
    assert list(states) == ["0001_one", SQUASH, "0005_five"]
    assert states[SQUASH]["state"] == "applied"
    assert states[SQUASH]["detail"].startswith("as 0002_two..0004_four")
    assert states["0005_five"]["state"] == "pending"
    assert "0003_three is replaced by the squash" in refused(project, 2, "apply", "--to", "3", "--database", url)
    assert "-- 0005_five (up)" in ok(project, "apply", "--dry-run", "--database", url)
    assert SQUASH not in ok(project, "apply", "--dry-run", "--database", url)
    ok(project, "apply", "--database", url)
    assert ledger_ids(engine_url)[-1] == ("0005_five", "up")
    assert len(ledger_ids(engine_url)) == 5  # nothing recorded for the squash: its originals stand for it
    assert live_schema(engine_url) == expected_schema(engine_url, project, "0005")
    assert rows_of(engine_url, "SELECT full_name FROM authors") == [("Ann",)]
    assert "Nothing to do" in ok(project, "apply", "--database", url)
    # Once the originals are gone, the ledger's digests of them still match `replaces`.
    remove_originals(project)
    assert status_of(project, engine_url)[SQUASH]["state"] == "applied"
    ok(project, "status", "--check", "--database", url)
    ok(project, "verify", "--database", url)
    assert run(project, "drift", "--database", url).returncode == 0


def test_partial_database_finishes_the_range_with_the_originals(project: Path, engine_url: DatabaseURL) -> None:
    url = cli_url(engine_url)
    ok(project, "apply", "3", "--database", url)
    add_squash(project)
    squash = status_of(project, engine_url)[SQUASH]
    assert squash["state"] == "partial" and "apply runs 0004_four" in squash["detail"]
    assert run(project, "status", "--check", "--database", url).returncode == 1
    out = ok(project, "apply", "2", "--database", url)  # the squash's number: to the end of its range
    assert "0004_four (up)" in out and "0005_five" not in out and SQUASH not in out
    assert status_of(project, engine_url)[SQUASH]["state"] == "applied"
    assert "0005_five (up)" in ok(project, "apply", "--database", url)
    assert live_schema(engine_url) == expected_schema(engine_url, project, "0005")


def test_partial_database_without_the_originals_is_refused(project: Path, engine_url: DatabaseURL) -> None:
    url = cli_url(engine_url)
    ok(project, "apply", "3", "--database", url)
    add_squash(project)
    remove_originals(project)
    out = refused(project, 3, "apply", "--database", url)
    assert "part-way through the bundles it replaces" in out and "0004_four" in out and "restore" in out
    assert ledger_ids(engine_url)[-1] == ("0003_three", "up")  # nothing ran
    assert run(project, "status", "--check", "--database", url).returncode == 1
    assert run(project, "verify", "--database", url).returncode == 3


def test_rollback_runs_the_squash_down_script(project: Path, engine_url: DatabaseURL, request, tmp_path: Path) -> None:
    url = cli_url(engine_url)
    add_squash(project)
    ok(project, "apply", "--database", url)
    out = ok(project, "apply", "--to", "1", "--yes", "--database", url)
    assert "0005_five (down)" in out and f"{SQUASH} (down)" in out
    assert live_schema(engine_url) == expected_schema(engine_url, project, "0001")
    assert status_of(project, engine_url)[SQUASH]["state"] == "rolled back"
    ok(project, "apply", "--database", url)
    assert live_schema(engine_url) == expected_schema(engine_url, project, "0005")
    # A database that applied the originals rolls back through the squash's down script too.
    by_originals = another_database(request, engine_url.dialect, tmp_path)
    shutil.move(project / "bundles" / SQUASH, tmp_path / SQUASH)
    ok(project, "apply", "4", "--database", cli_url(by_originals))
    shutil.move(tmp_path / SQUASH, project / "bundles" / SQUASH)
    out = ok(project, "apply", "--to", "1", "--yes", "--database", cli_url(by_originals))
    assert f"{SQUASH} (down)" in out and "0004_four" not in out
    assert ledger_ids(by_originals)[-1] == (SQUASH, "down")
    assert live_schema(by_originals) == expected_schema(by_originals, project, "0001")
    assert status_of(project, by_originals)[SQUASH]["state"] == "rolled back"
    ok(project, "apply", "2", "--database", cli_url(by_originals))  # the squash alone, this time
    assert ledger_ids(by_originals)[-1] == (SQUASH, "up")
    assert live_schema(by_originals) == expected_schema(by_originals, project, SQUASH)


# -- refusals ----------------------------------------------------------------------------


def test_bad_ranges_are_refused(project: Path) -> None:
    assert "comes after" in refused(project, 2, "squash", "4", "2")
    assert "a squash replaces two bundles or more" in refused(project, 2, "squash", "3", "3")
    assert "no bundle matches '9'" in refused(project, 2, "squash", "2", "9")
    add_squash(project)
    assert "0003_three is replaced by the squash" in refused(project, 2, "squash", "3", "5")
    assert "a squash cannot replace another squash" in refused(project, 2, "squash", "2", "5")
    assert not list((project / "bundles").glob(".*"))  # nothing half-written


def test_empty_and_hand_written_ranges_are_refused(project: Path) -> None:
    (project / "models" / "schema.sql").write_text(MODELS[4].replace(", isbn varchar(20))", ", isbn varchar(20), x int)"))
    ok(project, "generate", "--no-input", "add_x")
    (project / "models" / "schema.sql").write_text(MODELS[4])
    ok(project, "generate", "--no-input", "drop_x")
    assert "change nothing together" in refused(project, 2, "squash", "6", "7")
    ok(project, "generate", "--empty", "backfill")
    (project / "bundles" / "0008_backfill" / "sqlite" / "up.sql").write_text("UPDATE books SET isbn = 'x';\n")
    ok(project, "seal", "8")
    assert "hand-written" in refused(project, 2, "squash", "7", "8")


def test_baseline_in_the_range_is_refused(project: Path) -> None:
    manifest_path = project / "bundles" / "0001_one" / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) | {"baseline": True}
    manifest["digest"] = compute_digest(manifest)
    manifest_path.write_bytes(manifest_bytes(manifest))
    assert "is a baseline" in refused(project, 2, "squash", "1", "3")


def _tamper_replaces(project: Path) -> None:
    path = project / "bundles" / SQUASH / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["replaces"][1]["digest"] = "0" * 64
    manifest["digest"] = compute_digest(manifest)  # a consistent manifest that lies about what it replaces
    path.write_bytes(manifest_bytes(manifest))


def test_tampered_replaces_is_refused(project: Path, sqlite_url: DatabaseURL) -> None:
    url = cli_url(sqlite_url)
    ok(project, "apply", "4", "--database", url)
    add_squash(project)
    _tamper_replaces(project)
    out = refused(project, 3, "verify")
    assert "replaces 0003_three with digest 000000000000" in out
    assert "0003_three was applied here with digest" in refused(project, 3, "apply", "--database", url)
    remove_originals(project)  # the ledger's digests still disagree with `replaces`
    assert "0003_three was applied here with digest" in refused(project, 3, "apply", "--database", url)


def test_an_original_edited_after_the_squash_is_flagged(project: Path) -> None:
    add_squash(project)
    with (project / "bundles" / "0003_three" / "sqlite" / "up.sql").open("a") as script:
        script.write("-- edited\n")
    out = refused(project, 3, "verify", "2")
    assert "0003_three/sqlite/up.sql: changed since the bundle was sealed" in out


@pytest.mark.parametrize("replaces, why", [
    ([], "must be an array of two or more"),
    ([{"id": "0002_two", "digest": "0" * 64}], "must be an array of two or more"),
    ([{"id": "0002_two", "digest": "0" * 64}, {"id": "0003_three"}], "replaces[1] must be an object with exactly id and digest"),
    ([{"id": "0003_three", "digest": "0" * 64}, {"id": "0002_two", "digest": "0" * 64}], "does not come after"),
    ([{"id": "0001_one", "digest": "0" * 64}, {"id": "0002_two", "digest": "0" * 64}], "the squash's own parent"),
    ("0002_two", "must be an array of two or more"),
])
def test_malformed_replaces_is_refused(project: Path, replaces: object, why: str) -> None:
    add_squash(project)
    path = project / "bundles" / SQUASH / "manifest.json"
    manifest = json.loads(path.read_text()) | {"replaces": replaces}
    manifest["digest"] = compute_digest(manifest)
    path.write_bytes(manifest_bytes(manifest))
    out = refused(project, 3, "status")
    assert f"{SQUASH}/manifest.json: " in out and why in out


def test_the_squash_needs_approvals_of_its_own(project: Path, sqlite_url: DatabaseURL, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    generate_key_files("alice", keys)
    (project / "reviewers.toml").write_text(
        f'[reviewers.alice]\nkeys = ["{(keys / "alice.pub").read_text().strip()}"]\nemails = []\nroles = ["dba"]\n')
    config = project / "reviewkit.toml"
    config.write_text(config.read_text().replace("approvals = 0\nhigh_risk_approvals = 0", "approvals = 1\nhigh_risk_approvals = 1"))
    for ref in ("1", "2", "3", "4", "5"):
        ok(project, "approve", ref, "--key", str(keys / "alice"), "--yes")
    add_squash(project)
    out = refused(project, 3, "apply", "--database", cli_url(sqlite_url))
    assert SQUASH in out
    assert ledger_ids(sqlite_url) == []  # refused before anything ran
    ok(project, "approve", "2", "--key", str(keys / "alice"), "--yes")
    ok(project, "apply", "--database", cli_url(sqlite_url))
    assert [b for b, _ in ledger_ids(sqlite_url)] == ["0001_one", SQUASH, "0005_five"]


def test_a_squash_keeps_the_values_its_range_gave_rollbacks(tmp_path: Path) -> None:
    """0002 renames authors.name to full_name, 0003 drops it and lets bio be NULL, each with the value its rollback
    gives the rows (`--default`): the squash drops name, as it was before the range, and relaxes bio, with them."""
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    first = "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL, bio text NOT NULL);\n"
    steps = [(first, ("one",)),
             (first.replace(" name ", " full_name "), ("two", "--rename", "authors.name=authors.full_name")),
             ("CREATE TABLE authors (id bigserial PRIMARY KEY, bio text);\n",
              ("three", "--default", "authors.full_name='anonymous'", "--default", "authors.bio='none'"))]
    for models, args in steps:
        (root / "models" / "schema.sql").write_text(models)
        ok(root, "generate", "--no-input", *args)
    ok(root, "squash", "2", "3")
    squash = load_bundles(root / "bundles")[-1]
    operations = squash.manifest["operations"]
    assert {"op": "drop_column", "table": "authors", "column": "name", "rollback_fill": "'anonymous'"} in operations
    assert any(op["op"] == "alter_column" and op.get("rollback_fill") == "'none'" for op in operations), operations
    review = (squash.path / "REVIEW.md").read_text()
    assert "- authors.name is NOT NULL again, with 'anonymous' in each row" in review
    assert "- authors.bio is NOT NULL again, with 'none' in each row" in review
