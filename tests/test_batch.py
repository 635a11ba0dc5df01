"""`apply --batch` and the lock table: a bundle too large for one PostgreSQL transaction, refused or committed in groups.

On the real servers, default settings (max_locks_per_transaction 64, max_connections 100):
a 2,000-table bundle is refused before anything runs and applies with `--batch auto`; a
batched run that fails in a later group keeps the groups before it, `status` says how
far it got and `--resume` finishes it; down scripts and fleets take `--batch` too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reviewkit.bundle.seal import seal_bundle
from reviewkit.bundle.store import load_bundles
from reviewkit.db.ledger import read_rows, verify_chain
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.dialects.postgres.locks import DEFAULT, PostgresLockTable
from reviewkit.lint.findings import Finding, weighed_locks
from tests.test_runner import live_matches

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_generate import write_models  # noqa: E402  the synthetic schema of the benchmarks

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = {dialects}

[policy]
approvals = 0
high_risk_approvals = 0
"""
SIX_TABLES = "".join(f"CREATE TABLE t{i} (id bigint PRIMARY KEY, name varchar(40));\n" for i in range(1, 7))
FAILING = "SELECT * FROM no_such_table;\n\n"
MARK = "-- hand-written:\n"


def run(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci-runner"}
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True, text=True,
                          env=env, timeout=timeout)


def cli_url(url: DatabaseURL) -> str:
    return f"sqlite:///{url.path}" if url.dialect == "sqlite" else url.raw


def make_project(root: Path, models: str, dialects: list[str]) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG.format(dialects=json.dumps(dialects)))
    (root / "models" / "schema.sql").write_text(models)
    result = run(root, "generate", "--no-input", "six")
    assert result.returncode == 0, result.stderr
    return root


def tables(url: DatabaseURL) -> set[str]:
    with connect(url) as conn:
        return {t.name for t in get_dialect(conn.dialect).introspection.read_tables(conn)}


def ledger(url: DatabaseURL):
    with connect(url) as conn:
        return read_rows(conn)


def break_statement_5(project: Path, dialect: str, text: str = FAILING) -> None:
    """Make the fifth statement of the up script, after the fourth table, `text` (a failing one), and reseal."""
    bundle = load_bundles(project / "bundles")[0]
    path = bundle.script_path(dialect, "up")
    head, rest = path.read_text().split("\n-- 5.", 1)
    if MARK in head:
        head = head[:head.index(MARK)]
    path.write_text(f"{head}\n{MARK}{text}-- 5.{rest}")
    seal_bundle(bundle)


@pytest.fixture
def six(tmp_path: Path) -> Path:
    return make_project(tmp_path / "six", SIX_TABLES, ["postgres", "mysql", "sqlite"])


# -- a batched run that fails in a later group, then resumed -------------------------------


@pytest.mark.parametrize("engine", ["postgres", "sqlite"])
def test_a_failure_in_a_later_group_keeps_the_groups_before_it_and_resume_finishes(six, request, engine):
    url = request.getfixturevalue(f"{engine}_url")
    db = cli_url(url)
    break_statement_5(six, engine)
    failed = run(six, "apply", "--database", db, "--batch", "3")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "statement 5 (line" in failed.stderr and "no_such_table" in failed.stderr
    # Group 1 (statements 1-3) committed; group 2 (4-6) rolled back with statement 5.
    assert tables(url) == {"t1", "t2", "t3"}
    row = ledger(url)[-1]
    assert (row.status, row.statements_done, row.statements_total) == ("failed", 3, 7)
    status = json.loads(run(six, "status", "--database", db, "--json").stdout)["bundles"][0]
    assert status["state"] == "failed" and status["last_run"]["statements_done"] == 3
    assert status["detail"].startswith("failed at statement 5 of 7 (statements 1-3 committed; statement 4 rolled "
                                       "back with it): line "), status["detail"]
    assert status["explanation"][:2] == [
        "0001_six (up) failed at statement 5 of 7: statements 1-3 took effect, committed in groups (--batch); "
        "statement 4 belongs to operation 4 (Create table t4 (2 columns))",
        "took effect: table t1 added; table t2 added; table t3 added"], status["explanation"]
    refused = run(six, "apply", "--database", db)
    assert refused.returncode == 3 and "failed at statement 5 of 7" in refused.stderr and "--resume" in refused.stderr
    break_statement_5(six, engine, "SELECT 1;\n\n")
    resumed = run(six, "apply", "--resume", "--database", db, "--batch", "3")
    assert resumed.returncode == 0, resumed.stderr
    assert "Applied 1 bundle: 4 statements" in resumed.stdout
    assert live_matches(url, load_bundles(six / "bundles")[0])
    rows = ledger(url)
    assert [(r.status, r.statements_done) for r in rows] == [("failed", 3), ("applied", 7)]
    assert verify_chain(rows) == []


