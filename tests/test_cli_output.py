"""How the command line reads in a pipe, in a script and on a terminal.

Off a terminal every line is whole (never cut at 80 columns, never drawn in a box); on
one, a person confirms what a script must ask for with --yes. Commands run through the
real command line in a subprocess, databases are the real engines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import read_rows
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.plural import counted
from tests.terminal import answer_on_terminal, run_on_terminal

pytest_plugins = ["tests.signoff_support"]  # the project fixture: bundle 0001_initial, reviewers alice and bob

TYPE_LABEL = re.compile(r"<(str|bool|int|float|path|list\[str\])>", re.IGNORECASE)
BOX = re.compile("[╭╮╰╯┏┓┗┛│┃]")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def reviewkit(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `reviewkit ARGS` piped: stdin, stdout and stderr are not terminals."""
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "REVIEWKIT_AUTHOR": "dev", **env}, stdin=subprocess.DEVNULL)


def cli_url(url: DatabaseURL) -> str:
    return f"sqlite:///{url.path}" if url.dialect == "sqlite" else url.raw


def database_state(url: DatabaseURL):
    """Return what a refused command must leave as it was: the ledger rows and the live schema."""
    with connect(url) as conn:
        return read_rows(conn), introspect(conn).ignoring_column_order()


# -- help and usage errors --------------------------------------------------------------


@pytest.mark.parametrize("command", ["apply", "status", "generate", "lint", "approve", "baseline", "verify", "init"])
def test_help_is_plain_text_with_labels_that_say_what_to_give(tmp_path, command):
    result = reviewkit(tmp_path, command, "--help")
    assert result.returncode == 0, result.stderr
    assert not TYPE_LABEL.search(result.stdout), result.stdout
    assert not BOX.search(result.stdout), result.stdout
    assert result.stdout.startswith(f"Usage: reviewkit {command} ")


def test_help_keeps_brackets_and_names_the_values(tmp_path):
    apply_help = reviewkit(tmp_path, "apply", "--help").stdout
    assert "--database DB  " in apply_help and "A name from [databases] or a URL." in apply_help
    assert "--lock-timeout SECONDS" in apply_help and "--to BUNDLE" in apply_help
    assert "--rename OLD=NEW" in reviewkit(tmp_path, "generate", "--help").stdout
    assert "(default: [generate] online)" in " ".join(reviewkit(tmp_path, "generate", "--help").stdout.split())
    assert "approvals/<reviewer>.json" in reviewkit(tmp_path, "approve", "--help").stdout
    assert "Usage: reviewkit lint [OPTIONS] [BUNDLE...]" in reviewkit(tmp_path, "lint", "--help").stdout


def test_help_on_a_terminal_keeps_brackets_too(tmp_path):
    code, seen = run_on_terminal(tmp_path, ["status", "--help"])
    assert code == 0 and "A name from [databases] or a URL." in ANSI.sub("", seen.decode())


def test_command_list_is_not_cut_short(tmp_path):
    listing = reviewkit(tmp_path, "--help").stdout
    commands = listing.split("Commands:")[1].splitlines()
    from reviewkit.cli.app import COMMANDS

    assert [line.split()[0] for line in commands if line.strip()] == [name for name, _ in COMMANDS]
    assert not any(line.rstrip().endswith("...") for line in commands), listing


def test_a_usage_error_is_two_plain_lines_and_exit_2(tmp_path):
    result = reviewkit(tmp_path, "apply", "--bogus")
    assert result.returncode == 2
    assert not BOX.search(result.stderr), result.stderr
    assert "Error: No such option: --bogus" in result.stderr and "Try 'reviewkit apply --help'" in result.stderr


# -- status -----------------------------------------------------------------------------


def add_table(project, name: str) -> None:
    models = project.root / "models" / "schema.sql"
    models.write_text(models.read_text() + f"CREATE TABLE {name} (id bigint PRIMARY KEY);\n")


def long_history(project) -> str:
    """Add bundle 2 with a long name to the project; return its id."""
    add_table(project, "reader_notes")
    project.ok("generate", "--no-input", "add_the_reader_notes_table_for_the_library_reading_room_project")
    return project.bundle("2").id


