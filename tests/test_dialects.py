"""Dialect compilation details that need no database."""

from __future__ import annotations

import pytest
from sqlglot import exp

from reviewkit.dialects import dialect_names, get_dialect
from reviewkit.errors import UnsupportedType


@pytest.mark.parametrize("dialect", dialect_names())
@pytest.mark.parametrize("name", ["plain", "Mixed Case", 'dq"uote', "back`tick", "order", "naïve"])
def test_quoting_matches_sqlglot(dialect, name):
    assert get_dialect(dialect).quote(name) == exp.to_identifier(name, quoted=True).sql(dialect=dialect)
    assert get_dialect(dialect).compiler.quote(name) == get_dialect(dialect).quote(name)


@pytest.mark.parametrize(("dialect", "portable", "native"), [
    ("postgres", "timestamptz(3)", "TIMESTAMP(3) WITH TIME ZONE"),
    ("postgres", "blob", "BYTEA"),
    ("mysql", "timestamp", "DATETIME(6)"),
    ("mysql", "uuid", "CHAR(36)"),
    ("mysql", "text", "LONGTEXT"),
    ("sqlite", "numeric(10,2)", "NUMERIC(10, 2)"),
    ("sqlite", "jsonb", "JSONB"),
])
def test_type_spelling(dialect, portable, native):
    assert get_dialect(dialect).compiler.type_sql(portable, "column t.c") == native


@pytest.mark.parametrize(("dialect", "portable"), [("mysql", "timetz"), ("mysql", "varchar"), ("mysql", "numeric")])
def test_types_an_engine_cannot_hold_are_refused(dialect, portable):
    with pytest.raises(UnsupportedType, match="column t.c: type .* has no faithful mapping in MySQL/MariaDB"):
        get_dialect(dialect).compiler.type_sql(portable, "column t.c")


def test_sqlite_rebuilds_a_table_once_per_run_of_changes(tmp_path):
    """Shop step 2 changes products three times (type, new column, check): one row copy, not two."""
    from tests.scenario_support import build_scenario

    script = build_scenario("shop", tmp_path, dialects=("sqlite",))[1].script("sqlite", "up")
    assert script.count('CREATE TABLE "_reviewkit_new_products"') == 1
    assert script.count('CREATE TABLE "_reviewkit_new_customers"') == 1
    assert "-- (done by the rebuild of products at operation 7)" in script
    assert script.count("-- RISK medium sqlite-table-rebuild: products is rebuilt") == 1


# -- the django flavor: each engine declares what Django's backend declares there ----------

# Django 5.2's `data_types` (and `data_type_check_constraints`) of PostgreSQL, MySQL (MariaDB
# 10.7+) and SQLite, in each compiler's spelling.
DJANGO_DECLARES = {
    "timestamptz@django": ("TIMESTAMP WITH TIME ZONE", "DATETIME(6)", "DATETIME"),
    "double@django": ("DOUBLE PRECISION", "DOUBLE", "REAL"),
    "numeric(8,2)@django": ("NUMERIC(8, 2)", "DECIMAL(8, 2)", "DECIMAL"),
    "jsonb@django": ("JSONB", "JSON", "TEXT"),
    "uuid@django": ("UUID", "UUID", "CHAR(32)"),
    "usmallint@django": ("SMALLINT", "SMALLINT UNSIGNED", "SMALLINT UNSIGNED"),
    "uinteger@django": ("INTEGER", "INT UNSIGNED", "INTEGER UNSIGNED"),
    "ubigint@django": ("BIGINT", "BIGINT UNSIGNED", "BIGINT UNSIGNED"),
    "integer@django": ("INTEGER", "INT UNSIGNED", "INTEGER"),  # a key to a PositiveIntegerField
}


@pytest.mark.parametrize("portable", sorted(DJANGO_DECLARES))
def test_django_flavor_is_spelled_as_django_declares_it(portable):
    spelled = tuple(get_dialect(d).compiler.type_sql(portable, "column t.c") for d in ("postgres", "mysql", "sqlite"))
    assert spelled == DJANGO_DECLARES[portable]


