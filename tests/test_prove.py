"""`reviewkit prove` on the real engines, and the proofs status, verify and approve show.

A project of two bundles (the sign-off project's, then a column and an index added) is
proven on SQLite, PostgreSQL and MariaDB through the command line; hand edits, a failing
statement, a missing server, an interrupted run and broken proof files are each tried.
Scratch databases are looked for on the servers afterwards: none may be left.
"""

from __future__ import annotations

import json
import os
import re
import signal

import pytest

from reviewkit.bundle.proofs import proof_problem, proof_states
from reviewkit.config import load_settings
from reviewkit.db import execute, scratch
from reviewkit.db.prove import prove
from reviewkit.dialects.connection import DatabaseURL, connect
from tests.terminal import answer_on_terminal

STEPS = ["earlier bundles", "up", "down", "up again"]
# The sign-off project's models (tests/signoff_support.py), with orders.note and an index on it.
BUNDLE2 = """\
CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(255) NOT NULL, phone text);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id), note text);
CREATE INDEX orders_note_idx ON orders (note);
"""
ENGINES = ("postgres", "mysql", "sqlite")


@pytest.fixture
def history(project):
    """The sign-off project with bundle 2: orders.note and an index on it."""
    (project.root / "models" / "schema.sql").write_text(BUNDLE2)
    project.ok("generate", "--no-input", "order_notes")
    assert project.bundle("2").id == "0002_order_notes"
    return project


@pytest.fixture
def servers(postgres_server: DatabaseURL, mysql_server: DatabaseURL) -> dict[str, str]:
    """The environment that names the test servers to prove on."""
    return {"REVIEWKIT_PROVE_POSTGRES_URL": postgres_server.raw, "REVIEWKIT_PROVE_MYSQL_URL": mysql_server.raw}


def proof(project, ref: str, dialect: str) -> dict:
    return json.loads((project.bundle(ref).path / "proofs" / f"{dialect}.json").read_text())


def edit_scripts(project, ref: str, direction: str, change) -> None:
    """Edit the script of every dialect by hand, as a DBA does (sealing is the test's next step)."""
    for dialect in ENGINES:
        path = project.bundle(ref).script_path(dialect, direction)
        path.write_text(change(path.read_text()))


def scratch_databases(server: DatabaseURL) -> set[str]:
    """Return the scratch databases (reviewkit_prove_*) on a server."""
    with connect(server) as conn:
        if conn.dialect == "postgres":
            rows = conn.query("SELECT datname FROM pg_database WHERE datname LIKE 'reviewkit_prove_%%'", [])
        else:
            rows = conn.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'reviewkit_prove_%%'", [])
    return {row[0] for row in rows}


# -- a history that proves --------------------------------------------------------------------


def test_a_history_proves_on_every_engine_and_status_and_verify_say_so(history, servers, postgres_server, mysql_server):
    before = scratch_databases(postgres_server) | scratch_databases(mysql_server)
    result = history.ok("prove", **servers)
    lines = result.stdout.splitlines()
    for dialect in ENGINES:
        assert any(re.match(rf"{dialect} +proven +\S", line) for line in lines), result.stdout
        record = proof(history, "2", dialect)
        assert set(record) == {"format", "bundle", "digest", "dialect", "server_version", "result", "steps", "at"}
        assert (record["format"], record["bundle"], record["dialect"], record["result"]) == (1, "0002_order_notes", dialect, "proven")
        assert record["digest"] == history.bundle("2").digest
        assert [s["name"] for s in record["steps"]] == STEPS
        assert all(s["result"] == "passed" and s["differences"] == [] and s["error"] is None for s in record["steps"])
        assert record["steps"][0]["statements"] >= 2  # bundle 1's two tables, replayed
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["at"])
    assert "PostgreSQL" in proof(history, "2", "postgres")["server_version"]
    assert "0002_order_notes: proven on postgres, mysql, sqlite" in result.stdout
    assert scratch_databases(postgres_server) | scratch_databases(mysql_server) == before  # dropped

    status = json.loads(history.ok("status", "--json").stdout)
    assert [b["proofs"] for b in status["bundles"]] == [dict.fromkeys(ENGINES, "none"), dict.fromkeys(ENGINES, "proven")]
    assert "all proven" in history.ok("status").stdout  # one cell when every dialect agrees
    history.approve("2", "alice")
    verified = history.ok("verify", "2")  # proofs/ is outside the digest: nothing unlisted, nothing changed
    assert "  proof     postgres proven (PostgreSQL" in verified.stdout
    report = json.loads(history.ok("verify", "2", "--json").stdout)
    assert [(p["dialect"], p["state"]) for p in report["bundles"][0]["proofs"]] == [(d, "proven") for d in ENGINES]
    assert "nothing changed" in history.ok("seal", "2").stdout


