"""`reviewkit generate`, `show`, `init` through the command line, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewkit.bundle.digest import compute_digest, verify_files
from reviewkit.bundle.store import load_bundles
from reviewkit.errors import OperationFailed
from tests.terminal import answer_on_terminal, run_on_terminal

SHOP = """\
CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(255) NOT NULL UNIQUE);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  total numeric(10,2) NOT NULL DEFAULT 0
);
"""


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REVIEWKIT_AUTHOR": "Test Author <t@example.com>"}
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True, text=True, env=env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert run(tmp_path, "init").returncode == 0
    (tmp_path / "models" / "schema.sql").write_text(SHOP)
    return tmp_path


def test_init_generate_show_and_no_changes(project):
    first = run(project, "generate")
    assert first.returncode == 0, first.stderr
    assert "bundles/0001_initial" in first.stdout
    shown = run(project, "show", "1", "--dialect", "mysql")
    assert "CREATE TABLE `customers`" in shown.stdout and "AUTO_INCREMENT" in shown.stdout
    down = run(project, "show", "0001_initial", "--down")
    assert 'DROP TABLE "orders";' in down.stdout
    again = run(project, "generate")
    assert again.returncode == 0 and "No changes detected" in again.stdout
    assert len(load_bundles(project / "bundles")) == 1


def test_same_models_and_history_give_identical_bytes(tmp_path):
    outputs = []
    for name in ("a", "b"):
        p = tmp_path / name
        p.mkdir()
        run(p, "init")
        (p / "models" / "schema.sql").write_text(SHOP)
        assert run(p, "generate").returncode == 0
        (p / "models" / "schema.sql").write_text(SHOP.replace("NOT NULL UNIQUE);", "NOT NULL UNIQUE, phone text);"))
        assert run(p, "generate", "--no-input").returncode == 0
        bundle = load_bundles(p / "bundles")[-1]
        outputs.append({rel: (bundle.path / rel).read_bytes() for rel in bundle.manifest["files"] if rel != "REVIEW.md"})
    assert outputs[0] == outputs[1]


def test_manifest_lists_every_file_and_the_digest_covers_them(project):
    run(project, "generate")
    bundle = load_bundles(project / "bundles")[0]
    m = bundle.manifest
    for key in ("format", "id", "parent", "created_at", "author", "generator", "dialects", "operations", "risk", "files", "digest"):
        assert key in m
    assert m["author"] == "Test Author <t@example.com>"
    assert set(m["files"]) == {"schema.json", "REVIEW.md"} | {f"{d}/{x}.sql" for d in ("postgres", "mysql", "sqlite") for x in ("up", "down")}
    assert verify_files(bundle.path, bundle.manifest) == []
    assert compute_digest(m) == m["digest"]

    (bundle.path / "mysql" / "up.sql").write_text("DROP TABLE customers;\n")
    (bundle.path / "notes.txt").write_text("x")
    problems = verify_files(bundle.path, bundle.manifest)
    assert any("mysql/up.sql: changed" in p for p in problems)
    assert any("notes.txt: not listed" in p for p in problems)


def test_risky_changes_are_flagged_in_sql_and_review(project):
    run(project, "generate")
    (project / "models" / "schema.sql").write_text(SHOP.replace("  total numeric(10,2) NOT NULL DEFAULT 0\n", "  total numeric(8,2) NOT NULL DEFAULT 0\n")
                                                   .replace("email varchar(255) NOT NULL UNIQUE", "mail varchar(255) NOT NULL UNIQUE"))
    result = run(project, "generate", "--no-input", "--default", "customers.mail=''")  # mail: NOT NULL, added
    assert result.returncode == 0, result.stderr
    bundle = load_bundles(project / "bundles")[-1]
    assert bundle.risk_level == "high"
    findings = bundle.manifest["risk"]["findings"]
    codes = {f["code"] for f in findings}
    assert {"pg-drop", "mysql-drop", "sqlite-drop", "pg-type-narrowing", "mysql-type-narrowing",
            "sqlite-table-rebuild"} <= codes
    up = bundle.script("postgres", "up").splitlines()
    drop = next(f for f in findings if f["code"] == "pg-drop")
    assert up[drop["line"] - 2] == "-- RISK high pg-drop: dropping a column of customers loses its values"
    assert up[drop["line"] - 1].startswith('ALTER TABLE "customers" DROP COLUMN "email"')
    review = (bundle.path / "REVIEW.md").read_text()
    assert "changing orders.total from numeric(10,2) to numeric(8,2) narrows it" in review
    assert f"(operation {drop['operation'] + 1}, postgres/up.sql:{drop['line']})" in review
    assert "SQLite" in review


def test_declared_rename_keeps_the_column(project):
    run(project, "generate")
    (project / "models" / "schema.sql").write_text(SHOP.replace("email varchar", "mail varchar"))
    result = run(project, "generate", "--rename", "customers.email=customers.mail", "rename_email")
    assert result.returncode == 0, result.stderr
    up = load_bundles(project / "bundles")[-1].script("postgres", "up")
    assert 'ALTER TABLE "customers" RENAME COLUMN "email" TO "mail";' in up


def test_empty_bundle_has_the_same_layout(project):
    run(project, "generate")
    result = run(project, "generate", "--empty", "backfill")
    assert result.returncode == 0, result.stderr
    bundles = load_bundles(project / "bundles")
    empty = bundles[-1]
    assert empty.id == "0002_backfill" and empty.parent == bundles[0].id
    assert empty.schema() == bundles[0].schema()
    assert "hand-written" in (empty.path / "REVIEW.md").read_text()
    assert empty.script("sqlite", "up").startswith("-- reviewkit bundle 0002_backfill")


@pytest.mark.parametrize(("ddl", "message"), [
    ("CREATE TABLE t (id int PRIMARY KEY);\nDROP TABLE t;", "schema.sql:2: DROP TABLE is not part of the schema"),
    ("CREATE TABLE t (id int PRIMARY KEY,\n  x point);", "column t.x"),
    ("CREATE TABLE t (id int PRIMARY KEY, x timetz);", "type timetz has no faithful mapping in MySQL/MariaDB"),
    ("CREATE TABLE t (id int PRIMARY KEY, x text);\nCREATE INDEX ON t (x) WHERE x > 'a';", "no partial indexes"),
    ("CREATE TABLE t (id int PRIMARY KEY REFERENCES nowhere);", "unknown table nowhere"),
    ("CREATE TABLE t (id int PRIMARY KEY, (;", "schema.sql:1"),
    ("CREATE TABLE t (id int PRIMARY KEY, x int);\nCREATE INDEX ON t (x DESC NULLS LAST);", "NULLS FIRST/LAST"),
    ("CREATE TABLE t (id int PRIMARY KEY, x int REFERENCES t (id) DEFERRABLE);", "DEFERRABLE is not supported"),
    ("CREATE TABLE language (id int PRIMARY KEY);\n"
     "CREATE TABLE film (id int PRIMARY KEY, language_id int NOT NULL REFERENCES language ON DELETE SET NULL);",
     "foreign key film_language_id_fkey on film: MySQL/MariaDB refuses ON DELETE SET NULL on the NOT NULL column language_id"),
    ("CREATE VIEW v AS SELECT id FROM nowhere;", "schema.sql:1: view v reads nowhere, which the models do not declare"),
])
def test_model_errors_are_one_line_with_exit_2_and_write_nothing(project, ddl, message):
    (project / "models" / "schema.sql").write_text(ddl)
    result = run(project, "generate")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert not [p for p in (project / "bundles").iterdir() if p.name != ".gitkeep"]


def test_every_engine_refusal_is_reported_in_one_run(project):
    (project / "models" / "schema.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY, d timestamp, x timetz, body text UNIQUE);\n"
        "CREATE VIEW v AS SELECT d AT TIME ZONE 'utc' AS u FROM t;\n")
    result = run(project, "generate")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: 4 objects of the models that an engine cannot hold:", result.stderr
    assert any("column t.x" in line and "MySQL/MariaDB" in line for line in lines), result.stderr
    assert any("unique constraint t_body_key on t: MySQL/MariaDB cannot index the text column body" in line
               for line in lines), result.stderr
    assert any("view v: MySQL/MariaDB cannot run its query" in line for line in lines), result.stderr
    assert any("view v: SQLite cannot run its query" in line for line in lines), result.stderr
    assert not [p for p in (project / "bundles").iterdir() if p.name != ".gitkeep"]


def test_identity_outside_the_primary_key_is_refused_only_by_the_engines_that_cannot_hold_it(project):
    ddl = "CREATE TABLE t (id bigint NOT NULL, n integer GENERATED BY DEFAULT AS IDENTITY, PRIMARY KEY (id));\n"
    (project / "models" / "schema.sql").write_text(ddl)
    refused = run(project, "generate")
    assert refused.returncode == 2, refused.stderr
    assert "auto-increment column t.n: MySQL/MariaDB allows one only as the table's whole primary key" in refused.stderr
    assert "auto-increment column t.n: SQLite allows one only" in refused.stderr
    config = project / "reviewkit.toml"
    config.write_text(config.read_text().replace('dialects = ["postgres", "mysql", "sqlite"]', 'dialects = ["postgres"]'))
    accepted = run(project, "generate")
    assert accepted.returncode == 0, accepted.stderr


def test_names_past_an_engines_limit_are_refused_and_names_at_it_are_kept(project, postgres_url, mysql_url):
    """PostgreSQL keeps 63 bytes of a name (a longer one is cut, with a NOTICE only), MySQL 64 characters
    (a longer one is refused): generate refuses what an engine would not keep, and what it lets
    through the engines keep as written."""
    config = project / "reviewkit.toml"
    config.write_text(config.read_text().replace("approvals = 1", "approvals = 0").replace(
        "high_risk_approvals = 2", "high_risk_approvals = 0"))
    table, column, index = "t" * 63, "c" * 63, "i" * 63
    (project / "models" / "schema.sql").write_text(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, {column} text);\nCREATE INDEX {index} ON {table} ({column});\n")
    made = run(project, "generate")
    assert made.returncode == 0, made.stderr
    for url in (postgres_url, mysql_url):
        assert run(project, "apply", "--yes", "--database", url.raw).returncode == 0
        drift = run(project, "drift", "--database", url.raw)
        assert drift.returncode == 0 and "no differences" in drift.stdout, drift.stdout + drift.stderr

    accented = "é" * 32  # 32 characters, 64 bytes
    (project / "models" / "schema.sql").write_text(
        f'CREATE TABLE {"u" * 64} (id bigint PRIMARY KEY);\nCREATE TABLE "{accented}" (id bigint PRIMARY KEY);\n'
        f"CREATE TABLE {'v' * 65} (id bigint PRIMARY KEY);\n")
    refused = run(project, "generate")
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.splitlines()
    assert lines[0] == "error: 4 objects of the models that an engine cannot hold:", refused.stderr
    assert f"table {'u' * 64}: its name is 64 bytes long; PostgreSQL keeps 63 and cuts the rest" in refused.stderr
    assert f"table {accented}: its name is 64 bytes long; PostgreSQL keeps 63" in refused.stderr
    assert f"table {'v' * 65}: its name is 65 bytes long; PostgreSQL" in refused.stderr
    assert f"table {'v' * 65}: its name is 65 characters long; MySQL/MariaDB refuses a name over 64" in refused.stderr
    assert len(load_bundles(project / "bundles")) == 1  # nothing written


def test_interval_and_inet_columns_on_the_engines_that_hold_them(project, postgres_url, sqlite_url):
    """interval and inet are PostgreSQL's: SQLite keeps the declared name, MySQL has no such types."""
    config = project / "reviewkit.toml"
    config.write_text(config.read_text().replace("approvals = 1", "approvals = 0").replace(
        "high_risk_approvals = 2", "high_risk_approvals = 0"))
    (project / "models" / "schema.sql").write_text(
        "CREATE TABLE jobs (id bigint PRIMARY KEY, every interval NOT NULL, host inet);\n")
    refused = run(project, "generate")
    assert refused.returncode == 2, refused.stderr
    assert "column jobs.every: type interval has no faithful mapping in MySQL/MariaDB" in refused.stderr
    assert "column jobs.host: type inet has no faithful mapping in MySQL/MariaDB" in refused.stderr
    config.write_text(config.read_text().replace('dialects = ["postgres", "mysql", "sqlite"]',
                                                 'dialects = ["postgres", "sqlite"]'))
    made = run(project, "generate")
    assert made.returncode == 0, made.stderr
    assert '"every" INTERVAL NOT NULL' in load_bundles(project / "bundles")[0].script("postgres", "up")
    for url in (postgres_url.raw, f"sqlite:///{sqlite_url.path}"):
        assert run(project, "apply", "--yes", "--database", url).returncode == 0
        drift = run(project, "drift", "--database", url)
        assert drift.returncode == 0 and "no differences" in drift.stdout, drift.stdout + drift.stderr


