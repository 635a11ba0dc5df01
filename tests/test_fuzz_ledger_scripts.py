"""Fuzzing what anyone with write access edits: ledger rows in the database, SQL scripts in a bundle.

Ledger tables: a real history (three bundles applied, one rolled back and applied again)
is cut, edited field by field (wrong types, NULLs, huge numbers, unknown statuses and
dialects, broken JSON, edited hashes), reordered, thinned and padded with rows for bundles
that do not exist, sometimes resealed so that the hash chain holds and the later checks are
reached. The rows go into a real database (SQLite for the thousands, PostgreSQL and
MariaDB for a few dozen: what their column types refuse is simply not there), then
everything that reads the ledger runs: `read_rows`, `bundle_states`, `ledger_problems`,
`status`, `verify --database`, `apply --dry-run`, `drift`.

SQL scripts: statements from a grammar of SQL-ish fragments, mixed with random text,
unterminated quotes and comments, DELIMITER lines, dollar quotes and huge statements, go
through the splitter and the lint rules, into a real bundle (`seal`), and through `lint`,
`show`, `review --html` and, on SQLite, `apply`.

The only outcomes allowed: a result, or a ReviewkitError of one line with the documented
exit code (3 for a ledger that disagrees with the bundles). The CLI runs in process for
samples (`reviewkit.cli.app.run`, the same error handling as the command) and a few times
in a real process. Derandomized; `REVIEWKIT_FUZZ_EXAMPLES=20000` for a long sweep.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reviewkit.bundle.store import load_bundles
from reviewkit.cli.app import run as run_cli
from reviewkit.cli.status_view import print_status
from reviewkit.config import load_settings
from reviewkit.db.drift import check_drift
from reviewkit.db.ledger import (
    FIELDS,
    LEDGER_TABLE,
    LedgerRow,
    bundle_states,
    create_ledger,
    ledger_problems,
    read_rows,
    row_hash,
)
from reviewkit.db.runner import ApplyOptions, apply
from reviewkit.db.status import collect_status, database_ledger_problems
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection, DatabaseURL, connect, parse_url
from reviewkit.errors import LedgerMismatch, OperationFailed, ReviewkitError
from reviewkit.generate.generator import GenerateOptions, generate
from reviewkit.scaffold import init_project

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""
STEPS = (
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);\n",
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL, born date);\n"
    "CREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors (id), title text);\n",
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL, born date);\n"
    "CREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors (id), title text);\n"
    "CREATE INDEX books_title_idx ON books (title);\n",
)


def fuzz(examples: int):
    """Return the hypothesis settings of a fuzz test: `examples` runs, or REVIEWKIT_FUZZ_EXAMPLES."""
    count = int(os.environ.get("REVIEWKIT_FUZZ_EXAMPLES") or examples)
    return settings(max_examples=count, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def sample(examples: int):
    """Settings of a sampled test (a CLI run or a server round trip per example): a tenth of a long sweep."""
    count = os.environ.get("REVIEWKIT_FUZZ_EXAMPLES")
    return fuzz(max(examples, int(count) // 10) if count else examples)


def assert_one_line(error: ReviewkitError) -> None:
    text = str(error)
    assert text and "\n" not in text and "\r" not in text and "Traceback" not in text, repr(text)


def cli(root: Path, *args: str) -> tuple[int, str, str]:
    """Run `reviewkit ARGS` in process in `root`, through the command's own error handling; return code, out, err."""
    stdout, stderr = io.StringIO(), io.StringIO()
    saved = sys.argv
    sys.argv = ["reviewkit", *args]
    try:
        with contextlib.chdir(root), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = run_cli()
    finally:
        sys.argv = saved
    return code, stdout.getvalue(), stderr.getvalue()


