"""A second reader for the engine round trips: SQLAlchemy's Inspector, which reviewkit did not write.

test_engines reads the live schema back with reviewkit's own introspection, so a
misunderstanding shared by the compiler and that reader would pass there. Here the same
histories are walked (up, down, up again, every step), and after each script the
Inspector reads the database too. What it reports must agree with reviewkit's
introspection and with the bundle's schema.json as the engine stores it. As in
test_engines, pg_features (expression and partial indexes, which MySQL cannot hold)
runs on PostgreSQL and SQLite only.

Each side is flattened into facts keyed (table, object, attribute), restricted to what
the Inspector can report on that engine, so a failure lists every disagreement by name.

Not compared, and why:
- the text of defaults, checks, index expressions and WHERE clauses: each engine echoes
  them in its own spelling (`'anon'::character varying`, `current_timestamp(6)`,
  `= ANY (ARRAY[...])`); bringing them to one form is what reviewkit's introspection does
  with sqlglot, so comparing the text would reuse the code under test. Compared instead:
  whether a column has a default, and which of the table's columns an expression names.
- expression indexes on SQLite: the Inspector skips them (with a warning).
- descending key parts outside PostgreSQL: only its Inspector reports column sorting.
- auto-increment on SQLite: its Inspector does not report it.
- primary key names on MySQL: every one is called PRIMARY and the Inspector says None.
- column types on SQLite: it keeps only an affinity, so types are compared as affinities.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.pool import NullPool

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.db.introspect import introspect
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection, DatabaseURL
from reviewkit.schema.state import Schema, Table
from tests.scenario_support import run_script, walk_bundles

REPO = Path(__file__).resolve().parent.parent

Facts = dict[tuple[str, str, str], object]  # (table, object, attribute) -> value
ABSENT = "<absent>"
_DRIVERS = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql"}
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


# -- the Inspector's side ----------------------------------------------------------------


@contextmanager
def sqlalchemy_engine(url: DatabaseURL) -> Iterator[sa.Engine]:
    """Yield a SQLAlchemy engine on the database `url` names; no pooled connection outlives it."""
    if url.dialect == "sqlite":
        sa_url = sa.URL.create("sqlite", database=url.path)
    else:
        sa_url = sa.URL.create(
            _DRIVERS[url.dialect], username=url.user, password=url.password, host=url.host,
            port=url.port, database=url.database, query=dict(url.options),
        )
    # NullPool: the fixtures drop the database after the test, which an idle connection would block.
    engine = sa.create_engine(sa_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


class Oracle:
    """Reads a live database with the Inspector and compares it with reviewkit's two views."""

    def __init__(self, engine: sa.Engine, dialect: str, history: str) -> None:
        self.engine, self.dialect, self.history = engine, dialect, history
        with engine.connect() as conn:
            self.mariadb = bool(getattr(conn.dialect, "is_mariadb", False))

    def __call__(self, conn: Connection, expected: Schema, where: str, exact_order: bool) -> None:
        """Fail, listing each disagreement, unless the Inspector agrees with both readers."""
        inspected = self.inspected()
        introspected = self.schema_facts(introspect(conn))
        stored = self.schema_facts(get_dialect(conn.dialect).compiler.stored_form(expected))
        problems = disagreements(inspected, introspected, "reviewkit's introspection")
        if not exact_order:  # a rollback re-adds dropped columns last: both readers see that, the bundle does not
            inspected, stored = without_column_order(inspected), without_column_order(stored)
        problems += disagreements(inspected, stored, f"the bundle's schema.json as {self.dialect} stores it")
        assert not problems, f"{self.dialect}, {self.history} {where}:\n" + "\n".join(problems)

    # -- reading with the Inspector ------------------------------------------------------

    def inspected(self) -> Facts:
        """Return what the Inspector reports about every table but reviewkit's and the engine's own."""
        inspector = sa.inspect(self.engine)  # a new Inspector each time: it caches what it read
        names = sorted(n for n in inspector.get_table_names() if not n.startswith(("reviewkit_", "sqlite_")))
        facts: Facts = {("*", "tables", "names"): tuple(names)}
        if not names:
            return facts
        with warnings.catch_warnings():
            # SQLite: the Inspector skips expression indexes and says so; they are not compared there.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            read = {
                "columns": inspector.get_multi_columns(filter_names=names),
                "pk": inspector.get_multi_pk_constraint(filter_names=names),
                "fks": inspector.get_multi_foreign_keys(filter_names=names),
                "uniques": inspector.get_multi_unique_constraints(filter_names=names),
                "checks": inspector.get_multi_check_constraints(filter_names=names),
                "indexes": inspector.get_multi_indexes(filter_names=names),
            }
        for name in names:
            table = {kind: read[kind][(None, name)] for kind in read}
            self._inspected_columns(facts, name, table["columns"])
            self._inspected_constraints(facts, name, table)
            self._inspected_indexes(facts, name, table)
        return facts

    def _inspected_columns(self, facts: Facts, table: str, columns: list[dict]) -> None:
        facts[(table, "columns", "names")] = tuple(c["name"] for c in columns)
        for col in columns:
            key = (table, f"column {col['name']}")
            facts[(*key, "nullable")] = bool(col["nullable"])
            facts[(*key, "type")] = self.inspected_type(col["type"])
            auto = col.get("autoincrement") is True
            if self.dialect != "sqlite":
                facts[(*key, "auto-increment")] = auto
            if not auto:  # PostgreSQL's serial keeps its sequence as a nextval() default
                facts[(*key, "has default")] = col["default"] is not None

    def _inspected_constraints(self, facts: Facts, table: str, read: dict) -> None:
        column_names = [c["name"] for c in read["columns"]]
        pk = read["pk"]
        if pk["constrained_columns"]:
            facts[(table, "primary key", "columns")] = tuple(pk["constrained_columns"])
            if self.dialect != "mysql":
                facts[(table, "primary key", "name")] = pk["name"]
        for fk in read["fks"]:
            key = (table, f"foreign key {fk['name']}")
            facts[(*key, "columns")] = tuple(fk["constrained_columns"])
            facts[(*key, "references")] = f"{fk['referred_table']}({', '.join(fk['referred_columns'])})"
            # An action the Inspector leaves out is the engine's default one.
            facts[(*key, "on delete")] = self.fk_action(fk["options"].get("ondelete"))
            facts[(*key, "on update")] = self.fk_action(fk["options"].get("onupdate"))
        for unique in read["uniques"]:
            facts[(table, f"unique {unique['name']}", "columns")] = tuple(unique["column_names"])
        for check in read["checks"]:
            facts[(table, f"check {check['name']}", "columns named")] = mentioned(check["sqltext"], column_names)

    def _inspected_indexes(self, facts: Facts, table: str, read: dict) -> None:
        column_names = [c["name"] for c in read["columns"]]
        # MySQL reports each unique index as a unique constraint as well, marked duplicates_index:
        # it is compared as the constraint (reviewkit's stored form says the same).
        as_constraint = {u.get("duplicates_index") for u in read["uniques"]} - {None}
        # InnoDB adds an index named after a foreign key that no index serves; the models never declare it.
        implicit = {(fk["name"], tuple(fk["constrained_columns"])) for fk in read["fks"]} if self.dialect == "mysql" else set()
        unique_sets = {tuple(u["column_names"]) for u in read["uniques"]}
        for index in read["indexes"]:
            columns = tuple(index["column_names"])
            where = index.get("dialect_options", {}).get(f"{self.engine.dialect.name}_where")  # text or None
            if index["unique"] and None not in columns and where is None:
                unique_sets.add(columns)
            # PostgreSQL lists the index behind each unique constraint, marked duplicates_constraint.
            if "duplicates_constraint" in index or index["name"] in as_constraint:
                continue
            if not index["unique"] and (index["name"], columns) in implicit:
                continue
            key = (table, f"index {index['name']}")
            facts[(*key, "columns")] = columns  # None for a key part that is an expression
            facts[(*key, "unique")] = bool(index["unique"])
            if self.dialect == "postgres":
                sorting = index.get("column_sorting", {})
                facts[(*key, "descending")] = tuple(c for c in columns if "desc" in sorting.get(c, ()))
                expressions = [e for e, c in zip(index.get("expressions", ()), columns, strict=False) if c is None]
                facts[(*key, "columns named by expressions")] = mentioned(" ".join(expressions), column_names)
            if self.dialect in ("postgres", "sqlite"):
                facts[(*key, "columns named by WHERE")] = mentioned("" if where is None else str(where), column_names)
        facts[(table, "uniqueness", "column sets")] = tuple(sorted(unique_sets))

    def inspected_type(self, sa_type: sa.types.TypeEngine) -> str:
        """Return a SQLAlchemy type in reviewkit's portable spelling, or SQLite's affinity."""
        if self.dialect == "sqlite":
            return _sa_affinity(sa_type)
        return _sa_portable_type(sa_type)

    def fk_action(self, action: str | None) -> str:
        action = (action or "NO ACTION").upper()
        # InnoDB treats NO ACTION as RESTRICT, and SHOW CREATE TABLE prints neither.
        return "RESTRICT" if self.dialect == "mysql" and action == "NO ACTION" else action

    # -- the same facts from reviewkit's schema state -------------------------------------

    def schema_facts(self, schema: Schema) -> Facts:
        """Return the facts the Inspector can report on this engine, as `schema` says them."""
        facts: Facts = {("*", "tables", "names"): tuple(sorted(t.name for t in schema.tables))}
        for table in schema.tables:
            self._schema_columns(facts, table)
            self._schema_constraints(facts, table)
            self._schema_indexes(facts, table)
        return facts

    def _schema_columns(self, facts: Facts, table: Table) -> None:
        facts[(table.name, "columns", "names")] = table.column_names()
        for col in table.columns:
            key = (table.name, f"column {col.name}")
            facts[(*key, "nullable")] = col.nullable
            facts[(*key, "type")] = self.schema_type(col.type)
            if self.dialect != "sqlite":
                facts[(*key, "auto-increment")] = col.identity
            if not (col.identity and self.dialect != "sqlite"):
                facts[(*key, "has default")] = col.default is not None

    def _schema_constraints(self, facts: Facts, table: Table) -> None:
        if table.primary_key:
            facts[(table.name, "primary key", "columns")] = table.primary_key.columns
            if self.dialect != "mysql":
                facts[(table.name, "primary key", "name")] = table.primary_key.name
        for fk in table.foreign_keys:
            key = (table.name, f"foreign key {fk.name}")
            facts[(*key, "columns")] = fk.columns
            facts[(*key, "references")] = f"{fk.ref_table}({', '.join(fk.ref_columns)})"
            facts[(*key, "on delete")] = self.fk_action(fk.on_delete)
            facts[(*key, "on update")] = self.fk_action(fk.on_update)
        for unique in table.uniques:
            facts[(table.name, f"unique {unique.name}", "columns")] = unique.columns
        for check in table.checks:
            facts[(table.name, f"check {check.name}", "columns named")] = mentioned(check.expression, table.column_names())

    def _schema_indexes(self, facts: Facts, table: Table) -> None:
        unique_sets = {u.columns for u in table.uniques}
        for index in table.indexes:
            plain = all(p.is_column for p in index.parts)
            if index.unique and plain and index.where is None:
                unique_sets.add(index.column_names)
            if self.dialect == "sqlite" and not plain:
                continue  # the SQLite Inspector skips expression indexes
            key = (table.name, f"index {index.name}")
            facts[(*key, "columns")] = tuple(p.expression if p.is_column else None for p in index.parts)
            facts[(*key, "unique")] = index.unique
            if self.dialect == "postgres":
                facts[(*key, "descending")] = tuple(p.expression for p in index.parts if p.is_column and p.descending)
                expressions = " ".join(p.expression for p in index.parts if not p.is_column)
                facts[(*key, "columns named by expressions")] = mentioned(expressions, table.column_names())
            if self.dialect in ("postgres", "sqlite"):
                facts[(*key, "columns named by WHERE")] = mentioned(index.where or "", table.column_names())
        facts[(table.name, "uniqueness", "column sets")] = tuple(sorted(unique_sets))

    def schema_type(self, portable: str) -> str:
        if self.dialect == "sqlite":
            # SQLite keeps the declared name, and reviewkit declares the portable name:
            # its affinity follows from that name by SQLite's rules.
            return _declared_affinity(portable)
        if self.mariadb and portable in ("json", "jsonb"):
            return "text"  # MariaDB's JSON is LONGTEXT plus a json_valid() check the Inspector does not report
        return portable


