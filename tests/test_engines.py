"""Every generated script runs on the real engines: up, down, up again, schema and rows checked.

For each bundle of a scenario: apply up.sql and compare the live schema (read back by
reviewkit's introspection) with the bundle's schema.json as the engine stores it; then
down.sql must bring back the previous schema, and up.sql again the new one. Rows
inserted before each bundle must still be there after it, in every column the bundle
keeps (SQLite's table rebuild copies them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.db.execute import run_script
from reviewkit.db.introspect import introspect
from reviewkit.dialects import get_dialect
from reviewkit.schema.state import Schema, schema_to_json
from tests.scenario_support import build_scenario, insert_sample_rows, kept_data, read_rows

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def shop_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    return build_scenario("shop", tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def postgres_only_bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Bundle]:
    return build_scenario("pg_features", tmp_path_factory.mktemp("pgf"), dialects=("postgres", "sqlite"))


def assert_schema(conn, expected: Schema, where: str, exact_order: bool = True) -> None:
    stored = get_dialect(conn.dialect).compiler.stored_form(expected)
    live = introspect(conn)
    if not exact_order:  # a rollback re-adds dropped columns at the end
        live, stored = live.ignoring_column_order(), stored.ignoring_column_order()
    # Compared as JSON text so that a failure shows a readable diff.
    assert schema_to_json(live) == schema_to_json(stored), f"{where}: live schema differs from the bundle's schema.json"


def walk_bundles(conn, bundles: list[Bundle]) -> None:
    dialect = conn.dialect
    previous = Schema()
    for seed, bundle in enumerate(bundles, 1):
        if previous.tables:
            insert_sample_rows(conn, previous, seed)
        rows_before = read_rows(conn, previous)
        schema = bundle.schema()

        run_script(conn, bundle.script(dialect, "up"), f"{bundle.id}/{dialect}/up.sql")
        assert_schema(conn, schema, f"{bundle.id} up")
        left, right = kept_data(rows_before, read_rows(conn, schema), previous, schema)
        assert left == right, f"{bundle.id} up lost rows"

        run_script(conn, bundle.script(dialect, "down"), f"{bundle.id}/{dialect}/down.sql")
        assert_schema(conn, previous, f"{bundle.id} down", exact_order=False)
        left, right = kept_data(rows_before, read_rows(conn, previous), previous, schema)
        assert left == right, f"{bundle.id} down lost rows"

        run_script(conn, bundle.script(dialect, "up"), f"{bundle.id}/{dialect}/up.sql")
        assert_schema(conn, schema, f"{bundle.id} up again", exact_order=False)
        previous = schema


def test_shop_scenario_round_trips(engine_db, shop_bundles):
    assert len(shop_bundles) == 5
    walk_bundles(engine_db, shop_bundles)


def test_postgres_features_round_trip_on_postgres(postgres_db, postgres_only_bundles):
    walk_bundles(postgres_db, postgres_only_bundles)


def test_postgres_features_round_trip_on_sqlite(sqlite_db, postgres_only_bundles):
    walk_bundles(sqlite_db, postgres_only_bundles)


def test_demo_project_bundles_round_trip(engine_db):
    bundles = load_bundles(REPO / "bundles")
    assert bundles, "the demo project's bundles are missing"
    walk_bundles(engine_db, bundles)