def test_piped_status_prints_whole_ids_a_head_mark_and_a_summary(project):
    long_id = long_history(project)
    assert len(long_id) > 50
    project.approve("1", "alice")
    project.ok("apply", "1")
    lines = project.ok("status").stdout.splitlines()
    assert lines[0].split() == ["bundle", "risk", "approvals", "proofs", "state"]
    assert lines[1].startswith("0001_initial ") and " applied 20" in lines[1] and "(head)" not in lines[1]
    assert lines[2].startswith(f"{long_id} (head) ") and lines[2].endswith(" pending")
    assert len(lines[2]) > 80  # one line, however long
    assert not any("…" in line or BOX.search(line) for line in lines)
    assert lines[-1] == "2 bundles: 1 applied, 1 pending"  # states no bundle is in are left out


def test_status_without_a_database_says_so_once(project):
    out = project.ok("status").stdout.splitlines()
    assert out[1].startswith("0001_initial (head) ")
    assert out[-2:] == ["database: none (not created yet)", "1 bundle, no database yet"]


def test_status_on_a_terminal_folds_ids_rather_than_cutting_them(project):
    long_id = long_history(project)
    code, seen = run_on_terminal(project.root, ["status"], {"COLUMNS": "60"})
    text = ANSI.sub("", seen.decode())
    assert code == 0 and "…" not in text
    cells = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│"))
    assert long_id in cells and "(head)" in cells  # folded over lines, every character kept
    assert text.rstrip().endswith("2 bundles, no database yet")


def test_failed_bundle_reads_once_in_status(project, sqlite_url):
    project.approve("1", "alice")
    project.add_high_risk_bundle()
    path = project.bundle("2").script_path("sqlite", "up")
    path.write_text(path.read_text() + "\nSELECT * FROM no_such_table;\n")
    project.ok("seal", "2")
    project.approve("2", "alice")
    project.approve("2", "bob")
    db = cli_url(sqlite_url)
    assert project.run("apply", "--database", db, "--yes").returncode == 1
    out = project.ok("status", "--database", db).stdout
    row = next(line for line in out.splitlines() if line.startswith("0002_drop_phone"))
    assert re.search(r" failed and rolled back, nothing applied: statement 2 \(line \d+\): no such table: no_such_table$", row), row
    assert "failed failed" not in out and row.count("failed") == 1 and row.count("statement") == 1
    assert out.splitlines()[-1] == "2 bundles: 1 applied, 1 failed"


def test_status_json_gives_data_not_display_strings(project):
    project.add_high_risk_bundle()
    project.approve("1", "alice")
    project.approve("2", "alice")
    project.ok("apply", "1", "--actor", "ci-runner")
    status = json.loads(project.ok("status", "--json").stdout)
    first, second = status["bundles"]
    assert status["head"] == "0002_drop_phone" and (first["head"], second["head"]) == (False, True)
    assert status["summary"] == {"bundles": 2, "applied": 1, "faked": 0, "rolled_back": 0, "failed": 0, "pending": 1,
                                 "flagged": 0}
    assert first["state"] == "applied" and first["applied_by"] == "ci-runner"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", first["applied_at"])
    assert first["last_run"]["direction"] == "up" and first["last_run"]["status"] == "applied"
    assert (second["applied_at"], second["applied_by"], second["last_run"]) == (None, None, None)
    [approval] = second["approvals"]
    assert approval["reviewer"] == "alice" and approval["state"] == "valid"
    assert approval["fingerprint"].startswith("SHA256:")
    assert (second["approvals_required"], second["approvals_met"]) == (2, False)
    assert (first["approvals_required"], first["approvals_met"]) == (1, True)
    assert second["approvals_summary"] == "1/2 (alice); missing 1 approval"


def test_status_json_names_approvals_that_do_not_count(project):
    project.approve("1", "alice")
    path = project.bundle("1").script_path("postgres", "up")
    path.write_text(path.read_text() + "\n-- tuned by hand\n")
    project.ok("seal", "1")
    [approval] = json.loads(project.ok("status", "--json").stdout)["bundles"][0]["approvals"]
    assert (approval["reviewer"], approval["state"]) == ("alice", "stale")


# -- confirmations ----------------------------------------------------------------------