# -- types --------------------------------------------------------------------------------


def _sa_portable_type(t: sa.types.TypeEngine) -> str:
    """Return a reflected PostgreSQL or MySQL type in reviewkit's portable spelling."""
    if isinstance(t, sa.Boolean) or (isinstance(t, mysql.TINYINT) and t.display_width == 1):
        return "boolean"  # MySQL's BOOLEAN is TINYINT(1)
    for cls, kind in ((sa.SmallInteger, "smallint"), (sa.BigInteger, "bigint"), (sa.Integer, "integer"),
                      (sa.Double, "double"), (sa.Float, "real")):
        if isinstance(t, cls):
            return kind
    if isinstance(t, sa.Numeric):
        return f"numeric({t.precision},{t.scale or 0})" if t.precision is not None else "numeric"
    if isinstance(t, (sa.DateTime, sa.Time)):
        timezone = t.timezone or isinstance(t, mysql.TIMESTAMP)  # MySQL's TIMESTAMP is stored in UTC
        kind = ("timestamp" if isinstance(t, sa.DateTime) else "time") + ("tz" if timezone else "")
        precision = getattr(t, "fsp", getattr(t, "precision", None))  # MySQL's types call it fsp
        return f"{kind}({precision})" if precision is not None else kind
    if isinstance(t, sa.JSON):
        return "jsonb" if isinstance(t, postgresql.JSONB) else "json"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Uuid):
        return "uuid"
    if isinstance(t, (sa.Text, mysql.TINYTEXT, mysql.MEDIUMTEXT, mysql.LONGTEXT)):
        return "text"
    if isinstance(t, sa.String):
        kind = "char" if isinstance(t, sa.CHAR) else "varchar"
        return f"{kind}({t.length})" if t.length is not None else kind
    if t.python_type is bytes:
        return "blob"
    return f"<{t!r}>"


