"""Column defaults: normalised by type when the models are built, refused per engine at generate.

The normaliser's rules need no database; what each engine refuses was found by trying on
PostgreSQL 15, MariaDB 10.11 and SQLite, and is checked here through `reviewkit generate`
(exit 2, the column and the engine named, nothing written). Every default the rules keep
is also applied on the real engines: tests/test_engines.py walks tests/scenarios/defaults,
and the SQLAlchemy model below is generated and walked the same way.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from reviewkit.bundle.store import load_bundles
from reviewkit.config import load_settings
from reviewkit.dialects import get_dialect
from reviewkit.errors import ModelError, UnsupportedType
from reviewkit.generate import GenerateOptions, generate
from reviewkit.models import load_models
from reviewkit.schema.defaults import normalize_default
from reviewkit.schema.expressions import canonical_text
from reviewkit.schema.state import Column, Schema, Table
from tests.scenario_support import run_script, walk_bundles
from tests.test_engines import assert_schema
from tests.test_generate import run


def normal(default: str, column_type: str) -> str | None:
    """Normalise a default written in a PostgreSQL model."""
    return normalize_default(canonical_text(default, "postgres"), column_type, "t.c")


# -- the normaliser, no database -----------------------------------------------------------


@pytest.mark.parametrize("written", ["'false'", "'f'", "'0'", "'no'", "'off'", "'n'", "' FALSE '", "0", "false"])
def test_boolean_spellings_of_false_become_false(written):
    assert normal(written, "boolean") == "FALSE"


@pytest.mark.parametrize("written", ["'true'", "'t'", "'1'", "'yes'", "'on'", "'Y'", "1", "TRUE"])
def test_boolean_spellings_of_true_become_true(written):
    assert normal(written, "boolean") == "TRUE"


@pytest.mark.parametrize(("written", "column_type", "expected"), [
    ("'5'", "integer", "5"),
    ("' -7 '", "smallint", "-7"),
    ("5.0", "bigint", "5"),
    ("'0.00'", "numeric(10,2)", "0.00"),
    ("'-1.5'", "numeric(6,2)", "-1.5"),
    ("'1e3'", "real", "1000"),
    ("2.5e-1", "double", "0.25"),
    ("'x'", "text", "'x'"),
    ("0", "varchar(3)", "'0'"),
    ("-1.5", "text", "'-1.5'"),
    ("'{\"b\":1}'", "json", "'{\"b\":1}'"),
    ("'{\"b\":1,\"a\":[1,2.50,1e3],\"aa\":\"\u00e9\"}'", "jsonb", "'{\"a\": [1, 2.50, 1000], \"b\": 1, \"aa\": \"\u00e9\"}'"),
    ("'{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}'", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
    ("'2024-01-01'", "date", "'2024-01-01'"),
    ("'2024-01-01T10:00'", "timestamp", "'2024-01-01 10:00:00'"),
    ("'2024-01-01 10:00:00.500'", "timestamp(3)", "'2024-01-01 10:00:00.5'"),
    ("'09:30'", "time(0)", "'09:30:00'"),
    ("NULL", "integer", None),
    ("NULL::text", "text", None),
    ("gen_random_uuid()", "uuid", "UUID()"),  # expressions are left to the engines
])
def test_literals_take_the_form_their_type_calls_for(written, column_type, expected):
    assert normal(written, column_type) == expected


@pytest.mark.parametrize(("written", "column_type", "expected"), [
    ("('now'::text)::date", "date", "CURRENT_DATE"),
    ("'now'::date", "date", "CURRENT_DATE"),
    ("'now'", "date", "CURRENT_DATE"),
    ("'today'", "date", "CURRENT_DATE"),
    ("'today'::date", "date", "CURRENT_DATE"),
    ("CURRENT_DATE", "date", "CURRENT_DATE"),
    ("now()", "date", "CURRENT_DATE"),
    ("now()::date", "date", "CURRENT_DATE"),
    ("now()", "timestamp", "CURRENT_TIMESTAMP()"),
    ("'now'::timestamp", "timestamp(3)", "CURRENT_TIMESTAMP()"),
    ("('now'::text)::timestamp with time zone", "timestamptz", "CURRENT_TIMESTAMP()"),
    ("LOCALTIMESTAMP", "timestamp", "CURRENT_TIMESTAMP()"),
    ("LOCALTIMESTAMP(3)", "timestamp(3)", "CURRENT_TIMESTAMP()"),
    ("CURRENT_TIMESTAMP(3)", "timestamptz(3)", "CURRENT_TIMESTAMP()"),
    ("transaction_timestamp()", "timestamptz", "CURRENT_TIMESTAMP()"),
    ("'now'", "timestamptz", "CURRENT_TIMESTAMP()"),
    ("CURRENT_DATE", "timestamp", "CURRENT_DATE"),  # midnight of the insert's day, on every engine
    ("LOCALTIME", "time", "CURRENT_TIME()"),
    ("'now'::time", "time(3)", "CURRENT_TIME()"),
    ("now()", "time", "CURRENT_TIME()"),
    # The statement's moment, where PostgreSQL's CURRENT_TIMESTAMP is the transaction's: Django's Now() there.
    ("statement_timestamp()", "timestamptz(3)", "STATEMENT_TIMESTAMP()"),
    ("STATEMENT_TIMESTAMP()", "date", "STATEMENT_TIMESTAMP()"),
])
def test_the_current_moment_stays_the_moment_of_the_insert(written, column_type, expected):
    """PostgreSQL folds 'now'::date into the day of CREATE TABLE; the normal form never does."""
    assert normal(written, column_type) == expected


@pytest.mark.parametrize(("written", "column_type", "message"), [
    ("'maybe'", "boolean", "default 'maybe' is not a boolean; write TRUE or FALSE"),
    ("2", "boolean", "default 2 is not a boolean"),
    ("'tr'", "boolean", "is not a boolean"),
    ("'abc'", "integer", "default 'abc' is not a number for this integer column"),
    ("5.5", "integer", "is not a whole number; this integer column would round it"),
    ("'5.5'", "integer", "is not a whole number"),
    ("70000", "smallint", "is out of range for this smallint column"),
    ("TRUE", "integer", "is not a number"),
    ("0.125", "numeric(10,2)", "has more than 2 decimals; numeric(10,2) would round it"),
    ("123.5", "numeric(4,2)", "does not fit numeric(4,2)"),
    ("'1,5'", "numeric", "is not a number"),
    ("TRUE", "text", "is not text"),
    ("'abc'", "varchar(2)", "is longer than varchar(2)"),
    ("'{'", "jsonb", "is not JSON"),
    ("'NaN'", "json", "is not JSON"),
    ("1", "json", "write JSON as a string"),
    ("'nope'", "uuid", "is not a UUID"),
    ("'abc'", "blob", "on a blob column is read differently by each engine"),
    ("'January 8, 1999'", "date", "is not an ISO 8601 date (YYYY-MM-DD)"),
    ("'2024-13-01'", "date", "is not an ISO 8601 date"),
    ("'tomorrow'", "date", "is not an ISO 8601 date"),
    ("'epoch'", "date", "is not an ISO 8601 date"),
    ("'infinity'", "timestamp", "is not an ISO 8601 timestamp"),
    ("'today'", "timestamp", "means midnight of the day the table is created"),
    ("'10:00:00.5'", "time(0)", "has more fractional digits than time(0) keeps"),
    ("'2024-01-01 10:00+02'", "timestamptz", "is a fixed timestamptz"),
    ("5", "date", "is not a date; write it as a string"),
    ("CURRENT_DATE", "time", "is a date and cannot fill this time column"),
    ("CURRENT_TIME", "date", "is a time and cannot fill this date column"),
    ("now()", "text", "is a date/time function on this text column"),
    ("CURRENT_DATE", "integer", "is a date/time function on this integer column"),
    ("statement_timestamp()", "bigint", "is a date/time function on this bigint column"),
])
def test_defaults_that_fit_no_engine_are_model_errors_naming_column_and_value(written, column_type, message):
    with pytest.raises(ModelError, match="^t.c: default ") as caught:
        normal(written, column_type)
    assert message in str(caught.value)


def test_a_string_stays_a_string_where_the_type_is_text():
    assert normal("'now'", "text") == "'now'"
    assert normal("'false'", "varchar(5)") == "'false'"
    assert normal("'0'", "char(1)") == "'0'"


def test_the_canonical_form_keeps_the_meaning_of_a_cast_of_now():
    """The canonicaliser used to drop the inner cast of ('now'::text)::date and keep CAST('now' AS DATE)."""
    assert canonical_text("('now'::text)::date", "postgres") == "CURRENT_DATE"
    assert canonical_text("'now'::date", "postgres") == "CURRENT_DATE"
    assert canonical_text("('now'::text)::timestamp without time zone", "postgres") == "CURRENT_TIMESTAMP()"
    assert canonical_text("'today'::timestamp", "postgres") == "'today'"  # a fixed midnight: the normaliser refuses it
    assert canonical_text("'2024-01-01'::date", "postgres") == "'2024-01-01'"
    assert canonical_text("curtime(6)", "mysql") == canonical_text("CURRENT_TIME", "postgres")


def test_model_sources_store_normalised_defaults(tmp_path):
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (id int PRIMARY KEY, done boolean NOT NULL DEFAULT 'false', "
                                         "n integer DEFAULT '5', d date DEFAULT ('now'::text)::date, x text DEFAULT NULL);")
    from reviewkit.models.ddl import load_ddl_files

    table = load_ddl_files([tmp_path / "schema.sql"], "postgres", tmp_path).table("t")
    assert [c.default for c in table.columns] == [None, "FALSE", "5", "CURRENT_DATE", None]


# -- per engine, through `reviewkit generate` ------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert run(tmp_path, "init").returncode == 0
    return tmp_path


def generate_with(project: Path, ddl: str, dialects: list[str]) -> tuple[int, str]:
    config = project / "reviewkit.toml"
    text = config.read_text().replace('dialects = ["postgres", "mysql", "sqlite"]', f"dialects = {dialects}")
    config.write_text(text.replace("'", '"'))
    (project / "models" / "schema.sql").write_text(ddl)
    result = run(project, "generate")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2, result.stderr
    assert not [p for p in (project / "bundles").iterdir() if p.name != ".gitkeep"], "a refused generate wrote a bundle"
    return result.returncode, result.stderr


@pytest.mark.parametrize(("column", "dialect", "message"), [
    # MariaDB 10.11: "Function or expression 'clock_timestamp()' cannot be used in the DEFAULT clause"
    ("x timestamptz DEFAULT clock_timestamp()", "mysql",
     "column t.x: MySQL/MariaDB refuses the default CLOCK_TIMESTAMP(): only its own built-in functions"),
    ("x bigint DEFAULT last_insert_id()", "mysql", "MySQL/MariaDB refuses the default LAST_INSERT_ID()"),
    ("x int DEFAULT (id + 1)", "mysql", "it refers to the AUTO_INCREMENT column id"),
    # sqlglot would drop AT TIME ZONE for MySQL with a logged warning.
    ("x timestamp DEFAULT (now() AT TIME ZONE 'utc')", "mysql", "AT TIME ZONE is not supported by MySQL"),
    # PostgreSQL: "cannot use column reference in DEFAULT expression"
    ("x int DEFAULT (id + 1)", "postgres", "column t.x: PostgreSQL refuses the default id + 1: column references"),
    ("x int DEFAULT (SELECT 1)", "postgres", "PostgreSQL refuses the default (SELECT 1): subqueries are not allowed"),
    ("x int DEFAULT (SELECT 1)", "mysql", "MySQL/MariaDB refuses the default (SELECT 1): subqueries"),
    # SQLite takes these at CREATE TABLE and fails at the first insert.
    ("x uuid DEFAULT gen_random_uuid()", "sqlite", "column t.x: SQLite refuses the default UUID(): SQLite"),
    ("x timestamptz DEFAULT clock_timestamp()", "sqlite", "unknown function: CLOCK_TIMESTAMP()"),
    ("x int DEFAULT (id + 1)", "sqlite", "is not constant"),
    # An array is JSON there: '{}' would be an object, '{a,b}' no JSON at all.
    ("x int[] DEFAULT '{}'", "mysql", "column t.x: MySQL/MariaDB refuses the default '{}': it holds an array as JSON"),
    ("x text[] DEFAULT '{a,b}'", "sqlite", "column t.x: SQLite refuses the default '{a,b}': it holds an array as JSON"),
])
def test_engine_refusals_name_column_and_engine_with_exit_2(project, column, dialect, message):
    ddl = f"CREATE TABLE t (id serial PRIMARY KEY, {column});"
    code, stderr = generate_with(project, ddl, [dialect])
    assert code == 2
    assert message in stderr


def test_an_array_default_is_an_arrays_on_postgresql(postgres_db, tmp_path):
    """'{}' and '{a,b}' are an array's text, not an element's: kept, built and read back on PostgreSQL."""
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text('[reviewkit]\nmodels = ["models/*.sql"]\ndialects = ["postgres"]\n')
    (root / "models" / "schema.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY, ids int[] NOT NULL DEFAULT '{}', tags text[] DEFAULT '{a,b}');")
    bundle = generate(load_settings(root), GenerateOptions(author="test"))
    assert [c.default for c in bundle.schema().table("t").columns] == [None, "'{}'", "'{a,b}'"]
    walk_bundles(postgres_db, [bundle], assert_schema)
    postgres_db.execute("INSERT INTO t (id) VALUES (1)")
    assert postgres_db.query("SELECT array_length(ids, 1), tags FROM t") == [(None, ["a", "b"])]


def test_what_no_engine_takes_is_refused_before_any_engine(project):
    code, stderr = generate_with(project, "CREATE TABLE t (id int PRIMARY KEY,\n  done boolean DEFAULT 'maybe');",
                                 ["mysql"])
    assert code == 2
    assert "schema.sql:1: column t.done: default 'maybe' is not a boolean; write TRUE or FALSE" in stderr


def test_the_same_defaults_pass_where_the_engine_takes_them(project):
    ddl = ("CREATE TABLE t (id serial PRIMARY KEY, a timestamptz DEFAULT clock_timestamp(),"
           " b uuid DEFAULT gen_random_uuid(), c int DEFAULT (1 + 2));")
    config = project / "reviewkit.toml"
    config.write_text(config.read_text().replace('dialects = ["postgres", "mysql", "sqlite"]', 'dialects = ["postgres"]'))
    (project / "models" / "schema.sql").write_text(ddl)
    result = run(project, "generate")
    assert result.returncode == 0, result.stderr


def test_mysql_variables_are_refused():
    """MySQL 8 refuses `DEFAULT (@x)` (MariaDB takes it): only a MySQL model can say it."""
    table = Table("t", (Column("id", "integer", False), Column("x", "integer", default="@x")))
    with pytest.raises(UnsupportedType, match="column t.x: MySQL/MariaDB refuses the default @x: variables"):
        get_dialect("mysql").compiler.check_schema(Schema((table,)))


@pytest.mark.parametrize(("column", "expected"), [
    (Column("t", "text", default="'x'"), "('x')"),  # MySQL 8: TEXT, BLOB and JSON defaults only as expressions
    (Column("j", "jsonb", default="'{}'"), "('{}')"),
    (Column("v", "varchar(3)", default="'x'"), "'x'"),
    (Column("b", "boolean", default="FALSE"), "FALSE"),
    (Column("d", "date", default="CURRENT_DATE"), "(CURRENT_DATE)"),
    (Column("s", "timestamp(3)", default="CURRENT_TIMESTAMP()"), "CURRENT_TIMESTAMP(3)"),
    (Column("h", "time", default="CURRENT_TIME()"), "(CURRENT_TIME(6))"),  # CURRENT_TIME alone drops microseconds
])
def test_mysql_writes_each_default_as_both_servers_take_it(column, expected):
    assert get_dialect("mysql").compiler.default_sql(column) == expected


@pytest.mark.parametrize(("dialect", "column_type", "expected"), [
    ("postgres", "timestamptz(3)", "STATEMENT_TIMESTAMP()"),
    ("mysql", "timestamptz(3)", "CURRENT_TIMESTAMP(3)"),  # the statement's moment already, on MySQL and MariaDB
    ("mysql", "date", "CURRENT_TIMESTAMP"),  # as Django writes it; MariaDB keeps the day
    ("sqlite", "timestamp", "(STRFTIME('%Y-%m-%d %H:%M:%f', 'NOW'))"),  # CURRENT_TIMESTAMP keeps whole seconds
])
def test_each_engine_writes_the_statements_moment_as_django_writes_now(dialect, column_type, expected):
    column = Column("at", column_type, default="STATEMENT_TIMESTAMP()")
    assert get_dialect(dialect).compiler.default_sql(column) == expected


def test_postgres_writes_current_time_without_parentheses():
    """sqlglot writes CURRENT_TIME(), a syntax error on PostgreSQL."""
    assert get_dialect("postgres").compiler.default_sql(Column("h", "time", default="CURRENT_TIME()")) == "CURRENT_TIME"


# -- on the engines: the defaults fill rows with what they mean ------------------------------


def test_defaults_fill_a_row_with_what_they_mean(engine_db, defaults_bundles):
    """The first bundle on each engine, then an insert: booleans false/true, numbers, today's date."""
    first = defaults_bundles[0]
    run_script(engine_db, first.script(engine_db.dialect, "up"), "up.sql")
    quote = get_dialect(engine_db.dialect).compiler.quote
    engine_db.execute(f"INSERT INTO {quote('tasks')} ({quote('label')}) VALUES ('L')")
    names = ["title", "done", "starred", "archived", "priority", "budget", "due_on", "created_on", "opens_at"]
    row = engine_db.query(f"SELECT {', '.join(quote(n) for n in names)} FROM {quote('tasks')}")[0]
    today = str(engine_db.query("SELECT CURRENT_DATE")[0][0])
    got = dict(zip(names, row, strict=True))
    assert got["title"] == "x"
    assert [bool(got[n]) for n in ("done", "starred", "archived")] == [False, True, False]
    assert got["priority"] == 5 and float(got["budget"]) == 0.0
    assert str(got["due_on"]) == today and str(got["created_on"]) == today  # not the day the table was made
    assert str(got["opens_at"]).zfill(8)[:8] == "09:30:00"  # PyMySQL reads TIME as a timedelta: 9:30:00
    stamped = engine_db.query(f"SELECT {quote('stamped_at')}, {quote('stamped_on')} FROM {quote('tasks')}")[0]
    assert str(stamped[0])[:10] == today and str(stamped[1])[:10] == today  # the statement's moment, and its day


