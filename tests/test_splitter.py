from __future__ import annotations

import time

import pytest

from reviewkit.dialects.splitter import ScriptStatement, split_statements
from reviewkit.errors import UsageError

S = ScriptStatement
DIALECTS = ("postgres", "mysql", "sqlite")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_statements_lines_and_leading_comments(dialect: str) -> None:
    script = (
        "-- header comment; with a semicolon\n"
        "/* block; comment\n   over lines */\n"
        "\n"
        "CREATE TABLE t (x INTEGER);\n"
        "  INSERT INTO t VALUES (1);   -- trailing; comment\n"
        "INSERT INTO t\n  VALUES (2);\n"
    )
    assert split_statements(script, dialect) == [
        S("CREATE TABLE t (x INTEGER)", 5),
        S("INSERT INTO t VALUES (1)", 6),
        S("INSERT INTO t\n  VALUES (2)", 7),
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolons_inside_strings_and_identifiers(dialect: str) -> None:
    script = "INSERT INTO \"a;b\" VALUES ('x;y', 'it''s; fine');\nSELECT 1;"
    assert split_statements(script, dialect) == [
        S("INSERT INTO \"a;b\" VALUES ('x;y', 'it''s; fine')", 1),
        S("SELECT 1", 2),
    ]


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_backtick_identifiers(dialect: str) -> None:
    assert split_statements("SELECT `a;b` FROM t; SELECT 2", dialect) == [S("SELECT `a;b` FROM t", 1), S("SELECT 2", 1)]


def test_comments_inside_a_statement_stay() -> None:
    script = "SELECT 1, -- one;\n  2 /* two; */\n;"
    assert split_statements(script, "postgres") == [S("SELECT 1, -- one;\n  2 /* two; */", 1)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_final_statement_without_semicolon(dialect: str) -> None:
    assert split_statements("SELECT 1;\n\nSELECT 2\n", dialect) == [S("SELECT 1", 1), S("SELECT 2", 3)]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("script", ["", "   \n\n", "-- only a comment\n", "/* a; b */\n-- c;\n", ";\n;;"])
def test_scripts_without_statements(dialect: str, script: str) -> None:
    assert split_statements(script, dialect) == []


def test_postgres_dollar_quoted_bodies() -> None:
    script = (
        "CREATE FUNCTION f() RETURNS integer AS $$\n"
        "BEGIN\n  RETURN 1; -- $ not the end;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "DO $body$ BEGIN PERFORM 'a;b'; /* $$ inside; */ END $body$;\n"
        "SELECT $1, a$b$c FROM t;\n"
    )
    assert split_statements(script, "postgres") == [
        S("CREATE FUNCTION f() RETURNS integer AS $$\nBEGIN\n  RETURN 1; -- $ not the end;\nEND;\n$$ LANGUAGE plpgsql", 1),
        S("DO $body$ BEGIN PERFORM 'a;b'; /* $$ inside; */ END $body$", 6),
        S("SELECT $1, a$b$c FROM t", 7),
    ]


def test_postgres_nested_comments_and_escape_strings() -> None:
    script = "/* outer /* inner; */ still; */ SELECT E'it\\'s;', 'a\\';\nSELECT 2;"
    assert split_statements(script, "postgres") == [S("SELECT E'it\\'s;', 'a\\'", 1), S("SELECT 2", 2)]


def test_mysql_delimiter_blocks() -> None:
    script = (
        "CREATE TABLE t (x INT);\n"
        "DELIMITER //\n"
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 'a//b';\nEND //\n"
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.x = 1; END//\n"
        "delimiter ;\n"
        "SELECT 2;\n"
    )
    assert split_statements(script, "mysql") == [
        S("CREATE TABLE t (x INT)", 1),
        S("CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 'a//b';\nEND", 3),
        S("CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.x = 1; END", 8),
        S("SELECT 2", 10),
    ]


def test_mysql_comment_and_escape_rules() -> None:
    script = "# hash comment;\nSELECT 'it\\'s;', \"a\\\";\" ;\nSELECT 1--1;\n/*!40101 SET NAMES utf8mb4 */;\n"
    assert split_statements(script, "mysql") == [
        S("SELECT 'it\\'s;', \"a\\\";\"", 2),
        S("SELECT 1--1", 3),
        S("/*!40101 SET NAMES utf8mb4 */", 4),
    ]


def test_hash_is_no_comment_outside_mysql() -> None:
    assert split_statements("SELECT 1 # 2;\nSELECT 3", "postgres") == [S("SELECT 1 # 2", 1), S("SELECT 3", 2)]


def test_sqlite_bracket_identifiers() -> None:
    assert split_statements("SELECT [a;b] FROM t; SELECT 2", "sqlite") == [S("SELECT [a;b] FROM t", 1), S("SELECT 2", 1)]


def test_unterminated_string_runs_to_the_end() -> None:
    assert split_statements("SELECT 1;\nSELECT 'oops;\nSELECT 2;", "postgres") == [
        S("SELECT 1", 1),
        S("SELECT 'oops;\nSELECT 2;", 2),
    ]


def test_unknown_dialect() -> None:
    with pytest.raises(UsageError, match="unknown dialect 'oracle' \\(known: postgres, mysql, sqlite\\)"):
        split_statements("SELECT 1", "oracle")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_thousand_tables_split_fast(dialect: str) -> None:
    script = "\n".join(
        f"-- table {i}: created by the test\n"
        f'CREATE TABLE "t{i}" (\n'
        f"  id BIGINT PRIMARY KEY,\n"
        f"  name VARCHAR(255) NOT NULL DEFAULT 'a;b', -- note; here\n"
        f"  price NUMERIC(10,2) CHECK (price > 0)\n"
        f");\n"
        f'CREATE INDEX "t{i}_name_idx" ON "t{i}" (name);'
        for i in range(1000)
    )
    best = min(_timed(script, dialect) for _ in range(3))
    statements = split_statements(script, dialect)
    assert len(statements) == 2000
    assert statements[-1] == S('CREATE INDEX "t999_name_idx" ON "t999" (name)', 7 * 999 + 7)
    assert best < 0.1


def _timed(script: str, dialect: str) -> float:
    start = time.perf_counter()
    split_statements(script, dialect)
    return time.perf_counter() - start


# -- the engines agree ------------------------------------------------------------------


def test_postgres_runs_what_it_splits(postgres_db) -> None:
    script = (
        "CREATE TABLE t (x integer, note text);\n"
        "CREATE FUNCTION bump() RETURNS trigger AS $$\nBEGIN\n  NEW.x := NEW.x + 1;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "CREATE TRIGGER t_bump BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION bump();\n"
        "INSERT INTO t VALUES (1, 'a;b'); -- done\n"
    )
    for statement in split_statements(script, "postgres"):
        postgres_db.execute(statement.sql)
    assert postgres_db.query("SELECT x, note FROM t") == [(2, "a;b")]


def test_mysql_runs_what_it_splits(mysql_db) -> None:
    script = (
        "CREATE TABLE t (x INT, note VARCHAR(10));\n"
        "DELIMITER //\n"
        "CREATE TRIGGER t_bump BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.x = NEW.x + 1;\n  SET NEW.note = 'x;y';\nEND //\n"
        "DELIMITER ;\n"
        "INSERT INTO t VALUES (1, 'it\\'s'); # done\n"
    )
    for statement in split_statements(script, "mysql"):
        mysql_db.execute(statement.sql)
    assert mysql_db.query("SELECT x, note FROM t") == [(2, "x;y")]


def test_sqlite_runs_what_it_splits(sqlite_db) -> None:
    script = (
        "CREATE TABLE t (x INTEGER, note TEXT);\n"
        "CREATE TRIGGER t_bump AFTER INSERT ON t BEGIN\n"
        "  UPDATE t SET x = x + 1 WHERE rowid = NEW.rowid;\n"
        "  UPDATE t SET note = note || ';' WHERE rowid = NEW.rowid;\n"
        "END;\n"
        "INSERT INTO t VALUES (1, 'a;b');\n"
    )
    statements = split_statements(script, "sqlite")
    assert [s.line for s in statements] == [1, 2, 6]
    assert statements[1].sql.endswith("WHERE rowid = NEW.rowid;\nEND")
    for statement in statements:
        sqlite_db.execute(statement.sql)
    assert sqlite_db.query("SELECT x, note FROM t") == [(2, "a;b;")]


def test_sqlite_trigger_ends_only_at_end() -> None:
    script = "create temp trigger tr after delete on t begin delete from u; end ; select 1"
    assert split_statements(script, "sqlite") == [
        S("create temp trigger tr after delete on t begin delete from u; end", 1),
        S("select 1", 1),
    ]
