"""Fleets: `[fleets]`, `apply --fleet` and `status --fleet` on real PostgreSQL, MariaDB and SQLite databases."""

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

from reviewkit.config import load_settings
from reviewkit.db import runner as runner_module
from reviewkit.db.fleet import Shard, apply_fleet, fleet_members
from reviewkit.db.introspect import introspect
from reviewkit.db.ledger import read_rows, verify_chain
from reviewkit.db.runner import ApplyOptions, SilentProgress
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.errors import ConfigError, UsageError
from tests.conftest import another_database
from tests.terminal import run_on_terminal
from tests.test_runner import STEP1, STEP2, STEP3, bundles_of, edit_script, live_matches

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
REPO = Path(__file__).resolve().parents[1]
SECRET = "s3cret-pw"


def run(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci-runner", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three bundles of test_runner (two tables; a third and an index; a column), generated once."""
    root = tmp_path_factory.mktemp("fleet") / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    for i, models in enumerate((STEP1, STEP2, STEP3), 1):
        (root / "models" / "schema.sql").write_text(models)
        assert run(root, "generate", "--no-input", f"step{i}").returncode == 0
    return root


@pytest.fixture
def project(tmp_path: Path, _template: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(_template, root)
    return root


def with_fleets(project: Path, fleets: dict[str, list[str]], databases: dict[str, str] | None = None) -> None:
    """Write [databases.NAME] and [fleets] into the project's reviewkit.toml."""
    text = CONFIG
    for name, url in (databases or {}).items():
        text += f'\n[databases.{name}]\nurl = "{url}"\n'
    text += "\n[fleets]\n" + "".join(f"{name} = {json.dumps(members)}\n" for name, members in fleets.items())
    (project / "reviewkit.toml").write_text(text)


def sqlite_files(project: Path, count: int, prefix: str = "lite") -> list[str]:
    return [f"sqlite:///{prefix}{n}.sqlite3" for n in range(1, count + 1)]


def states(url: DatabaseURL) -> list[tuple[str, str]]:
    with connect(url) as conn:
        return [(r.bundle_id, r.status) for r in read_rows(conn)]


def table(stdout: str) -> dict[str, list[str]]:
    """Return the summary table's rows by database: the cells, split where the columns are padded apart."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("database "))
    assert re.split(r"\s{2,}", lines[start]) == ["database", "bundles applied", "result", "time"]
    rows = {}
    for line in lines[start + 1:]:
        if not re.search(r"\s{2,}", line):
            break
        cells = re.split(r"\s{2,}", line)
        rows[cells[0]] = cells[1:]
    return rows


def tables(url: DatabaseURL) -> dict[str, list[str]]:
    with connect(url) as conn:
        return {t.name: [c.name for c in t.columns] for t in introspect(conn).tables}


def with_password(url: DatabaseURL) -> str:
    """The URL with a password in it: PostgreSQL's trust authentication lets it in all the same."""
    return url.raw.replace("postgres@", f"postgres:{SECRET}@", 1)


# -- the configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(("fleets", "expected"), [
    ('prod = []', "[fleets] prod lists no database (give names from [databases] or URLs)"),
    ('prod = "eu"', '[fleets] prod must be a list of strings (e.g. ["eu", "us", "postgresql://..."]), not the string "eu"'),
    ('prod = ["eu", 3]', "[fleets] prod[1] must be a non-empty string, not 3"),
    ('prod = ["eu", "uss"]', "[fleets] prod[1] names no database 'uss' (did you mean 'us'? known in [databases]: default, eu, us; or give a URL)"),
    ('prod = ["eu", "prod"]', "[fleets] prod[1] names the fleet 'prod' itself: a fleet lists databases"),
    ('all = ["eu"]\nprod = ["all"]', "[fleets] prod[0] names the fleet 'all': a fleet lists databases, not fleets"),
    ('prod = ["eu", "us", "eu"]', "[fleets] prod[2] names 'eu' again (as [0] does)"),
    ('prod = ["eu", "postgresql://app:pw@db-eu/shop"]',
     "[fleets] prod[1] postgresql://app:***@db-eu/shop is the same database as [0] 'eu'"),
    ("[fleets.prod]\nurl = 'x'", '[fleets] prod must be a list of strings (e.g. ["eu", "us", "postgresql://..."]), not a table'),
], ids=["empty", "string", "not-a-string", "unknown-name", "itself", "another-fleet", "twice", "same-url", "table"])
def test_a_wrong_fleet_is_refused_naming_the_key(tmp_path, fleets, expected):
    header = "" if fleets.startswith("[") else "[fleets]\n"
    (tmp_path / "reviewkit.toml").write_text(
        '[databases.eu]\nurl = "postgresql://app:pw@db-eu/shop"\n[databases.us]\nurl = "postgresql://db-us/shop"\n'
        + header + fleets + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value) == f"reviewkit.toml: {expected}"
    assert caught.value.exit_code == 2 and "pw@" not in str(caught.value)