# -- SQLAlchemy: server_default="false" and friends ------------------------------------------

SQLALCHEMY_MODELS = """
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text, func, text

metadata = MetaData()

Table(
    "tasks", metadata,
    Column("id", Integer, primary_key=True),
    Column("done", Boolean, nullable=False, server_default="false"),
    Column("starred", Boolean, server_default="t"),
    Column("archived", Boolean, nullable=False, server_default=text("0")),
    Column("priority", Integer, nullable=False, server_default="5"),
    Column("budget", Numeric(10, 2), nullable=False, server_default="0.00"),
    Column("due_on", Date, server_default=text("('now'::text)::date")),
    Column("created_on", Date, nullable=False, server_default=func.current_date()),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
    Column("title", Text, server_default="x"),
)
"""

SQLALCHEMY_TWIN = """
CREATE TABLE tasks (
  id serial PRIMARY KEY,
  done boolean NOT NULL DEFAULT FALSE,
  starred boolean DEFAULT TRUE,
  archived boolean NOT NULL DEFAULT FALSE,
  priority integer NOT NULL DEFAULT 5,
  budget numeric(10,2) NOT NULL DEFAULT 0.00,
  due_on date DEFAULT CURRENT_DATE,
  created_on date NOT NULL DEFAULT CURRENT_DATE,
  created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  title text DEFAULT 'x'
);
"""


