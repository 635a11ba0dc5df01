"""`reviewkit drift` on real SQLite, PostgreSQL and MariaDB databases changed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reviewkit.db.ledger import LEDGER_TABLE
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.schema.state import Column, Index, IndexPart, Schema, Table
from tests.test_runner import cli_url, run

MODELS = """\
CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);
CREATE TABLE books (
  id bigserial PRIMARY KEY,
  author_id bigint NOT NULL REFERENCES authors (id),
  title varchar(200) NOT NULL,
  price numeric(10,2) NOT NULL DEFAULT 0
);
CREATE INDEX books_title_idx ON books (title);
"""
CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""


@pytest.fixture
def applied(tmp_path: Path, engine_url: DatabaseURL) -> tuple[Path, DatabaseURL]:
    """A project whose one bundle is applied to a fresh database of each engine."""
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    (root / "models" / "schema.sql").write_text(MODELS)
    assert run(root, "generate", "--no-input").returncode == 0
    result = run(root, "apply", "--database", cli_url(engine_url), "--yes")
    assert result.returncode == 0, result.stderr
    return root, engine_url


def drift(root: Path, url: DatabaseURL) -> tuple[int, dict]:
    result = run(root, "drift", "--database", cli_url(url), "--json")
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


def by_hand(url: DatabaseURL, *statements: str) -> None:
    with connect(url) as conn:
        for sql in statements:  # the connection commits each statement, as a DBA's client does
            conn.execute(sql)


def test_no_drift_right_after_apply(applied):
    root, url = applied
    code, report = drift(root, url)
    assert code == 0 and report["differences"] == [] and report["bundle"] == "0001_initial"
    words = run(root, "drift", "--database", cli_url(url))
    assert words.returncode == 0 and "against bundle 0001_initial: no differences" in words.stdout


def _fk_name(url: DatabaseURL) -> str:
    with connect(url) as conn:
        from reviewkit.db.introspect import introspect

        return introspect(conn).table("books").foreign_keys[0].name


# Each hand change, written per engine where the engines' DDL differs, and what drift must say of it.
HAND_CHANGES = {
    "column added": (lambda d, fk: ["ALTER TABLE books ADD COLUMN pages integer"],
                     ("column", "books.pages", "added")),
    "index dropped": (lambda d, fk: ["DROP INDEX books_title_idx ON books" if d == "mysql" else "DROP INDEX books_title_idx"],
                      ("index", "books.books_title_idx", "missing")),
    "table added": (lambda d, fk: ["CREATE TABLE notes (id integer PRIMARY KEY, body text)"],
                    ("table", "notes", "added")),
}
SERVER_CHANGES = {  # SQLite cannot alter a column or drop a constraint in place
    "type changed": (lambda d, fk: ["ALTER TABLE authors MODIFY name varchar(150) NOT NULL" if d == "mysql"
                                    else "ALTER TABLE authors ALTER COLUMN name TYPE varchar(150)"],
                     ("column", "authors.name", "changed"), {"type": "varchar(100)"}, {"type": "varchar(150)"}),
    "default changed": (lambda d, fk: ["ALTER TABLE books ALTER COLUMN price SET DEFAULT 5"],
                        ("column", "books.price", "changed"), {"default": "0"}, {"default": "5"}),
    "column of a type reviewkit does not map": (lambda d, fk: ["ALTER TABLE books ADD COLUMN spot point"],
                                                ("column", "books.spot", "added"), None, None),
    "foreign key dropped": (lambda d, fk: [f"ALTER TABLE books DROP FOREIGN KEY {fk}" if d == "mysql"
                                           else f"ALTER TABLE books DROP CONSTRAINT {fk}"],
                            ("constraint", "books.{fk}", "missing"), None, None),
}


@pytest.mark.parametrize("change", sorted(HAND_CHANGES))
def test_hand_change_is_reported(applied, change):
    root, url = applied
    statements, (kind, name, how) = HAND_CHANGES[change]
    by_hand(url, *statements(url.dialect, None))
    code, report = drift(root, url)
    assert code == 1
    assert [(d["object"], d["name"], d["change"]) for d in report["differences"]] == [(kind, name, how)]


@pytest.mark.parametrize("change", sorted(SERVER_CHANGES))
@pytest.mark.parametrize("engine_url", ["postgres", "mysql"], indirect=True)
def test_server_hand_change_is_reported(applied, change):
    root, url = applied
    statements, (kind, name, how), expected, actual = SERVER_CHANGES[change]
    fk = _fk_name(url)
    by_hand(url, *statements(url.dialect, fk))
    code, report = drift(root, url)
    assert code == 1
    found = report["differences"]
    if url.dialect == "mysql" and change == "foreign key dropped":
        # MariaDB keeps the index it made for the key: that index is now one drift does not expect.
        found = [d for d in found if d["object"] != "index"]
    assert [(d["object"], d["name"], d["change"]) for d in found] == [(kind, name.format(fk=fk), how)]
    if change.startswith("column of a type"):
        assert found[0]["actual"]["type"] == "unmapped point"
        words = run(root, "drift", "--database", cli_url(url))
        assert "column books.spot added" in words.stdout, words.stdout
    if expected is not None:
        stored = {"0": "0.00", "5": "5.00"} if url.dialect == "mysql" else {}  # MariaDB keeps numeric's scale
        spelled = [{k: stored.get(v, v) for k, v in side.items()} for side in (expected, actual)]
        assert [found[0]["expected"], found[0]["actual"]] == spelled


def test_tampered_ledger_is_exit_3(applied):
    root, url = applied
    dialect = get_dialect(url.dialect)
    by_hand(url, f"UPDATE {dialect.quote(LEDGER_TABLE)} SET {dialect.quote('applied_by')} = 'mallory'")
    result = run(root, "drift", "--database", cli_url(url))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


@pytest.mark.parametrize("engine_url", ["sqlite"], indirect=True)
def test_no_ledger_means_the_empty_schema(tmp_path, engine_url):
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    (root / "models" / "schema.sql").write_text(MODELS)
    assert run(root, "generate", "--no-input").returncode == 0
    by_hand(engine_url, "CREATE TABLE legacy (id integer PRIMARY KEY)")
    code, report = drift(root, engine_url)
    assert code == 1 and report["bundle"] is None
    assert [(d["object"], d["name"], d["change"]) for d in report["differences"]] == [("table", "legacy", "added")]
    assert LEDGER_TABLE not in json.dumps(report)


def test_password_never_shown(tmp_path):
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    result = run(root, "drift", "--database", "postgresql://someone:s3cret-pw@127.0.0.1:1/nowhere")
    assert result.returncode == 1 and "s3cret-pw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "127.0.0.1" in result.stderr


def test_missing_sqlite_file_is_one_line_exit_1(tmp_path):
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    result = run(root, "drift", "--database", "sqlite:///nowhere.sqlite3")
    assert result.returncode == 1 and "does not exist" in result.stderr and not (root / "nowhere.sqlite3").exists()


def test_differences_in_words_and_json():
    books = Table("books", (Column("id", "bigint", False), Column("isbn", "varchar(20)")),
                  indexes=(Index("books_isbn", (IndexPart("isbn"),)),))
    changed = Table("books", (Column("id", "bigint", False), Column("isbn", "varchar(32)", False)))
    found = schema_differences(Schema((books,)), Schema((changed,)))
    assert found == [
        Difference("column", "books.isbn", "changed", {"type": "varchar(20)", "nullable": True},
                   {"type": "varchar(32)", "nullable": False}),
        Difference("index", "books.books_isbn", "missing", {"name": "books_isbn", "unique": False,
                                                            "parts": [{"column": "isbn"}]}, None),
    ]
    assert found[0].describe() == "column books.isbn changed: type varchar(20) -> varchar(32); nullable True -> False"
    assert found[1].describe() == "index books.books_isbn missing"
    assert schema_differences(Schema((books,)), Schema((books,))) == []


def test_django_migrations_is_drift_unless_the_models_are_django(tmp_path, sqlite_url):
    """Django's ledger is left out only where Django's models are the source (tests/test_django.py covers that)."""
    from reviewkit.config import Settings
    from reviewkit.db.drift import without_foreign_ledgers

    live = Schema((Table("books", (Column("id", "integer"),)), Table("django_migrations", (Column("id", "integer"),))))
    ddl = Settings(root=tmp_path, config_file=tmp_path / "reviewkit.toml")
    django = Settings(root=tmp_path, config_file=tmp_path / "reviewkit.toml", models=("django:mysite.settings",))
    assert [t.name for t in without_foreign_ledgers(ddl, live).tables] == ["books", "django_migrations"]
    assert [t.name for t in without_foreign_ledgers(django, live).tables] == ["books"]
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    (root / "models" / "schema.sql").write_text(MODELS)
    assert run(root, "generate", "--no-input").returncode == 0
    assert run(root, "apply", "--database", cli_url(sqlite_url), "--yes").returncode == 0
    by_hand(sqlite_url, "CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app VARCHAR(255))")
    code, report = drift(root, sqlite_url)
    assert code == 1 and [(d["object"], d["name"], d["change"]) for d in report["differences"]] == [
        ("table", "django_migrations", "added")]


@pytest.mark.parametrize("engine_url", ["postgres"], indirect=True)
def test_identity_turned_always_by_hand_is_reported(applied):
    """GENERATED ALWAYS refuses a value an INSERT gives, where BY DEFAULT takes it: PostgreSQL tells them apart."""
    root, url = applied
    by_hand(url, "ALTER TABLE books ALTER COLUMN id SET GENERATED ALWAYS")
    code, report = drift(root, url)
    assert code == 1
    [found] = report["differences"]
    assert (found["object"], found["name"], found["change"]) == ("column", "books.id", "changed")
    assert (found["expected"], found["actual"]) == ({"identity_always": None}, {"identity_always": True})
    words = run(root, "drift", "--database", cli_url(url))
    assert "column books.id changed: identity BY DEFAULT -> ALWAYS" in words.stdout, words.stdout