def test_a_failure_in_the_first_group_leaves_nothing_and_needs_no_resume(six, postgres_url):
    db = cli_url(postgres_url)
    break_statement_5(six, "postgres")
    assert run(six, "apply", "--database", db, "--batch", "5").returncode == 1
    assert tables(postgres_url) == set()
    row = ledger(postgres_url)[-1]
    assert (row.status, row.statements_done) == ("failed", 0)
    status = json.loads(run(six, "status", "--database", db, "--json").stdout)["bundles"][0]
    assert status["detail"].startswith("failed and rolled back, nothing applied: statement 5 (line")
    break_statement_5(six, "postgres", "SELECT 1;\n\n")
    again = run(six, "apply", "--database", db, "--batch", "5")  # no --resume: nothing of it stayed
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("engine", ["postgres", "sqlite"])
def test_down_scripts_run_in_groups_too(six, request, engine):
    url = request.getfixturevalue(f"{engine}_url")
    db = cli_url(url)
    assert run(six, "apply", "--database", db, "--batch", "2").returncode == 0
    up = ledger(url)[-1]
    assert (up.direction, up.status, up.statements_done) == ("up", "applied", 6)
    down = run(six, "apply", "--to", "0", "--yes", "--database", db, "--batch", "4")
    assert down.returncode == 0, down.stderr
    assert "Rolled back 1 bundle: 6 statements" in down.stdout
    assert tables(url) == set()
    row = ledger(url)[-1]
    assert (row.direction, row.status, row.statements_done, row.statements_total) == ("down", "applied", 6, 6)


@pytest.mark.parametrize("how", ["kill", "ctrl-c"])
def test_an_interrupted_batched_run_is_resumed_where_the_ledger_says(six, postgres_url, how):
    """A run killed or interrupted in a group leaves the row `running` at the groups committed: a stopped run."""
    db = cli_url(postgres_url)
    break_statement_5(six, "postgres", "SELECT pg_sleep(30);\n\n")
    child = subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--database", db, "--batch", "3"], cwd=six,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "REVIEWKIT_ACTOR": "ci"})
    try:
        for _ in range(300):
            if child.poll() is not None or _sleeping(postgres_url):
                break
            time.sleep(0.1)
        assert child.poll() is None, "the run ended before it reached the sleeping statement"
        child.send_signal(signal.SIGINT) if how == "ctrl-c" else child.kill()
    finally:
        _, stderr = child.communicate(timeout=60)
    if how == "ctrl-c":
        assert child.returncode == 130 and "Traceback" not in stderr
        assert stderr.strip() == ("error: interrupted in 0001_six: statements 1-3 committed (--batch), the group from "
                                  "statement 4 rolled back; `reviewkit apply --resume` goes on from there"), stderr
    row = ledger(postgres_url)[-1]
    assert (row.status, row.statements_done) == ("running", 3)
    status = json.loads(run(six, "status", "--database", db, "--json").stdout)["bundles"][0]
    assert status["detail"].startswith("interrupted at statement 4 of 7 (statements 1-3 committed)")
    break_statement_5(six, "postgres", "SELECT 1;\n\n")
    resumed = run(six, "apply", "--resume", "--database", db)  # the rest, in one transaction
    assert resumed.returncode == 0, resumed.stderr
    assert live_matches(postgres_url, load_bundles(six / "bundles")[0])


