"""`reviewkit rebase`: two branches each generated a bundle from the same parent; one moves onto the other.

Every fork here is real: a project is copied, each copy changes its models and runs
`generate` through the command line, and the second copy's bundle is copied into the
first, as `git merge` of the two branches leaves them. The rebased bundle's scripts run
on the three engines over a database that applied the other branch, and the schema they
leave is compared with one built from scratch from the merged models.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from reviewkit.bundle.digest import compute_digest, verify_files
from reviewkit.bundle.store import StagedBundle, load_bundles, read_bundles
from reviewkit.db.introspect import introspect
from reviewkit.dialects.connection import connect
from reviewkit.diff.merge import Branches, merge_schemas
from reviewkit.errors import MergeConflict, OperationFailed
from reviewkit.schema.state import Column, Schema, Table, schema_to_json
from tests.conftest import another_database
from tests.scenario_support import run_script
from tests.signoff_support import REVIEWERS, Project
from tests.test_engines import assert_schema


def models(*, note: bool = True, phone: bool = False, name_index: bool = False, email: bool = False,
           amount: bool = False, name_type: str = "text") -> str:
    """The shop's models; each branch turns on its own changes."""
    customers = [f"id bigserial PRIMARY KEY, name {name_type} NOT NULL"]
    customers += ["note text"] if note else []
    customers += ["phone text"] if phone else []
    customers += ["email varchar(255) NOT NULL"] if email else []
    total = "amount" if amount else "total"
    text = f"CREATE TABLE customers ({', '.join(customers)});\n"
    text += ("CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), "
             f"{total} numeric(10,2) NOT NULL DEFAULT 0);\n")
    if name_index:
        text += "CREATE INDEX customers_name_idx ON customers (name);\n"
    return text


INDEX_BRANCH = {"phone": True, "name_index": True}  # merged first: its bundle stays
EMAIL_BRANCH = {"email": True, "amount": True}  # merged last: its bundle moves
EMAIL_OPTIONS = ("--rename", "orders.total=orders.amount", "--default", "customers.email='unknown'")


def new_project(root: Path) -> Project:
    p = Project(root, root.parent / "keys")
    root.mkdir(parents=True)
    p.ok("init")
    p.keys.mkdir(exist_ok=True)
    p.write_reviewers(REVIEWERS)
    return p


def generate(p: Project, name: str, *options: str, **changes: bool | str) -> None:
    (p.root / "models" / "schema.sql").write_text(models(**changes))
    p.ok("generate", "--no-input", name, *options)


def branch(main: Project, name: str) -> Project:
    """Copy the project, as a second branch of its repository."""
    copy = Project(main.root.parent / name, main.keys)
    shutil.copytree(main.root, copy.root)
    return copy


def merge(into: Project, other: Project, bundle_id: str) -> None:
    """Bring the other branch's bundle (and models) in, as `git merge` would."""
    shutil.copytree(other.root / "bundles" / bundle_id, into.root / "bundles" / bundle_id)


