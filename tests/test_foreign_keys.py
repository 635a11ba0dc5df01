"""Foreign keys through index, key and type changes, on every engine.

MySQL/MariaDB refuse to drop the last index a foreign key uses and to change the type of
a column a foreign key uses; PostgreSQL refuses to drop the key a foreign key was checked
against, and type changes that leave the two ends incomparable. Each scenario makes such
changes on one or both ends of foreign keys and walks the bundles up, down and up again
on the real engines. What an engine refuses in a model is refused at generate.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.dialects import get_dialect
from reviewkit.dialects.mysql.innodb import has_index_on
from reviewkit.errors import UnsupportedType
from reviewkit.models.ddl import load_ddl_files
from reviewkit.schema.state import Schema
from tests.scenario_support import build_scenario, walk_bundles
from tests.test_engines import assert_schema


def assert_schema_and_innodb_indexes(conn, expected: Schema, where: str, exact_order: bool = True) -> None:
    """Compare the live schema, and on MySQL find no index InnoDB built for a foreign key a declared index serves.

    The reader hides the index InnoDB builds for a foreign key (it is named after it);
    one left behind once a declared index serves the key would go unseen otherwise.
    """
    assert_schema(conn, expected, where, exact_order)
    if conn.dialect != "mysql":
        return
    named = set(conn.query("SELECT TABLE_NAME, INDEX_NAME FROM information_schema.STATISTICS "
                           "WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1"))
    redundant = [f"{t.name}.{fk.name}" for t in expected.tables for fk in t.foreign_keys
                 if (t.name, fk.name) in named and has_index_on(t, fk.columns)]
    assert redundant == [], f"{where}: InnoDB's own index left beside a declared one for {redundant}"


FK_SCENARIOS = ("fk_index_swap", "fk_widen_key", "fk_parent_key_swap", "fk_renames", "fk_shared_index")


@pytest.fixture(scope="module", params=FK_SCENARIOS)
def fk_bundles(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return build_scenario(request.param, tmp_path_factory.mktemp(request.param))


def test_foreign_key_scenario_round_trips(engine_db, fk_bundles):
    walk_bundles(engine_db, fk_bundles, assert_schema_and_innodb_indexes)


# -- what an engine refuses is refused at generate, naming the foreign key and the engine ---

PARENT = "CREATE TABLE p (id integer PRIMARY KEY, code varchar(10) UNIQUE, amount numeric(10,2) UNIQUE, a integer, b integer, UNIQUE (a, b));\n"


def schema_of(tmp_path: Path, ddl: str) -> Schema:
    path = tmp_path / "m.sql"
    path.write_text(ddl)
    return load_ddl_files([path], "postgres", tmp_path)


REFUSED = [
    ("CREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL REFERENCES p (id) ON DELETE SET NULL);", {"mysql"},
     "foreign key c_p_id_fkey on c: MySQL/MariaDB refuses ON DELETE SET NULL on the NOT NULL column p_id"),
    ("CREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL REFERENCES p (id) ON UPDATE SET NULL);", {"mysql"},
     "MySQL/MariaDB refuses ON UPDATE SET NULL on the NOT NULL column p_id"),
    ("CREATE TABLE c (id integer PRIMARY KEY, p_id integer DEFAULT 1 REFERENCES p (id) ON DELETE SET DEFAULT);", {"mysql"},
     "foreign key c_p_id_fkey on c: MySQL/MariaDB has no ON DELETE SET DEFAULT"),
    ("CREATE TABLE c (id integer PRIMARY KEY, p_id bigint REFERENCES p (id));", {"mysql"},
     "MySQL/MariaDB refuses a foreign key from p_id (bigint) to p.id (integer)"),
    ("CREATE TABLE c (id integer PRIMARY KEY, amount numeric(12,2) REFERENCES p (amount));", {"mysql"},
     "from amount (numeric(12,2)) to p.amount (numeric(10,2))"),
    ("CREATE TABLE c (id integer PRIMARY KEY, code text REFERENCES p (code));", {"mysql"},
     "MySQL/MariaDB cannot use the text column c.code in a foreign key: its index would need a prefix length"),
    ("CREATE TABLE c (id integer PRIMARY KEY, x integer, y integer, FOREIGN KEY (x, y) REFERENCES p (b, a));", {"mysql"},
     "foreign key c_x_y_fkey on c: MySQL/MariaDB needs a key on p that starts with (b, a), in this order"),
    ("CREATE TABLE c (id integer PRIMARY KEY, code numeric(10,0) REFERENCES p (id));", {"mysql", "postgres"},
     "foreign key c_code_fkey on c:"),
    ("CREATE TABLE c (id integer PRIMARY KEY, a_ref integer REFERENCES p (a));", {"mysql", "postgres", "sqlite"},
     "foreign key c_a_ref_fkey on c: p has no primary key or unique constraint on exactly (a), which"),
]


@pytest.mark.parametrize(("ddl", "refusing", "message"), REFUSED)
@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_engine_rules_on_foreign_keys_are_checked_at_generate(tmp_path, dialect, ddl, refusing, message):
    schema = schema_of(tmp_path, PARENT + ddl)
    compiler = get_dialect(dialect).compiler
    if dialect not in refusing:
        compiler.check_schema(schema)
        return
    with pytest.raises(UnsupportedType) as refused:
        compiler.check_schema(schema)
    assert message in str(refused.value) and compiler.title in str(refused.value)


def test_postgres_names_the_columns_it_cannot_compare(tmp_path):
    schema = schema_of(tmp_path, PARENT + "CREATE TABLE c (id integer PRIMARY KEY, p_id numeric(10,0) REFERENCES p (id));")
    with pytest.raises(UnsupportedType, match=r"PostgreSQL cannot compare p_id \(numeric\(10,0\)\) with p.id \(integer\)"):
        get_dialect("postgres").compiler.check_schema(schema)


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE c (id integer PRIMARY KEY, code varchar(20) REFERENCES p (code) ON DELETE SET NULL);",  # lengths may differ
    "CREATE TABLE c (id integer PRIMARY KEY, x integer, y integer, FOREIGN KEY (x, y) REFERENCES p (a, b));",
    "CREATE TABLE c (id integer PRIMARY KEY, up integer REFERENCES c (id) ON DELETE CASCADE);",
])
def test_portable_foreign_keys_pass_every_engine(tmp_path, ddl):
    schema = schema_of(tmp_path, PARENT + ddl)
    for dialect in ("postgres", "mysql", "sqlite"):
        get_dialect(dialect).compiler.check_schema(schema)


# -- the shape of the plan, read in the scripts ----------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Scenario bundles by name, built on first use."""
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = build_scenario(name, tmp_path_factory.mktemp(name))
        return cache[name]
    return get