def _sleeping(url: DatabaseURL) -> bool:
    with connect(url) as conn:
        # The group's statements go in one query, cut short in pg_stat_activity: its wait says it sleeps.
        return bool(conn.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                               "AND datname = current_database()"))


# Fails as a full lock table does once its transaction holds more than a few locks: other sessions
# holding the server's slots, without filling the shared server's table for everyone else.
NO_ROOM = """DO $$ BEGIN
  IF (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()) > 14 THEN
    RAISE EXCEPTION 'out of shared memory' USING ERRCODE = '53200',
      HINT = 'You might need to increase max_locks_per_transaction.';
  END IF;
END $$;

"""


def test_a_group_the_lock_table_has_no_room_for_runs_again_in_halves(six, postgres_url):
    db = cli_url(postgres_url)
    break_statement_5(six, "postgres", NO_ROOM)
    applied = run(six, "apply", "--database", db, "--batch", "7")
    assert applied.returncode == 0, applied.stderr
    assert ("0001_six: the server's lock table had no room for statements 1-7 (other sessions hold its slots): run "
            "again in groups of 3 or fewer") in applied.stdout
    assert "Applied 1 bundle: 7 statements" in applied.stdout
    assert live_matches(postgres_url, load_bundles(six / "bundles")[0])
    assert [(r.status, r.statements_done) for r in ledger(postgres_url)] == [("applied", 7)]


def test_a_single_statement_without_room_fails_as_any_other(six, postgres_url):
    db = cli_url(postgres_url)
    break_statement_5(six, "postgres", NO_ROOM.replace("> 14", ">= 0"))
    failed = run(six, "apply", "--database", db, "--batch", "7")
    assert failed.returncode == 1 and "statement 5 (line" in failed.stderr and "out of shared memory" in failed.stderr
    assert [(r.status, r.statements_done) for r in ledger(postgres_url)] == [("failed", 4)]


def test_mariadb_commits_each_statement_anyway(six, mysql_url):
    applied = run(six, "apply", "--database", cli_url(mysql_url), "--batch", "2")
    assert applied.returncode == 0, applied.stderr
    assert "--batch 2: MariaDB" in applied.stdout or "--batch 2: MySQL" in applied.stdout
    assert "nothing to group" in applied.stdout
    assert ledger(mysql_url)[-1].status == "applied"


@pytest.mark.parametrize("value", ["0", "x", "-1"])
def test_a_wrong_batch_is_exit_2_before_anything_runs(six, sqlite_url, value):
    result = run(six, "apply", "--database", cli_url(sqlite_url), "--batch", value)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: --batch {value}: give the statements per transaction")
    assert not Path(sqlite_url.path).exists()


def test_a_fleet_passes_batch_to_each_database(six, sqlite_url, postgres_url):
    config = six / "reviewkit.toml"
    config.write_text(config.read_text() + f'\n[fleets]\nboth = ["{cli_url(sqlite_url)}", "{postgres_url.raw}"]\n')
    break_statement_5(six, "postgres")
    result = run(six, "apply", "--fleet", "both", "--batch", "3")
    assert result.returncode == 1, result.stdout + result.stderr
    assert ledger(sqlite_url)[-1].status == "applied"
    row = ledger(postgres_url)[-1]
    assert (row.status, row.statements_done) == ("failed", 3)  # the groups before the failing one stay


def test_dry_run_says_how_the_groups_fall(six, postgres_url):
    result = run(six, "apply", "--dry-run", "--database", cli_url(postgres_url), "--batch", "4")
    assert result.returncode == 0, result.stderr
    assert "-- 0001_six (up): --batch 4 commits 2 groups of statements, the largest taking about" in result.stdout
    assert tables(postgres_url) == set()


# -- lint judges the estimate against a live server ------------------------------------------


def test_a_lock_table_finding_is_judged_against_the_servers_table():
    finding = Finding("pg-lock-table-full", "medium", "m", "h", locks=9000)
    assert weighed_locks(finding, None) is finding
    assert weighed_locks(finding, DEFAULT).level == "high"
    roomy = PostgresLockTable.of(256, 100, 0)
    fits = weighed_locks(finding, roomy)
    assert fits.level == "low" and "within the 20,480 of this server's" in fits.message
    plain = Finding("pg-drop", "high", "m", "h")
    assert weighed_locks(plain, DEFAULT) is plain


