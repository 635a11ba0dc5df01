from __future__ import annotations

import re
import secrets
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from reviewkit.dialects.connection import DatabaseURL, connect, create_database, drop_database, parse_url
from reviewkit.errors import ConfigError, OperationFailed, UsageError

BASE = Path("/project")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///app.db", DatabaseURL("sqlite", path=str(BASE / "app.db"))),
        ("sqlite:///data/app.db", DatabaseURL("sqlite", path=str(BASE / "data" / "app.db"))),
        ("sqlite:////var/db/app.db", DatabaseURL("sqlite", path="/var/db/app.db")),
        ("sqlite:///:memory:", DatabaseURL("sqlite", path=":memory:")),
        ("sqlite:///my%20app.db", DatabaseURL("sqlite", path=str(BASE / "my app.db"))),
        (
            "postgresql://alice:s3cr%40t@db.example.com:6543/shop",
            DatabaseURL("postgres", "db.example.com", 6543, "alice", "s3cr@t", "shop"),
        ),
        ("postgres://alice@db/shop", DatabaseURL("postgres", "db", 5432, "alice", None, "shop")),
        ("postgresql+psycopg://a:b@db/shop", DatabaseURL("postgres", "db", 5432, "a", "b", "shop")),
        ("mysql://root:pw@127.0.0.1:3307/app", DatabaseURL("mysql", "127.0.0.1", 3307, "root", "pw", "app")),
        ("mariadb://root@localhost/app", DatabaseURL("mysql", "localhost", 3306, "root", None, "app")),
        ("mysql+pymysql://u%2Bx:p%3Aw@h/app", DatabaseURL("mysql", "h", 3306, "u+x", "p:w", "app")),
        ("mysql://root:@h/app", DatabaseURL("mysql", "h", 3306, "root", "", "app")),
    ],
)
def test_parse_url(url: str, expected: DatabaseURL) -> None:
    parsed = parse_url(url, BASE)
    assert replace(parsed, raw="", options=()) == expected
    assert parsed.raw == url


def test_parse_url_keeps_postgres_query_parameters() -> None:
    parsed = parse_url("postgresql://u@h/db?sslmode=require&application_name=rk", BASE)
    assert parsed.options == (("sslmode", "require"), ("application_name", "rk"))
    assert parsed.database == "db"


@pytest.mark.parametrize("url", ["oracle://scott:tiger@h/db", "mssql+pyodbc://h/db"])
def test_unknown_scheme_is_a_config_error_naming_it(url: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(repr(url.split("://")[0]))) as err:
        parse_url(url, BASE)
    assert "tiger" not in str(err.value)


def test_url_without_scheme_is_a_config_error_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as err:
        parse_url("alice:hunter2@db/shop", BASE)
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://alice:hunter2@db:5432/shop", "postgresql://alice:***@db:5432/shop"),
        ("mysql://root:p%40ss@db/app", "mysql://root:***@db/app"),
        ("postgresql://alice:hun@ter2@db/shop", "postgresql://alice:***@db/shop"),
        ("postgresql://alice@db/shop?password=hunter2&sslmode=require", "postgresql://alice@db/shop?password=***&sslmode=require"),
        ("mysql://root@db/app", "mysql://root@db/app"),
        ("sqlite:///app.db", "sqlite:///app.db"),
        ("sqlite:////abs/app.db", "sqlite:////abs/app.db"),
    ],
)
def test_redacted_hides_the_password(url: str, redacted: str) -> None:
    parsed = parse_url(url, BASE)
    assert parsed.redacted() == redacted
    assert str(parsed) == redacted
    assert "hunter2" not in repr(parsed)


def test_with_database_keeps_the_server() -> None:
    url = parse_url("postgresql://alice:pw@db:6543/shop", BASE).with_database("other")
    assert (url.host, url.port, url.user, url.password, url.database) == ("db", 6543, "alice", "pw", "other")
    assert url.redacted() == "postgresql://alice:***@db:6543/other"


