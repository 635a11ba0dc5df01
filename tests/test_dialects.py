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
