"""The schema walk: frozen schemas that share their tables along a walk, with the cost of one change per step."""

from __future__ import annotations

import pickle
import tracemalloc
from dataclasses import FrozenInstanceError, fields, replace

import pytest

from reviewkit.dialects.compiler import contexts_for
from reviewkit.schema.operations import AddColumn, CreateTable, DropTable, RenameTable, apply_all, reverse_all
from reviewkit.schema.state import Column, ForeignKey, PrimaryKey, Schema, Table, View


def table(name: str, *columns: str, fk_to: str | None = None) -> Table:
    cols = (Column("id", "bigint", nullable=False), *(Column(c, "integer") for c in columns))
    fks = (ForeignKey(f"{name}_fk", ("id",), fk_to, ("id",)),) if fk_to else ()
    return Table(name, cols, PrimaryKey(f"{name}_pkey", ("id",)), foreign_keys=fks)


def test_a_change_leaves_the_schema_it_came_from_as_it_was() -> None:
    first = Schema((table("b"), table("d")))
    second = first.with_table(table("a"))
    third = second.without_table("d")
    assert [t.name for t in first.tables] == ["b", "d"]
    assert [t.name for t in second.tables] == ["a", "b", "d"]
    assert [t.name for t in third.tables] == ["a", "b"]
    assert second.table("d") is not None and third.table("d") is None and first.table("a") is None


def test_two_changes_of_one_schema_do_not_see_each_other() -> None:
    """A walk that branches: the second change of the same schema starts its own record."""
    base = Schema((table("a"),)).with_table(table("b"))
    left = base.with_table(table("c"))
    right = base.with_table(table("z")).without_table("a")
    assert [t.name for t in left.tables] == ["a", "b", "c"]
    assert [t.name for t in right.tables] == ["b", "z"]
    assert [t.name for t in base.tables] == ["a", "b"]
    assert left.table("z") is None and right.table("c") is None and right.table("a") is None


def test_a_schema_equals_the_same_tables_built_at_once() -> None:
    walked = Schema().with_table(table("b")).with_table(table("a", "x")).with_view(View("v", "SELECT 1 AS one"))
    built = Schema((table("a", "x"), table("b")), (View("v", "SELECT 1 AS one"),))
    assert walked == built and hash(walked) == hash(built)
    assert walked.table_map() == built.table_map()
    assert pickle.loads(pickle.dumps(walked)) == built


def test_a_schema_is_still_a_frozen_dataclass() -> None:
    schema = Schema((table("a"),)).with_table(table("b"))
    assert [f.name for f in fields(schema)] == ["tables", "views"]
    renamed = replace(schema, views=(View("v", "SELECT 1 AS one"),))
    assert [t.name for t in renamed.tables] == ["a", "b"] and renamed.view("v") is not None
    with pytest.raises(FrozenInstanceError):
        schema.views = ()  # type: ignore[misc]


def test_the_contexts_of_a_walk_hold_each_schema_before_and_after() -> None:
    ops = [CreateTable(table("t1")), CreateTable(table("t2", fk_to="t1")), AddColumn("t1", Column("n", "integer")),
           RenameTable("t2", "t3"), DropTable(table("t1", "n"))]
    contexts = contexts_for(ops, Schema())
    assert [sorted(t.name for t in c.after.tables) for c in contexts] == [
        ["t1"], ["t1", "t2"], ["t1", "t2"], ["t1", "t3"], ["t3"]]
    assert contexts[2].before.table("t1").column("n") is None and contexts[2].after.table("t1").column("n") is not None
    assert contexts[3].after.table("t3").foreign_keys[0].ref_table == "t1"
    down = contexts_for(reverse_all(ops), contexts[-1].after)  # the walk back goes on from the last schema
    assert down[-1].after == Schema()
    assert apply_all(Schema(), ops) == contexts[-1].after


def test_a_walk_of_many_tables_costs_a_change_per_step_not_a_copy() -> None:
    """2,000 tables created one by one: a copy of the table list per step held about 70 MB here."""
    ops = [CreateTable(table(f"t{i:05d}")) for i in range(2000)]
    tracemalloc.start()
    try:
        contexts = contexts_for(ops, Schema())
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(contexts[-1].after.tables) == 2000 and contexts[999].after.table("t01000") is None
    assert held < 5_000_000, f"the walk's schemas hold {held / 1e6:.1f} MB"
