"""Every generated script runs on the real engines: up, down, up again, schema and rows checked.

For each bundle of a scenario: apply up.sql and compare the live schema (read back by
reviewkit's introspection) with the bundle's schema.json as the engine stores it; then
down.sql must bring back the previous schema, and up.sql again the new one. Rows
inserted before each bundle must still be there after it, in every column the bundle
keeps (SQLite's table rebuild copies them). The walk itself is in scenario_support:
test_oracle walks the same histories with a second reader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.bundle.store import load_bundles
from reviewkit.db.introspect import introspect
from reviewkit.dialects import get_dialect
from reviewkit.errors import OperationFailed
from reviewkit.schema.state import Schema, schema_to_json
from tests.scenario_support import run_script, walk_bundles

REPO = Path(__file__).resolve().parent.parent


def assert_schema(conn, expected: Schema, where: str, exact_order: bool = True) -> None:
    stored = get_dialect(conn.dialect).compiler.stored_form(expected)
    live = introspect(conn)
    if not exact_order:  # a rollback re-adds dropped columns at the end
        live, stored = live.ignoring_column_order(), stored.ignoring_column_order()
    # Compared as JSON text so that a failure shows a readable diff.
    assert schema_to_json(live) == schema_to_json(stored), f"{where}: live schema differs from the bundle's schema.json"
    for view in expected.views:  # created is not enough: SQLite checks a view's functions only when it runs
        conn.query(f"SELECT * FROM {get_dialect(conn.dialect).compiler.quote(view.name)}")


def test_shop_scenario_round_trips(engine_db, shop_bundles):
    assert len(shop_bundles) == 5
    walk_bundles(engine_db, shop_bundles, assert_schema)


def test_defaults_scenario_round_trips(engine_db, defaults_bundles):
    """'false', 't', 0, '5', '0.00', ('now'::text)::date, now()... mean the same on every engine."""
    assert len(defaults_bundles) == 2
    walk_bundles(engine_db, defaults_bundles, assert_schema)


def test_postgres_features_round_trip_on_postgres(postgres_db, postgres_only_bundles):
    walk_bundles(postgres_db, postgres_only_bundles, assert_schema)


def test_postgres_features_round_trip_on_sqlite(sqlite_db, postgres_only_bundles):
    walk_bundles(sqlite_db, postgres_only_bundles, assert_schema)


def test_demo_project_bundles_round_trip(engine_db):
    bundles = load_bundles(REPO / "bundles")
    assert bundles, "the demo project's bundles are missing"
    walk_bundles(engine_db, bundles, assert_schema)


def test_postgres_objects_round_trip(engine_db, pg_objects_bundles):
    walk_bundles(engine_db, pg_objects_bundles, assert_schema)


def test_mysql_types_round_trip(engine_db, mysql_types_bundles):
    walk_bundles(engine_db, mysql_types_bundles, assert_schema)


def test_views_round_trip(engine_db, views_bundles):
    """Each view is read back by its name, its columns and check option, around every change of its tables."""
    assert len(views_bundles) == 3
    walk_bundles(engine_db, views_bundles, assert_schema)
    conn = engine_db  # `||` and string_agg, as each engine was given them
    conn.execute("INSERT INTO customers (id, first_name, surname) VALUES (%s, %s, %s)", [101, "Grace", "Hopper"])
    for number, status in ((101, "paid"), (102, "new")):
        conn.execute("INSERT INTO purchases (id, customer_id, status, amount) VALUES (%s, %s, %s, %s)",
                     [number, 101, status, "60.50"])
    assert conn.query("SELECT full_name FROM customer_names WHERE id = 101") == [("Grace Hopper",)]
    (orders, total, statuses), = conn.query("SELECT orders, total, statuses FROM order_totals WHERE customer_id = 101")
    assert (orders, float(total), sorted(statuses.split(", "))) == (2, 121.0, ["new", "paid"])


def test_mysql_views_give_the_same_rows_on_every_engine(engine_db, mysql_views_bundles):
    """CONCAT, IF, IFNULL and GROUP_CONCAT ... SEPARATOR, written by sqlglot for each engine, mean the same there."""
    walk_bundles(engine_db, mysql_views_bundles, assert_schema)
    conn = engine_db  # the walk left sample rows: these are told apart by their numbers
    insert_actor = "INSERT INTO actor (actor_id, first_name, last_name, active, nickname) VALUES (%s, %s, %s, %s, %s)"
    conn.execute(insert_actor, [101, "Ada", "Lovelace", True, None])
    conn.execute(insert_actor, [102, "Alan", "Turing", False, "Al"])
    conn.execute("INSERT INTO film (film_id, title) VALUES (%s, %s)", [101, "Notes"])
    for actor in (101, 102):
        conn.execute("INSERT INTO film_actor (actor_id, film_id) VALUES (%s, %s)", [actor, 101])
    rows = conn.query("SELECT id, name, notes, called FROM actor_list WHERE id > 100 ORDER BY id")
    assert [tuple(r) for r in rows] == [(101, "Ada Lovelace", "active", "Ada"), (102, "Alan Turing", "", "Al")]
    (title, actors, n), = conn.query("SELECT title, actors, n FROM film_actors WHERE film_id = 101")
    assert (title, sorted(actors.split(", ")), n) == ("Notes", ["Ada Lovelace", "Alan Turing"], 2)


def test_identity_always_refuses_a_given_value_on_postgres_only(engine_db, pg_objects_bundles):
    """The scenario's badge.id is GENERATED ALWAYS AS IDENTITY: PostgreSQL refuses a value an INSERT gives it
    (unless it says OVERRIDING SYSTEM VALUE), as declared; MySQL's and SQLite's auto-increment take one, as
    REVIEW.md notes for them. Either way the engine numbers a row that gives none."""
    first = pg_objects_bundles[0]
    run_script(engine_db, first.script(engine_db.dialect, "up"), f"{first.id}/{engine_db.dialect}/up.sql", first.online)
    engine_db.execute("INSERT INTO badge (label) VALUES ('numbered')")
    given = "INSERT INTO badge (id, label) VALUES (7, 'given')"
    if engine_db.dialect == "postgres":
        with pytest.raises(OperationFailed, match="cannot insert a non-DEFAULT value into column"):
            engine_db.execute(given)
        engine_db.execute(given.replace(" VALUES", " OVERRIDING SYSTEM VALUE VALUES"))
    else:
        engine_db.execute(given)
        assert "GENERATED ALWAYS AS IDENTITY (badge.id)" in (first.path / "REVIEW.md").read_text()
    assert engine_db.query("SELECT id, label FROM badge ORDER BY id") == [(1, "numbered"), (7, "given")]