def assert_clean_refusal(code: int, stderr: str, allowed: tuple[int, ...]) -> None:
    """A refusal is one `error:` line and one of the exit codes allowed; never a traceback or a control character.

    `verify` is the exception that proves it: one `problem:` line per problem and a closing `verify:` line.
    """
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert code in (0, *allowed), (code, stderr)
    lines = stderr.splitlines()
    if any(line.startswith("error: ") for line in lines):
        # A failed statement's error quotes the statement's first line (the script's own bytes) below.
        assert code != 0 and (len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("  "))), stderr
        assert not CONTROL.search(lines[0]), repr(stderr)
    else:
        assert all(line.startswith(("problem: ", "verify: ", "warning: ")) for line in lines), stderr
        assert not CONTROL.search(stderr.replace("\n", "")), repr(stderr)


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def real_process(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "REVIEWKIT_ACTOR": "fuzz"}, timeout=120, stdin=subprocess.DEVNULL)


# -- the project and a real ledger ---------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project of three bundles, with no approval needed."""
    root = tmp_path_factory.mktemp("fuzz-ledger") / "proj"
    init_project(root)
    (root / "reviewkit.toml").write_text(CONFIG)
    for number, models in enumerate(STEPS, 1):
        (root / "models" / "schema.sql").write_text(models)
        generate(load_settings(root), GenerateOptions(author="dev", name=f"step{number}"))
    return root


@pytest.fixture(scope="module")
def history(project: Path) -> list[dict[str, Any]]:
    """Return a real ledger's rows: three bundles applied, the last rolled back and applied again."""
    url = f"sqlite:///{project / 'history.sqlite3'}"
    config = load_settings(project)
    apply(config, url, ApplyOptions(actor="ci"))
    apply(config, url, ApplyOptions(to="2", actor="ci"))
    apply(config, url, ApplyOptions(actor="ci"))
    with connect(parse_url(url, project)) as conn:
        rows = read_rows(conn)
    assert [(r.bundle_id[:4], r.direction) for r in rows] == [("0001", "up"), ("0002", "up"), ("0003", "up"),
                                                               ("0003", "down"), ("0003", "up")]
    return [asdict(row) for row in rows]


# -- ledger tables --------------------------------------------------------------------------------

WILD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.sampled_from([-1, 0, 2**31, 2**63 - 1, 10**30, -(10**30)]),
    st.floats(), st.text(max_size=20), st.binary(max_size=8),
    st.sampled_from(["", " ", "NULL", "1", "0", "1e3", "\x00", "line\nbreak", "\x1b[31mred\x1b[0m", "é" * 300]),
)
PLAUSIBLE = {
    "bundle_id": st.sampled_from(["0001_step1", "0002_step2", "0003_step3", "0004_ghost", "0002_STEP2", "../x", "",
                                  "0004_ghost\nsecond line", "0003_step3\x1b[2J"]),
    "dialect": st.sampled_from(["sqlite", "postgres", "mysql", "oracle", "SQLite", ""]),
    "direction": st.sampled_from(["up", "down", "sideways", "UP", "up "]),
    "status": st.sampled_from(["running", "applied", "failed", "faked", "done", "Applied", "rolled back"]),
    "statements_total": st.integers(-2, 5),
    "statements_done": st.integers(-2, 5),
    "started_at": st.sampled_from(["2026-01-01T00:00:00.000Z", "yesterday", "", "9999-99-99"]),
    "finished_at": st.sampled_from([None, "2026-01-01T00:00:01.000Z", "not yet"]),
    "applied_by": st.sampled_from(["ci", "mallory", "", "a" * 255, "evil\x1b]0;title\x07", "two\nlines", "\x9b31m"]),
    "approvals": st.sampled_from(["[]", '[{"reviewer": "alice", "fingerprint": "SHA256:x"}]', "[{", "null", "{}",
                                  '"text"', "nan", '[{"reviewer": 1}]', None]),
    "error": st.sampled_from([None, "", "statement 1 (line 3): no such table: x", "x" * 5000, "two\nlines\tok",
                              "red \x1b[31m"]),
}


def edited_hash(draw: st.DrawFn, value: Any) -> Any:
    """Return a hash field edited as a hand would: one digit changed, cut, upper-cased, or zeros."""
    if not isinstance(value, str) or not value:
        return "0" * 64
    how = draw(st.sampled_from(["digit", "cut", "upper", "zeros"]))
    if how == "digit":
        at = draw(st.integers(0, len(value) - 1))
        return value[:at] + ("1" if value[at] != "1" else "2") + value[at + 1:]
    return {"cut": value[:63], "upper": value.upper(), "zeros": "0" * 64}[how]