@pytest.fixture(scope="module")
def _forked_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0001_initial, 0002_add_note, then 0003_add_index and 0003_add_email from two branches of 0002."""
    root = tmp_path_factory.mktemp("rebase")
    main = new_project(root / "main")
    generate(main, "initial", note=False)
    generate(main, "add_note")
    other = branch(main, "email_branch")
    generate(main, "add_index", **INDEX_BRANCH)
    generate(other, "add_email", *EMAIL_OPTIONS, **EMAIL_BRANCH)
    merge(main, other, "0003_add_email")
    (main.root / "models" / "schema.sql").write_text(models(**INDEX_BRANCH, **EMAIL_BRANCH))  # the merged models
    return main.root


@pytest.fixture
def forked(tmp_path: Path, _forked_template: Path) -> Project:
    p = Project(tmp_path / "main", tmp_path / "keys")
    shutil.copytree(_forked_template, p.root)
    p.keys.mkdir()
    p.write_reviewers(REVIEWERS)
    return p


def on_email_branch(forked: Project, change: Callable[[Project], None]) -> None:
    """Change 0003_add_email on its own branch (where commands can read it), then merge it again."""
    email_branch = branch(forked, f"email_{secrets.token_hex(3)}")
    shutil.rmtree(email_branch.root / "bundles" / "0003_add_index")
    change(email_branch)
    shutil.rmtree(forked.root / "bundles" / "0003_add_email")
    merge(forked, email_branch, "0003_add_email")


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too), by path: to show that nothing changed."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def ids(p: Project) -> list[str]:
    return [b.id for b in load_bundles(p.root / "bundles")]


# -- the fork, and the history after rebase ----------------------------------------------------


def test_status_names_the_fork_and_the_way_out(forked):
    result = forked.run("status")
    assert result.returncode == 3
    assert "bundles 0003_add_email, 0003_add_index share the parent 0002_add_note" in result.stderr
    assert "reviewkit rebase BUNDLE" in result.stderr


def test_rebase_makes_one_line_of_history(forked):
    result = forked.ok("rebase", "0003_add_email")
    assert "Rebased 0003_add_email onto 0003_add_index: wrote bundle bundles/0004_add_email" in result.stdout
    assert "hand edits" not in result.stderr  # generated, never edited: nothing to warn of
    assert ids(forked) == ["0001_initial", "0002_add_note", "0003_add_index", "0004_add_email"]
    assert not (forked.root / "bundles" / "0003_add_email").exists()
    assert not [p for p in (forked.root / "bundles").iterdir() if p.name.startswith(".0")]  # no staging left
    new = forked.bundle("0004_add_email")
    assert new.parent == "0003_add_index"
    assert new.manifest["author"] == "Dana Developer <dana@example.com>"  # the author of the change, kept
    assert verify_files(new.path, new.manifest) == []
    assert new.digest == compute_digest(new.manifest)
    # generate agrees that the rebased history is the merged models
    assert "No changes detected" in forked.ok("generate", "--no-input").stdout


def test_rebased_schema_holds_both_changes_and_keeps_renames_and_one_off_defaults(forked, tmp_path):
    forked.ok("rebase", "0003_add_email")
    new = forked.bundle("4")
    operations = new.manifest["operations"]
    assert {"op": "rename_column", "table": "orders", "column": "total", "new_name": "amount"} in operations
    added = next(op for op in operations if op["op"] == "add_column")
    assert (added["table"], added["column"], added["fill"]) == ("customers", "email", "'unknown'")
    assert not any(op["op"] in ("add_index", "drop_column") for op in operations)  # the other branch's: not again
    scratch = new_project(tmp_path / "scratch")
    (scratch.root / "models" / "schema.sql").write_text(models(**INDEX_BRANCH, **EMAIL_BRANCH))
    scratch.ok("generate", "--no-input")
    assert new.schema() == scratch.bundle("1").schema()
    review = (new.path / "REVIEW.md").read_text()
    assert review.startswith("> **Rebased** from 0003_add_email (digest ")
    assert "generated again on top of 0003_add_index" in review and "# Bundle 0004_add_email" in review
    assert "RENAME COLUMN" in new.script("postgres", "up") and "'unknown'" in new.script("postgres", "up")


def test_rebased_scripts_run_on_a_database_that_applied_the_other_branch(forked, engine_url, request, tmp_path):
    forked.ok("rebase", "0003_add_email")
    bundles = load_bundles(forked.root / "bundles")
    dialect = engine_url.dialect
    conn = connect(engine_url)
    try:
        for bundle in bundles[:2]:
            run_script(conn, bundle.script(dialect, "up"), bundle.id)
        conn.execute("INSERT INTO customers (name, note) VALUES ('Ada', 'first')")
        conn.execute("INSERT INTO orders (customer_id, total) VALUES (1, 12.50)")
        if dialect != "sqlite":
            conn.commit()
        index_bundle, rebased = bundles[2], bundles[3]
        run_script(conn, index_bundle.script(dialect, "up"), index_bundle.id)
        run_script(conn, rebased.script(dialect, "up"), rebased.id)
        assert_schema(conn, rebased.schema(), f"{rebased.id} up on {dialect}")
        assert [tuple(map(str, r)) for r in conn.query("SELECT email FROM customers")] == [("unknown",)]
        assert [float(r[0]) for r in conn.query("SELECT amount FROM orders")] == [12.5]  # renamed, not dropped
        live = introspect(conn)
        run_script(conn, rebased.script(dialect, "down"), rebased.id)
        assert_schema(conn, index_bundle.schema(), f"{rebased.id} down on {dialect}", exact_order=False)
        run_script(conn, rebased.script(dialect, "up"), rebased.id)
    finally:
        conn.close()
    # the same models, built from nothing in one bundle, give the same live schema
    scratch = new_project(tmp_path / "scratch")
    (scratch.root / "models" / "schema.sql").write_text(models(**INDEX_BRANCH, **EMAIL_BRANCH))
    scratch.ok("generate", "--no-input")
    scratch_url = another_database(request, dialect, tmp_path)
    with connect(scratch_url) as other:
        run_script(other, scratch.bundle("1").script(dialect, "up"), "0001_initial")
        assert schema_to_json(live) == schema_to_json(introspect(other))


def test_approvals_of_the_moved_bundle_are_stale_and_said_to_be(forked):
    def approve(email_branch: Project) -> None:
        email_branch.approve("0003_add_email", "alice")
        email_branch.approve("0003_add_email", "bob")

    on_email_branch(forked, approve)
    result = forked.ok("rebase", "0003_add_email")
    assert ("approvals by alice, bob are stale: the bundle's digest changed; approve 0004_add_email again"
            in result.stdout)
    assert not (forked.bundle("4").path / "approvals" / "alice.json").exists()
    forked.approve("0004_add_email", "alice")
    report = json.loads(forked.ok("status", "--json").stdout)
    approvals = {b["id"]: b["approvals"] for b in report["bundles"]}
    assert "alice" in approvals["0004_add_email"], approvals


def test_without_a_database_rebase_warns_that_one_which_applied_the_bundle_must_roll_it_back(forked):
    result = forked.ok("rebase", "0003_add_email")
    assert ("warning: rebase changes files only; a database that applied 0003_add_email must roll it back "
            "(`apply --to 0002_add_note` from the branch that made it) before it applies 0004_add_email" in result.stderr)


def test_hand_edits_of_the_moved_bundle_are_named_because_they_do_not_carry_over(forked):
    def edit(email_branch: Project) -> None:
        script = email_branch.root / "bundles" / "0003_add_email" / "postgres" / "up.sql"
        script.write_text(script.read_text() + "\nUPDATE \"customers\" SET \"email\" = lower(\"email\");\n")
        email_branch.ok("seal", "0003_add_email")

    on_email_branch(forked, edit)
    result = forked.ok("rebase", "0003_add_email")
    assert ("warning: postgres/up.sql of 0003_add_email held hand edits, which a bundle generated again does not "
            "carry: make them in 0004_add_email again, then `reviewkit seal 0004_add_email`") in result.stderr
    assert "lower" not in forked.bundle("4").script("postgres", "up")


# -- nothing changes when rebase fails ------------------------------------------------------------


def test_a_failure_while_putting_the_new_bundle_in_place_changes_nothing(forked, monkeypatch):
    from reviewkit.config import load_settings
    from reviewkit.generate.rebase import RebaseRequest, rebase

    before = folder_bytes(forked.root / "bundles")

    def refuse(self: StagedBundle):
        shutil.rmtree(self.staging, ignore_errors=True)  # what commit does when its rename fails
        raise OperationFailed(f"{self.final}: cannot write the bundle (Read-only file system); nothing was written")

    monkeypatch.setattr(StagedBundle, "commit", refuse)
    with pytest.raises(OperationFailed, match="Read-only file system"):
        rebase(load_settings(forked.root), RebaseRequest("0003_add_email"))
    assert folder_bytes(forked.root / "bundles") == before
    assert sorted(p.name for p in (forked.root / "bundles").iterdir()) == [
        ".gitkeep", "0001_initial", "0002_add_note", "0003_add_email", "0003_add_index"]


def test_a_folder_in_the_way_of_the_new_bundle_changes_nothing(forked):
    (forked.root / "bundles" / "0004_add_email").write_text("not a bundle")  # a file: no bundle is read from it
    before = folder_bytes(forked.root / "bundles")
    result = forked.run("rebase", "0003_add_email")
    assert result.returncode == 3 and "0004_add_email: a bundle with this id already exists" in result.stderr
    assert folder_bytes(forked.root / "bundles") == before


# -- refusals ---------------------------------------------------------------------------------------


def refused(p: Project, *args: str, code: int = 2) -> str:
    before = folder_bytes(p.root / "bundles")
    result = p.run(*args)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2, result.stderr
    assert folder_bytes(p.root / "bundles") == before
    return result.stderr


def test_both_branches_changing_one_column_differently_is_a_conflict(tmp_path):
    main = new_project(tmp_path / "main")
    generate(main, "initial")
    other = branch(main, "other")
    generate(main, "longer_name", name_type="varchar(200)")
    generate(other, "shorter_name", name_type="varchar(100)")
    merge(main, other, "0002_shorter_name")
    message = refused(main, "rebase", "0002_shorter_name")
    assert "0002_shorter_name and 0002_longer_name conflict: column customers.name" in message
    assert "varchar(200) NOT NULL" in message and "varchar(100) NOT NULL" in message
    assert "resolve it by hand" in message


def test_an_index_on_a_column_the_other_branch_renamed_is_a_conflict(tmp_path):
    main = new_project(tmp_path / "main")
    generate(main, "initial")
    other = branch(main, "other")
    generate(main, "rename_total", "--rename", "orders.total=orders.amount", amount=True)
    (other.root / "models" / "schema.sql").write_text(models() + "CREATE INDEX orders_total_idx ON orders (total);\n")
    other.ok("generate", "--no-input", "index_total")
    merge(main, other, "0002_index_total")
    message = refused(main, "rebase", "0002_index_total")
    assert "index orders_total_idx of orders names column orders.total, which neither branch keeps" in message


def test_a_bundle_that_is_not_part_of_a_fork_is_refused(tmp_path):
    main = new_project(tmp_path / "main")
    generate(main, "initial")
    generate(main, "add_phone", phone=True)
    message = refused(main, "rebase", "0002_add_phone")
    assert "0002_add_phone is not part of a fork: no other bundle builds on 0001_initial" in message


def test_rebase_refuses_a_bundle_others_build_on(forked, tmp_path):
    # the index branch grows a second bundle: 0003_add_index is no longer its last
    (forked.root / "models" / "schema.sql").write_text(models(**INDEX_BRANCH, name_type="varchar(80)"))
    shutil.move(str(forked.root / "bundles" / "0003_add_email"), tmp_path / "aside")
    forked.ok("generate", "--no-input", "name_length")
    shutil.move(str(tmp_path / "aside"), forked.root / "bundles" / "0003_add_email")
    message = refused(forked, "rebase", "0003_add_index")
    assert "0003_add_index is not the last bundle of its branch: 0004_name_length builds on it" in message
    # the other way round works, onto the branch's last bundle
    result = forked.ok("rebase", "0003_add_email")
    assert "onto 0004_name_length" in result.stdout
    assert ids(forked)[-1] == "0005_add_email"


def test_three_branches_need_onto_and_then_rebase_one_at_a_time(forked):
    third = branch(forked, "third")
    shutil.rmtree(third.root / "bundles" / "0003_add_email")
    shutil.rmtree(third.root / "bundles" / "0003_add_index")
    (third.root / "models" / "schema.sql").write_text(models().replace("note text", "note text, vip boolean"))
    third.ok("generate", "--no-input", "add_vip")
    merge(forked, third, "0003_add_vip")
    message = refused(forked, "rebase", "0003_add_vip")
    assert "3 branches fork at 0002_add_note (0003_add_vip, 0003_add_email, 0003_add_index): name the branch" in message
    assert "3 names 0003_add_email and 0003_add_index and 0003_add_vip" in refused(forked, "rebase", "3")
    forked.ok("rebase", "0003_add_vip", "--onto", "0003_add_index")
    forked.ok("rebase", "0003_add_email")
    assert ids(forked) == ["0001_initial", "0002_add_note", "0003_add_index", "0004_add_vip", "0005_add_email"]
    scratch_models = models(**INDEX_BRANCH, **EMAIL_BRANCH).replace("note text", "note text, vip boolean")
    (forked.root / "models" / "schema.sql").write_text(scratch_models)
    assert "No changes detected" in forked.ok("generate", "--no-input").stdout


def test_onto_a_bundle_of_no_other_branch_is_refused(forked):
    message = refused(forked, "rebase", "0003_add_email", "--onto", "0001_initial")
    assert "--onto 0001_initial: it is not on another branch that forks at 0002_add_note" in message


def test_a_branch_that_forks_again_is_refused_until_that_fork_is_rebased(forked, tmp_path):
    aside = tmp_path / "aside"
    shutil.move(str(forked.root / "bundles" / "0003_add_email"), aside)
    fax, vip = branch(forked, "index_fax"), branch(forked, "index_vip")
    (fax.root / "models" / "schema.sql").write_text(models(**INDEX_BRANCH).replace("phone text", "phone text, fax text"))
    fax.ok("generate", "--no-input", "add_fax")
    generate(vip, "add_vip", **INDEX_BRANCH, name_type="varchar(80)")
    merge(forked, fax, "0004_add_fax")
    merge(forked, vip, "0004_add_vip")
    shutil.move(str(aside), forked.root / "bundles" / "0003_add_email")
    message = refused(forked, "rebase", "0003_add_email")
    assert ("the branch of 0003_add_index forks again at 0003_add_index (0004_add_fax, 0004_add_vip): "
            "rebase that fork first") in message


def test_a_bundle_that_makes_the_same_change_as_the_other_branch_is_refused(tmp_path):
    main = new_project(tmp_path / "main")
    generate(main, "initial")
    other = branch(main, "other")
    generate(main, "add_phone", phone=True)
    generate(other, "phone_too", phone=True)
    merge(main, other, "0002_phone_too")
    message = refused(main, "rebase", "0002_phone_too")
    assert "0002_phone_too changes nothing on top of 0002_add_phone: both branches made the same change" in message


def test_a_hand_written_bundle_is_refused_by_name(tmp_path):
    main = new_project(tmp_path / "main")
    generate(main, "initial")
    other = branch(main, "other")
    generate(main, "add_phone", phone=True)
    other.ok("generate", "--empty", "backfill")
    merge(main, other, "0002_backfill")
    message = refused(main, "rebase", "0002_backfill")
    assert "0002_backfill is hand-written (generate --empty): its SQL cannot be regenerated; redo it by hand" in message


def test_a_baseline_is_refused(tmp_path):
    import sqlite3

    main = new_project(tmp_path / "main")
    other = branch(main, "other")
    for p, name in ((main, "baseline"), (other, "other_baseline")):
        db = p.root / "live.sqlite3"
        with sqlite3.connect(db) as live:
            live.execute("CREATE TABLE t (id integer PRIMARY KEY)")
        p.ok("baseline", "--database", f"sqlite:///{db}", name)
    merge(main, other, "0001_other_baseline")
    message = refused(main, "rebase", "0001_other_baseline")
    assert "0001_other_baseline is a baseline: it records a database's schema and cannot move" in message


def test_a_bundle_applied_in_the_named_database_is_refused(forked, tmp_path):
    # the email branch applied its bundle to a development database before the merge
    dev = tmp_path / "dev.sqlite3"
    email_branch = branch(forked, "email_dev")
    shutil.rmtree(email_branch.root / "bundles" / "0003_add_index")
    for ref in ("1", "2", "3"):
        email_branch.approve(ref, "alice")
    email_branch.ok("apply", "--database", f"sqlite:///{dev}", "--yes")
    message = refused(forked, "rebase", "0003_add_email", "--database", f"sqlite:///{dev}", code=3)
    assert f"0003_add_email is applied in sqlite:///{dev}: roll it back there first" in message
    # rolled back there, it may move
    email_branch.ok("apply", "--to", "2", "--database", f"sqlite:///{dev}", "--yes")
    result = forked.ok("rebase", "0003_add_email", "--database", f"sqlite:///{dev}")
    assert f"0003_add_email is not applied in sqlite:///{dev}" in result.stdout
    assert "warning" not in result.stderr
    # the rolled-back rows stay as history; the database takes the merged line
    for ref in ("0003_add_index", "0004_add_email"):
        forked.approve(ref, "alice")
        forked.approve(ref, "bob")
    applied = forked.ok("apply", "--database", f"sqlite:///{dev}", "--yes")
    assert "0004_add_email" in applied.stdout
    assert forked.ok("status", "--database", f"sqlite:///{dev}", "--check").returncode == 0


def test_a_number_two_bundles_share_needs_the_id(forked):
    message = refused(forked, "rebase", "3")
    assert "3 names 0003_add_email and 0003_add_index: give the bundle's id" in message


def test_an_unknown_bundle_is_refused(forked):
    assert "no bundle matches '9'" in refused(forked, "rebase", "9")


def test_help_describes_the_command(forked):
    result = forked.ok("rebase", "--help", COLUMNS="200")
    assert "regenerate BUNDLE on top of the other branch's, renumbered" in result.stdout
    assert "--onto" in result.stdout and "--database" in result.stdout


# -- the merge, without files ------------------------------------------------------------------------


def _table(*columns: Column) -> Table:
    return Table("t", columns)


def test_merge_takes_each_branch_change_and_refuses_a_drop_against_a_change():
    a, b = Column("a", "integer"), Column("b", "text")
    base = Schema((_table(a, b),))
    ours = Schema((_table(a, b, Column("c", "text")),))
    theirs = Schema((_table(Column("a", "bigint"), b),))
    merged = merge_schemas(base, ours, theirs, Branches("ours", "theirs"))
    assert merged.table("t").columns == (Column("a", "bigint"), b, Column("c", "text"))
    dropped = Schema((_table(a),))
    with pytest.raises(MergeConflict, match=r"column t\.b \(ours drops or renames it, theirs changes it\)"):
        merge_schemas(base, dropped, Schema((_table(a, Column("b", "text", nullable=False)),)), Branches("ours", "theirs"))


def test_an_enum_given_different_values_by_the_two_branches_is_a_conflict():
    base = Schema((Table("a", (Column("id", "integer"),)), Table("b", (Column("id", "integer"),))))
    ours = Schema((Table("a", (Column("id", "integer"), Column("s", "enum mood('ok','sad')"))), base.tables[1]))
    theirs = Schema((base.tables[0], Table("b", (Column("id", "integer"), Column("s", "enum mood('ok','glad')")))))
    with pytest.raises(MergeConflict, match="enum type mood has different values in the two branches"):
        merge_schemas(base, ours, theirs, Branches("ours", "theirs"))


def test_read_bundles_reads_a_fork_that_load_bundles_refuses(forked):
    assert [b.id for b in read_bundles(forked.root / "bundles")] == [
        "0001_initial", "0002_add_note", "0003_add_email", "0003_add_index"]