@pytest.fixture
def sqlalchemy_project(tmp_path: Path) -> Path:
    pytest.importorskip("sqlalchemy")
    before = set(sys.modules)
    (tmp_path / "taskmodels.py").write_text(textwrap.dedent(SQLALCHEMY_MODELS), encoding="utf-8")
    (tmp_path / "reviewkit.toml").write_text('[reviewkit]\nmodels = "sqlalchemy:taskmodels:metadata"\n'
                                             'dialects = ["postgres", "mysql", "sqlite"]\n', encoding="utf-8")
    (tmp_path / "bundles").mkdir()
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_sqlalchemy_server_defaults_equal_their_normalised_ddl_twin(sqlalchemy_project):
    from reviewkit.models.ddl import load_ddl_files

    (sqlalchemy_project / "twin.sql").write_text(SQLALCHEMY_TWIN)
    twin = load_ddl_files([sqlalchemy_project / "twin.sql"], "postgres", sqlalchemy_project)
    assert load_models(load_settings(sqlalchemy_project)) == twin


def test_sqlalchemy_server_defaults_round_trip_on_every_engine(engine_db, sqlalchemy_project):
    generate(load_settings(sqlalchemy_project), GenerateOptions(author="test"))
    bundles = load_bundles(sqlalchemy_project / "bundles")
    assert "DEFAULT 'false'" not in bundles[0].script("mysql", "up")
    walk_bundles(engine_db, bundles, assert_schema)


def test_a_default_put_in_normal_form_keeps_the_rest_of_the_column(tmp_path):
    from reviewkit.models.ddl import load_ddl_files

    (tmp_path / "m.sql").write_text(
        "CREATE TABLE t (id INT PRIMARY KEY,\n"
        "  flag BOOLEAN NOT NULL DEFAULT 1 COMMENT 'is it on',\n"
        "  code VARCHAR(5) BINARY DEFAULT 'x' COMMENT 'kept as written',\n"
        "  ts TIMESTAMP DEFAULT now() ON UPDATE CURRENT_TIMESTAMP COMMENT 'touched');\n")
    table = load_ddl_files([tmp_path / "m.sql"], "mysql", tmp_path).table("t")
    flag = table.column("flag")
    assert (flag.default, flag.nullable, flag.comment) == ("TRUE", False, "is it on")  # 1 became TRUE, the comment stayed
    assert (table.column("code").comment, table.column("code").collation) == ("kept as written", "binary")
    assert (table.column("ts").on_update, table.column("ts").comment) == ("CURRENT_TIMESTAMP", "touched")
