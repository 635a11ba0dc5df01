"""The differ and the operations, without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviewkit.diff import DeclaredRenames, diff_schemas
from reviewkit.errors import UsageError
from reviewkit.generate.generator import assess
from reviewkit.lint.risk import overall_level
from reviewkit.models.ddl import load_ddl_files
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    CreateTable,
    DropColumn,
    DropTable,
    RenameColumn,
    RenameTable,
    apply_all,
    reverse_all,
)
from reviewkit.schema.state import Schema
from reviewkit.schema.types import is_widening, parse_type
from tests.scenario_support import scenario_dialect, scenario_steps

SCENARIOS = Path(__file__).parent / "scenarios"


def schema_of(tmp_path: Path, ddl: str) -> Schema:
    path = tmp_path / "m.sql"
    path.write_text(ddl)
    return load_ddl_files([path], "postgres", tmp_path)


class YesQuestioner:
    def __init__(self) -> None:
        self.asked: list[tuple] = []

    def ask_rename_table(self, old: str, new: str) -> bool:
        self.asked.append(("table", old, new))
        return True

    def ask_rename_column(self, table: str, old: str, new: str, type_name: str) -> bool:
        self.asked.append(("column", table, old, new))
        return True


def test_nothing_changed_gives_no_operations(tmp_path):
    s = schema_of(tmp_path, "CREATE TABLE a (id int PRIMARY KEY);")
    assert diff_schemas(s, s) == []


def test_referenced_tables_are_created_first_and_dropped_last(tmp_path):
    s = schema_of(tmp_path, """
        CREATE TABLE z_child (id int PRIMARY KEY, parent_id int REFERENCES a_parent (id));
        CREATE TABLE a_parent (id int PRIMARY KEY, grand_id int REFERENCES m_grand (id));
        CREATE TABLE m_grand (id int PRIMARY KEY);
    """)
    up = diff_schemas(Schema(), s)
    assert [op.table for op in up] == ["m_grand", "a_parent", "z_child"]
    down = diff_schemas(s, Schema())
    assert [op.table for op in down] == ["z_child", "a_parent", "m_grand"]
    assert all(isinstance(op, DropTable) for op in down)


def test_foreign_key_cycle_is_split_into_a_later_constraint(tmp_path):
    s = schema_of(tmp_path, """
        CREATE TABLE a (id int PRIMARY KEY, b_id int);
        CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a (id));
        ALTER TABLE a ADD CONSTRAINT a_b_fk FOREIGN KEY (b_id) REFERENCES b (id);
    """)
    ops = diff_schemas(Schema(), s)
    assert [type(op) for op in ops] == [CreateTable, CreateTable, AddConstraint]
    assert ops[0].table_def.foreign_keys == ()
    assert ops[2].constraint.name == "a_b_fk"
    assert apply_all(Schema(), ops) == s


def test_column_changes(tmp_path):
    old = schema_of(tmp_path, "CREATE TABLE t (id int PRIMARY KEY, a varchar(10), b int, c text);")
    new = schema_of(tmp_path, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20) NOT NULL, c text, d int DEFAULT 3);")
    ops = diff_schemas(old, new)
    assert [type(op) for op in ops] == [DropColumn, AlterColumn, AddColumn]
    assert ops[1].changes() == ["type varchar(10) -> varchar(20)", "NOT NULL"]
    assert ops[2].column.default == "3"


def test_a_drop_and_add_stays_so_without_an_answer(tmp_path):
    old = schema_of(tmp_path, "CREATE TABLE books (id int PRIMARY KEY, in_print boolean);")
    new = schema_of(tmp_path, "CREATE TABLE books (id int PRIMARY KEY, available boolean);")
    ops = diff_schemas(old, new)
    assert [type(op) for op in ops] == [DropColumn, AddColumn]
    assert overall_level(assess(ops, old, ["postgres", "mysql", "sqlite"])) == "high"


def test_declared_column_rename(tmp_path):
    old = schema_of(tmp_path, "CREATE TABLE books (id int PRIMARY KEY, in_print boolean);")
    new = schema_of(tmp_path, "CREATE TABLE books (id int PRIMARY KEY, available boolean);")
    ops = diff_schemas(old, new, DeclaredRenames.parse(["books.in_print=books.available"]))
    assert ops == [RenameColumn("books", "in_print", "available")]
    assert overall_level(assess(ops, old, ["postgres", "mysql", "sqlite"])) == "medium"


def test_questioner_confirms_table_and_column_renames(tmp_path):
    old = schema_of(tmp_path, "CREATE TABLE reviews (id int PRIMARY KEY, body text);")
    new = schema_of(tmp_path, "CREATE TABLE book_reviews (id int PRIMARY KEY, body text);")
    q = YesQuestioner()
    ops = diff_schemas(old, new, questioner=q)
    assert q.asked == [("table", "reviews", "book_reviews")]
    assert ops[0] == RenameTable("reviews", "book_reviews")
    assert apply_all(old, ops) == new


def test_declared_rename_of_unknown_table_is_a_usage_error(tmp_path):
    s = schema_of(tmp_path, "CREATE TABLE a (id int PRIMARY KEY);")
    with pytest.raises(UsageError, match="no table nope"):
        diff_schemas(s, s, DeclaredRenames.parse(["nope=other"]))


@pytest.mark.parametrize("bad", ["x", "a.b=c", "a=", "a.b.c=a.b.d"])
def test_malformed_rename_option(bad):
    with pytest.raises(UsageError):
        DeclaredRenames.parse([bad])


def test_every_scenario_step_reverses_exactly(tmp_path):
    """up then down returns the exact previous state, for every step of every scenario."""
    for scenario in sorted(SCENARIOS.iterdir()):
        previous = Schema()
        for step in scenario_steps(scenario.name):
            current = load_ddl_files(sorted(step.glob("*.sql")), scenario_dialect(scenario.name), step)
            renames = (step / "renames.txt").read_text().split() if (step / "renames.txt").exists() else []
            ops = diff_schemas(previous, current, DeclaredRenames.parse(renames))
            after = apply_all(previous, ops)
            assert after.ignoring_column_order() == current.ignoring_column_order(), f"{scenario.name}/{step.name}"
            restored = apply_all(after, reverse_all(ops))
            assert restored.ignoring_column_order() == previous.ignoring_column_order(), f"{scenario.name}/{step.name}"
            previous = after


@pytest.mark.parametrize(("old", "new", "widening"), [
    ("integer", "bigint", True), ("bigint", "integer", False), ("varchar(10)", "varchar(20)", True),
    ("varchar(20)", "varchar(10)", False), ("varchar(20)", "text", True), ("text", "varchar(200)", False),
    ("numeric(10,2)", "numeric(12,2)", True), ("numeric(10,2)", "numeric(10,3)", False), ("real", "double", True),
    ("timestamp(3)", "timestamp", True), ("timestamp", "timestamp(3)", False), ("integer", "varchar(20)", False),
])
def test_widening(old, new, widening):
    assert is_widening(parse_type(old), parse_type(new)) is widening


@pytest.mark.parametrize(("declared", "portable"), [
    ("float(24)", "real"), ("float(25)", "double"), ("float", "double"), ("real", "real"), ("int4", "integer"),
    ("numeric(8)", "numeric(8,0)"), ("character varying(5)", "varchar(5)"), ("timestamp(3) with time zone", "timestamptz(3)"),
])
def test_model_types_map_to_portable_names(tmp_path, declared, portable):
    s = schema_of(tmp_path, f"CREATE TABLE t (id int PRIMARY KEY, c {declared});")
    assert s.table("t").column("c").type == portable
