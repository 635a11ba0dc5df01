"""Large hand-written data bundles: split as a stream, applied in bounded memory, verified in chunks."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.test_splitter as splitter_tests
from reviewkit.bundle import script_file
from reviewkit.bundle.script_file import ScriptStatements
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.dialects.splitter import split_statements, split_stream
from reviewkit.errors import IntegrityError

DIALECTS = ("postgres", "mysql", "sqlite")


def chunked(text: str, sizes: list[int]) -> list[str]:
    """Cut `text` into chunks of the given sizes, cycling through them."""
    chunks, pos = [], 0
    for size in itertools.cycle(sizes):
        if pos >= len(text):
            return chunks
        chunks.append(text[pos:pos + size])
        pos += size
    return chunks


def assert_streams_alike(text: str, dialect: str) -> None:
    expected = split_statements(text, dialect)
    for sizes in ([1], [2], [3], [1, 5, 2], [7], [64], [4096]):
        assert list(split_stream(chunked(text, sizes), dialect)) == expected, (sizes, text[:80])


# -- streamed splitting is string splitting -----------------------------------------------

TRICKY = [
    "INSERT INTO t VALUES ('a;b', 'it''s', E'x\\'y;');\r\nSELECT $$ a; $$;\r\n-- c;\r\nSELECT 2",
    "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\nSELECT `a;b` # c;\n; SELECT 'x\\';y';",
    "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n/* a /* nested; */ b; */ SELECT 3;",
    "COPY t (x) FROM stdin;\n1;2\n\\.\nSELECT 4;\n\\connect other\nSELECT 5;",
    "create trigger tr after insert on t begin update t set x = 1; end;\nselect [a;b] from t;--x\nselect 6",
    "SELECT 1 -- no newline at the end",
    "SELECT 'unterminated; string\nSELECT 7;",
    "SELECT a$b, $1 FROM t; SELECT $$$$; SELECT 'é;ü'; SELECT /*! 8 */ 9;",
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("text", TRICKY)
def test_stream_splits_tricky_scripts_alike_at_every_boundary(text: str, dialect: str) -> None:
    expected = split_statements(text, dialect)
    for cut in range(len(text) + 1):  # one boundary anywhere: in a quote, a comment, a $$, a delimiter, a CRLF
        assert list(split_stream([text[:cut], text[cut:]], dialect)) == expected, cut
    assert_streams_alike(text, dialect)


_PIECES = st.sampled_from([
    "SELECT 1", ";", "; ", "\n", "\r\n", "'a;b'", "'it''s'", "'x\\'", '"q;"', "`b;`", "[c;]", "-- d;\n", "--", "#e;\n",
    "/* f; */", "/*", "*/", "/*!", "$$", "$t$", "$t$ g; $t$", "E'h\\';'", "DELIMITER //\n", "DELIMITER ;\n", "//",
    "COPY t FROM stdin;\n1\n\\.\n", "\\c x\n", "create trigger x begin y; end;", "END", "é", " ", "a$b", "$1",
])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=30), sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       dialect=st.sampled_from(DIALECTS))
def test_stream_splits_like_the_string_form_on_random_chunks(pieces: list[str], sizes: list[int], dialect: str) -> None:
    text = "".join(pieces)
    assert list(split_stream(chunked(text, sizes), dialect)) == split_statements(text, dialect)


def test_every_splitter_test_input_streams_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the splitter's own tests (those needing no database) with a split that also streams every input."""
    seen: list[tuple[str, str]] = []

    def both(text: str, dialect: str) -> list:
        seen.append((text, dialect))
        assert_streams_alike(text, dialect)
        return split_statements(text, dialect)

    monkeypatch.setattr(splitter_tests, "split_statements", both)
    monkeypatch.setattr(splitter_tests, "_timed", lambda script, dialect: 0.0)  # timing is not the point here
    for name, test in inspect.getmembers(splitter_tests, inspect.isfunction):
        if not name.startswith("test_") or name == "test_unknown_dialect":
            continue
        params = inspect.signature(test).parameters
        if any(p.endswith("_db") for p in params):
            continue
        for args in _parametrized(test, list(params)):
            test(**args)
    assert len(seen) > 30 and {d for _, d in seen} == set(DIALECTS)


