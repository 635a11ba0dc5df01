"""`apply` of many bundles: each costs the same, however long the ledger already is.

Before each bundle the runner reads the ledger again, under the lock (another runner may
have gone first). It used to read it whole, and judge the step against every bundle: N
bundles cost N^2/2 row reads. These tests run on a real SQLite file and watch the
statements the runner sends.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from reviewkit.bundle.store import Bundle, read_manifest
from reviewkit.config import load_settings
from reviewkit.db.ledger import LedgerTail, read_rows, update_row, verify_chain
from reviewkit.db.runner import ApplyOptions, apply
from reviewkit.dialects.connection import connect, parse_url
from reviewkit.generate import GenerateOptions
from reviewkit.generate.generator import plan_bundle_on
from reviewkit.schema.state import Column, PrimaryKey, Schema, Table

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""


def many_bundles(root: Path, count: int) -> Path:
    """Write `count` small bundles in-process: a column added, dropped, added again..."""
    (root / "models").mkdir(parents=True)
    (root / "models" / "README").write_text("the models are given in code\n")
    (root / "reviewkit.toml").write_text(CONFIG)
    settings = load_settings(root)
    base = [Column("id", "bigint", nullable=False, identity=True), Column("name", "text", nullable=False)]
    parent = None
    for i in range(count):
        columns = base + ([Column("extra", "integer")] if i % 2 == 0 else [])
        models = Schema((Table("items", tuple(columns), PrimaryKey("items_pkey", ("id",))),))
        written = plan_bundle_on(settings, parent, GenerateOptions(author="tests", models=models)).write(settings)
        parent = Bundle(written.path, read_manifest(written.path))
    return root


def test_apply_reads_each_ledger_row_once_however_many_bundles(tmp_path):
    project = many_bundles(tmp_path / "project", 40)
    database = f"sqlite:///{tmp_path / 'many.sqlite3'}"
    selects: list[str] = []

    def watch(conn) -> None:
        conn.raw.set_trace_callback(lambda sql: selects.append(sql) if "FROM \"reviewkit_ledger\"" in sql else None)

    result = apply(load_settings(project), database, ApplyOptions(), opened=watch)
    assert len(result.steps) == 40
    with connect(parse_url(database, tmp_path)) as conn:
        rows = read_rows(conn)
    assert [r.bundle_id for r in rows] == [s.bundle.id for s in result.steps] and verify_chain(rows) == []
    whole = [sql for sql in selects if "WHERE" not in sql]
    since = [int(m.group(1)) for sql in selects if (m := re.search(r"WHERE \"id\" >= (\d+)", sql))]
    # The first two bundles read it whole (no row yet, then one), each later one from the last row it read
    # on: two rows, the one it knew (the runner may have updated it) and the one the bundle before added.
    assert len(whole) == 2, whole
    assert since == list(range(1, 39)), since


def test_the_ledger_tail_reads_what_is_new_and_sees_edits_of_the_last_row(tmp_path):
    project = many_bundles(tmp_path / "project", 3)
    database = f"sqlite:///{tmp_path / 'tail.sqlite3'}"
    apply(load_settings(project), database, ApplyOptions(to="1"))
    with connect(parse_url(database, tmp_path)) as conn:
        tail = LedgerTail()
        assert tail.read(conn) == read_rows(conn) and len(tail.rows) == 1
        apply(load_settings(project), database, ApplyOptions())  # another runner, meanwhile
        assert tail.read(conn) == read_rows(conn) and len(tail.rows) == 3
        second = tail.rows[1].bundle_id
        assert [r.bundle_id for r in tail.rows_of([second])] == [second]
        update_row(conn, replace(tail.rows[-1], applied_by="someone else").sealed())
        assert tail.read(conn)[-1].applied_by == "someone else" and tail.read(conn) == read_rows(conn)
        conn.execute("DELETE FROM reviewkit_ledger WHERE id = 3")
        assert tail.read(conn) == read_rows(conn) and len(tail.rows) == 2
        assert [r.id for r in tail.rows_of([rows.bundle_id for rows in read_rows(conn)])] == [1, 2]