def statements(bundle, dialect: str, direction: str) -> list[str]:
    return [line for line in bundle.script(dialect, direction).splitlines() if line and not line.startswith("--")]


def test_mysql_builds_the_replacement_index_before_dropping_the_old_one(built):
    swap = built("fk_index_swap")[1]
    for direction, first, second in (("up", "books_author_title_idx", "books_author_idx"),
                                     ("down", "books_author_idx", "books_author_title_idx")):
        sql = statements(swap, "mysql", direction)
        assert [s.split("`")[1] for s in sql] == [first, second], sql  # CREATE INDEX first, then DROP INDEX
        assert sql[0].startswith("CREATE INDEX") and not any("FOREIGN KEY" in s for s in sql)
    assert "runs at operation 1" in swap.script("mysql", "up")


def test_a_foreign_key_is_dropped_once_around_a_type_change_of_both_ends(built):
    widen = built("fk_widen_key")[1]
    for direction in ("up", "down"):
        sql = statements(widen, "mysql", direction)
        kinds = [("drop fk" if "DROP FOREIGN KEY" in s else "add fk" if "ADD CONSTRAINT" in s
                  else "modify" if "MODIFY" in s else "drop implicit index") for s in sql]
        assert kinds == ["drop fk", "drop implicit index", "modify", "modify", "add fk"], sql


def test_postgres_keeps_its_foreign_keys_where_it_needs_no_help(built):
    """Index swaps and widening within the integers need nothing on PostgreSQL (SQLite's compiler is untouched)."""
    for name, step in (("fk_index_swap", 1), ("fk_widen_key", 1)):
        for direction in ("up", "down"):
            sql = statements(built(name)[step], "postgres", direction)
            assert not any("FOREIGN KEY" in s or "_fkey" in s for s in sql), sql


def test_a_foreign_key_added_back_is_a_risk_finding_for_that_engine(built):
    drop_only_index = built("fk_index_swap")[4]
    findings = drop_only_index.manifest["risk"]["findings"]
    assert drop_only_index.manifest["risk"]["level"] == "medium"
    assert [(f["dialect"], f["code"]) for f in findings] == [
        ("postgres", "pg-drop-index-without-concurrently"), ("mysql", "mysql-add-foreign-key")]
    # The finding is on the statement that adds the key back, after the index it needed is dropped.
    up = drop_only_index.script("mysql", "up").splitlines()
    line = findings[1]["line"]
    assert up[line - 1].startswith("ALTER TABLE `books` ADD CONSTRAINT `books_author_id_fkey` FOREIGN KEY")
    assert up[line - 2].startswith("-- RISK medium mysql-add-foreign-key: adding a foreign key to books copies the table")
