"""Views without a database: read from model files, kept in the state, diffed, ordered, compiled.

The engines prove the SQL in test_engines (the views scenario, up/down/up on all three);
here the reader's refusals, the canonical query, the operations' order around the table
changes that views depend on, and what each compiler writes or refuses.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.dialects import get_dialect
from reviewkit.diff import DeclaredRenames, diff_schemas
from reviewkit.errors import ModelError, UnsupportedType
from reviewkit.generate.generator import assess
from reviewkit.models.ddl import load_ddl_files
from reviewkit.schema.operations import apply_all, reverse_all
from reviewkit.schema.state import Column, Schema, Table, View, schema_from_json, schema_to_json
from reviewkit.schema.views import names_read, view_columns


def load(tmp_path: Path, text: str, dialect: str = "postgres") -> tuple[Schema, list[str]]:
    path = tmp_path / "models" / "schema.sql"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    warnings: list[str] = []
    return load_ddl_files([path], dialect, tmp_path, False, warnings.append), warnings


def refusal(tmp_path: Path, text: str, dialect: str = "postgres") -> str:
    with pytest.raises(ModelError) as caught:
        load(tmp_path, text, dialect)
    return str(caught.value)


ACTOR = "CREATE TABLE public.actor (actor_id int PRIMARY KEY, first_name text NOT NULL, last_name text);\n"


# -- reading views -------------------------------------------------------------------------


def test_a_view_is_read_with_its_query_in_canonical_form(tmp_path):
    schema, _ = load(tmp_path, ACTOR + """
        CREATE OR REPLACE VIEW public.actor_names (id, full_name) AS
            SELECT a.actor_id, a.first_name || ' ' || a.last_name FROM public.actor a;
        CREATE VIEW "Recent" AS SELECT * FROM actor_names WHERE id > 3 WITH LOCAL CHECK OPTION;
    """)
    names = schema.view("actor_names")
    assert names.query == "SELECT a.actor_id, a.first_name || ' ' || a.last_name FROM actor AS a"
    assert names.columns == ("id", "full_name") and names.reads == {"actor"}
    recent = schema.view("Recent")  # quoted: kept as written, like a table's name
    assert recent.reads == {"actor_names"} and recent.check_option == "local"
    assert view_columns(schema) == {"actor_names": ("id", "full_name"), "Recent": ("id", "full_name")}


def test_views_survive_schema_json(tmp_path):
    schema, _ = load(tmp_path, ACTOR + "CREATE VIEW v AS SELECT actor_id FROM actor WITH CHECK OPTION;")
    text = schema_to_json(schema)
    assert '"views": [\n    {"name": "v", "query": "SELECT actor_id FROM actor", "check_option": "cascaded"}' in text
    assert schema_from_json(text) == schema


def test_a_schema_without_views_serializes_as_before():
    schema = Schema((Table("t", (Column("a", "integer"),)),))
    assert '"views"' not in schema_to_json(schema)
    assert schema_from_json(schema_to_json(schema)).views == ()


def test_mysql_view_options_are_left_out_with_a_warning(tmp_path):
    schema, warnings = load(tmp_path, """
        CREATE TABLE actor (actor_id int PRIMARY KEY, first_name varchar(45) NOT NULL, last_name varchar(45));
        CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `names` AS
            select CONCAT(a.first_name, _utf8' ', a.last_name) AS `Name`, GROUP_CONCAT(a.first_name SEPARATOR ', ') AS firsts
            from sakila.actor a group by a.last_name;
        CREATE DEFINER=CURRENT_USER SQL SECURITY INVOKER VIEW ids AS SELECT actor_id FROM actor WITH CASCADED CHECK OPTION;
    """, "mysql")
    assert schema.view("names").query == (
        "SELECT CONCAT(a.first_name, ' ', a.last_name) AS \"Name\", GROUP_CONCAT(a.first_name, ', ') AS firsts "
        "FROM actor AS a GROUP BY a.last_name")
    assert schema.view("ids").check_option == "cascaded"
    assert warnings == ["left out or read as the engine does, clauses of the models' dialect no other engine has: 2 DEFINER=, 2 SQL SECURITY, 1 ALGORITHM="]


def test_what_a_query_reads_leaves_out_ctes_and_aliases():
    query = "WITH c AS (SELECT a FROM t) SELECT * FROM c JOIN u AS x ON 1 = 1 WHERE EXISTS (SELECT 1 FROM w)"
    assert names_read(query) == {"t", "u", "w"}


# -- what the reader refuses, every problem at once -----------------------------------------


def test_view_mistakes_are_reported_together_with_file_line_and_view(tmp_path):
    message = refusal(tmp_path, ACTOR + """
