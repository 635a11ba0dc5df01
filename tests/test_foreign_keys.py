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
from reviewkit.errors import UnsupportedType
from reviewkit.models.ddl import load_ddl_files
from reviewkit.schema.state import Schema
from tests.scenario_support import build_scenario, walk_bundles
from tests.test_engines import assert_schema

FK_SCENARIOS = ("fk_index_swap", "fk_widen_key", "fk_parent_key_swap", "fk_renames", "fk_shared_index")


@pytest.fixture(scope="module", params=FK_SCENARIOS)
def fk_bundles(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return build_scenario(request.param, tmp_path_factory.mktemp(request.param))


def test_foreign_key_scenario_round_trips(engine_db, fk_bundles):
    walk_bundles(engine_db, fk_bundles, assert_schema)


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
