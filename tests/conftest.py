"""Fixtures for tests on real engines: a fresh database per test, dropped afterwards.

PostgreSQL and MariaDB are found through REVIEWKIT_TEST_POSTGRES_URL and
REVIEWKIT_TEST_MYSQL_URL (defaults: the local servers with the usual superusers). Tests
that need a server are skipped only when its variable is unset, nothing answers at the
default address, and CI is not "true"; in CI an unreachable server fails them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewkit.bundle.store import Bundle
from reviewkit.dialects.connection import Connection, DatabaseURL, connect, create_database, drop_database, parse_url
from reviewkit.errors import ReviewkitError
from tests.scenario_support import build_scenario

# The signed project fixture (`project`) of the sign-off, proof, seal and rebase tests.
pytest_plugins = ["tests.signoff_support"]

SERVERS = {
    "postgres": ("REVIEWKIT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mysql": ("REVIEWKIT_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
}
ENGINES = ("sqlite", "postgres", "mysql")


@pytest.fixture(scope="session", autouse=True)
def _cache_key_of_the_tests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the verification cache's key (in XDG_CACHE_HOME) in the tests' own folder, never in the user's home."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg_cache")))
        yield


@pytest.fixture(scope="session", autouse=True)
def _bytecode_kept_for_the_commands(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let the `reviewkit` processes the tests start keep their modules' bytecode, in the tests' own folder.

    Under PYTHONDONTWRITEBYTECODE=1 (some CI machines set it) each of the thousands of
    processes compiled reviewkit's modules again, 0.1-0.2 s apiece; an installed reviewkit
    has its bytecode. Nothing is written outside the tests' temporary folder.
    """
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYTHONPYCACHEPREFIX", str(tmp_path_factory.mktemp("pycache")))
        env.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        yield


def _server_url(dialect: str) -> DatabaseURL:
    """Return the test server's URL, or skip or fail the test when it does not answer."""
    env_var, default = SERVERS[dialect]
    given = os.environ.get(env_var)
    url = parse_url(given or default, Path.cwd())
    try:
        connect(url, connect_timeout=3).close()
    except ReviewkitError as err:
        if given or os.environ.get("CI") == "true":
            pytest.fail(f"{env_var}: {err}", pytrace=False)
        pytest.skip(f"no {dialect} server answers at {url.redacted()} ({err}); set {env_var} to run these tests")
    return url


@pytest.fixture(scope="session")
def postgres_server() -> DatabaseURL:
    return _server_url("postgres")


@pytest.fixture(scope="session")
def mysql_server() -> DatabaseURL:
    return _server_url("mysql")


def _fresh_database(server: DatabaseURL) -> Iterator[DatabaseURL]:
    name = f"rk_{secrets.token_hex(6)}"
    url = create_database(server, name)
    try:
        yield url
    finally:
        drop_database(server, name)


@pytest.fixture
def postgres_url(postgres_server: DatabaseURL) -> Iterator[DatabaseURL]:
    """Yield the URL of a new, empty PostgreSQL database."""
    yield from _fresh_database(postgres_server)


@pytest.fixture
def mysql_url(mysql_server: DatabaseURL) -> Iterator[DatabaseURL]:
    """Yield the URL of a new, empty MariaDB/MySQL database."""
    yield from _fresh_database(mysql_server)


def another_database(request: pytest.FixtureRequest, dialect: str, tmp_path: Path) -> DatabaseURL:
    """Return one more empty database of `dialect` for a test that already has one, dropped after the test."""
    if dialect == "sqlite":
        return parse_url(f"sqlite:///another_{secrets.token_hex(4)}.sqlite3", tmp_path)
    maker = _fresh_database(request.getfixturevalue(f"{dialect}_server"))
    url = next(maker)
    request.addfinalizer(lambda: next(maker, None))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> DatabaseURL:
    """Return the URL of a new SQLite file in the test's own folder."""
    return parse_url("sqlite:///test.sqlite3", tmp_path)


def _open(url: DatabaseURL) -> Iterator[Connection]:
    conn = connect(url)
    if hasattr(conn.raw, "prepare_threshold"):
        # psycopg prepares a query it has run five times; the walks read the same column
        # again after its type changed, and the server refuses the old plan's result type.
        conn.raw.prepare_threshold = None
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def postgres_db(postgres_url: DatabaseURL) -> Iterator[Connection]:
    yield from _open(postgres_url)


@pytest.fixture
def mysql_db(mysql_url: DatabaseURL) -> Iterator[Connection]:
    yield from _open(mysql_url)


@pytest.fixture
def sqlite_db(sqlite_url: DatabaseURL) -> Iterator[Connection]:
    yield from _open(sqlite_url)


@pytest.fixture(params=ENGINES)
def engine_url(request: pytest.FixtureRequest) -> DatabaseURL:
    """The URL of a fresh database on each engine in turn."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(params=ENGINES)
def engine_db(request: pytest.FixtureRequest) -> Connection:
    """A connection to a fresh database on each engine in turn."""
    return request.getfixturevalue(f"{request.param}_db")


# -- scenario bundles: generated once, read only by the tests that walk them ---------------


@pytest.fixture(scope="session")
def shop_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    return build_scenario("shop", tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="session")
def postgres_only_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """The pg_features history: expression and partial indexes, which MySQL cannot hold."""
    return build_scenario("pg_features", tmp_path_factory.mktemp("pgf"), dialects=("postgres", "sqlite"))


@pytest.fixture(scope="session")
def pg_objects_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """Enum types, domains, sequences, arrays, tsvector, generated columns, comments, index methods."""
    return build_scenario("pg_objects", tmp_path_factory.mktemp("pgo"))


@pytest.fixture(scope="session")
def mysql_types_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """MySQL models: unsigned and tiny integers, ENUM, SET, YEAR, BINARY, ON UPDATE, FULLTEXT, comments."""
    return build_scenario("mysql_types", tmp_path_factory.mktemp("myt"))


@pytest.fixture(scope="session")
def defaults_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """The defaults history: defaults written as PostgreSQL takes them, normalised for every engine."""
    return build_scenario("defaults", tmp_path_factory.mktemp("defaults"))


@pytest.fixture(scope="session")
def views_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """Views over tables and views, dropped and created again around renames, retypes and rebuilds."""
    return build_scenario("views", tmp_path_factory.mktemp("views"))


@pytest.fixture(scope="session")
def mysql_views_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    """Views written in MySQL (CONCAT, IF, IFNULL, GROUP_CONCAT ... SEPARATOR), as each engine runs them."""
    return build_scenario("views_mysql", tmp_path_factory.mktemp("viewsmy"))