def _sa_affinity(t: sa.types.TypeEngine) -> str:
    """Return the SQLite affinity of the type the Inspector read from a declared name."""
    if isinstance(t, sa.Integer):
        return "INTEGER"
    if isinstance(t, sa.String):
        return "TEXT"
    if isinstance(t, sa.Float):
        return "REAL"
    if isinstance(t, (sa.LargeBinary, sa.types.NullType)):
        return "BLOB"
    return "NUMERIC"  # Numeric, Boolean, Date, DateTime, Time, JSON: names without a stronger rule


def _declared_affinity(declared: str) -> str:
    """Apply SQLite's rules (datatype3.html, 3.1) to a declared type name."""
    name = declared.upper()
    if "INT" in name:
        return "INTEGER"
    if any(s in name for s in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in name or not name:
        return "BLOB"
    if any(s in name for s in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


# -- comparing ----------------------------------------------------------------------------


def mentioned(sql: str, columns: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return the columns an expression names, string literals left out."""
    words = set(_WORD.findall(_LITERAL.sub("", sql)))
    return tuple(sorted(c for c in columns if c in words))


def without_column_order(facts: Facts) -> Facts:
    return {k: tuple(sorted(v)) if k[1:] == ("columns", "names") else v for k, v in facts.items()}


def disagreements(inspected: Facts, other: Facts, other_name: str) -> list[str]:
    """Return one line per fact the two sides state differently, or only one side states."""
    lines = []
    for key in sorted(inspected.keys() | other.keys()):
        mine, theirs = inspected.get(key, ABSENT), other.get(key, ABSENT)
        if mine != theirs:
            table, obj, attribute = key
            lines.append(f"  {table} / {obj} / {attribute}: Inspector {mine!r}, {other_name} {theirs!r}")
    return lines


def walk_with_oracle(conn: Connection, bundles: list[Bundle], history: str) -> None:
    with sqlalchemy_engine(conn.url) as engine:
        walk_bundles(conn, bundles, Oracle(engine, conn.dialect, history))


# -- the tests ----------------------------------------------------------------------------


def test_shop_history_agrees_with_the_inspector(engine_db, shop_bundles):
    walk_with_oracle(engine_db, shop_bundles, "shop")


def test_postgres_features_agree_with_the_inspector_on_postgres(postgres_db, postgres_only_bundles):
    walk_with_oracle(postgres_db, postgres_only_bundles, "pg_features")


def test_postgres_features_agree_with_the_inspector_on_sqlite(sqlite_db, postgres_only_bundles):
    walk_with_oracle(sqlite_db, postgres_only_bundles, "pg_features")


def test_demo_project_bundles_agree_with_the_inspector(engine_db):
    walk_with_oracle(engine_db, load_bundles(REPO / "bundles"), "demo project")


# A change made by hand behind reviewkit's back; SQLite cannot change a column's
# nullability without rebuilding the table, so there an index goes instead.
HAND_CHANGES = {
    "postgres": ('ALTER TABLE "orders" ALTER COLUMN "note" SET NOT NULL', "orders / column note / nullable"),
    "mysql": ("ALTER TABLE `orders` MODIFY COLUMN `note` VARCHAR(200) NOT NULL", "orders / column note / nullable"),
    "sqlite": ('DROP INDEX "order_lines_product_idx"', "order_lines / index order_lines_product_idx / columns"),
}


def test_a_hand_change_is_caught_by_the_oracle(engine_db, shop_bundles):
    first = shop_bundles[0]
    run_script(engine_db, first.script(engine_db.dialect, "up"), "up.sql")
    statement, expected_line = HAND_CHANGES[engine_db.dialect]
    engine_db.execute(statement)
    with sqlalchemy_engine(engine_db.url) as engine, pytest.raises(AssertionError) as failure:
        Oracle(engine, engine_db.dialect, "shop")(engine_db, first.schema(), f"step 1 ({first.id}) after up", True)
    message = str(failure.value)
    assert message.startswith(f"{engine_db.dialect}, shop step 1 ({first.id}) after up:"), message
    # Both live readers see the change; only the bundle disagrees.
    assert "reviewkit's introspection" not in message, message
    assert f"{expected_line}: Inspector" in message and "the bundle's schema.json" in message, message