def test_off_a_terminal_high_risk_and_down_scripts_need_yes(project, engine_url):
    db = cli_url(engine_url)
    project.approve("1", "alice")
    project.add_high_risk_bundle()
    project.approve("2", "alice")
    project.approve("2", "bob")
    assert project.run("apply", "1", "--database", db).returncode == 0
    before = database_state(engine_url)

    refused = project.run("apply", "--database", db)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith("error: apply would apply the high-risk bundle 0002_drop_phone; not on a terminal")
    assert "pass --yes" in refused.stderr and refused.stdout == ""
    assert database_state(engine_url) == before  # not a statement, not a ledger row

    assert project.run("apply", "--database", db, "--dry-run").returncode == 0  # a dry run changes nothing: no question
    applied = project.run("apply", "--database", db, "--yes")
    assert applied.returncode == 0 and "Applied 1 bundle: " in applied.stdout, applied.stderr
    before = database_state(engine_url)

    refused = project.run("apply", "--to", "1", "--database", db)
    assert refused.returncode == 2
    assert "apply would run the down script of 0002_drop_phone; not on a terminal" in refused.stderr
    assert database_state(engine_url) == before
    back = project.run("apply", "--to", "1", "--database", db, "--yes")
    assert back.returncode == 0, back.stderr
    assert re.search(r"^Rolled back 1 bundle: \d+ statements? in ", back.stdout, re.MULTILINE), back.stdout


def test_a_fake_rollback_runs_nothing_and_asks_nothing(project, sqlite_url):
    db = cli_url(sqlite_url)
    project.approve("1", "alice")
    project.ok("apply", "--database", db)
    result = project.ok("apply", "--to", "0", "--fake", "--database", db)
    assert "Recorded 1 bundle as rolled back without running a statement (--fake)" in result.stdout
    assert [r.direction for r in database_state(sqlite_url)[0]] == ["up", "down"]


def test_on_a_terminal_a_high_risk_bundle_is_confirmed(project):
    project.approve("1", "alice")
    project.add_high_risk_bundle()
    project.approve("2", "alice")
    project.approve("2", "bob")
    project.ok("apply", "1")
    code, seen = answer_on_terminal(project.root, ["apply"], b"Go ahead?", b"n\n")
    assert code == 1 and b"0002_drop_phone is high risk" in seen
    assert json.loads(project.ok("status", "--json").stdout)["bundles"][1]["state"] == "pending"
    code, seen = answer_on_terminal(project.root, ["apply"], b"Go ahead?", b"y\n")
    assert code == 0 and b"Applied 1 bundle" in seen


def test_approve_and_apply_word_the_refusal_alike(project):
    approve = project.run("approve", "1", "--key", str(project.key("alice")))
    assert approve.returncode == 2 and "not on a terminal, nobody can confirm: pass --yes" in approve.stderr


# -- words ------------------------------------------------------------------------------


def test_counts_agree_with_their_nouns(project):
    assert [counted(n, "bundle") for n in (0, 1, 2)] == ["0 bundles", "1 bundle", "2 bundles"]
    assert counted(1, "index", "indexes") == "1 index" and counted(3, "index", "indexes") == "3 indexes"
    add_table(project, "notes")
    generated = project.ok("generate", "--no-input", "notes").stdout
    assert "Wrote bundle bundles/0002_notes (1 operation, risk low)" in generated
    up = project.bundle("2").script("postgres", "up")
    assert "-- 1 operation, 1 statement; generated by reviewkit" in up
    assert "Create table notes (1 column)" in (project.bundle("2").path / "REVIEW.md").read_text()
    project.approve("1", "alice")
    project.approve("2", "alice")
    project.ok("apply", "1")
    applied = project.ok("apply").stdout
    assert "[1/1] 0002_notes (up): 1 statement\n" in applied and "Applied 1 bundle: 1 statement in " in applied


def test_refused_policy_says_not_met_once(project):
    result = project.run("apply")
    assert result.returncode == 3
    assert result.stderr.count("not met") == 1, result.stderr
    assert result.stderr.strip() == "error: 0001_initial: policy not met: 0/1; missing 1 approval"


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf"])
def test_lock_timeout_must_be_a_positive_number_of_seconds(project, value):
    result = project.run("apply", "--lock-timeout", value)
    assert result.returncode == 2
    assert f"error: --lock-timeout {value}: give the seconds to wait for another runner, a number above 0" in result.stderr
    assert not (project.root / "reviewkit.sqlite3").exists()  # refused before the database is opened


