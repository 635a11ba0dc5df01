"""A password given in a database URL is never found again: not in any output, file or ledger row.

On PostgreSQL and MariaDB, a login made for the test (its password carries characters a
URL must encode: `@`, `:`, `/`, `%`, `!`) reaches every command that touches a database,
on the paths that succeed and on those that fail: a wrong password, a host that does not
answer, a statement the engine refuses, a lock held elsewhere. Then every stdout and stderr,
every `--json` document, every file of the project (bundles, proofs, the review page, the
lint cache, the baseline's models) and every ledger row is searched for the password, its
URL-encoded form, and its distinctive core (so that a piece of it counts as found too).

PostgreSQL's test server trusts 127.0.0.1: the password is not checked there, yet it is in
the URL, which is what matters here. MariaDB checks it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from reviewkit.db.ledger import read_rows
from reviewkit.dialects.connection import DatabaseURL, connect, create_database, drop_database, parse_url, redact

CORE = "S3cr3tZq"  # distinctive: no other text of a run holds it
PASSWORD = f"rk!{CORE}@p:a/s%s"
ENCODED = quote(PASSWORD, safe="")
NEEDLES = (PASSWORD, ENCODED, CORE)

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0

[databases.prod]
url = "${RK_SECRET_PROD_URL}"
"""
STEP1 = "CREATE TABLE authors (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);\n"
STEP2 = STEP1 + "CREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint REFERENCES authors (id), title text);\n" \
    "CREATE INDEX books_title_idx ON books (title);\n"


@dataclass(frozen=True)
class Login:
    """A login made for the test on one server, and the database it owns."""

    dialect: str
    user: str
    database: str
    server: DatabaseURL  # the superuser's URL that made them

    def url(self, password: str = ENCODED, database: str | None = None, host: str = "127.0.0.1",
            port: int | None = None) -> str:
        scheme = "postgresql" if self.dialect == "postgres" else "mysql"
        return f"{scheme}://{self.user}:{password}@{host}:{port or self.server.port}/{database or self.database}"

    def server_url(self) -> str:
        """The URL `prove` creates its scratch databases through: the login's own (it may read no other)."""
        return self.url()


def _postgres_login(server: DatabaseURL) -> Iterator[Login]:
    user, name = f"rk_secret_{secrets.token_hex(4)}", f"rk_secret_{secrets.token_hex(4)}"
    literal = PASSWORD.replace("'", "''")
    with connect(server) as conn:
        conn.execute(f'CREATE ROLE "{user}" LOGIN CREATEDB PASSWORD \'{literal}\'')
    try:
        create_database(server, name)
        with connect(server) as conn:
            conn.execute(f'ALTER DATABASE "{name}" OWNER TO "{user}"')
        yield Login("postgres", user, name, server)
    finally:
        drop_database(server, name)
        with connect(server) as conn:
            for (leftover,) in conn.query("SELECT datname FROM pg_database WHERE datdba = "
                                          "(SELECT oid FROM pg_roles WHERE rolname = %s)", [user]):
                drop_database(server, leftover)  # a prove database a failure left behind
            conn.execute(f'DROP ROLE IF EXISTS "{user}"')


def _mysql_login(server: DatabaseURL) -> Iterator[Login]:
    user, name = f"rk_secret_{secrets.token_hex(4)}", f"rk_secret_{secrets.token_hex(4)}"
    hosts = ("%", "localhost", "127.0.0.1")  # whichever the server matches a TCP client from 127.0.0.1 with
    create_database(server, name)
    with connect(server) as conn:
        for host in hosts:
            conn.execute("CREATE USER %s@%s IDENTIFIED BY %s", [user, host, PASSWORD])
            conn.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@%s", [user, host])
            conn.execute("GRANT ALL PRIVILEGES ON `reviewkit\\_prove\\_%%`.* TO %s@%s", [user, host])
    try:
        yield Login("mysql", user, name, server)
    finally:
        drop_database(server, name)
        with connect(server) as conn:
            for host in hosts:
                conn.execute("DROP USER IF EXISTS %s@%s", [user, host])


