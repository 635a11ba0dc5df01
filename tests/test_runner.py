"""`reviewkit apply` and `status` on real SQLite, PostgreSQL and MariaDB databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from reviewkit.bundle.digest import compute_digest, manifest_bytes
from reviewkit.bundle.seal import seal_bundle
from reviewkit.bundle.store import load_bundles
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import LEDGER_TABLE, insert_row, next_row, read_rows, verify_chain
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect

STEP1 = """\
CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);
CREATE TABLE books (
  id bigserial PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES authors (id),
  title varchar(200) NOT NULL
);
"""
STEP2 = STEP1 + """\
CREATE TABLE reviews (id bigserial PRIMARY KEY, book_id bigint NOT NULL REFERENCES books (id), stars smallint);
CREATE INDEX books_title_idx ON books (title);
"""
STEP3 = STEP2.replace("title varchar(200) NOT NULL", "title varchar(200) NOT NULL,\n  isbn varchar(20)")

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""


def run(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci-runner"}
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True,
                          text=True, env=env, timeout=timeout)


def cli_url(url: DatabaseURL) -> str:
    return f"sqlite:///{url.path}" if url.dialect == "sqlite" else url.raw


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    for i, models in enumerate((STEP1, STEP2, STEP3), 1):
        (root / "models" / "schema.sql").write_text(models)
        assert run(root, "generate", "--no-input", f"step{i}").returncode == 0
    return root


def bundles_of(project: Path):
    return load_bundles(project / "bundles")


def live_matches(url: DatabaseURL, bundle) -> bool:
    with connect(url) as conn:
        expected = get_dialect(conn.dialect).compiler.stored_form(bundle.schema()) if bundle else None
        live = introspect(conn)
    return live.ignoring_column_order() == (expected.ignoring_column_order() if expected else live.__class__())


def ledger(url: DatabaseURL):
    with connect(url) as conn:
        return read_rows(conn)


def edit_script(project: Path, bundle_no: int, dialect: str, change) -> Path:
    bundle = bundles_of(project)[bundle_no - 1]
    path = bundle.script_path(dialect, "up")
    path.write_text(change(path.read_text()))
    seal_bundle(bundle)  # what a DBA runs after a hand edit
    return path


def test_apply_all_then_nothing_then_status(project, engine_url):
    db = cli_url(engine_url)
    first = run(project, "apply", "--database", db)
    assert first.returncode == 0, first.stderr
    assert "Applied 3 bundles: 5 statements in" in first.stdout
    assert live_matches(engine_url, bundles_of(project)[-1])
    rows = ledger(engine_url)
    assert [(r.bundle_id, r.direction, r.status, r.applied_by) for r in rows] == [
        (b.id, "up", "applied", "ci-runner") for b in bundles_of(project)]
    assert all(r.statements_done == r.statements_total for r in rows)
    assert verify_chain(rows) == []
    again = run(project, "apply", "--database", db)
    assert again.returncode == 0 and "Nothing to do" in again.stdout
    status = run(project, "status", "--database", db, "--json", "--check")
    assert status.returncode == 0, status.stdout
    assert [b["state"] for b in json.loads(status.stdout)["bundles"]] == ["applied"] * 3


def test_apply_up_to_then_roll_back_with_to(project, engine_url):
    db = cli_url(engine_url)
    bundles = bundles_of(project)
    assert run(project, "apply", "1", "--database", db).returncode == 0
    assert live_matches(engine_url, bundles[0])
    pending = run(project, "status", "--database", db, "--check")
    assert pending.returncode == 1
    assert run(project, "apply", "--database", db).returncode == 0
    back = run(project, "apply", "--to", "1", "--database", db, "--yes")
    assert back.returncode == 0, back.stderr
    assert live_matches(engine_url, bundles[0])
    states = [b["state"] for b in json.loads(run(project, "status", "--database", db, "--json").stdout)["bundles"]]
    assert states == ["applied", "rolled back", "rolled back"]
    assert run(project, "apply", "--to", "0", "--database", db, "--yes").returncode == 0
    assert live_matches(engine_url, None)
    assert run(project, "apply", "--database", db).returncode == 0
    assert live_matches(engine_url, bundles[-1])
    assert verify_chain(ledger(engine_url)) == []


def test_dry_run_touches_nothing_not_even_the_ledger(project, engine_url):
    result = run(project, "apply", "--dry-run", "--database", cli_url(engine_url))
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE" in result.stdout
    with connect(engine_url) as conn:
        assert not get_dialect(conn.dialect).driver.table_exists(conn, LEDGER_TABLE)
        assert introspect(conn).tables == ()


def test_fake_records_without_running(project, engine_url):
    result = run(project, "apply", "--fake", "--database", cli_url(engine_url))
    assert result.returncode == 0, result.stderr
    assert [r.status for r in ledger(engine_url)] == ["faked"] * 3
    assert live_matches(engine_url, None)


def test_tampered_bundle_is_refused_before_the_database_is_touched(project, engine_url):
    script = bundles_of(project)[1].script_path("mysql", "up")
    script.write_text(script.read_text() + "\nDROP TABLE authors;\n")
    result = run(project, "apply", "--database", cli_url(engine_url))
    assert result.returncode == 3
    assert "0002_step2/mysql/up.sql: changed since the bundle was sealed" in result.stderr
    with connect(engine_url) as conn:
        assert not get_dialect(conn.dialect).driver.table_exists(conn, LEDGER_TABLE)


def test_failure_halfway_transactional_engines_leave_nothing(project, request):
    for engine in ("sqlite", "postgres"):
        url = request.getfixturevalue(f"{engine}_url")
        db = cli_url(url)
        assert run(project, "apply", "1", "--database", db).returncode == 0
        edit_script(project, 2, engine, lambda text: text.replace(
            "\n-- 2.", "\nSELECT * FROM no_such_table;\n\n-- 2.", 1))
        failed = run(project, "apply", "--database", db)
        assert failed.returncode == 1
        assert "0002_step2" in failed.stderr and "statement 2 (line" in failed.stderr
        assert "Traceback" not in failed.stderr
        assert live_matches(url, bundles_of(project)[0]), engine
        rows = ledger(url)
        assert [(r.bundle_id, r.status) for r in rows][-1] == ("0002_step2", "failed")
        edit_script(project, 2, engine, lambda text: text.replace("SELECT * FROM no_such_table;\n", ""))
        fixed = run(project, "apply", "--database", db)
        assert fixed.returncode == 0, fixed.stderr
        assert live_matches(url, bundles_of(project)[-1])
        assert verify_chain(ledger(url)) == []


def test_a_failed_rollback_leaves_the_bundle_applied_and_can_be_retried(project, engine_url):
    """A down script whose first statement fails (or that rolls back whole) leaves the bundle applied."""
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(engine_url) as conn:  # a DBA dropped the column by hand: the down script's drop fails
        conn.execute("ALTER TABLE books DROP COLUMN isbn")
    failed = run(project, "apply", "--to", "2", "--yes", "--database", db)
    assert failed.returncode == 1 and "isbn" in failed.stderr, failed.stderr
    status = json.loads(run(project, "status", "--database", db, "--json").stdout)
    assert [b["state"] for b in status["bundles"]] == ["applied", "applied", "applied"]
    with connect(engine_url) as conn:
        conn.execute("ALTER TABLE books ADD COLUMN isbn varchar(20)")
    again = run(project, "apply", "--to", "2", "--yes", "--database", db)
    assert again.returncode == 0 and "Nothing to do" not in again.stdout, again.stdout + again.stderr
    assert live_matches(engine_url, bundles_of(project)[1])


def test_the_engines_hint_is_part_of_the_error(project, postgres_url):
    edit_script(project, 1, "postgres", lambda text: text + "\nSELECT no_such_function(1);\n")
    failed = run(project, "apply", "--database", cli_url(postgres_url))
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "function no_such_function(integer) does not exist (hint: No function matches" in failed.stderr


def test_failure_halfway_on_mariadb_then_resume(project, mysql_url):
    db = cli_url(mysql_url)
    assert run(project, "apply", "1", "--database", db).returncode == 0
    edit_script(project, 2, "mysql", lambda text: text.replace("\n-- 2.", "\nSELECT * FROM no_such_table;\n\n-- 2.", 1))
    failed = run(project, "apply", "--database", db)
    assert failed.returncode == 1 and "statement 2 (line" in failed.stderr
    row = ledger(mysql_url)[-1]
    assert (row.bundle_id, row.status, row.statements_done) == ("0002_step2", "failed", 1)
    refused = run(project, "apply", "--database", db)
    assert refused.returncode == 3 and "--resume" in refused.stderr
    status = run(project, "status", "--database", db, "--json")
    state = json.loads(status.stdout)["bundles"][1]
    assert state["state"] == "failed" and "failed at statement 2 of" in state["detail"]
    # What statement 1 left, read from the live schema: the table, not yet the index.
    explained = state["explanation"]
    assert explained[0].startswith("0002_step2 (up) failed at statement 2 of ") and "statement 1 took effect" in explained[0]
    assert "statement 2 belongs to operation 1 (Create table reviews" in explained[0], explained
    assert "took effect: table reviews added" in explained, explained
    assert any(line.startswith("not yet done: ") and "index books.books_title_idx added" in line for line in explained)
    words = run(project, "status", "--database", db)
    assert "took effect: table reviews added" in words.stdout, words.stdout
    edit_script(project, 2, "mysql", lambda text: text.replace("SELECT * FROM no_such_table;", "SELECT 1;"))
    resumed = run(project, "apply", "--resume", "--database", db)
    assert resumed.returncode == 0, resumed.stderr
    assert "took effect: table reviews added" in resumed.stdout, resumed.stdout
    assert live_matches(mysql_url, bundles_of(project)[-1])
    rows = ledger(mysql_url)
    assert [r.status for r in rows if r.bundle_id == "0002_step2"] == ["failed", "applied"]
    assert verify_chain(rows) == []


def test_edited_ledger_row_is_flagged_and_refused(project, engine_url):
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(engine_url) as conn:
        q = get_dialect(conn.dialect).compiler.quote
        conn.execute(f"UPDATE {q(LEDGER_TABLE)} SET {q('applied_by')} = 'mallory' WHERE {q('id')} = 2")
    status = run(project, "status", "--database", db, "--check")
    assert status.returncode == 1 and "ledger row 2 (0002_step2): edited after it was written" in status.stdout
    refused = run(project, "apply", "--to", "1", "--database", db, "--yes")
    assert refused.returncode == 3 and "edited after it was written" in refused.stderr


def test_gap_in_the_ledger_is_named_by_status_verify_and_apply(project, engine_url):
    """One check for all three: a bundle applied after a pending one, with an intact hash chain."""
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(engine_url) as conn:  # someone with write access records a rollback of bundle 1 only
        rows = read_rows(conn)
        fields = {k: v for k, v in asdict(rows[0]).items() if k not in ("id", "prev_hash", "row_hash")}
        insert_row(conn, next_row(rows, **{**fields, "direction": "down"}))
    gap = "0002_step2 is applied but the earlier bundle 0001_step1 is not"
    status = run(project, "status", "--database", db, "--check")
    assert status.returncode == 1 and f"FLAG {gap}" in status.stdout
    verify = run(project, "verify", "--database", db)
    assert verify.returncode == 3 and gap in verify.stderr
    refused = run(project, "apply", "--database", db)
    assert refused.returncode == 3 and gap in refused.stderr


def test_ledger_row_with_a_field_reviewkit_never_writes_is_one_line_exit_3(project, engine_url):
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(engine_url) as conn:
        q = get_dialect(conn.dialect).compiler.quote
        conn.execute(f"UPDATE {q(LEDGER_TABLE)} SET {q('status')} = 'done' WHERE {q('id')} = 2")
    for command in (("status", "--database", db), ("verify", "--database", db), ("apply", "--database", db)):
        result = run(project, *command)
        assert result.returncode == 3, (command, result.stderr)
        assert result.stderr.strip() == ("error: ledger row 2 in reviewkit_ledger: status 'done' is not one of "
                                         "running, applied, failed, faked; the ledger was edited by hand"), command


def test_sqlite_ledger_row_with_text_in_a_number_column_is_refused(project, sqlite_url):
    """SQLite keeps whatever is written, whatever the column's type: the reader checks each field."""
    db = cli_url(sqlite_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(sqlite_url) as conn:
        conn.execute(f"UPDATE {LEDGER_TABLE} SET statements_done = 'many' WHERE id = 1")
    result = run(project, "status", "--database", db)
    assert result.returncode == 3
    assert "ledger row 1 in reviewkit_ledger: statements_done must be a whole number >= 0, not 'many'" in result.stderr
    assert "Traceback" not in result.stderr


def test_ledger_row_for_a_missing_bundle_is_refused(project, engine_url):
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    import shutil

    shutil.rmtree(bundles_of(project)[-1].path)
    result = run(project, "apply", "--database", db)
    assert result.returncode == 3 and "records bundle 0003_step3, which is not in the bundles folder" in result.stderr


def test_unreachable_database_is_one_line_exit_1(project):
    result = run(project, "apply", "--database", "postgresql://nobody:secret@127.0.0.1:1/nope")
    assert result.returncode == 1
    assert "cannot connect to postgresql://nobody:***@127.0.0.1:1/nope" in result.stderr
    assert "secret" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2


SLEEP = {"postgres": "SELECT pg_sleep(3)", "mysql": "SELECT SLEEP(3)"}


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_two_runners_apply_once(project, request, engine):
    url = request.getfixturevalue(f"{engine}_url")
    db = cli_url(url)
    edit_script(project, 1, engine, lambda text: text.replace("\n-- 1.", f"\n{SLEEP[engine]};\n\n-- 1.", 1))
    env = {**os.environ, "REVIEWKIT_ACTOR": "first"}
    first = subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--database", db], cwd=project,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.5)  # the first runner now holds the lock, inside its sleep
    impatient = run(project, "apply", "--database", db, "--lock-timeout", "0.5")
    patient = run(project, "apply", "--database", db, "--lock-timeout", "30")
    first.wait(60)
    assert first.returncode == 0, first.stderr.read()
    assert impatient.returncode == 1 and "holds the migration lock" in impatient.stderr
    assert patient.returncode == 0 and "Nothing to do" in patient.stdout
    rows = ledger(url)
    assert [r.bundle_id for r in rows] == [b.id for b in bundles_of(project)]
    assert {r.applied_by for r in rows} == {"first"}


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_killed_runner_frees_the_lock_and_ledger_agrees(project, request, engine):
    url = request.getfixturevalue(f"{engine}_url")
    db = cli_url(url)
    edit_script(project, 2, engine, lambda text: text.replace("\n-- 2.", f"\n{SLEEP[engine].replace('3', '30')};\n\n-- 2.", 1))
    assert run(project, "apply", "1", "--database", db).returncode == 0
    runner = subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--database", db], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2)
    runner.send_signal(signal.SIGKILL)
    runner.wait(10)
    time.sleep(0.5)  # the server notices the closed connection
    with connect(url) as conn:
        get_dialect(conn.dialect).driver.acquire_lock(conn, 5)  # free again
        get_dialect(conn.dialect).driver.release_lock(conn)
    rows = ledger(url)
    if engine == "postgres":  # the bundle's transaction died with the connection
        assert [r.bundle_id for r in rows] == ["0001_step1"]
        assert live_matches(url, bundles_of(project)[0])
    else:  # MariaDB: the ledger says how far it got
        assert (rows[-1].bundle_id, rows[-1].status, rows[-1].statements_done) == ("0002_step2", "running", 1)
        status = json.loads(run(project, "status", "--database", db, "--json").stdout)["bundles"][1]
        assert status["state"] == "failed" and status["detail"].startswith("interrupted at statement 2")


def test_bundle_edited_after_apply_is_flagged_by_status_and_verify(project, engine_url):
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    assert run(project, "verify", "--database", db).returncode == 0
    edit_script(project, 2, "postgres", lambda text: text + "\n-- tuned by hand\n")
    status = run(project, "status", "--database", db, "--check")
    assert status.returncode == 1 and "0002_step2: edited after it was applied" in status.stdout
    verify = run(project, "verify", "--database", db)
    assert verify.returncode == 3 and "0002_step2: edited after it was applied" in verify.stderr


def test_verify_database_names_a_deleted_ledger_row(project, engine_url):
    db = cli_url(engine_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(engine_url) as conn:
        q = get_dialect(conn.dialect).compiler.quote
        conn.execute(f"DELETE FROM {q(LEDGER_TABLE)} WHERE {q('id')} = 2")
    verify = run(project, "verify", "--database", db)
    assert verify.returncode == 3
    assert "ledger row 3 (0003_step3): does not follow the row before it" in verify.stderr


def test_concurrent_index_runs_outside_a_transaction_with_progress(project, postgres_url):
    db = cli_url(postgres_url)
    edit_script(project, 3, "postgres", lambda text: text + '\nCREATE INDEX CONCURRENTLY "books_isbn_idx" ON "books" ("isbn");\n')
    result = run(project, "apply", "--database", db)
    assert result.returncode == 0, result.stderr
    row = ledger(postgres_url)[-1]
    assert (row.bundle_id, row.status, row.statements_done) == ("0003_step3", "applied", row.statements_total)
    with connect(postgres_url) as conn:
        assert conn.query("SELECT 1 FROM pg_indexes WHERE indexname = 'books_isbn_idx'")


def test_demo_project_applies_with_its_signed_approvals(tmp_path):
    """The quick start: the repository's own demo bundles, signed by the demo reviewer."""
    import shutil

    repo = Path(__file__).resolve().parent.parent
    demo = tmp_path / "demo"
    demo.mkdir()
    for name in ("reviewkit.toml", "reviewers.toml"):
        shutil.copy(repo / name, demo / name)
    for name in ("models", "bundles"):
        shutil.copytree(repo / name, demo / name)
    result = run(demo, "apply")
    assert result.returncode == 0, result.stderr
    status = json.loads(run(demo, "status", "--json").stdout)
    assert [(b["state"], b["approvals_summary"], b["approvals_required"], b["approvals_met"]) for b in status["bundles"]] == [
        ("applied", "1/1 (demo-dba)", 1, True)] * 2
    assert [[(a["reviewer"], a["state"]) for a in b["approvals"]] for b in status["bundles"]] == [[("demo-dba", "valid")]] * 2
    with connect(DatabaseURL("sqlite", path=str(demo / "reviewkit.sqlite3"))) as conn:
        approvals = [json.loads(r.approvals) for r in read_rows(conn)]
    assert all(a[0]["reviewer"] == "demo-dba" and a[0]["fingerprint"].startswith("SHA256:") for a in approvals)


def test_terminal_user_confirms_a_rollback(project, sqlite_url):  # the prompt is the CLI's, not an engine's
    from tests.terminal import answer_on_terminal

    db = cli_url(sqlite_url)
    assert run(project, "apply", "--database", db).returncode == 0
    code, seen = answer_on_terminal(project, ["apply", "--to", "2", "--database", db], b"Go ahead?", b"n\n")
    assert b"0003_step3 runs its down script" in seen and code == 1
    assert [r.direction for r in ledger(sqlite_url)] == ["up"] * 3
    code, seen = answer_on_terminal(project, ["apply", "--to", "2", "--database", db], b"Go ahead?", b"y\n")
    assert code == 0, seen.decode(errors="replace")
    assert [r.direction for r in ledger(sqlite_url)] == ["up"] * 3 + ["down"]


def test_half_applied_bundle_on_mariadb_undone_by_hand_then_recorded_with_fake(project, mysql_url):
    db = cli_url(mysql_url)
    assert run(project, "apply", "1", "--database", db).returncode == 0
    edit_script(project, 2, "mysql", lambda text: text.replace("\n-- 2.", "\nSELECT * FROM no_such_table;\n\n-- 2.", 1))
    assert run(project, "apply", "--database", db).returncode == 1
    with connect(mysql_url) as conn:  # the DBA undoes statement 1 by hand
        conn.execute("DROP TABLE `reviews`")
    recorded = run(project, "apply", "--to", "1", "--fake", "--yes", "--database", db)
    assert recorded.returncode == 0, recorded.stderr
    rows = ledger(mysql_url)
    assert [(r.bundle_id, r.direction, r.status) for r in rows][-1] == ("0002_step2", "down", "faked")
    edit_script(project, 2, "mysql", lambda text: text.replace("SELECT * FROM no_such_table;\n", ""))
    assert run(project, "apply", "--database", db).returncode == 0
    assert live_matches(mysql_url, bundles_of(project)[-1])
    assert verify_chain(ledger(mysql_url)) == []


def test_two_bundles_with_one_parent_are_refused_like_multiple_heads(project, sqlite_url):
    import shutil

    bundles = bundles_of(project)
    fork = project / "bundles" / "0004_other_branch"
    shutil.copytree(bundles[2].path, fork)
    manifest = json.loads((fork / "manifest.json").read_text())
    manifest["id"] = "0004_other_branch"  # also a child of 0002_step2, like 0003_step3
    manifest["digest"] = compute_digest(manifest)
    (fork / "manifest.json").write_bytes(manifest_bytes(manifest))
    result = run(project, "apply", "--database", cli_url(sqlite_url))
    assert result.returncode == 3
    assert "bundles 0003_step3, 0004_other_branch share the parent 0002_step2" in result.stderr
    assert not Path(sqlite_url.path).exists()


def test_missing_parent_is_refused(project, sqlite_url):
    import shutil

    shutil.rmtree(bundles_of(project)[1].path)
    result = run(project, "status")
    assert result.returncode == 3 and "0003_step3: its parent 0002_step2 is not in the bundles folder" in result.stderr


# -- rolling back a bundle that ran in part ------------------------------------------------------

PART_BASE = STEP1
# Three operations: create table reviews, add column books.isbn, then a unique key on titles that
# the rows the test inserts break: the third fails, and the first two stay where DDL commits as it goes.
PART_NEXT = STEP1.replace("title varchar(200) NOT NULL", "title varchar(200) NOT NULL,\n  isbn varchar(20)") + """\
CREATE TABLE reviews (id bigserial PRIMARY KEY, book_id bigint NOT NULL REFERENCES books (id));
CREATE UNIQUE INDEX books_title_key ON books (title);
"""


def make_part_project(root: Path, next_models: str = PART_NEXT) -> Path:
    """A project of two bundles: the base, and the next one's three operations."""
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    for name, models in (("base", PART_BASE), ("next", next_models)):
        (root / "models" / "schema.sql").write_text(models)
        assert run(root, "generate", "--no-input", name).returncode == 0
    return root


@pytest.fixture
def part_project(tmp_path: Path) -> Path:
    return make_part_project(tmp_path / "part")


def half_apply(project: Path, url: DatabaseURL) -> None:
    """Apply the base, add two books of one title, and apply the next bundle: it fails at its unique key."""
    db = cli_url(url)
    assert run(project, "apply", "--to", "1", "--database", db).returncode == 0
    with connect(url) as conn:
        conn.execute("INSERT INTO authors (id, name) VALUES (1, 'Le Guin')")
        for n in (1, 2):
            conn.execute(f"INSERT INTO books (id, author_id, title) VALUES ({n}, 1, 'Earthsea')")
    batch = ("--batch", "1") if url.dialect != "mysql" else ()  # one statement a group: committed as it goes
    failed = run(project, "apply", "--database", db, *batch)
    assert failed.returncode == 1 and "books_title_key" in failed.stderr, failed.stdout + failed.stderr
    status = json.loads(run(project, "status", "--database", db, "--json").stdout)
    assert [b["state"] for b in status["bundles"]] == ["applied", "failed"]


@pytest.mark.parametrize("dialect", ["mysql", "postgres", "sqlite"])
def test_rolling_back_a_bundle_that_ran_in_part_undoes_only_what_ran(part_project, dialect, request):
    """down.sql whole would begin by dropping the unique key that was never made, and fail: it starts after it."""
    url = request.getfixturevalue(f"{dialect}_url")
    half_apply(part_project, url)
    back = run(part_project, "apply", "--to", "1", "--yes", "--database", cli_url(url))
    assert back.returncode == 0, back.stdout + back.stderr
    assert "took effect: column books.isbn added; table reviews added" in back.stdout, back.stdout
    assert "up.sql ran 2 operations of 3 here: down.sql starts at statement 2" in back.stdout, back.stdout
    assert live_matches(url, bundles_of(part_project)[0])
    rows = ledger(url)
    assert verify_chain(rows) == []
    assert [(r.direction, r.status) for r in rows if r.bundle_id.endswith("_next")] == [("up", "failed"), ("down", "applied")]
    status = json.loads(run(part_project, "status", "--database", cli_url(url), "--json").stdout)
    assert [b["state"] for b in status["bundles"]] == ["applied", "rolled back"]
    with connect(url) as conn:  # the cause put right, the bundle applies whole
        conn.execute("UPDATE books SET title = 'Tehanu' WHERE id = 2")
    again = run(part_project, "apply", "--database", cli_url(url))
    assert again.returncode == 0, again.stderr
    assert live_matches(url, bundles_of(part_project)[-1])


def test_a_rollback_that_failed_half_way_is_finished_by_resume_not_run_again(part_project, mysql_url):
    """The rollback's first statement committed, its second failed: `--to` again would drop what is gone already
    and then call the bundle applied. It is refused, naming `--resume`, which goes on from the live schema."""
    db = cli_url(mysql_url)
    assert run(part_project, "apply", "--database", db).returncode == 0  # no rows: the bundle applies whole
    with connect(mysql_url) as conn:  # a DBA dropped the column by hand: down.sql's second operation fails on it
        conn.execute("ALTER TABLE books DROP COLUMN isbn")
    failed = run(part_project, "apply", "--to", "1", "--yes", "--database", db)
    assert failed.returncode == 1 and "isbn" in failed.stderr, failed.stdout + failed.stderr
    again = run(part_project, "apply", "--to", "1", "--yes", "--database", db)
    assert again.returncode == 3, again.stdout + again.stderr
    assert ("the rollback of 0002_next (down.sql) failed at statement 2 of 3 on this database, statement 1 committed; "
            "fix the cause, then run `reviewkit apply --to 1 --resume`") in again.stderr
    up = run(part_project, "apply", "--yes", "--database", db)
    assert up.returncode == 3 and "run `reviewkit apply --resume` to finish the rollback" in up.stderr, up.stderr
    status = json.loads(run(part_project, "status", "--database", db, "--json").stdout)
    assert [b["state"] for b in status["bundles"]] == ["applied", "failed"]
    resumed = run(part_project, "apply", "--to", "1", "--resume", "--yes", "--database", db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "statement 2 took effect before the run stopped" in resumed.stdout, resumed.stdout
    assert live_matches(mysql_url, bundles_of(part_project)[0])
    assert verify_chain(ledger(mysql_url)) == []
    status = json.loads(run(part_project, "status", "--database", db, "--json").stdout)
    assert [b["state"] for b in status["bundles"]] == ["applied", "rolled back"]


def test_a_rollback_whose_table_rebuild_also_undoes_what_never_ran_runs_whole(tmp_path, sqlite_url):
    """SQLite adds a checked column by rebuilding the table, and its down.sql drops the unique key that never came
    in the same rebuild as the column that did: the rebuild makes the table as before either way, so down.sql runs
    whole. A rebuild that would also undo a column change that never ran is refused, naming what to do by hand."""
    checked = PART_NEXT.replace("isbn varchar(20)", "isbn varchar(20),\n  pages integer CHECK (pages > 0)")
    root = make_part_project(tmp_path / "rebuilt", checked)
    half_apply(root, sqlite_url)
    back = run(root, "apply", "--to", "1", "--yes", "--database", cli_url(sqlite_url))
    assert back.returncode == 0, back.stdout + back.stderr
    assert "down.sql runs whole, its table rebuilds making the tables as before either way" in back.stdout, back.stdout
    assert live_matches(sqlite_url, bundles_of(root)[0])
    assert verify_chain(ledger(sqlite_url)) == []