@pytest.mark.parametrize(("folder", "message"), [
    ("notes", "error: bundles/notes/ is not a bundle: bundle folders are named like 0003_add_email"),
    ("0002_x", "error: bundles/0002_x/ has no manifest.json, so it is not a bundle"),
])
def test_a_stray_folder_in_bundles_is_named(project, folder, message):
    (project.root / "bundles" / folder).mkdir()
    for command in (("status",), ("apply",), ("generate", "--no-input")):
        result = project.run(*command)
        assert result.returncode == 3 and result.stderr.startswith(message), (command, result.stderr)


def test_files_and_hidden_folders_in_bundles_are_left_alone(project):
    (project.root / "bundles" / "README.md").write_text("Our bundles.\n")
    (project.root / "bundles" / ".0002_half_written.abc").mkdir()
    assert "1 bundle, no database yet" in project.ok("status").stdout


def test_a_column_declared_twice_is_named_on_one_whole_line(tmp_path):
    reviewkit(tmp_path, "init")
    columns = ", ".join(f"column_number_{i} integer" for i in range(12))
    (tmp_path / "models" / "schema.sql").write_text(f"CREATE TABLE t (id integer PRIMARY KEY, {columns}, Column_Number_3 text);\n")
    result = reviewkit(tmp_path, "generate", "--no-input")
    assert result.returncode == 2
    first, source = result.stderr.splitlines()
    assert first == "error: models/schema.sql:1: table t declares the column column_number_3 twice"
    assert len(source) > 100 and source.startswith("    CREATE TABLE t (id integer")  # never broken at 80 columns


def test_generate_summarises_the_findings_of_a_large_change(tmp_path):
    reviewkit(tmp_path, "init")
    models = tmp_path / "models" / "schema.sql"
    models.write_text("".join(f"CREATE TABLE t{i} (id integer PRIMARY KEY, note text);\n" for i in range(200)))
    assert reviewkit(tmp_path, "generate", "--no-input", "tables").returncode == 0
    models.write_text("".join(f"CREATE TABLE t{i} (id integer PRIMARY KEY);\n" for i in range(200)))
    result = reviewkit(tmp_path, "generate", "--no-input", "drop_notes")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 10, result.stdout
    assert lines[0] == "Wrote bundle bundles/0002_drop_notes (200 operations, risk high)"
    assert lines[1] == ("601 findings: 600 high (pg-drop 200, mysql-drop 200, sqlite-drop 200); "
                        "1 low (pg-no-lock-timeout 1); REVIEW.md lists each")  # one line, however long
    assert [line.split()[:3] for line in lines[2:4]] == [["high", "postgres", "pg-drop:"], ["high", "mysql", "mysql-drop:"]]
    assert lines[-2] == "  ... and 595 more medium or high" and lines[-1].startswith("digest ")
    review = (tmp_path / "bundles" / "0002_drop_notes" / "REVIEW.md").read_text()
    assert review.count("pg-drop") >= 200  # the whole list is there


# -- completion -------------------------------------------------------------------------


def test_shell_completion_installs_and_completes_commands(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    result = reviewkit(tmp_path, "--install-completion", "bash", **env)
    assert result.returncode == 0, result.stderr
    script = home / ".bash_completions" / "reviewkit.sh"
    assert f"source '{script}'" in (home / ".bashrc").read_text()
    bin_dir = tmp_path / "bin"  # `reviewkit` on PATH, as pip installs it
    bin_dir.mkdir()
    (bin_dir / "reviewkit").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m reviewkit "$@"\n')
    (bin_dir / "reviewkit").chmod(0o755)
    path_env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def completions(*words: str) -> list[str]:
        line = " ".join(words)
        script_text = (f"source '{script}'; COMP_WORDS=(reviewkit {line}); COMP_CWORD={len(words)}; "
                       '_reviewkit_completion reviewkit; printf "%s\\n" "${COMPREPLY[@]}"')
        done = subprocess.run(["bash", "-c", script_text], capture_output=True, text=True, env=path_env, cwd=tmp_path)
        return done.stdout.split()

    assert completions("ap") == ["apply", "approve"]
    assert completions("apply", "--lo") == ["--lock-timeout"]