def field_value(draw: st.DrawFn, name: str, row: dict[str, Any]) -> Any:
    if name in ("digest", "prev_hash", "row_hash") and draw(st.booleans()):
        return edited_hash(draw, row[name])
    if name in PLAUSIBLE and draw(st.integers(0, 2)) > 0:
        return draw(PLAUSIBLE[name])
    return draw(WILD)


@st.composite
def ledger_tables(draw: st.DrawFn, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Draw a ledger table: a prefix of `history`, edited one to four times, perhaps resealed."""
    rows = [dict(row) for row in history[:draw(st.integers(0, len(history)))]]
    for _ in range(draw(st.integers(0 if rows else 1, 4))):
        action = draw(st.sampled_from(["field", "field", "field", "delete", "swap", "copy", "ghost"]))
        if action == "field" and rows:
            row = draw(st.sampled_from(rows))
            name = draw(st.sampled_from(FIELDS))
            row[name] = field_value(draw, name, row)
        elif action == "delete" and rows:
            rows.remove(draw(st.sampled_from(rows)))
        elif action == "swap" and len(rows) > 1:  # two rows change places in id order
            a, b = draw(st.lists(st.sampled_from(rows), min_size=2, max_size=2, unique_by=id))
            a["id"], b["id"] = b["id"], a["id"]
        else:  # a copy of a row (or of history's first) at the end, perhaps for a bundle no one has
            row = dict(draw(st.sampled_from(rows or history)))
            row["id"] = 1 + max((r["id"] for r in rows if isinstance(r["id"], int) and not isinstance(r["id"], bool)),
                                default=0)
            if action == "ghost":
                row["bundle_id"] = draw(PLAUSIBLE["bundle_id"])
            rows.append(row)
    if draw(st.booleans()):
        reseal(rows)
    return rows


def reseal(rows: list[dict[str, Any]]) -> None:
    """Recompute the hash chain over the rows as they stand, as someone covering an edit would."""
    previous = "0" * 64
    for row in rows:
        row["prev_hash"] = previous
        try:
            row["row_hash"] = row_hash(LedgerRow(**row))
        except (TypeError, ValueError):  # bytes or NaN: no JSON, no hash; the chain stays broken here
            return
        previous = row["row_hash"]


def storable(value: Any) -> Any:
    """Return `value` as a driver can bind it: a number past 64 bits goes as its text."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return str(value)
    return value


def write_ledger(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Replace the ledger table with `rows`; return how many the engine took (its column types refuse some)."""
    dialect = get_dialect(conn.dialect)
    conn.execute(f"DROP TABLE IF EXISTS {dialect.quote(LEDGER_TABLE)}")
    create_ledger(conn)
    columns = ", ".join(dialect.quote(f) for f in FIELDS)
    insert = f"INSERT INTO {dialect.quote(LEDGER_TABLE)} ({columns}) VALUES ({', '.join(['%s'] * len(FIELDS))})"
    taken = 0
    conn.begin()  # one transaction, one sync: thousands of tables in seconds
    for row in rows:
        conn.execute("SAVEPOINT fuzz_row")
        try:
            conn.execute(insert, [storable(row[f]) for f in FIELDS])
            taken += 1
        except OperationFailed:
            # NOT NULL, a duplicate id, text in a bigint: the engine's own refusal (PostgreSQL
            # would abort the whole transaction: each row has its savepoint).
            conn.execute("ROLLBACK TO SAVEPOINT fuzz_row")
        conn.execute("RELEASE SAVEPOINT fuzz_row")
    conn.commit()
    return taken


def check_readers(root: Path, url: str) -> None:
    """Run every reader of the ledger in process: each gives a result or a one-line refusal, exit 3 for the ledger."""
    config = load_settings(root)
    bundles = load_bundles(config.bundles_dir)
    with connect(parse_url(url, root)) as conn:
        try:
            rows = read_rows(conn)
        except LedgerMismatch as error:
            assert_one_line(error)
            rows = None
    if rows is not None:
        states = bundle_states(rows)
        assert all(state.state in ("applied", "faked", "failed", "rolled back") for state in states.values())
        for problem in ledger_problems(rows, bundles):
            assert "\n" not in problem and "\r" not in problem, repr(problem)
    for reader in (lambda: collect_status(config, url), lambda: database_ledger_problems(config, url, bundles),
                   lambda: apply(config, url, ApplyOptions(dry_run=True)), lambda: check_drift(config, url)):
        try:
            result = reader()
        except ReviewkitError as error:
            assert_one_line(error)
            assert error.exit_code == 3 or isinstance(error, OperationFailed), (type(error), str(error))
            continue
        if hasattr(result, "to_json"):  # the status report: its JSON and its table
            json.dumps(result.to_json(), ensure_ascii=False)
            print_status(result, _quiet_console())
            for line in result.ledger_problems:
                assert "\n" not in line and "\r" not in line, repr(line)


def _quiet_console():
    from rich.console import Console

    return Console(file=io.StringIO(), emoji=False, soft_wrap=True, width=120)


@pytest.fixture(scope="module")
def sqlite_ledger(project: Path) -> Iterator[tuple[str, Connection]]:
    """One SQLite file whose ledger each example replaces."""
    url = f"sqlite:///{project / 'fuzz.sqlite3'}"
    conn = connect(parse_url(url, project))
    conn.execute("PRAGMA synchronous = OFF")  # a scratch file: no need to wait for the disk
    yield url, conn
    conn.close()



@fuzz(1000)
@given(data=st.data())
def test_sqlite_ledger_tables_are_read_or_refused_in_one_line(project, history, sqlite_ledger, data):
    url, conn = sqlite_ledger
    write_ledger(conn, data.draw(ledger_tables(history)))
    check_readers(project, url)


LEDGER_COMMANDS = (("status", "--json", "--database"), ("status", "--check", "--database"),
                   ("verify", "--database"), ("apply", "--dry-run", "--database"), ("drift", "--database"))


@sample(30)
@given(data=st.data())
def test_sqlite_ledger_tables_through_the_commands(project, history, sqlite_ledger, data):
    url, conn = sqlite_ledger
    write_ledger(conn, data.draw(ledger_tables(history)))
    for command in LEDGER_COMMANDS:
        code, out, err = cli(project, *command, url)
        # status --check and drift say 1 for "needs attention" / "differs"; verify and apply refuse with 3.
        assert_clean_refusal(code, err, (1, 3))
        if command[:2] == ("status", "--json") and code == 0:
            assert json.loads(out)["database"] == parse_url(url, project).redacted()


@pytest.mark.parametrize(("field", "value", "said"), [
    ("dialect", "oracle", "'oracle' is not one of postgres, mysql, sqlite"),
    ("bundle_id", "../0002_step2", "must be a bundle id like 0002_add_email, not '../0002_step2'"),
    ("bundle_id", "0009_ghost\nsecond line", "holds a control character: '0009_ghost\\nsecond line'"),
    ("applied_by", "evil\x1b[2J", "holds a control character: 'evil\\x1b[2J'"),
    ("error", "red \x1b[31m", "holds a control character: 'red \\x1b[31m'"),
])
def test_ledger_text_reviewkit_never_writes_is_refused_naming_the_row(project, history, field, value, said):
    """Found by the fuzzer: an unknown dialect in a failed row made `status` exit 2 with "unknown dialect", naming no
    ledger; a newline or an escape sequence in a text field split the one-line error or drove the terminal."""
    url = f"sqlite:///{project / 'named.sqlite3'}"
    rows = [dict(row, **{field: value, "status": "failed", "statements_done": 1}) if row["id"] == 2 else row
            for row in history]
    reseal(rows)  # the chain holds: only the field itself is wrong
    with connect(parse_url(url, project)) as conn:
        write_ledger(conn, rows)
    for command in (("status", "--database", url), ("verify", "--database", url), ("apply", "--dry-run", "--database", url)):
        code, _, err = cli(project, *command)
        assert (code, err) == (3, f"error: ledger row 2 in {LEDGER_TABLE}: {field} {said}; the ledger was edited by hand\n")


def test_an_engine_error_on_several_lines_stays_readable(project, history):
    """The one text reviewkit may write with a newline or a tab: an engine's error message."""
    url = f"sqlite:///{project / 'multiline.sqlite3'}"
    rows = [dict(row, error="two\nlines\tand a tab", status="failed", statements_done=0) if row["id"] == 5 else row
            for row in history]
    reseal(rows)
    with connect(parse_url(url, project)) as conn:
        write_ledger(conn, rows)
        assert read_rows(conn)[-1].error == "two\nlines\tand a tab"


def test_an_actor_the_ledger_could_not_keep_is_refused_before_anything_runs(project):
    url = f"sqlite:///{project / 'actor.sqlite3'}"
    code, _, err = cli(project, "apply", "--database", url, "--actor", "ci\nsecond", "--yes")
    assert (code, err) == (2, "error: --actor 'ci\\nsecond' holds a control character; give a name on one line\n")
    assert not (project / "actor.sqlite3").exists()


def test_a_tampered_sqlite_ledger_in_a_real_process(project, history):
    """The in-process runs above stand for the process: here the process itself, on edits of each kind."""
    url = f"sqlite:///{project / 'process.sqlite3'}"
    edits = [{"status": "done"}, {"statements_done": "many"}, {"applied_by": "mallory"}, {"dialect": "oracle"},
             {"bundle_id": "0009_ghost\nsecond line"}]
    with connect(parse_url(url, project)) as conn:
        for edit in edits:
            write_ledger(conn, [dict(row, **edit) if row["id"] == 2 else row for row in history])
            for command in (("status", "--database"), ("verify", "--database"), ("apply", "--dry-run", "--database")):
                result = real_process(project, *command, url)
                assert_clean_refusal(result.returncode, result.stderr, (1, 3))
                # status shows a flagged ledger (exit 0 without --check); the others refuse it.
                assert result.returncode == 3 or (command[0] == "status" and "FLAG ledger row 2" in result.stdout), \
                    (edit, command, result.stdout)


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_server_ledger_tables_are_read_or_refused_in_one_line(project, history, request, engine):
    """A few dozen tables on each server: what its column types refuse never gets in; the rest is read or refused."""
    url: DatabaseURL = request.getfixturevalue(f"{engine}_url")
    examples = int(os.environ.get("REVIEWKIT_FUZZ_EXAMPLES") or 250) // 10

    with connect(url) as conn:
        if hasattr(conn.raw, "prepare_threshold"):
            conn.raw.prepare_threshold = None

        @fuzz(examples)
        @given(data=st.data())
        def one_table(data):
            write_ledger(conn, data.draw(ledger_tables(history)))
            check_readers(project, url.raw)

        one_table()


# -- SQL scripts --------------------------------------------------------------------------------

STATEMENTS = st.sampled_from([
    "CREATE TABLE t (id int PRIMARY KEY, c text)", "CREATE INDEX t_c_idx ON authors (name)",
    "CREATE INDEX CONCURRENTLY t_c_idx ON authors (name)", "DROP INDEX t_c_idx", "DROP TABLE books",
    "ALTER TABLE authors ADD COLUMN c text DEFAULT now()", "ALTER TABLE authors ALTER COLUMN name TYPE text",
    "ALTER TABLE authors ALTER COLUMN name SET NOT NULL", "ALTER TABLE books ADD CONSTRAINT fk FOREIGN KEY (author_id) "
    "REFERENCES authors (id)", "ALTER TABLE `authors` ADD COLUMN `x` int, ALGORITHM=INSTANT",
    "ALTER TABLE authors RENAME TO writers", "ALTER TABLE authors RENAME COLUMN name TO full_name",
    "UPDATE authors SET name = 'x'", "DELETE FROM books", "TRUNCATE books", "INSERT INTO authors VALUES (1, 'a;b')",
    "SET lock_timeout = '5s'", "BEGIN", "COMMIT", "PRAGMA foreign_keys = OFF", "SELECT 1",
    "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
    "CREATE FUNCTION g() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql",
    "CREATE TRIGGER tr AFTER INSERT ON authors BEGIN UPDATE authors SET name = 'y'; END",
    "CREATE VIEW v AS SELECT * FROM authors", "DROP VIEW v", "COPY authors FROM stdin;\n1\tx\n\\.",
    "/*!40101 SET NAMES utf8 */", "ALTER TABLE authors ADD UNIQUE (name)", "CREATE TYPE mood AS ENUM ('a', 'b')",
    "ALTER TABLE books VALIDATE CONSTRAINT fk", "VACUUM", "ANALYZE authors",
])
BREAKERS = st.sampled_from([
    "'", '"', "`", "$$", "$tag$", "$1", "/*", "*/", "--", "-- reviewkit: allow drop-table -- reviewed", "#", ";", ";;",
    "\n", "\r\n", "\t", "\\", "\\connect other\n", "\\.\n", "DELIMITER //\n", "DELIMITER ;\n", "delimiter $$\n", "//",
    "E'\\''", "[", "]", "END", "GO\n", "\x00", "\ufeff", "\u2028", "é", "𝕏", "\x1b[31m", "(" * 50, ")" * 50,
])


@st.composite
def sql_scripts(draw: st.DrawFn) -> str:
    """Draw a script: statements of the grammar, bits that open or close quotes and comments, random text."""
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind < 5:
            pieces.append(draw(STATEMENTS) + draw(st.sampled_from([";\n", ";", "\n", " ", ";\n\n"])))
        elif kind < 8:
            pieces.append(draw(BREAKERS))
        elif kind == 8:
            pieces.append(draw(st.text(max_size=30)))
        else:  # a huge statement: many columns, a long literal, deep nesting
            size = draw(st.sampled_from([200, 2000, 20000]))
            pieces.append(draw(st.sampled_from([
                "CREATE TABLE wide (" + ", ".join(f"c{i} int" for i in range(size // 10)) + ");\n",
                "INSERT INTO authors VALUES (1, '" + "x" * size + "');\n",
                "SELECT " + "(" * (size // 100) + "1" + ")" * (size // 100) + ";\n",
                "SELECT " + " + ".join("1" for _ in range(size // 10)) + ";\n",
            ])))
    return "".join(pieces)


def check_script(text: str, dialect: str, before: Any) -> None:
    """Split and lint `text` as `lint` does: every statement with a line inside the script, every finding well formed."""
    from reviewkit.dialects.splitter import split_statements
    from reviewkit.lint.engine import lint_statements, rules_of, script_statements

    lines = text.count("\n") + 1
    for statement in split_statements(text, dialect):
        assert 1 <= statement.line <= lines and statement.sql.strip(), statement
    statements = script_statements(text, dialect)
    for finding in lint_statements(statements, dialect, f"{dialect}/up.sql", before, rules_of(dialect)):
        assert finding.level in ("low", "medium", "high") and finding.rule and finding.message, finding
        assert 1 <= finding.line <= lines and 1 <= finding.statement <= len(statements), finding


@fuzz(1200)
@given(text=sql_scripts(), dialect=st.sampled_from(["postgres", "mysql", "sqlite"]))
@example(text="CREATE TABLE t (id int PRIMARY KEY, c text)\n'", dialect="postgres")  # found by a long sweep
def test_scripts_split_and_lint_without_an_exception(project, text, dialect):
    from reviewkit.review.highlight import highlight_lines

    before = load_bundles(project / "bundles")[-1].schema()
    check_script(text, dialect, before)
    assert len(highlight_lines(text)) >= text.count("\n")  # the review page's lines


@fuzz(300)
@given(data=st.binary(max_size=300), dialect=st.sampled_from(["postgres", "mysql", "sqlite"]))
def test_random_bytes_split_and_lint_without_an_exception(project, data, dialect):
    check_script(data.decode("utf-8", errors="replace"), dialect, load_bundles(project / "bundles")[-1].schema())


@pytest.fixture(scope="module")
def hand_written(project: Path) -> Path:
    """Return a copy of the project with an --empty bundle 0004 on top: its scripts are what the examples write."""
    root = project.parent / "hand"
    if not root.exists():
        shutil.copytree(project, root, ignore=shutil.ignore_patterns("*.sqlite3", ".reviewkit"))
        generate(load_settings(root), GenerateOptions(author="dev", name="by_hand", empty=True))
        apply(load_settings(root), f"sqlite:///{root / 'template.sqlite3'}", ApplyOptions(to="3", actor="ci"))
    return root


SCRIPT_COMMANDS = (("seal", "4"), ("lint", "4", "--format", "json"), ("lint", "4"), ("show", "4", "--dialect", "{d}"),
                   ("show", "4", "--dialect", "{d}", "--down"), ("review", "4", "--html", "{page}"), ("verify", "4"))


@sample(30)
@given(text=sql_scripts() | st.binary(max_size=200).map(lambda b: b.decode("utf-8", errors="replace")),
       dialect=st.sampled_from(["postgres", "mysql", "sqlite"]), down=st.booleans())
def test_hand_written_scripts_through_seal_lint_show_review(hand_written, text, dialect, down):
    script = hand_written / "bundles" / "0004_by_hand" / dialect / ("down.sql" if down else "up.sql")
    script.write_text(text, encoding="utf-8")
    page = hand_written / "page.html"
    for command in SCRIPT_COMMANDS:
        args = [a.format(d=dialect, page=page) for a in command]
        code, out, err = cli(hand_written, *args)
        assert_clean_refusal(code, err, (1,) if command[0] == "lint" else ())  # lint: 1 when a high finding remains
        if command[0] == "lint" and "json" in command:
            json.loads(out)
        if command[0] == "show" and (command[-1] == "--down") == down:
            assert out.strip() == text.strip() or "\x1b" in text or "\r" in text or "\u2028" in text or "\x00" in text, \
                (out, text)
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@sample(8)
@given(text=sql_scripts())
def test_hand_written_sqlite_scripts_apply_or_fail_cleanly(hand_written, text):
    """On the engine, a script that is not SQL is an SQL error: exit 1, named, the ledger saying so; never a traceback."""
    script = hand_written / "bundles" / "0004_by_hand" / "sqlite" / "up.sql"
    script.write_text(text, encoding="utf-8")
    assert_clean_refusal(*cli(hand_written, "seal", "4")[::2], ())
    database = hand_written / "apply.sqlite3"
    shutil.copyfile(hand_written / "template.sqlite3", database)  # bundles 1-3 applied: only 0004 runs
    code, _, err = cli(hand_written, "apply", "--database", f"sqlite:///{database}", "--yes", "--actor", "fuzz")
    assert_clean_refusal(code, err, (1,))
    with connect(parse_url(f"sqlite:///{database}", hand_written)) as conn:
        rows = read_rows(conn)
    assert [r.status for r in rows if r.bundle_id == "0004_by_hand"] == (["failed"] if code else ["applied"])


def test_an_engine_error_quoting_an_escape_sequence_is_printed_escaped(hand_written):
    """Found by the fuzzer: SQLite's "unrecognized token" quoted the script's ESC byte into the terminal."""
    script = hand_written / "bundles" / "0004_by_hand" / "sqlite" / "up.sql"
    script.write_text("\x1b]0;owned\x07;\n", encoding="utf-8")
    assert cli(hand_written, "seal", "4")[0] == 0
    database = hand_written / "escape.sqlite3"
    shutil.copyfile(hand_written / "template.sqlite3", database)
    code, _, err = cli(hand_written, "apply", "--database", f"sqlite:///{database}", "--yes", "--actor", "fuzz")
    assert code == 1 and "\x1b" not in err and "\x07" not in err
    assert err.startswith('error: 0004_by_hand/sqlite/up.sql: statement 1 (line 1) failed: unrecognized token: "\\x1b"'), err


def test_a_statement_left_with_an_open_quote_is_linted_as_unparsable(hand_written):
    """Found by a long sweep: the PostgreSQL column-type rules read sqlglot's tokens, whose tokenizer raised on an
    unterminated string, and `lint` ended in an internal error."""
    script = hand_written / "bundles" / "0004_by_hand" / "postgres" / "up.sql"
    script.write_text("CREATE TABLE t (id int PRIMARY KEY, c text)\n'", encoding="utf-8")
    assert cli(hand_written, "seal", "4")[0] == 0
    code, out, err = cli(hand_written, "lint", "4", "--dialect", "postgres", "--format", "json")
    assert (code, err) == (0, "")
    assert [(f["rule"], f["line"]) for f in json.loads(out)["findings"]] == [("unparsable-statement", 1)]