def test_missing_config_and_unknown_bundle(project):
    result = run(Path("/"), "status")
    assert result.returncode == 2 and "reviewkit init" in result.stderr
    result = run(project, "show", "42")
    assert result.returncode == 2 and "no bundle matches '42'" in result.stderr


def test_tampered_manifest_is_an_integrity_error(project):
    run(project, "generate")
    manifest = project / "bundles" / "0001_initial" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files"]["../../etc/passwd"] = "0" * 64
    manifest.write_text(json.dumps(data))
    result = run(project, "status")
    assert result.returncode == 3 and "leaves the bundle folder" in result.stderr
    manifest.write_text("{not json")
    result = run(project, "show", "1")
    assert result.returncode == 3 and "manifest.json: not valid JSON" in result.stderr


def test_terminal_user_is_asked_about_a_likely_rename(project):
    """On a terminal a drop+add of the same type asks; answering yes keeps the data."""
    run(project, "generate")
    (project / "models" / "schema.sql").write_text(SHOP.replace("email varchar", "mail varchar"))
    code, seen = answer_on_terminal(project, ["generate"], b"Did you rename", b"y\n",
                                    {"REVIEWKIT_AUTHOR": "Test Author <t@example.com>"})
    assert b"customers.email to customers.mail" in seen
    assert code == 0, seen.decode(errors="replace")
    up = load_bundles(project / "bundles")[-1].script("postgres", "up")
    assert 'RENAME COLUMN "email" TO "mail"' in up