def test_prove_json_and_one_dialect(history):
    """`--dialect` proves on one engine; `--json` is one document; bundle 1 proves on nothing but itself."""
    report = json.loads(history.ok("prove", "1", "--dialect", "sqlite", "--json").stdout)
    assert (report["bundle"], report["result"]) == ("0001_initial", "proven")
    (entry,) = report["dialects"]
    assert (entry["dialect"], entry["result"], entry["file"]) == ("sqlite", "proven", "0001_initial/proofs/sqlite.json")
    assert entry["proof"] == proof(history, "1", "sqlite")
    assert entry["proof"]["steps"][0] == {"name": "earlier bundles", "result": "passed", "statements": 0, "error": None,
                                          "differences": []}
    assert not (history.bundle("1").path / "proofs" / "postgres.json").exists()
    unknown = history.run("prove", "--dialect", "oracle")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: unknown dialect 'oracle'")


# -- proofs that fail -------------------------------------------------------------------------


def test_a_down_script_edited_and_sealed_makes_the_old_proof_stale_and_the_new_one_fail(history, servers):
    history.ok("prove", **servers)
    edit_scripts(history, "2", "down", lambda text: re.sub(r".*DROP COLUMN.*\n", "", text))
    sealed = history.ok("seal", "2").stdout
    for dialect in ENGINES:
        assert f"stale    0002_order_notes/proofs/{dialect}.json: proved another digest" in sealed
    assert json.loads(history.ok("status", "--json").stdout)["bundles"][1]["proofs"] == dict.fromkeys(ENGINES, "stale")

    result = history.run("prove", **servers)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.count("  down: failed: 1 difference from the schema expected") == 3
    assert result.stdout.count("    column orders.note added (not in the expected schema)") == 3
    assert "0002_order_notes: failed on postgres, mysql, sqlite" in result.stdout
    for dialect in ENGINES:
        steps = proof(history, "2", dialect)["steps"]
        assert [s["result"] for s in steps] == ["passed", "passed", "failed", "failed"]
        assert steps[2]["differences"] == [{"object": "column", "name": "orders.note", "change": "added",
                                            "expected": None, "actual": {"name": "note", "type": "text", "nullable": True}}]
        assert steps[3]["error"]["statement"] == 1  # up again: the column is still there
    status = json.loads(history.ok("status", "--json").stdout)
    assert status["bundles"][1]["proofs"] == dict.fromkeys(ENGINES, "failed")


def test_a_failing_statement_fails_the_proof_and_skips_the_rest(history, servers, postgres_server, mysql_server):
    before = scratch_databases(postgres_server) | scratch_databases(mysql_server)
    edit_scripts(history, "2", "up", lambda text: text + "\nALTER TABLE no_such_table ADD COLUMN x integer;\n")
    unsealed = history.run("prove", **servers)  # the bytes a proof names must be the sealed ones
    assert unsealed.returncode == 3 and "changed since the bundle was sealed" in unsealed.stderr
    history.ok("seal", "2")
    result = history.run("prove", **servers)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for dialect in ENGINES:
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"  up: failed: 0002_order_notes/{dialect}/up.sql"))
        assert re.search(r"statement 3 \(line \d+\): .*no_such_table", line), line
        steps = proof(history, "2", dialect)["steps"]
        assert [s["result"] for s in steps] == ["passed", "failed", "skipped", "skipped"]
        assert (steps[1]["statements"], steps[1]["error"]["statement"]) == (2, 3)
    assert scratch_databases(postgres_server) | scratch_databases(mysql_server) == before


def test_an_engine_without_a_server_fails_with_the_setting_to_fill_in(history):
    result = history.run("prove")
    assert result.returncode == 1
    assert "postgres  failed   no server: set [prove] postgres or REVIEWKIT_PROVE_POSTGRES_URL" in result.stdout
    assert "mysql     failed   no server: set [prove] mysql or REVIEWKIT_PROVE_MYSQL_URL" in result.stdout
    assert re.search(r"^sqlite +proven", result.stdout, re.MULTILINE)
    assert not (history.bundle("2").path / "proofs" / "postgres.json").exists()  # nothing was proven there
    report = json.loads(history.run("prove", "--json").stdout)
    assert [(d["dialect"], d["result"], d["proof"] is None) for d in report["dialects"]] == [
        ("postgres", "failed", True), ("mysql", "failed", True), ("sqlite", "proven", False)]
    history.ok("prove", "--dialect", "sqlite")


