"""Faults outside the SQL: an interrupted start, an unwritable folder or database file, server errors.

Each gets one or two plain lines naming what and where, its exit code, no traceback, and
leaves the project and the database as they were.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import verify_chain
from reviewkit.dialects.connection import connect
from reviewkit.dialects.splitter import split_statements
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


# -- a run stopped half-way: Ctrl-C, a connection the server ended, a client killed --------

_SLEEP = {"postgres": "SELECT pg_sleep({s})", "mysql": "SELECT SLEEP({s})"}


def _running(url, text: str, timeout: float = 30) -> int:
    """Wait until a session of another client runs a statement containing `text` on the test's database; return its id.

    On its database only: another test run on the same server may have such a statement running too.
    """
    sql = {"postgres": "SELECT pid FROM pg_stat_activity WHERE query LIKE %s AND datname = %s AND pid <> pg_backend_pid()",
           "mysql": "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s AND DB = %s AND ID <> CONNECTION_ID()"}
    with connect(url) as conn:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = conn.query(sql[url.dialect], [f"%{text}%", url.database])
            if found:
                return found[0][0]
            time.sleep(0.02)
    raise AssertionError(f"no session ran {text!r} within {timeout} s")


def _end_session(url, session: int) -> None:
    with connect(url) as conn:
        conn.execute(f"SELECT pg_terminate_backend({session})" if url.dialect == "postgres" else f"KILL {session}")


def _apply_in_background(project: Path, url, *args: str) -> subprocess.Popen:
    env = {**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci-runner"}
    return subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--database", cli_url(url), *args],
                            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _with_a_slow_statement(tmp_path: Path, url, seconds: float) -> Path:
    """A project whose bundle 1 is applied and whose bundle 2 makes a table, waits, then makes another."""
    project = _project(tmp_path)
    assert run(project, "generate", "--no-input").returncode == 0
    assert run(project, "apply", "--database", cli_url(url)).returncode == 0
    assert run(project, "generate", "--empty", "slow").returncode == 0
    edit_script(project, 2, url.dialect, lambda text: text + "CREATE TABLE first_half (id int);\n"
                + _SLEEP[url.dialect].format(s=seconds) + ";\nCREATE TABLE second_half (id int);\n")
    return project


def _tables(url) -> set[str]:
    with connect(url) as conn:
        return {t.name for t in introspect(conn).tables}


def _state_detail(project: Path, url, index: int) -> str:
    status = run(project, "status", "--json", "--database", cli_url(url))
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)["bundles"][index]["detail"]


def test_ctrl_c_on_postgres_rolls_back_releases_and_says_so(tmp_path, postgres_url):
    project = _with_a_slow_statement(tmp_path, postgres_url, 30)
    runner = _apply_in_background(project, postgres_url)
    _running(postgres_url, "pg_sleep(30)")
    runner.send_signal(signal.SIGINT)
    out, err = runner.communicate(timeout=30)
    assert runner.returncode == 130, out + err
    assert err.strip() == "error: interrupted: nothing of 0002_slow was applied (its transaction was rolled back)"
    assert "first_half" not in _tables(postgres_url)
    assert [r.bundle_id for r in ledger(postgres_url)] == ["0001_initial"]
    edit_script(project, 2, "postgres", lambda text: text.replace("SELECT pg_sleep(30);\n", ""))
    quick = run(project, "apply", "--lock-timeout", "1", "--database", cli_url(postgres_url))
    assert quick.returncode == 0, quick.stderr  # the lock was released: no wait
    assert {"first_half", "second_half"} <= _tables(postgres_url)


def test_ctrl_c_on_mariadb_says_how_far_and_resume_finishes(tmp_path, mysql_url):
    project = _with_a_slow_statement(tmp_path, mysql_url, 30)
    runner = _apply_in_background(project, mysql_url)
    _running(mysql_url, "SLEEP(30)")
    runner.send_signal(signal.SIGINT)
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 130, out + err
    assert err.strip().startswith("error: interrupted at statement 2 of 3 of 0002_slow: statement 1 committed"), err
    row = ledger(mysql_url)[-1]
    assert (row.bundle_id, row.status, row.statements_done) == ("0002_slow", "running", 1)
    assert "first_half" in _tables(mysql_url) and "second_half" not in _tables(mysql_url)
    assert "interrupted at statement 2 of 3" in _state_detail(project, mysql_url, 1)
    refused = run(project, "apply", "--lock-timeout", "1", "--database", cli_url(mysql_url))
    assert refused.returncode == 3 and "0002_slow was stopped at statement 2 of 3" in refused.stderr, refused.stderr
    assert "--resume" in refused.stderr and "reseal" not in refused.stderr  # nothing to fix after a stop
    edit_script(project, 2, "mysql", lambda text: text.replace("SELECT SLEEP(30)", "SELECT SLEEP(0)"))
    resumed = run(project, "apply", "--resume", "--lock-timeout", "1", "--database", cli_url(mysql_url))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert {"first_half", "second_half"} <= _tables(mysql_url)
    assert verify_chain(ledger(mysql_url)) == []


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_connection_the_server_ends_is_named_and_the_ledger_stays_true(tmp_path, request, dialect):
    url = request.getfixturevalue(f"{dialect}_url")
    project = _with_a_slow_statement(tmp_path, url, 30)
    runner = _apply_in_background(project, url)
    _end_session(url, _running(url, _SLEEP[dialect].format(s=30)))
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 1, out + err
    assert f"the connection to {url.redacted()} was closed" in err, err
    assert "internal error" not in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    rows = [r for r in ledger(url) if r.bundle_id == "0002_slow"]
    edit_script(project, 2, dialect, lambda text: text.replace(_SLEEP[dialect].format(s=30), "SELECT 1"))
    if dialect == "postgres":  # one transaction: nothing of it stayed, and nothing could be recorded
        assert rows == [] and "first_half" not in _tables(url)
        again = run(project, "apply", "--lock-timeout", "1", "--database", cli_url(url))
    else:  # statement 1 committed; the row the runner could not finish reads as a run that stopped
        assert [(r.status, r.statements_done) for r in rows] == [("running", 1)]
        assert "interrupted at statement 2 of 3" in _state_detail(project, url, 1)
        again = run(project, "apply", "--resume", "--lock-timeout", "1", "--database", cli_url(url))
    assert again.returncode == 0, again.stdout + again.stderr
    assert {"first_half", "second_half"} <= _tables(url)
    assert verify_chain(ledger(url)) == []


def test_mariadb_finishes_the_statement_of_a_killed_client_and_resume_skips_it(tmp_path, mysql_url):
    """The crash the ledger cannot see: the server completes statement k after the client died."""
    project = _project(tmp_path)
    assert run(project, "generate", "--no-input").returncode == 0
    db = cli_url(mysql_url)
    assert run(project, "apply", "--database", db).returncode == 0
    with connect(mysql_url) as conn:  # enough rows for the index build to take a moment
        conn.execute("INSERT INTO authors (id, name) VALUES (1, 'a')")
        conn.execute("INSERT INTO books (author_id, title) SELECT 1, CONCAT('title ', seq) FROM seq_1_to_400000")
    (project / "models" / "schema.sql").write_text(STEP2)
    assert run(project, "generate", "--no-input").returncode == 0
    runner = _apply_in_background(project, mysql_url)
    session = _running(mysql_url, "books_title_idx")
    runner.kill()  # SIGKILL: no handler runs, the ledger row stays as it was
    runner.communicate(timeout=30)
    with connect(mysql_url) as conn:  # the server goes on with the statement, then ends the session
        deadline = time.monotonic() + 60
        while conn.query("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", [session]):
            assert time.monotonic() < deadline, "the server did not finish the killed client's statement"
            time.sleep(0.05)
    second = bundles_of(project)[-1].id
    row = ledger(mysql_url)[-1]
    assert (row.bundle_id, row.status, row.statements_done) == (second, "running", 1), row
    with connect(mysql_url) as conn:
        assert "books_title_idx" in {ix.name for ix in introspect(conn).table("books").indexes}
    resumed = run(project, "apply", "--resume", "--database", db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    said = " ".join(resumed.stdout.split())  # as read, whatever the line width
    assert f"{second} (up) stopped at statement 2 of 2: statement 1 took effect" in said, said
    assert f"{second}: statement 2 took effect before the run stopped: the database has operation 2 (Add index " \
           "books_title_idx on books (title)) done" in said, said
    assert live_matches(mysql_url, bundles_of(project)[-1])
    assert [r.status for r in ledger(mysql_url) if r.bundle_id == second] == ["running", "applied"]
    assert verify_chain(ledger(mysql_url)) == []


# -- what status says of a run that did not finish, each fact once -------------------------


def test_status_of_a_failed_transactional_bundle_names_the_statement_once(tmp_path, postgres_url):
    project = _project(tmp_path)
    assert run(project, "generate", "--no-input").returncode == 0
    assert run(project, "generate", "--empty", "data").returncode == 0
    edit_script(project, 2, "postgres", lambda text: text + "CREATE TABLE kept (id int);\nSELECT no_such_function(1);\n")
    assert run(project, "apply", "--database", cli_url(postgres_url)).returncode == 1
    detail = _state_detail(project, postgres_url, 1)
    assert detail.startswith("failed and rolled back, nothing applied: statement 2 (line "), detail
    assert detail.count("statement") == 1 and "function no_such_function(integer) does not exist" in detail
    assert ledger(postgres_url)[-1].error.startswith("statement 2 (line ")


def test_status_of_a_half_applied_bundle_says_how_far_once(tmp_path, mysql_url):
    project = _project(tmp_path)
    assert run(project, "generate", "--no-input").returncode == 0
    assert run(project, "generate", "--empty", "data").returncode == 0
    edit_script(project, 2, "mysql", lambda text: text + "CREATE TABLE kept (id int);\nSELECT * FROM no_such_table;\n")
    assert run(project, "apply", "--database", cli_url(mysql_url)).returncode == 1
    detail = _state_detail(project, mysql_url, 1)
    assert detail.startswith("failed at statement 2 of 2 (statement 1 committed): line "), detail
    assert "no_such_table" in detail and detail.count("statement 2") == 1


# -- racing runners ------------------------------------------------------------------------


def test_ten_runners_at_once_apply_each_bundle_once_and_say_what_they_did(tmp_path, engine_url):
    project = _project(tmp_path)
    for step, models in enumerate((STEP1, STEP2), 1):
        (project / "models" / "schema.sql").write_text(models)
        assert run(project, "generate", "--no-input", f"step{step}").returncode == 0
    runners = [_apply_in_background(project, engine_url, "--lock-timeout", "60") for _ in range(10)]
    results = [(r, *r.communicate(timeout=180)) for r in runners]
    for runner, out, err in results:
        assert runner.returncode == 0, out + err
        assert "Traceback" not in err
    rows = ledger(engine_url)
    assert sorted(r.bundle_id for r in rows) == ["0001_step1", "0002_step2"]  # one row per bundle
    assert all(r.status == "applied" for r in rows) and verify_chain(rows) == []
    # The statements the runners say they ran add up to the bundles' own, each run once.
    said = [int(m) for _, out, _ in results for m in re.findall(r": (\d+) statements? in ", out)]
    assert sum(said) == sum(len(split_statements(b.script(engine_url.dialect, "up"), engine_url.dialect))
                            for b in bundles_of(project))
    for _, out, _ in results:  # a runner that ran nothing says why
        assert said and (re.search(r": (\d+) statements? in ", out) or "Nothing to do" in out), out
    assert live_matches(engine_url, bundles_of(project)[-1])


def test_a_rollback_stopped_by_the_server_is_refused_then_finished_by_resume(tmp_path, mysql_url):
    """down.sql's first statement committed, then the server ended the runner's session in its second: the row
    stays `running`; `apply --to 1` would run down.sql again from its start, so it is refused, naming `--resume`,
    which goes on from the live schema."""
    from reviewkit.bundle.seal import seal_bundle
    from tests.test_runner import make_part_project

    project = make_part_project(tmp_path / "down")
    bundle = bundles_of(project)[1]
    down = bundle.script_path("mysql", "down")  # edited before it is applied: the ledger keeps its digest
    down.write_text(down.read_text().replace("\n-- 2.", "\nSELECT SLEEP(30);\n\n-- 2.", 1))
    seal_bundle(bundle)
    db = cli_url(mysql_url)
    assert run(project, "apply", "--database", db).returncode == 0
    runner = _apply_in_background(project, mysql_url, "--to", "1", "--yes")
    _end_session(mysql_url, _running(mysql_url, "SLEEP(30)"))
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 1 and "was closed" in err, out + err
    rows = [r for r in ledger(mysql_url) if r.bundle_id == bundle.id]
    assert [(r.direction, r.status, r.statements_done) for r in rows] == [("up", "applied", 3), ("down", "running", 1)]
    again = run(project, "apply", "--to", "1", "--yes", "--database", db)
    assert again.returncode == 3, again.stdout + again.stderr
    assert (f"the rollback of {bundle.id} (down.sql) was stopped at statement 2 of 4 on this database, statement 1 "
            "committed; run `reviewkit apply --to 1 --resume`") in again.stderr, again.stderr
    down.write_text(down.read_text().replace("SELECT SLEEP(30);", "SELECT SLEEP(0);"))
    seal_bundle(bundle)
    resumed = run(project, "apply", "--to", "1", "--resume", "--yes", "--database", db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert live_matches(mysql_url, bundles_of(project)[0])
    assert verify_chain(ledger(mysql_url)) == []
    status = json.loads(run(project, "status", "--database", db, "--json").stdout)
    assert [b["state"] for b in status["bundles"]] == ["applied", "rolled back"]