def _parametrized(test, names: list[str]) -> list[dict]:
    values = {mark.args[0]: mark.args[1] for mark in getattr(test, "pytestmark", []) if mark.name == "parametrize"}
    assert set(values) == set(names), test.__name__
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(values[n] for n in names))]


# -- a script file read as a stream -----------------------------------------------------


def test_script_file_reads_crlf_and_utf8_as_read_text_does(tmp_path: Path) -> None:
    path = tmp_path / "up.sql"
    path.write_bytes(("INSERT INTO t VALUES ('é\r\n;', 1);\r\n" * 50_000).encode())
    assert b"".join(c.encode() for c in script_file.read_chunks(path)) == path.read_text(encoding="utf-8").encode()
    statements = ScriptStatements(path, "postgres", "b/postgres/up.sql")
    assert list(statements) == split_statements(path.read_text(encoding="utf-8"), "postgres")


def test_large_script_is_read_again_on_each_pass_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script_file, "KEEP_WHOLE_BELOW", 1000)
    path = tmp_path / "up.sql"
    path.write_text("".join(f"INSERT INTO t VALUES ({i});\n" for i in range(500)))
    statements = ScriptStatements(path, "sqlite", "b/sqlite/up.sql")
    assert len(statements) == 500 and not statements.kept_whole
    assert statements[499].line == 500 and statements[-1].sql == "INSERT INTO t VALUES (499)"
    assert [s.line for s in statements[10:13]] == [11, 12, 13]
    with pytest.raises(IndexError):
        statements[500]