@pytest.mark.parametrize(
    ("module", "url", "message"),
    [
        ("psycopg", "postgresql://u@h/db", "PostgreSQL needs the psycopg driver: pip install 'reviewkit[postgres]'"),
        ("pymysql", "mysql://u@h/db", "MySQL/MariaDB needs the pymysql driver: pip install 'reviewkit[mysql]'"),
    ],
)
def test_missing_driver_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, module: str, url: str, message: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(UsageError) as err:
        connect(parse_url(url, BASE))
    assert str(err.value) == message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_unreachable_server_is_one_line_without_the_password(scheme: str) -> None:
    url = parse_url(f"{scheme}://someone:hunter2@127.0.0.1:{_closed_port()}/db", BASE)
    with pytest.raises(OperationFailed) as err:
        connect(url, connect_timeout=2)
    message = str(err.value)
    assert message.startswith(f"cannot connect to {scheme}://someone:***@127.0.0.1:")
    assert "refused" in message.lower()
    assert "hunter2" not in message and "\n" not in message


def test_missing_postgres_database(postgres_server: DatabaseURL) -> None:
    url = postgres_server.with_database("rk_does_not_exist")
    with pytest.raises(OperationFailed, match='cannot connect to .*/rk_does_not_exist: .*"rk_does_not_exist" does not exist'):
        connect(url)


def test_missing_mysql_database(mysql_server: DatabaseURL) -> None:
    url = mysql_server.with_database("rk_does_not_exist")
    with pytest.raises(OperationFailed, match="cannot connect to .*/rk_does_not_exist: Unknown database 'rk_does_not_exist'"):
        connect(url)


def test_wrong_mysql_password_does_not_leak(mysql_server: DatabaseURL) -> None:
    url = parse_url(f"mysql://rk_nobody:hunter2@{mysql_server.host}:{mysql_server.port}/test", BASE)
    with pytest.raises(OperationFailed) as err:
        connect(url)
    message = str(err.value)
    assert message.startswith(f"cannot connect to mysql://rk_nobody:***@{mysql_server.host}:{mysql_server.port}/test: ")
    assert "Access denied" in message
    assert "hunter2" not in message and "\n" not in message


def test_sqlite_missing_folder_is_an_operation_failure(tmp_path: Path) -> None:
    url = parse_url("sqlite:///missing/app.db", tmp_path)
    with pytest.raises(OperationFailed, match="cannot open sqlite:///missing/app.db: folder .*missing.* does not exist"):
        connect(url)
    assert not (tmp_path / "missing").exists()


def test_sqlite_creates_the_file(tmp_path: Path) -> None:
    with connect(parse_url("sqlite:///new.db", tmp_path)) as conn:
        conn.execute("CREATE TABLE t (x INTEGER)")
    assert (tmp_path / "new.db").is_file()


# -- on every engine ---------------------------------------------------------------------


def test_query_with_parameters_and_literal_percent(engine_db) -> None:
    engine_db.execute("CREATE TABLE t (name VARCHAR(20), n INTEGER)")
    engine_db.execute("INSERT INTO t (name, n) VALUES (%s, %s)", ("a%b", 1))
    engine_db.execute("INSERT INTO t (name, n) VALUES (%s, %s)", ["it's", 2])
    assert engine_db.query("SELECT name, n FROM t WHERE name LIKE 'a%%' ORDER BY n", ()) == [("a%b", 1)]
    assert engine_db.query("SELECT name FROM t WHERE name LIKE 'i%' ORDER BY n") == [("it's",)]
    assert engine_db.query("SELECT n FROM t WHERE n > %s ORDER BY n", (0,)) == [(1,), (2,)]


def test_query_without_rows_returns_empty_list(engine_db) -> None:
    assert engine_db.query("CREATE TABLE t (x INTEGER)") == []


def test_rollback_discards_and_commit_keeps(engine_db) -> None:
    engine_db.execute("CREATE TABLE t (x INTEGER)")
    engine_db.begin()
    engine_db.execute("INSERT INTO t (x) VALUES (1)")
    engine_db.rollback()
    assert engine_db.query("SELECT x FROM t") == []
    engine_db.begin()
    engine_db.execute("INSERT INTO t (x) VALUES (2)")
    engine_db.commit()
    assert engine_db.query("SELECT x FROM t") == [(2,)]