def test_fleets_in_pyproject_and_their_order_and_shards(tmp_path):
    urls = [f"sqlite:///db{n}.sqlite3" for n in range(1, 11)]
    (tmp_path / "pyproject.toml").write_text(
        '[tool.reviewkit.databases.eu]\nurl = "postgresql://u:pw@h/eu"\n'
        f"[tool.reviewkit.fleets]\nprod = {json.dumps(['eu', *urls])}\n")
    settings = load_settings(tmp_path)
    members = fleet_members(settings, "prod")
    assert [m.ref for m in members] == ["eu", *urls] and [m.position for m in members] == list(range(1, 12))
    assert [m.position for m in fleet_members(settings, "prod", Shard.parse("2/4"))] == [2, 6, 10]
    assert [m.position for m in fleet_members(settings, "prod", Shard.parse("4/4"))] == [4, 8]
    every = [m.position for i in range(1, 4) for m in fleet_members(settings, "prod", Shard(i, 3))]
    assert sorted(every) == list(range(1, 12))  # the shards cover the fleet, each database once
    with pytest.raises(ConfigError, match=r"no fleet named 'prd' in \[fleets\] \(known: prod\)"):
        fleet_members(settings, "prd")


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "2/0", "-1/4", "1/4/2", ""])
def test_a_wrong_shard_is_a_usage_error(text):
    with pytest.raises(UsageError, match="give I/N, whole numbers with 1 <= I <= N"):
        Shard.parse(text)