def test_a_script_edited_while_it_is_read_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    monkeypatch.setattr(script_file, "KEEP_WHOLE_BELOW", 10)
    path = tmp_path / "up.sql"
    path.write_text("SELECT 1;\nSELECT 2;\n")
    statements = ScriptStatements(path, "sqlite", "0002_data/sqlite/up.sql", hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(statements) == 2
    path.write_text("SELECT 1;\nSELECT 3;\n")
    with pytest.raises(IntegrityError, match="0002_data/sqlite/up.sql: changed while being read"):
        list(statements)


def test_a_script_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "up.sql"
    path.write_bytes(b"SELECT '\xff';")
    with pytest.raises(IntegrityError, match="0002_data/sqlite/up.sql: not UTF-8 text"):
        list(ScriptStatements(path, "sqlite", "0002_data/sqlite/up.sql"))


# -- a data bundle of tens of MB on the engines -----------------------------------------

MODEL = "CREATE TABLE items (id bigint PRIMARY KEY, name varchar(100) NOT NULL, qty integer NOT NULL);\n"
CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
ROWS_PER_INSERT = 500


def data_script(megabytes: float, dialect: str = "postgres", fail_at: int | None = None) -> tuple[str, int, int]:
    """Return a backfill of about `megabytes`: INSERTs of 500 rows each, an UPDATE after every tenth INSERT.

    With `fail_at`, INSERT number `fail_at` inserts an id already there instead. Also
    return the statement count and the row count.
    """
    inserts = max(1, int(megabytes * (1 << 20) / len(_insert(1))))
    parts, statements, rows = [f"-- backfill ({dialect}, up)\n"], 0, 0
    for k in range(1, inserts + 1):
        first = (k - 1) * ROWS_PER_INSERT + 1
        if k == fail_at:
            parts.append("INSERT INTO items (id, name, qty) VALUES (1, 'again', 0);\n")
        else:
            parts.append(_insert(first))
            rows += ROWS_PER_INSERT
        statements += 1
        if k % 10 == 0:
            parts.append(f"UPDATE items SET qty = qty + 1\n  WHERE id BETWEEN {first} AND {first + ROWS_PER_INSERT - 1};\n")
            statements += 1
    return "".join(parts), statements, rows


def _insert(first: int) -> str:
    values = ",\n".join(f"({i}, 'item {i}: it''s; fine', {i % 97})" for i in range(first, first + ROWS_PER_INSERT))
    return f"INSERT INTO items (id, name, qty) VALUES\n{values};\n"


def make_project(root: Path, megabytes: float, fail_at: int | None = None) -> tuple[int, int]:
    """Write a project with bundle 1 (the items table) and a sealed hand-written bundle 2 of data."""
    root.mkdir()
    (root / "models").mkdir()
    (root / "reviewkit.toml").write_text(CONFIG)
    (root / "models" / "schema.sql").write_text(MODEL)
    run(root, "generate", "--no-input", "items", check=True)
    run(root, "generate", "--empty", "backfill", check=True)
    folder = next((root / "bundles").glob("0002_*"))
    counts = (0, 0)
    for dialect in DIALECTS:
        text, statements, rows = data_script(megabytes, dialect, fail_at)
        (folder / dialect / "up.sql").write_text(text)
        (folder / dialect / "down.sql").write_text("DELETE FROM items;\n")
        counts = (statements, rows)
    run(root, "seal", "2", check=True)
    return counts


def run(root: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=root, capture_output=True, text=True,
                            env={**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci"}, timeout=600)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def run_measured(root: Path, *args: str) -> tuple[subprocess.CompletedProcess, int]:
    """Run `reviewkit ARGS` and return its result and its peak resident memory in bytes (VmHWM)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:  # a pipe would fill up unread
        process = subprocess.Popen([sys.executable, "-m", "reviewkit", *args], cwd=root, stdout=out, stderr=err,
                                   text=True, env={**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci"})
        peak = 0
        while process.poll() is None:
            peak = max(peak, _high_water_mark(process.pid))
            time.sleep(0.05)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(process.args, process.returncode, out.read(), err.read()), peak


def _high_water_mark(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1]) * 1024


def cli_url(url: DatabaseURL) -> str:
    return f"sqlite:///{url.path}" if url.dialect == "sqlite" else url.raw


@pytest.fixture(scope="module")
def data_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    root = tmp_path_factory.mktemp("stream") / "project"
    statements, rows = make_project(root, 24)
    return root, statements, rows


def test_data_bundle_applies_in_bounded_memory(data_project, engine_url: DatabaseURL) -> None:
    root, statements, rows = data_project
    script = next((root / "bundles").glob("0002_*")) / engine_url.dialect / "up.sql"
    assert script.stat().st_size > 24 << 20
    result, peak = run_measured(root, "apply", "--database", cli_url(engine_url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert peak < 120 << 20, f"peak RSS {peak >> 20} MB for a {script.stat().st_size >> 20} MB script"
    with connect(engine_url) as conn:
        assert conn.query("SELECT COUNT(*), SUM(qty) FROM items")[0][0] == rows
        ledger = conn.query("SELECT statements_total, statements_done, status FROM reviewkit_ledger ORDER BY id")
    assert tuple(ledger[-1]) == (statements, statements, "applied")


def test_lint_names_a_script_too_large_to_read_statement_by_statement(data_project) -> None:
    root, _, _ = data_project
    found = run(root, "lint", "2", "--format", "json", "--dialect", "sqlite")
    findings = json.loads(found.stdout)["findings"]
    assert [(f["rule"], f["level"]) for f in findings if f["file"].endswith("up.sql")] == [("script-too-large", "medium")]
    manifest = json.loads((next((root / "bundles").glob("0002_*")) / "manifest.json").read_text())
    assert manifest["risk"]["level"] == "medium"
    assert {f["code"] for f in manifest["risk"]["findings"]} == {"script-too-large"}


def test_show_streams_a_large_script(data_project) -> None:
    root, _, _ = data_project
    result, peak = run_measured(root, "show", "2", "--dialect", "mysql")
    script = next((root / "bundles").glob("0002_*")) / "mysql" / "up.sql"
    assert result.returncode == 0 and result.stdout == script.read_text()
    assert peak < 120 << 20


def test_verify_refuses_a_byte_changed_near_the_end_of_a_large_script(tmp_path: Path) -> None:
    root = tmp_path / "project"
    make_project(root, 12)
    script = next((root / "bundles").glob("0002_*")) / "postgres" / "up.sql"
    assert run(root, "verify", "2").returncode == 0
    with script.open("r+b") as handle:  # a digit of the last UPDATE's range: still valid SQL
        handle.seek(-3, os.SEEK_END)
        digit = handle.read(1)
        handle.seek(-3, os.SEEK_END)
        handle.write(b"1" if digit != b"1" else b"2")
    result, peak = run_measured(root, "verify", "2")
    assert result.returncode == 3
    assert f"{script.parent.parent.name}/postgres/up.sql: changed since the bundle was sealed" in result.stdout + result.stderr
    assert peak < 120 << 20
    status = run(root, "status", "--check")
    assert status.returncode == 1 and "postgres/up.sql: changed since the bundle was sealed" in status.stdout


def test_mariadb_resumes_a_large_bundle_at_the_failed_statement(tmp_path: Path, mysql_url: DatabaseURL) -> None:
    root = tmp_path / "project"
    statements, rows = make_project(root, 12, fail_at=130)
    failed = run(root, "apply", "--database", mysql_url.raw)
    assert failed.returncode == 1
    assert "statement 142 (line " in failed.stderr and "Duplicate entry '1'" in failed.stderr  # 130 INSERTs, 12 UPDATEs
    with connect(mysql_url) as conn:
        ledger = conn.query("SELECT statements_total, statements_done, status FROM reviewkit_ledger ORDER BY id")
        assert tuple(ledger[-1]) == (statements, 141, "failed")
        done_rows = conn.query("SELECT COUNT(*) FROM items")[0][0]
    assert done_rows == 129 * ROWS_PER_INSERT
    # The DBA fixes statement 143 by hand (it now inserts the rows it should have) and reseals.
    folder = next((root / "bundles").glob("0002_*"))
    good, _, _ = data_script(12, "mysql")
    (folder / "mysql" / "up.sql").write_text(good)
    run(root, "seal", "2", check=True)
    resumed, peak = run_measured(root, "apply", "--resume", "--database", mysql_url.raw)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert peak < 120 << 20
    with connect(mysql_url) as conn:
        assert conn.query("SELECT COUNT(*) FROM items")[0][0] == rows + ROWS_PER_INSERT
        ledger = conn.query("SELECT statements_total, statements_done, status FROM reviewkit_ledger ORDER BY id")
    assert tuple(ledger[-1])[1:] == (statements, "applied")


def test_the_counting_pass_says_whether_a_large_script_needs_autocommit(tmp_path: Path, monkeypatch) -> None:
    from reviewkit.db.execute import in_one_transaction
    from reviewkit.dialects import get_dialect

    monkeypatch.setattr(script_file, "KEEP_WHOLE_BELOW", 10)
    watch = get_dialect("postgres").driver.needs_autocommit
    path = tmp_path / "up.sql"
    path.write_text("INSERT INTO t VALUES (1);\n" * 100)
    assert in_one_transaction("postgres", ScriptStatements(path, "postgres", "x", watch=watch))
    path.write_text("INSERT INTO t VALUES (1);\n" * 100 + "CREATE INDEX CONCURRENTLY i ON t (x);\n")
    statements = ScriptStatements(path, "postgres", "x", watch=watch)
    assert not in_one_transaction("postgres", statements) and not statements.kept_whole