CREATE VIEW gone AS SELECT nope FROM missing_table;
CREATE VIEW twice AS SELECT actor_id FROM actor;
CREATE VIEW twice AS SELECT first_name FROM actor;
CREATE VIEW counted AS SELECT count(*) FROM actor;
CREATE VIEW typo AS SELECT a.frist_name FROM actor a;
CREATE VIEW doubled AS SELECT actor_id, actor_id FROM actor;
CREATE VIEW listed (a) AS SELECT actor_id, first_name FROM actor;
CREATE TEMP VIEW session_only AS SELECT actor_id FROM actor;
""")
    assert message.splitlines()[0] == "7 problems in the models:"
    for line in (
        "models/schema.sql:3: view gone reads missing_table, which the models do not declare (as a table or a view)",
        "models/schema.sql:5: view twice is already declared at models/schema.sql:4",
        "models/schema.sql:6: view counted: name the column COUNT(*) (AS name) or list the view's columns: "
        "each engine names it its own way",
        "models/schema.sql:7: view typo: its query does not resolve: Unknown column: frist_name",
        "models/schema.sql:8: view doubled returns two columns named actor_id; name them apart (AS ...)",
        "models/schema.sql:9: view listed lists 1 column but its query returns 2",
        "models/schema.sql:10: view session_only is temporary: it lasts one session and is no part of the schema",
    ):
        assert line in message.splitlines(), message


def test_a_view_may_not_take_a_tables_name(tmp_path):
    message = refusal(tmp_path, "CREATE VIEW actor AS SELECT 1 AS one;\n" + ACTOR)
    assert message.startswith("models/schema.sql:1: view actor has the name of a table; tables and views share one "
                              "namespace"), message


def test_views_reading_each_other_in_a_circle_are_refused(tmp_path):
    message = refusal(tmp_path, "CREATE VIEW a AS SELECT x FROM b;\nCREATE VIEW b AS SELECT x FROM a;\n")
    assert "models/schema.sql:1: views a -> b -> a read each other in a circle" in message


def test_a_view_over_a_broken_table_reports_only_the_table(tmp_path):
    message = refusal(tmp_path, "CREATE TABLE t (a no_such_type);\nCREATE VIEW v AS SELECT a FROM t;\n")
    assert "view v" not in message and "no_such_type" in message


@pytest.mark.parametrize(("dialect", "query", "part"), [
    # Their neutral form reads back as something else: MySQL's LENGTH counts bytes, and
    # GROUP_CONCAT's ORDER BY swallows the SEPARATOR.
    ("mysql", "SELECT SUBSTR(first_name, 1, LENGTH(first_name)) AS f FROM actor", "LENGTH(first_name)"),
    ("mysql", "SELECT GROUP_CONCAT(first_name ORDER BY first_name SEPARATOR '; ') AS f FROM actor",
     "GROUP_CONCAT(first_name ORDER BY first_name SEPARATOR '; ')"),
    ("postgres", "SELECT string_agg(first_name, ', ' ORDER BY first_name) AS f FROM actor",
     "STRING_AGG(first_name, ', ' ORDER BY first_name)"),
])
def test_a_query_sqlglot_cannot_keep_is_refused_naming_the_part(tmp_path, dialect, query, part):
    message = refusal(tmp_path, f"CREATE TABLE actor (first_name varchar(40));\nCREATE VIEW v AS {query};", dialect)
    assert f"models/schema.sql:2: view v: sqlglot's neutral form cannot hold {part} without changing it" in message


def test_recursive_and_materialized_views_are_not_modelled(tmp_path):
    message = refusal(tmp_path, "CREATE MATERIALIZED VIEW m AS SELECT 1 AS x;\nCREATE RECURSIVE VIEW r (n) AS SELECT 1;\n")
    assert "models/schema.sql:1: CREATE MATERIALIZED VIEW is not part of the schema reviewkit models" in message
    assert "models/schema.sql:2: CREATE RECURSIVE VIEW is not part of the schema reviewkit models" in message


def test_a_view_of_a_view_gets_the_columns_of_the_view_it_reads():
    schema = Schema(
        (Table("t", (Column("a", "integer"), Column("Name", "text"))), Table("u", (Column("a", "integer"),))),
        (View("v1", "SELECT * FROM t"), View("v2", "SELECT v1.*, u.a AS ua FROM v1 JOIN u ON v1.a = u.a")),
    )
    assert view_columns(schema) == {"v1": ("a", "Name"), "v2": ("a", "Name", "ua")}


# -- the differ: views dropped before the table changes they depend on, created after ------------

BASE = """
CREATE TABLE customers (id int PRIMARY KEY, name varchar(40) NOT NULL, city text);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, amount numeric(10,2));
CREATE VIEW names AS SELECT id, name FROM customers;
CREATE VIEW totals AS SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id;
CREATE VIEW report AS SELECT n.name, t.total FROM names n JOIN totals t ON t.customer_id = n.id;
"""


def steps(operations) -> list[tuple[str, str]]:
    return [(op.kind, op.table) for op in operations]


def test_a_new_view_is_created_after_the_tables_and_views_it_reads(tmp_path):
    new, _ = load(tmp_path, BASE)
    ops = diff_schemas(Schema(), new)
    kinds = steps(ops)
    assert kinds[-3:] == [("create_view", "names"), ("create_view", "totals"), ("create_view", "report")]
    assert all(kind == "create_table" for kind, _ in kinds[:-3])


def test_a_view_over_a_changed_table_is_dropped_before_and_created_after_with_its_readers(tmp_path):
    old, _ = load(tmp_path, BASE)
    new, _ = load(tmp_path, BASE.replace("name varchar(40)", "name varchar(80)"))
    ops = diff_schemas(old, new)
    # totals reads orders, which does not change: it stays. report reads names: it goes and comes back.
    assert steps(ops) == [
        ("drop_view", "report"), ("drop_view", "names"),
        ("alter_column", "customers"),
        ("create_view", "names"), ("create_view", "report"),
    ]
    down = reverse_all(ops)  # the old views come back after the old column
    assert steps(down) == [
        ("drop_view", "report"), ("drop_view", "names"),
        ("alter_column", "customers"),
        ("create_view", "names"), ("create_view", "report"),
    ]
    assert apply_all(apply_all(old, ops), down) == old


def test_renames_and_drops_of_tables_take_their_views_down_first(tmp_path):
    old, _ = load(tmp_path, BASE)
    new, _ = load(tmp_path, BASE.replace("orders", "purchases").replace(
        "CREATE VIEW names AS SELECT id, name FROM customers;", ""
    ).replace("FROM names n JOIN", "FROM customers n JOIN"))
    ops = diff_schemas(old, new, DeclaredRenames.parse(["orders=purchases"]))
    assert steps(ops)[:3] == [("drop_view", "report"), ("drop_view", "totals"), ("drop_view", "names")]
    assert ("rename_table", "orders") in steps(ops)
    assert steps(ops)[-2:] == [("create_view", "totals"), ("create_view", "report")]
    assert apply_all(old, ops).ignoring_column_order() == new.ignoring_column_order()


def test_indexes_and_comments_leave_views_alone(tmp_path):
    old, _ = load(tmp_path, BASE)
    new, _ = load(tmp_path, BASE + "CREATE INDEX ON customers (city);\nCOMMENT ON TABLE orders IS 'x';\n")
    assert sorted(steps(diff_schemas(old, new))) == [("add_index", "customers"), ("alter_table_comment", "orders")]


def test_a_changed_query_is_a_drop_and_a_create(tmp_path):
    old, _ = load(tmp_path, BASE)
    new, _ = load(tmp_path, BASE.replace("SELECT id, name FROM customers", "SELECT id, name, city FROM customers"))
    ops = diff_schemas(old, new)
    assert steps(ops) == [("drop_view", "report"), ("drop_view", "names"), ("create_view", "names"), ("create_view", "report")]


def test_dropping_a_view_is_a_finding_but_dropping_it_to_create_it_again_is_not(tmp_path):
    old, _ = load(tmp_path, BASE)
    new, _ = load(tmp_path, BASE.replace("name varchar(40)", "name varchar(80)").replace(
        "CREATE VIEW report AS SELECT n.name, t.total FROM names n JOIN totals t ON t.customer_id = n.id;", ""))
    found = assess(diff_schemas(old, new), old, ["postgres", "mysql", "sqlite"])
    findings = [(f.finding.rule, f.message) for f in found]
    assert ("drop-view", "drops view report: code that reads it breaks") in findings
    assert {f.dialect for f in found if f.finding.rule == "drop-view"} == {"postgres", "mysql", "sqlite"}
    assert not any("names" in message for code, message in findings if code == "drop-view")


# -- each engine: the SQL it is given, and what it refuses at generate --------------------------


def compiled_views(schema: Schema, dialect: str) -> list[str]:
    compiler = get_dialect(dialect).compiler
    compiler.check_schema(schema)
    return [compiler.view_sql(view) for view in schema.views]


def test_string_agg_and_concatenation_are_written_for_each_engine(tmp_path):
    schema, _ = load(tmp_path, """
        CREATE TABLE actor (id int PRIMARY KEY, first_name text, last_name text);
        CREATE VIEW names AS SELECT string_agg(first_name || ' ' || last_name, ', ') AS everyone FROM actor;
    """)
    assert compiled_views(schema, "postgres") == [
        'CREATE VIEW "names" AS\nSELECT\n  STRING_AGG("first_name" || \' \' || "last_name", \', \') AS "everyone"\nFROM "actor"']
    assert compiled_views(schema, "mysql") == [
        "CREATE VIEW `names` AS\nSELECT\n  GROUP_CONCAT(CONCAT(`first_name`, ' ', `last_name`) SEPARATOR ', ') AS `everyone`"
        "\nFROM `actor`"]
    assert compiled_views(schema, "sqlite") == [
        'CREATE VIEW "names" AS\nSELECT\n  GROUP_CONCAT("first_name" || \' \' || "last_name", \', \') AS "everyone"'
        '\nFROM "actor"']


@pytest.mark.parametrize(("query", "dialect", "reason"), [
    # sqlglot says it cannot write these for MySQL...
    ("SELECT id FROM t WHERE b = ANY (ARRAY[1, 2])", "mysql", "Arrays are not supported by MySQL"),
    ("SELECT d AT TIME ZONE 'utc' AS u FROM t", "mysql", "AT TIME ZONE is not supported by MySQL"),
    # ...and writes these for SQLite, which refuses them when the view first runs.
    ("SELECT id FROM t WHERE b = ANY (ARRAY[1, 2])", "sqlite", "no such function: ARRAY"),
    ("SELECT date_trunc('month', d) AS m FROM t", "sqlite", "no such column: MONTH"),
    ("SELECT name ~ '^a' AS m FROM t", "sqlite", "no such function: REGEXP"),
])
def test_a_view_an_engine_cannot_run_is_refused_at_generate_naming_view_and_engine(tmp_path, query, dialect, reason):
    schema, _ = load(tmp_path, f"CREATE TABLE t (id int PRIMARY KEY, b int, d timestamp, name text);\nCREATE VIEW v AS {query};")
    compiled_views(schema, "postgres")  # PostgreSQL, the models' own dialect, takes each of them
    compiler = get_dialect(dialect).compiler
    with pytest.raises(UnsupportedType) as caught:
        compiler.check_schema(schema)
    assert str(caught.value).startswith(f"view v: {compiler.title} cannot run its query as sqlglot writes it: ")
    assert reason in str(caught.value)


def test_sqlite_leaves_the_check_option_out_and_says_so(tmp_path):
    schema, _ = load(tmp_path, "CREATE TABLE t (id int PRIMARY KEY);\nCREATE VIEW v AS SELECT id FROM t WITH LOCAL CHECK OPTION;")
    assert compiled_views(schema, "postgres")[0].endswith("\nWITH LOCAL CHECK OPTION")
    assert compiled_views(schema, "mysql")[0].endswith("\nWITH LOCAL CHECK OPTION")
    sqlite = get_dialect("sqlite").compiler
    assert "CHECK OPTION" not in compiled_views(schema, "sqlite")[0]
    assert ("WITH CHECK OPTION is left out of view v: SQLite's views are read-only, nothing is written through them "
            "to check.") in sqlite.notes(schema)
    assert sqlite.stored_form(schema).views == (View("v", "", ("id",)),)
    assert get_dialect("postgres").compiler.stored_form(schema).views == (View("v", "", ("id",), "local"),)