def test_a_server_url_of_another_engine_or_unreachable(history):
    config = history.root / "reviewkit.toml"
    config.write_text(config.read_text() + '\n[prove]\npostgres = "mysql://root@127.0.0.1/x"\n')
    wrong = history.run("prove")
    assert wrong.returncode == 2
    assert wrong.stderr == ("error: [prove] postgres (or REVIEWKIT_PROVE_POSTGRES_URL): mysql://root@127.0.0.1/x is a "
                            "MySQL/MariaDB URL, not a PostgreSQL one\n")
    down = history.run("prove", "--dialect", "postgres", REVIEWKIT_PROVE_POSTGRES_URL="postgresql://u:secret@127.0.0.1:1/x")
    assert down.returncode == 1 and "Traceback" not in down.stderr + down.stdout
    assert "postgres  failed   cannot connect to postgresql://u:***@127.0.0.1:1/x" in down.stdout
    assert "secret" not in down.stdout + down.stderr


# -- scratch databases are dropped, whatever happens --------------------------------------------


@pytest.fixture
def named_scratch(monkeypatch) -> list[str]:
    """Record the name of every scratch database made in this process."""
    names: list[str] = []
    real = scratch.scratch_name

    def recorded(purpose: str) -> str:
        names.append(real(purpose))
        return names[-1]

    monkeypatch.setattr(scratch, "scratch_name", recorded)
    return names


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_the_scratch_database_is_dropped_after_a_failure_and_after_ctrl_c(history, servers, monkeypatch, named_scratch, engine, request):
    server = request.getfixturevalue(f"{engine}_server")
    for name, value in servers.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(history.root)
    edit_scripts(history, "2", "up", lambda text: text + "\nALTER TABLE no_such_table ADD COLUMN x integer;\n")
    history.ok("seal", "2")
    (failed,) = prove(settings, "2", engine).proofs
    assert failed.result == "failed" and failed.steps[1].error is not None
    assert len(named_scratch) == 1 and named_scratch[0] not in scratch_databases(server)

    edit_scripts(history, "2", "up", lambda text: text.replace("\nALTER TABLE no_such_table ADD COLUMN x integer;\n", ""))
    history.ok("seal", "2")
    real_run = execute.run_statement

    def interrupted(conn, statement, number, where):
        if where.endswith("/up.sql") and "0002" in where and number == 2:  # in the middle of the bundle's up
            assert named_scratch[-1] in scratch_databases(server)  # the database is there while the run is
            raise KeyboardInterrupt
        real_run(conn, statement, number, where)

    monkeypatch.setattr(execute, "run_statement", interrupted)
    with pytest.raises(KeyboardInterrupt):
        prove(settings, "2", engine)
    assert len(named_scratch) == 2 and named_scratch[1] not in scratch_databases(server)
    assert proof(history, "2", engine)["digest"] != history.bundle("2").digest  # the interrupted run wrote no proof


def test_ctrl_c_while_dropping_waits_for_the_drop(monkeypatch):
    """A Ctrl-C that lands during the drop is held back until the database is gone, then raised."""
    done = []
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with scratch._interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("dropped")
    assert done == ["dropped"]
    assert signal.getsignal(signal.SIGINT) is handler


# -- require_proof ----------------------------------------------------------------------------


def test_require_proof_makes_approve_refuse_without_a_fresh_passing_proof(history, servers):
    history.set_policy(require_proof=["postgres", "mysql"])
    refused = history.refused("approve", "2", "--key", str(history.key("alice")), "--yes")
    assert refused.startswith("error: 0002_order_notes: [policy] require_proof needs a fresh passing proof on postgres, mysql, "
                              "found postgres none; mysql none; run `reviewkit prove 2` first"), refused
    history.ok("prove", "--dialect", "postgres", **servers)
    refused = history.refused("approve", "2", "--key", str(history.key("alice")), "--yes")
    assert "proof on mysql, found mysql none;" in refused
    history.ok("prove", **servers)
    approved = history.approve("2", "alice")
    assert "proofs   postgres proven, mysql proven, sqlite proven" in approved.stdout

    edit_scripts(history, "2", "down", lambda text: re.sub(r".*DROP COLUMN.*\n", "", text))
    history.ok("seal", "2")
    refused = history.refused("approve", "2", "--key", str(history.key("alice")), "--yes")
    assert "found postgres stale (proves digest " in refused and "mysql stale" in refused
    history.run("prove", **servers)
    refused = history.refused("approve", "2", "--key", str(history.key("alice")), "--yes")
    assert "found postgres failed (down left 1 difference); mysql failed (down left 1 difference)" in refused


def test_approve_on_a_terminal_shows_the_proofs_before_asking(history):
    history.ok("prove", "--dialect", "sqlite")
    key = str(history.key("alice"))
    code, seen = answer_on_terminal(history.root, ["approve", "2", "--key", key], b"Approve 0002_order_notes as alice?", b"y\n")
    assert code == 0, seen.decode(errors="replace")
    assert b"proofs   postgres none, mysql none, sqlite proven" in seen