def test_a_failing_write_leaves_no_half_bundle(project, monkeypatch):
    from reviewkit.config import load_settings
    from reviewkit.generate import GenerateOptions, generate

    calls = {"n": 0}
    real_write = Path.write_bytes

    def failing_write(self, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(OperationFailed, match="cannot write the bundle .*disk full.*nothing was written"):
        generate(load_settings(project), GenerateOptions(author="x"))
    assert [p.name for p in (project / "bundles").iterdir()] == [".gitkeep"]


def _planned_files(project: Path, forked: bool, monkeypatch) -> dict[str, bytes]:
    from reviewkit.config import load_settings
    from reviewkit.generate import GenerateOptions, generator

    started = []

    class CountedCall(generator.ForkedCall):
        def __init__(self, call):
            started.append(call)
            super().__init__(call)

    monkeypatch.setattr(generator, "fork_helps", lambda: forked)
    monkeypatch.setattr(generator, "ForkedCall", CountedCall)
    monkeypatch.setattr(generator, "_FORK_FROM_OPERATIONS", 1)  # the shop's few operations are enough here
    planned = generator.plan_bundle(load_settings(project), GenerateOptions(author="x"))
    assert len(started) == (2 if forked else 0)  # mysql's and sqlite's scripts, beside postgres's
    return dict(planned.files)


def test_one_process_or_forked_children_plan_the_same_bundle(project, monkeypatch):
    """Each dialect's scripts written in a child beside this process: the same bytes as one after the other."""
    (project / "models" / "schema.sql").write_text(SHOP + "CREATE TABLE notes (id int PRIMARY KEY, body text);\n"
                                                   "CREATE INDEX notes_body ON notes (body);\n")
    assert _planned_files(project, True, monkeypatch) == _planned_files(project, False, monkeypatch)


def test_an_error_in_a_forked_dialect_reads_as_in_one_process(project, monkeypatch):
    """A dialect whose scripts fail in a child: the error is raised here, as it would be without children."""
    from reviewkit.errors import UnsupportedType
    from reviewkit.generate import generator

    real_scripts = generator._ScriptWriter.scripts
    parents = os.getpid()

    def fails_on_mysql(self, dialect):
        if dialect.name == "mysql":
            where = "here" if os.getpid() == parents else "in a child"
            raise UnsupportedType(f"mysql cannot hold it ({where})")
        return real_scripts(self, dialect)

    monkeypatch.setattr(generator._ScriptWriter, "scripts", fails_on_mysql)
    with pytest.raises(UnsupportedType, match=r"mysql cannot hold it \(here\)"):
        _planned_files(project, True, monkeypatch)


@pytest.mark.parametrize("dialect", ["sqlite", "mysql", "postgres"])
def test_show_on_a_terminal_highlights_with_the_bundles_own_dialect(project, dialect):
    """A bundle whose first dialect is SQLite is highlighted as SQLite SQL, not as PostgreSQL."""
    from rich.console import Console
    from rich.syntax import Syntax

    config = project / "reviewkit.toml"
    config.write_text(config.read_text().replace('dialects = ["postgres", "mysql", "sqlite"]', f'dialects = ["{dialect}"]'))
    assert run(project, "generate").returncode == 0
    text = load_bundles(project / "bundles")[0].script(dialect, "up")
    code, shown = run_on_terminal(project, ["show", "1"], env={"COLUMNS": "120", "LINES": "50", "TERM": "xterm-256color"})
    assert code == 0, shown

    def highlighted(lexer: str) -> bytes:
        console = Console(record=True, force_terminal=True, width=120, color_system="256", file=open(os.devnull, "w"))
        console.print(Syntax(text, lexer, word_wrap=True))
        return console.export_text(styles=True).encode()

    from reviewkit.dialects import get_dialect

    lexer = get_dialect(dialect).lexer
    assert shown == highlighted(lexer)
    others = {"sqlite": "postgresql", "mysql": "postgresql", "postgres": "mysql"}
    assert shown != highlighted(others[dialect])  # the comparison tells lexers apart


def test_blank_author_is_refused_before_anything_is_written(project):
    result = run(project, "generate", "--author", "   ")
    assert result.returncode == 2 and result.stderr.strip() == "error: --author is blank; give a name or an email"
    assert not list((project / "bundles").glob("0*"))


def test_process_output_is_flushed_and_a_closed_pipe_is_quiet(project):
    """The process leaves without interpreter teardown: what it printed must still arrive whole."""
    assert run(project, "generate").returncode == 0
    shown = run(project, "show", "1", "--dialect", "postgres")
    script = (project / "bundles" / "0001_initial" / "postgres" / "up.sql").read_text()
    assert shown.returncode == 0 and shown.stdout == script
    # The reader is gone before the command prints (`reviewkit show 1 | true`): no traceback
    # from the write, nor from the flush on the way out.
    reader = subprocess.Popen([sys.executable, "-m", "reviewkit", "show", "1"], cwd=project,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()
    _, stderr = reader.communicate(timeout=60)
    assert stderr == b"", stderr


def test_process_exit_codes_for_usage_and_model_errors(project):
    assert run(project, "generate", "--no-such-option").returncode == 2
    (project / "models" / "schema.sql").write_text("CREATE TABLE t (id frobnicate);\n")
    failed = run(project, "generate")
    assert failed.returncode == 2 and failed.stderr.startswith("error: models/schema.sql:1"), failed.stderr