def test_a_uuid_in_mysql_models_is_mariadbs_own_type_and_every_other_engines_uuid(tmp_path):
    from reviewkit.models.ddl import load_ddl_files
    from reviewkit.schema.state import Column

    def read(dialect: str) -> str:
        (tmp_path / f"{dialect}.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY, c UUID NOT NULL);\n")
        return load_ddl_files([tmp_path / f"{dialect}.sql"], dialect, tmp_path).table("t").column("c").type

    assert read("mysql") == "uuid@native" and read("postgres") == "uuid"  # PostgreSQL's uuid: the portable one
    spelled = tuple(get_dialect(d).compiler.type_sql("uuid@native", "column t.c") for d in ("postgres", "mysql", "sqlite"))
    assert spelled == ("UUID", "UUID", get_dialect("sqlite").compiler.type_sql("uuid", "column t.c"))
    stored = {d: get_dialect(d).compiler.stored_column(Column("c", "uuid@native")).type
              for d in ("postgres", "mysql", "sqlite")}
    assert stored["mysql"] == "uuid" and stored["postgres"] == get_dialect("postgres").compiler.stored_column(
        Column("c", "uuid")).type


def test_a_flavor_reads_back_as_the_engine_stores_its_declaration():
    from reviewkit.schema.state import Column

    stored = {d: get_dialect(d).compiler.stored_column(Column("c", "timestamptz@django")).type
              for d in ("postgres", "mysql", "sqlite")}
    assert stored == {"postgres": "timestamptz", "mysql": "timestamp(6)", "sqlite": "timestamp"}


def test_flavors_parse_only_where_they_are_defined():
    from reviewkit.schema.types import parse_type

    assert str(parse_type("numeric(8,2)@django")) == "numeric(8,2)@django"
    assert parse_type("numeric(8,2)@django").plain == parse_type("numeric(8,2)")
    assert parse_type("enum e('a@django')").values == ("a@django",)  # a value is no flavor
    for text in ("text@django", "integer@hibernate", "integer[]@django"):
        with pytest.raises(UnsupportedType, match="unknown portable type"):
            parse_type(text)


def test_positive_fields_check_is_named_as_each_engine_names_djangos():
    from reviewkit.schema.state import Check, Column, Table

    table = Table("library_loans", (Column("times_renewed", "usmallint@django", False), Column("prefs", "jsonb@django")))
    checks = {d: get_dialect(d).compiler.implied_checks(table) for d in ("postgres", "mysql", "sqlite")}
    assert checks == {
        "postgres": [Check("library_loans_times_renewed_check", "times_renewed >= 0")],
        "mysql": [Check("times_renewed", "times_renewed >= 0")],
        "sqlite": [Check("library_loans_times_renewed_check", "times_renewed >= 0"),
                   Check("library_loans_prefs_check", "JSON_VALID(prefs) OR prefs IS NULL")],
    }
    # Declared with the column, unnamed, where the engine names it (MySQL, SQLite); PostgreSQL's name written out.
    assert get_dialect("mysql").compiler.column_sql(table, table.columns[0]).endswith("NOT NULL CHECK (`times_renewed` >= 0)")
    assert 'CONSTRAINT "library_loans_times_renewed_check" CHECK' in get_dialect("postgres").compiler.create_table_sql(table)


def test_a_columns_unique_key_is_named_as_mysql_names_it():
    from reviewkit.dialects.mysql.django import key_name
    from reviewkit.schema.state import Column, Index, IndexPart, Table, Unique

    taken = Index("code", (IndexPart("label"),))  # an index that already has the column's name
    code, label = Unique("t_code_key", ("code",), "django"), Unique("t_label_key", ("label",), "django")
    table = Table("t", (Column("code", "varchar(5)"), Column("label", "varchar(5)")), uniques=(code, label),
                  indexes=(taken,))
    assert (key_name(table, code), key_name(table, label)) == ("code_2", "label")
    assert key_name(table, Unique("t_x_key", ("code",))) == "t_x_key"  # named in the models: kept


def test_flavors_survive_schema_json():
    from reviewkit.schema.state import (
        Column,
        ForeignKey,
        Index,
        IndexPart,
        Schema,
        Table,
        Unique,
        schema_from_json,
        schema_to_json,
    )

    table = Table("t", (Column("id", "bigint", False), Column("p", "bigint")), uniques=(Unique("u", ("p",), "django"),),
                  foreign_keys=(ForeignKey("f", ("p",), "t", ("id",), flavor="django"),),
                  indexes=(Index("i", (IndexPart("p"),), flavor="django_fk"),))
    schema = Schema((table,))
    assert schema_from_json(schema_to_json(schema)) == schema
    assert '"flavor"' not in schema_to_json(Schema((Table("t", (Column("id", "bigint"),)),)))