# -- proof files that are not proofs --------------------------------------------------------------


def test_a_malformed_proof_file_is_a_clear_problem_never_a_traceback(history):
    history.ok("prove", "1", "--dialect", "sqlite")
    folder = history.bundle("2").path / "proofs"
    folder.mkdir()
    (folder / "postgres.json").write_text("{not json")
    (folder / "mysql.json").write_text('{"format": 1, "result": "proven"}')
    (folder / "sqlite.json").write_text((history.bundle("1").path / "proofs" / "sqlite.json").read_text())  # bundle 1's

    status = history.run("status")
    assert status.returncode == 0 and "Traceback" not in status.stderr
    assert "FLAG 0002_order_notes/proofs/postgres.json: not a valid proof: not valid JSON" in status.stdout
    assert history.run("status", "--check").returncode == 1
    assert json.loads(history.ok("status", "--json").stdout)["bundles"][1]["proofs"] == dict.fromkeys(ENGINES, "invalid")

    history.approve("2", "alice")  # not required: shown, not refused
    verify = history.run("verify", "2")
    assert verify.returncode == 3 and "Traceback" not in verify.stderr
    assert "problem: 0002_order_notes/proofs/postgres.json: not a valid proof: not valid JSON" in verify.stderr
    assert "problem: 0002_order_notes/proofs/mysql.json: not a valid proof: expected the fields at, bundle, dialect, " \
           "digest, format, result, server_version, steps; missing at, bundle" in verify.stderr
    assert "problem: 0002_order_notes/proofs/sqlite.json: not a valid proof: field 'bundle' is not this bundle's id " \
           '0002_order_notes: the string "0001_initial"' in verify.stderr

    history.set_policy(require_proof=["sqlite"])
    refused = history.refused("approve", "2", "--key", str(history.key("bob")), "--yes")
    assert "found sqlite invalid (field 'bundle' is not this bundle's id" in refused and "Traceback" not in refused


def test_proof_records_that_contradict_themselves_are_invalid(history):
    history.ok("prove", "--dialect", "sqlite")
    record = proof(history, "2", "sqlite")
    assert proof_problem(record, "0002_order_notes", "sqlite") == ""
    assert "field 'dialect' is not postgres, as the file's name says: the string \"sqlite\"" == proof_problem(record, "0002_order_notes", "postgres")
    failing = json.loads(json.dumps(record))
    failing["steps"][2]["result"] = "failed"
    assert proof_problem(failing, "0002_order_notes", "sqlite") == "says proven but its steps did not all pass"
    odd = {**record, "steps": [{**record["steps"][0], "statements": True}]}
    assert proof_problem(odd, "0002_order_notes", "sqlite") == "steps[0]: field 'statements' has the wrong type (true)"
    assert proof_problem([], "0002_order_notes", "sqlite").endswith("found an array")
    (history.bundle("2").path / "proofs" / "oracle.json").write_text("{}")
    states = {s.dialect: s for s in proof_states(history.bundle("2"))}
    assert states["sqlite"].state == "proven" and states["postgres"].state == "none"
    assert states["oracle"].detail == "names no dialect of this bundle (postgres, mysql, sqlite)"


def test_a_script_too_large_for_the_lock_table_is_replayed_in_groups(tmp_path, postgres_server, monkeypatch):
    """prove replays a script that would not fit the server's lock table in one transaction as
    `apply --batch auto` runs it, and proves it; here the server's table is made small, so that the
    shop's few tables stand for thousands."""
    from reviewkit.bundle.store import load_bundles
    from reviewkit.db.prove import prove_dialect
    from reviewkit.dialects import get_dialect
    from reviewkit.dialects.connection import Connection
    from reviewkit.dialects.postgres.locks import PostgresLockTable
    from tests.scenario_support import build_scenario

    build_scenario("shop", tmp_path / "shop", dialects=("postgres",))
    chain = load_bundles(tmp_path / "shop" / "bundles")
    postgres = get_dialect("postgres")
    real_commit = Connection.commit
    commits: list[int] = []

    def counted_commit(self):
        commits[-1] += 1
        return real_commit(self)

    monkeypatch.setattr(Connection, "commit", counted_commit)
    results = {}
    for name, budget in (("server's own", None), ("small", 30)):
        if budget is not None:
            monkeypatch.setattr(type(postgres.lock_table), "read", lambda self, conn, budget=budget: PostgresLockTable(300, budget))
        commits.append(0)
        results[name] = prove_dialect(chain, postgres, postgres_server)
    assert results["server's own"].result == results["small"].result == "proven", results
    assert commits[1] > commits[0] > 0  # the same scripts, in more transactions