# -- 2,000 tables on a server with default settings -----------------------------------------


@pytest.fixture(scope="module")
def two_thousand(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("two_thousand") / "project"
    (root / "bundles").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG.format(dialects='["postgres"]'))
    write_models(root, 2000, changed=False)
    generated = run(root, "generate", "--no-input")
    assert generated.returncode == 0, generated.stderr
    return root


def test_2000_tables_are_refused_on_a_default_server_then_applied_with_batch(two_thousand, postgres_url):
    db = cli_url(postgres_url)
    with connect(postgres_url) as conn:
        assert conn.query("SHOW max_locks_per_transaction")[0][0] == "64"  # the default the figures hold on
    refused = run(two_thousand, "apply", "--database", db)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    lines = refused.stderr.splitlines()
    assert len(lines) == 2, refused.stderr
    assert lines[0].startswith("error: 0001_initial (up) takes about 24,") and "in its one transaction; this " \
        "server's lock table holds 6,400 locks (max_locks_per_transaction 64 x max_connections 100), of which one " \
        "transaction may take 5,120" in lines[0] and lines[0].endswith("nothing was run")
    assert "--batch auto" in lines[1] and "raise max_locks_per_transaction" in lines[1]
    assert tables(postgres_url) == set() and ledger(postgres_url) == []  # nothing ran, the ledger not even made
    dry = run(two_thousand, "apply", "--dry-run", "--database", db)
    assert dry.returncode == 0 and "-- would be refused: 0001_initial (up) takes about" in dry.stdout
    too_big = run(two_thousand, "apply", "--database", db, "--batch", "3000")
    assert too_big.returncode == 1 and "a transaction of --batch 3000 takes about 12," in too_big.stderr
    assert tables(postgres_url) == set()
    applied = run(two_thousand, "apply", "--database", db, "--batch", "auto")
    assert applied.returncode == 0, applied.stderr
    assert "Applied 1 bundle: 6000 statements" in applied.stdout
    assert live_matches(postgres_url, load_bundles(two_thousand / "bundles")[0])  # every table, key and index
    rows = ledger(postgres_url)
    assert [(r.status, r.statements_done, r.statements_total) for r in rows] == [("applied", 6000, 6000)]


def test_lint_and_review_say_it_before_approval(two_thousand, postgres_url):
    review = (load_bundles(two_thousand / "bundles")[0].path / "REVIEW.md").read_text()
    assert "`pg-lock-table-full`" in review and "reviewkit apply --batch auto" in review
    rollback = review.split("## Rolling back (down.sql, `apply --to`) in one transaction\n\n", 1)[1]
    assert rollback.startswith("- postgres/down.sql: this script takes about 4") and "--batch auto" in rollback
    plain = json.loads(run(two_thousand, "lint", "--format", "json").stdout)["findings"]
    found = [f for f in plain if f["rule"] == "pg-lock-table-full"]
    assert [(f["file"].endswith("postgres/up.sql"), f["level"]) for f in found if "up.sql" in f["file"]] == [(True, "medium")]
    up = next(f for f in found if f["file"].endswith("up.sql"))
    assert up["locks"] > 20_000 and "default settings" in up["message"] and "--batch auto" in up["help"]
    live = run(two_thousand, "lint", "--format", "json", "--database", cli_url(postgres_url))
    assert live.returncode == 1  # a high finding: apply refuses it on this server
    judged = [f for f in json.loads(live.stdout)["findings"] if f["rule"] == "pg-lock-table-full"]
    assert judged and all(f["level"] == "high" and "this server's lock table holds 6,400 locks" in f["message"]
                          for f in judged)


def test_fake_runs_nothing_so_needs_no_room(two_thousand, postgres_url):
    faked = run(two_thousand, "apply", "--fake", "--database", cli_url(postgres_url))
    assert faked.returncode == 0, faked.stderr
    assert [(r.status, r.statements_done) for r in ledger(postgres_url)] == [("faked", 0)]