@pytest.mark.parametrize(("args", "expected"), [
    (["apply", "--fleet", "dev", "--shard", "5/4"], "error: --shard 5/4: give I/N"),
    (["status", "--fleet", "dev", "--shard", "0/2"], "error: --shard 0/2: give I/N"),
    (["apply", "--fleet", "dev", "--jobs", "0"], "error: --jobs 0: give how many databases at a time"),
    (["apply", "--jobs", "2"], "error: --jobs work with --fleet NAME only"),
    (["apply", "--fail-fast", "--shard", "1/2"], "error: --shard, --fail-fast work with --fleet NAME only"),
    (["status", "--shard", "1/2"], "error: --shard work with --fleet NAME only"),
    (["apply", "--fleet", "dev", "--database", "a"], "error: --database and --fleet: give one"),
    (["apply", "--fleet", "nope"], "error: no fleet named 'nope' in [fleets] (known: dev)"),
    (["status", "--fleet", "nope"], "error: no fleet named 'nope' in [fleets] (known: dev)"),
    (["apply", "--fleet", "dev", "--dry-run"], "error: --dry-run works on one database"),
])
def test_usage_errors_exit_2_before_anything_runs(project, args, expected):
    with_fleets(project, {"dev": sqlite_files(project, 2)})
    result = run(project, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(expected) and result.stderr.count("\n") == 1, result.stderr
    assert not list(project.glob("*.sqlite3"))


# -- apply --fleet --------------------------------------------------------------------------


def test_twelve_databases_one_failing_half_way_then_resumed(project, request, tmp_path):
    """8 PostgreSQL databases, 2 MariaDB, 2 SQLite files; the third fails at bundle 2 of 3."""
    postgres = [another_database(request, "postgres", tmp_path) for _ in range(8)]
    mysql = [another_database(request, "mysql", tmp_path) for _ in range(2)]
    lite = sqlite_files(project, 2)
    broken = postgres[2]
    with connect(broken) as conn:  # in the way of bundle 2, which creates reviews
        conn.execute("CREATE TABLE reviews (id int)")
    members = ["eu", *(u.raw for u in postgres[1:]), *(u.raw for u in mysql), *lite]
    members[2] = with_password(broken)
    with_fleets(project, {"prod": members}, {"eu": postgres[0].raw})

    first = run(project, "apply", "--fleet", "prod", "--jobs", "4")
    assert first.returncode == 1, first.stdout + first.stderr
    assert SECRET not in first.stdout + first.stderr
    rows = table(first.stdout)
    shown_broken = with_password(broken).replace(SECRET, "***")
    assert len(rows) == 12 and rows[shown_broken][:2] == ["1", "failed"]
    assert all(row[:2] == ["3", "applied"] for label, row in rows.items() if label != shown_broken), rows
    assert rows["eu"][:2] == ["3", "applied"]  # a name from [databases] shows as its name
    assert f"{shown_broken}: " in first.stdout and 'relation "reviews" already exists' in first.stdout
    lines = first.stdout.splitlines()
    assert lines[-1] == "fleet prod: 12 databases: 11 applied, 1 failed"
    # Off a terminal: one line per database and bundle, as each finishes.
    assert sum(1 for line in lines if ": 0001_step1 (up): " in line and line.endswith(" s")) == 12
    assert sum(1 for line in lines if ": 0003_step3 (up): " in line) == 11

    bundles = bundles_of(project)
    for url in [*postgres, *mysql]:
        if url is not broken:
            assert live_matches(url, bundles[-1]) and [s for _, s in states(url)] == ["applied"] * 3
    assert states(broken) == [("0001_step1", "applied"), ("0002_step2", "failed")]
    assert tables(broken) == {"authors": ["id", "name"], "books": ["id", "author_id", "title"], "reviews": ["id"]}

    status = run(project, "status", "--fleet", "prod", "--json", "--check")
    assert status.returncode == 1 and SECRET not in status.stdout
    report = json.loads(status.stdout)
    assert report["summary"] == {"databases": 12, "at_head": 11, "behind": 0, "failed": 1, "unreadable": 0}
    failed = [db for db in report["databases"] if db["needs_attention"]]
    assert [(db["database"], db["position"], db["head"], db["pending"]) for db in failed] == [
        (shown_broken, 3, "0001_step1", 2)]
    assert failed[0]["bundles"] == {"0001_step1": "applied", "0002_step2": "failed", "0003_step3": "pending"}
    assert failed[0]["failures"][0].startswith("0002_step2: failed and rolled back, nothing applied: ")

    with connect(broken) as conn:  # the DBA clears the way
        conn.execute("DROP TABLE reviews")
    second = run(project, "apply", "--fleet", "prod")
    assert second.returncode == 0, second.stdout + second.stderr
    rows = table(second.stdout)
    assert rows[shown_broken][:2] == ["2", "applied"]
    assert sum(1 for row in rows.values() if row[:2] == ["0", "up to date"]) == 11
    assert live_matches(broken, bundles[-1])
    with connect(broken) as conn:
        assert verify_chain(read_rows(conn)) == []
    assert run(project, "status", "--fleet", "prod", "--check").returncode == 0


def test_bundles_and_approvals_are_verified_once_for_the_fleet(project, monkeypatch):
    with_fleets(project, {"dev": sqlite_files(project, 5)})
    hashed = []
    real = runner_module.verify_files
    monkeypatch.setattr(runner_module, "verify_files",
                        lambda path, manifest, *more: hashed.append(path.name) or real(path, manifest, *more))
    settings = load_settings(project)
    result = apply_fleet(settings, "dev", ApplyOptions(), lambda member: _Quiet(), None, jobs=3)
    assert result.exit_code == 0 and [o.result for o in result.outcomes] == ["applied"] * 5
    assert sorted(hashed) == ["0001_step1", "0002_step2", "0003_step3"]


class _Quiet(SilentProgress):
    def planned(self, steps) -> None:
        pass

    def finished(self, outcome) -> None:
        pass


def test_a_tampered_bundle_is_refused_on_every_database_that_would_run_it(project):
    with_fleets(project, {"dev": sqlite_files(project, 3)})
    assert run(project, "apply", "1", "--database", "sqlite:///lite1.sqlite3").returncode == 0
    script = bundles_of(project)[0].script_path("sqlite", "up")
    script.write_text(script.read_text() + "\nDROP TABLE authors;\n")
    result = run(project, "apply", "--fleet", "dev")
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.count("0001_step1/sqlite/up.sql: changed since the bundle was sealed") == 4  # 2 lines x 2
    # lite1 had bundle 1 already: it needs only 2 and 3, whose files hold.
    assert "fleet dev: 3 databases: 1 applied, 2 refused" in result.stdout


def test_status_of_a_fleet_flags_a_bundle_edited_since_a_cached_run(project, tmp_path, monkeypatch):
    """status --fleet checks the bundles once, through the verification cache as status does: an edit is still seen."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("REVIEWKIT_NO_CACHE", raising=False)
    with_fleets(project, {"dev": sqlite_files(project, 2)})
    script = bundles_of(project)[0].script_path("sqlite", "up")
    newest = max(p.lstat().st_ctime_ns for p in [*(project / "bundles").rglob("*")])
    time.sleep(max(0.0, (newest + 2_100_000_000 - time.time_ns()) / 1e9))  # older than the cache's racy window
    clean = run(project, "status", "--fleet", "dev", "--json")
    assert json.loads(clean.stdout)["flags"] == [] and (project / ".reviewkit" / "verify.json").is_file()
    before = script.stat()
    script.write_text(script.read_text().replace("CREATE TABLE", "CREATE  TABLE", 1)[:before.st_size])
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as they were: only ctime says
    flagged = json.loads(run(project, "status", "--fleet", "dev", "--json").stdout)["flags"]
    assert flagged == ["0001_step1/sqlite/up.sql: changed since the bundle was sealed (sha256 differs)"]


def test_one_failing_does_not_stop_the_others_unless_fail_fast(project, tmp_path):
    missing = "sqlite:///no_such_folder/x.sqlite3"
    with_fleets(project, {"dev": [missing, *sqlite_files(project, 2)]})
    result = run(project, "apply", "--fleet", "dev", "--jobs", "1")
    assert result.returncode == 1
    assert "fleet dev: 3 databases: 1 failed, 2 applied" in result.stdout
    assert "folder 'no_such_folder' does not exist" in result.stdout.replace(str(project) + "/", "")
    for path in project.glob("lite*.sqlite3"):
        path.unlink()
    fast = run(project, "apply", "--fleet", "dev", "--jobs", "1", "--fail-fast")
    assert fast.returncode == 1
    assert "fleet dev: 3 databases: 1 failed, 2 not run" in fast.stdout
    assert not list(project.glob("lite*.sqlite3"))


def test_the_exit_code_is_the_worst_databases(project):
    lite = sqlite_files(project, 2)
    with_fleets(project, {"dev": ["sqlite:///no_such_folder/x.sqlite3", *lite]})
    assert run(project, "apply", "--database", lite[0]).returncode == 0
    with connect(_url(project, lite[0])) as conn:
        conn.execute("UPDATE reviewkit_ledger SET digest = 'edited' WHERE bundle_id = '0001_step1'")
    result = run(project, "apply", "--fleet", "dev")
    assert result.returncode == 3, result.stdout + result.stderr
    assert "fleet dev: 3 databases: 1 failed, 1 refused, 1 applied" in result.stdout


def _url(project: Path, url: str) -> DatabaseURL:
    from reviewkit.dialects.connection import parse_url

    return parse_url(url, project)


def test_down_scripts_need_one_yes_for_the_fleet(project):
    lite = sqlite_files(project, 3)
    with_fleets(project, {"dev": lite})
    assert run(project, "apply", "--fleet", "dev").returncode == 0
    refused = run(project, "apply", "--fleet", "dev", "--to", "1")
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: apply would run the down scripts of 0003_step3, 0002_step2; "
                                     "not on a terminal, nobody can confirm: pass --yes"), refused.stderr
    for url in lite:
        assert [s for _, s in states(_url(project, url))] == ["applied"] * 3
    back = run(project, "apply", "--fleet", "dev", "--to", "1", "--yes")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "fleet dev: 3 databases: 3 rolled back" in back.stdout
    assert all(row[:2] == ["0, 2 rolled back", "rolled back"] for row in table(back.stdout).values())


def test_on_a_terminal_a_bar_per_database_then_the_table(project):
    with_fleets(project, {"dev": sqlite_files(project, 3)})
    code, output = run_on_terminal(project, ["apply", "--fleet", "dev"], {"PYTHONPATH": str(REPO), "COLUMNS": "150"})
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode())  # the terminal's colours and cursor moves aside
    assert code == 0, text
    # Each bar ends at statements done of the database's total (a fast run may never show a bundle's name).
    for n in (1, 2, 3):
        assert re.search(rf"sqlite:///lite{n}\.sqlite3 applied \S+ 5/5", text), text
    assert "┃ database " in text and "┃ bundles applied ┃" in text and "│ 3               │ applied │" in text
    assert text.endswith("fleet dev: 3 databases: 3 applied\n")


def test_status_of_a_fleet_says_what_needs_attention_without_a_password(project, postgres_server):
    lite = sqlite_files(project, 2)
    gone = postgres_server.with_database("rk_no_such_database").raw.replace("postgres@", f"postgres:{SECRET}@", 1)
    with_fleets(project, {"dev": [*lite, gone]})
    assert run(project, "apply", "--database", lite[0]).returncode == 0
    text = run(project, "status", "--fleet", "dev")
    assert text.returncode == 1 and SECRET not in text.stdout + text.stderr  # a database it cannot read
    lines = text.stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["database", "head", "pending", "state"]
    assert re.split(r"\s{2,}", lines[1]) == [lite[0], "0003_step3", "0", "at the head"]
    assert re.split(r"\s{2,}", lines[2]) == [lite[1], "-", "3", "3 pending (no database file yet)"]
    assert lines[3].startswith(gone.replace(SECRET, "***")) and "cannot read: " in lines[3]
    assert lines[-1] == "fleet dev: 3 databases, head 0003_step3: 1 at the head, 2 need attention"
    assert not (project / "lite2.sqlite3").exists()  # status creates no database file
    first = json.loads(run(project, "status", "--fleet", "dev", "--json", "--shard", "1/2", "--jobs", "1").stdout)
    assert [db["database"] for db in first["databases"]] == [lite[0], gone.replace(SECRET, "***")]  # the 1st and 3rd
    assert first["summary"] == {"databases": 2, "at_head": 1, "behind": 0, "failed": 0, "unreadable": 1}
    second = run(project, "status", "--fleet", "dev", "--json", "--check", "--shard", "2/2")
    assert second.returncode == 1  # --check: lite2 is behind
    assert json.loads(second.stdout)["summary"] == {"databases": 1, "at_head": 0, "behind": 1, "failed": 0, "unreadable": 0}
    applied = run(project, "apply", "--fleet", "dev", "--shard", "2/2")
    assert applied.returncode == 0 and applied.stdout.endswith("fleet dev (shard 2/2): 1 database: 1 applied\n")
    assert run(project, "status", "--fleet", "dev", "--check", "--shard", "2/2").returncode == 0


# -- Ctrl-C -------------------------------------------------------------------------------


def _sleeping(urls: list[DatabaseURL], timeout: float = 60) -> None:
    """Wait until every database has a session sleeping in bundle 2."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = 0
        for url in urls:
            with connect(url) as conn:
                if url.dialect == "postgres":
                    busy += bool(conn.query("SELECT 1 FROM pg_stat_activity WHERE datname = %s AND query LIKE %s",
                                            [url.database, "%pg_sleep(30)%"]))
                else:
                    busy += bool(conn.query("SELECT 1 FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE %s",
                                            [url.database, "%SLEEP(30)%"]))
        if busy == len(urls):
            return
        time.sleep(0.1)
    raise AssertionError("the fleet's databases did not all reach the slow statement")


def test_ctrl_c_stops_every_database_cleanly(project, request, tmp_path):
    pg = [another_database(request, "postgres", tmp_path) for _ in range(3)]
    my = another_database(request, "mysql", tmp_path)
    edit_script(project, 2, "postgres", lambda text: text.replace("\n-- 2.", "\nSELECT pg_sleep(30);\n\n-- 2.", 1))
    edit_script(project, 2, "mysql", lambda text: text.replace("\n-- 2.", "\nSELECT SLEEP(30);\n\n-- 2.", 1))
    with_fleets(project, {"dev": [pg[0].raw, my.raw, pg[1].raw, pg[2].raw]})
    env = {**os.environ, "REVIEWKIT_ACTOR": "ci-runner", "PYTHONPATH": str(REPO)}
    fleet = subprocess.Popen([sys.executable, "-m", "reviewkit", "apply", "--fleet", "dev", "--jobs", "3"], cwd=project,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _sleeping([pg[0], my, pg[1]])
    started = time.monotonic()
    fleet.send_signal(signal.SIGINT)
    out, err = fleet.communicate(timeout=60)
    assert fleet.returncode == 130, out + err
    assert time.monotonic() - started < 10  # the sleeping statements were cancelled, not waited for
    assert "Traceback" not in err
    assert "fleet dev: 4 databases: 3 interrupted, 1 not run; stopped by Ctrl-C" in out
    assert f"{pg[0].redacted()}: interrupted: nothing of 0002_step2 was applied (its transaction was rolled back)" in out
    assert f"{my.redacted()}: interrupted at statement 2 of " in out
    for url in pg[:2]:
        assert states(url) == [("0001_step1", "applied")]  # bundle 2 rolled back, no row for it
    assert states(pg[2]) == []  # never started
    assert states(my)[-1] == ("0002_step2", "running")  # MariaDB: the ledger says where it stopped
    with connect(pg[0]) as conn:  # every runner let go of its lock
        assert conn.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")[0][0] == 0
    edit_script(project, 2, "postgres", lambda text: text.replace("SELECT pg_sleep(30);\n", ""))
    again = run(project, "apply", "--fleet", "dev", "--lock-timeout", "1")
    assert "fleet dev: 4 databases: 3 applied, 1 refused" in again.stdout, again.stdout + again.stderr
    assert "--resume" in again.stdout  # MariaDB's bundle stopped half-way: resumed on purpose, as for one database