def test_autocommit_outside_transactions(engine_url) -> None:
    with connect(engine_url) as first:
        first.execute("CREATE TABLE t (x INTEGER)")
        first.execute("INSERT INTO t (x) VALUES (7)")
        with connect(engine_url) as second:
            assert second.query("SELECT x FROM t") == [(7,)]


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_ddl_rolls_back_where_it_is_transactional(request: pytest.FixtureRequest, engine: str) -> None:
    conn = request.getfixturevalue(f"{engine}_db")
    conn.begin()
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.rollback()
    with pytest.raises(OperationFailed):
        conn.query("SELECT x FROM t")


def test_sql_error_is_an_operation_failure_with_the_driver_message(engine_db) -> None:
    with pytest.raises(OperationFailed) as err:
        engine_db.execute("SELECT * FROM no_such_table")
    assert "no_such_table" in str(err.value)
    assert "\n" not in str(err.value)


def test_connection_knows_its_dialect_and_url(engine_url) -> None:
    with connect(engine_url) as conn:
        assert conn.dialect == engine_url.dialect
        assert conn.url is engine_url


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_create_and_drop_database(request: pytest.FixtureRequest, engine: str) -> None:
    server = request.getfixturevalue(f"{engine}_server")
    name = f"rk_{secrets.token_hex(6)}"
    url = create_database(server, name)
    try:
        with connect(url) as conn:
            assert conn.query("SELECT 1") == [(1,)]
    finally:
        drop_database(server, name)
    with pytest.raises(OperationFailed):
        connect(url)
    drop_database(server, name)  # IF EXISTS: no error the second time


def test_queries_sent_ahead_are_answered_as_the_server_ran_them(engine_db) -> None:
    """`prefetch` sends queries ahead where the driver can (psycopg's pipeline mode); elsewhere they run when asked."""
    engine_db.execute("CREATE TABLE t (x INTEGER)")
    engine_db.execute("INSERT INTO t (x) VALUES (1), (2)")
    queries = ("SELECT x FROM t ORDER BY x", "SELECT count(*) FROM t", "SELECT x FROM t WHERE x > 5")
    engine_db.prefetch(queries)
    ahead = engine_db.dialect == "postgres"
    assert set(getattr(engine_db, "_ahead", ())) == (set(queries) if ahead else set())  # sent, not yet read
    assert engine_db.query(queries[1]) == [(2,)]
    engine_db.execute("INSERT INTO t (x) VALUES (3)")  # another statement ends the pipeline; the answers stay
    assert engine_db.query(queries[0]) == ([(1,), (2,)] if ahead else [(1,), (2,), (3,)])
    assert engine_db.query(queries[2]) == []
    assert engine_db.query(queries[0]) == [(1,), (2,), (3,)]  # asked again: run again


def test_a_query_sent_ahead_that_fails_fails_when_asked_alone(postgres_db) -> None:
    """In a pipeline an error aborts the queries after it: each is then run on its own when asked for."""
    postgres_db.prefetch(("SELECT 1", "SELECT * FROM no_such_table", "SELECT 2"))
    assert postgres_db.query("SELECT 2") == [(2,)]
    with pytest.raises(OperationFailed, match="no_such_table"):
        postgres_db.query("SELECT * FROM no_such_table")
    assert postgres_db.query("SELECT 1") == [(1,)]


def test_a_session_ended_while_its_queries_are_ahead_says_so_in_one_line(postgres_url) -> None:
    with connect(postgres_url) as conn, connect(postgres_url) as other:
        pid = conn.query("SELECT pg_backend_pid()")[0][0]
        conn.prefetch(("SELECT pg_sleep(5)", "SELECT 1"))
        other.query("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(OperationFailed) as err:
            conn.query("SELECT 1")
        assert "\n" not in str(err.value) and "closed" in str(err.value), err.value