@pytest.fixture(params=["postgres", "mysql"])
def login(request: pytest.FixtureRequest) -> Iterator[Login]:
    server = request.getfixturevalue(f"{request.param}_server")
    yield from (_postgres_login if request.param == "postgres" else _mysql_login)(server)


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


class Project:
    """A project whose every command run is kept, to be searched at the end."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.runs: list[Run] = []

    def run(self, *args: str, expect: int | tuple[int, ...] = 0, **env: str) -> Run:
        full = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWKIT_")} | self.env | env
        done = subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=self.root, capture_output=True, text=True,
                              env=full, stdin=subprocess.DEVNULL, timeout=120)
        run = Run(args, done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        assert done.returncode in ((expect,) if isinstance(expect, int) else expect), (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
        return run


def make_project(root: Path, login: Login) -> Project:
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG)
    project = Project(root, {"REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci", "RK_SECRET_PROD_URL": login.url()})
    for number, models in enumerate((STEP1, STEP2), 1):
        (root / "models" / "schema.sql").write_text(models)
        project.run("generate", "--no-input", f"step{number}")
    return project


def add_failing_bundle(project: Project, dialect: str) -> None:
    """Add bundle 0003: a hand-written script whose second statement the engine refuses."""
    project.run("generate", "--empty", "broken")
    script = project.root / "bundles" / "0003_broken" / dialect / "up.sql"
    script.write_text("CREATE TABLE notes (id int PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n")
    project.run("seal", "3")


def found_in(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def assert_never_found(project: Project, login: Login, extra: list[Path] = ()) -> None:
    """Search every output, every file under the project and every ledger row for the password."""
    for run in project.runs:
        assert not found_in(run.stdout + run.stderr), (run.args, found_in(run.stdout + run.stderr), run.stdout, run.stderr)
    files = [p for p in project.root.rglob("*") if p.is_file()] + list(extra)
    searched = {p.relative_to(project.root).parts[0] for p in files if p.is_relative_to(project.root)}
    assert {"bundles", "models", ".reviewkit"} <= searched, searched  # the lint cache was written, and is searched
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert not found_in(text), (path, found_in(text))
    with connect(parse_url(login.url(password=ENCODED), project.root)) as conn:
        rows = read_rows(conn)
    assert rows, "the ledger was written"
    for row in rows:
        assert not found_in(" ".join(str(v) for v in astuple(row))), row


def test_a_password_in_the_url_never_leaves_it(tmp_path, login):
    """Every command that touches the database, on its good and bad paths."""
    project = make_project(tmp_path / "proj", login)
    url, dialect = login.url(), login.dialect

    project.run("status", "--database", url)
    project.run("apply", "--dry-run", "--database", url)
    project.run("lint", "--all", "--database", url, "--format", "json", expect=(0, 1))
    project.run("apply", "--database", url, "--yes")  # REVIEWKIT_DATABASE_URL and a [databases] name below
    for run in (project.run("status", "--json", "--database", url), project.run("drift", "--json", "--database", url)):
        assert json.loads(run.stdout)["database"] == parse_url(url, project.root).redacted()
    project.run("status", "--check")
    project.run("drift", REVIEWKIT_DATABASE_URL=url)
    project.run("verify", "--database", "prod", "--json")
    project.run("lint", "--database", "prod", expect=(0, 1))
    project.run("apply", "--to", "1", "--database", "prod", "--yes")
    project.run("apply", "--database", url, "--yes")

    add_failing_bundle(project, dialect)
    failed = project.run("apply", "--database", url, "--yes", expect=1)
    assert "no_such_table" in failed.stderr
    project.run("status", "--database", url, "--json")
    project.run("verify", "--database", url, "--json", expect=(0, 3))
    project.run("apply", "--dry-run", "--database", url, expect=(0, 3))
    project.run("drift", "--database", url, "--json", expect=(0, 1))
    project.run("review", "3", "--html", str(tmp_path / "review.html"))

    prove_env = {f"REVIEWKIT_PROVE_{dialect.upper()}_URL": login.server_url()}
    project.run("prove", "2", "--dialect", dialect, "--json", **prove_env)
    assert (project.root / "bundles" / "0002_step2" / "proofs" / f"{dialect}.json").exists()
    project.run("prove", "3", "--dialect", dialect, "--json", expect=1, **prove_env)  # the broken script fails there
    project.run("prove", "2", "--dialect", dialect, expect=1,  # a server that does not answer
                **{f"REVIEWKIT_PROVE_{dialect.upper()}_URL": login.url(port=1, database="x")})

    assert_error_paths(project, login)
    baseline = make_baseline(tmp_path / "from-live", login)
    assert_never_found(project, login, extra=[tmp_path / "review.html"])
    assert_never_found(baseline, login)


def assert_error_paths(project: Project, login: Login) -> None:
    """A wrong password, a port where nothing listens, a host no one has, a database that is not there."""
    wrong = login.url(password=quote(f"wrong-{CORE}-x", safe=""))
    # PostgreSQL's test server trusts 127.0.0.1: there the wrong password gets in (and apply meets the broken bundle).
    for url, code in ((login.url(port=1), 1), (login.url(host="no-such-host.invalid"), 1),
                      (login.url(database="rk_no_such_db"), 1), (wrong, 1 if login.dialect == "mysql" else (0, 1))):
        for command in (("status", "--database", url), ("apply", "--database", url, "--yes"),
                        ("drift", "--json", "--database", url), ("verify", "--database", url),
                        ("lint", "--database", url)):
            run = project.run(*command, expect=code if command[0] != "lint" else (0, 1))
            if run.code == 1 and command[0] != "lint":
                assert run.stderr.startswith("error: ") and len(run.stderr.splitlines()) <= 2, run.stderr


def make_baseline(root: Path, login: Login) -> Project:
    """`baseline` reads the live schema into a project of its own, then records it with `apply --fake`."""
    root.mkdir()
    (root / "reviewkit.toml").write_text(CONFIG)
    project = Project(root, {"REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "ci"})
    run = project.run("baseline", "--database", login.url())
    # Its hint once repeated --database as given, password and all.
    redacted = parse_url(login.url(), root).redacted()
    assert f"reviewkit apply --fake --database {redacted}\n" in run.stdout and ":***@" in redacted, run.stdout
    manifest = json.loads((root / "bundles" / "0001_baseline" / "manifest.json").read_text())
    assert manifest["baseline"] is True
    project.run("lint", "--database", login.url(), expect=(0, 1))
    return project


@pytest.mark.parametrize("raw", [
    f"postgresql://someone:{CORE}/x@127.0.0.1:5432/db",  # the host part ends at "/": the password's start is the "port"
    f"postgresql://someone:{CORE}#x@127.0.0.1/db",
    f"mysql://someone:{CORE}?x@127.0.0.1/db",  # and here redact() found no user info before the "?"
    f"mysql://someone:{CORE}?x@127.0.0.1/db?ssl=1",
])
def test_a_password_that_breaks_the_url_is_not_quoted_by_the_error(tmp_path, raw):
    """Found here: Python's "Port could not be cast to integer value as 'S3cr3tZq'" was the message's tail, and a
    password with an unencoded "?" was shown whole by the redacted URL."""
    from reviewkit.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        parse_url(raw, tmp_path)
    assert CORE not in str(refused.value) and "must be URL-encoded" in str(refused.value), str(refused.value)
    assert CORE not in redact(raw) and ":***@127.0.0.1" in redact(raw), redact(raw)
    (tmp_path / "reviewkit.toml").write_text(CONFIG)
    run = Project(tmp_path, {}).run("status", "--database", raw, expect=2)
    assert CORE not in run.stderr and run.stderr.startswith("error: database URL ") and len(run.stderr.splitlines()) == 1


def test_a_query_value_with_an_at_sign_is_not_taken_for_a_password():
    assert redact("postgresql://h:5432/db?application_name=a@b") == "postgresql://h:5432/db?application_name=a@b"
