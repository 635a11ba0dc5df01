"""Shared by the engine tests: build scenario bundles, walk them up and down, put sample rows in, read rows back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.db.execute import run_statement
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import split_statements
from reviewkit.diff import DeclaredRenames, OneOffDefaults
from reviewkit.generate import GenerateOptions, generate
from reviewkit.schema.state import Schema, Table
from reviewkit.schema.types import INTEGER_KINDS, parse_type

SCENARIOS = Path(__file__).parent / "scenarios"

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "{models_dialect}"
dialects = {dialects}
"""


def scenario_steps(name: str) -> list[Path]:
    """Return a scenario's step folders (1, 2, ...) in order."""
    return sorted((p for p in (SCENARIOS / name).iterdir() if p.is_dir()), key=lambda p: int(p.name))


def scenario_dialect(name: str) -> str:
    """Return the dialect a scenario's models are written in: its `models_dialect` file, else PostgreSQL."""
    marker = SCENARIOS / name / "models_dialect"
    return marker.read_text().strip() if marker.exists() else "postgres"


def build_scenario(name: str, project: Path, dialects: tuple[str, ...] = ("postgres", "mysql", "sqlite"),
                   online: bool = False) -> list[Bundle]:
    """Generate one bundle per step folder of a scenario (in the lock-safe forms when `online`); return them in order."""
    project.mkdir(parents=True, exist_ok=True)
    config = CONFIG.format(dialects=list(dialects), models_dialect=scenario_dialect(name)).replace("'", '"')
    (project / "reviewkit.toml").write_text(config)
    models = project / "models"
    for step in scenario_steps(name):
        shutil.rmtree(models, ignore_errors=True)
        shutil.copytree(step, models, ignore=shutil.ignore_patterns("*.txt"))
        renames_file = step / "renames.txt"
        renames = renames_file.read_text().split() if renames_file.exists() else []
        defaults_file = step / "defaults.txt"  # `--default table.column=VALUE`, one a line
        defaults = defaults_file.read_text().splitlines() if defaults_file.exists() else []
        options = GenerateOptions(renames=DeclaredRenames.parse(renames), author="scenario", online=online,
                                  one_off_defaults=OneOffDefaults.parse(defaults))
        assert generate(load_settings(project), options) is not None, f"step {step.name} produced no bundle"
    return load_bundles(project / "bundles")


# -- up, down, up again -------------------------------------------------------------------

# check(conn, expected schema, where, exact column order): fails when the live schema is not `expected`.
SchemaCheck = Callable[[Connection, Schema, str, bool], None]


# load_rows(conn, schema, seed): put rows into the tables of `schema` before a bundle runs.
RowLoader = Callable[[Connection, Schema, int], None]


def walk_bundles(conn: Connection, bundles: list[Bundle], check: SchemaCheck, load_rows: RowLoader | None = None) -> None:
    """Run each bundle's up, down and up again, checking the schema after each and the rows kept.

    Before each bundle but the first, `load_rows` (default: one sample row per table) fills
    the tables the bundle will change. After a down, and so after the up that follows it,
    columns a rollback re-added come last: `check` is then told not to compare column order.
    """
    load_rows = load_rows or insert_sample_rows
    dialect = conn.dialect
    previous = Schema()
    for seed, bundle in enumerate(bundles, 1):
        if previous.tables:
            load_rows(conn, previous, seed)
        rows_before = read_rows(conn, previous)
        schema = bundle.schema()
        step = f"step {seed} ({bundle.id})"

        run_script(conn, bundle.script(dialect, "up"), f"{bundle.id}/{dialect}/up.sql", bundle.online)
        check(conn, schema, f"{step} after up", True)
        left, right = kept_data(rows_before, read_rows(conn, schema), previous, schema)
        assert left == right, f"{step} up lost rows"

        run_script(conn, bundle.script(dialect, "down"), f"{bundle.id}/{dialect}/down.sql", bundle.online)
        check(conn, previous, f"{step} after down", False)
        left, right = kept_data(rows_before, read_rows(conn, previous), previous, schema)
        assert left == right, f"{step} down lost rows"

        run_script(conn, bundle.script(dialect, "up"), f"{bundle.id}/{dialect}/up.sql", bundle.online)
        check(conn, schema, f"{step} after up again", False)
        previous = schema


# -- sample rows --------------------------------------------------------------------------

# Columns whose check constraints in the scenarios accept only certain values.
FIXED_VALUES = {"status": "paid", "stars": 3, "born": 1950, "died": 2020, "rating": "G", "special_features": "Trailers",
                "release_year": 2006}


def sample_value(type_name: str, seed: int, dialect: str = "postgres") -> object:
    """Return a value any column of this portable type accepts on `dialect`, different for each seed."""
    portable = parse_type(type_name)
    kind = portable.kind
    if portable.array:  # PostgreSQL takes a list; the others hold a JSON array
        element = sample_value(str(portable.element), seed, dialect)
        return [element] if dialect == "postgres" else json.dumps([element])
    if kind in ("enum", "set"):
        return portable.values[seed % len(portable.values)]
    if kind == "year":
        return 2000 + seed
    if kind == "tsvector":
        return f"'v{seed}' 'word'"
    if kind in INTEGER_KINDS:
        return seed
    if kind == "numeric":
        return f"{seed}.5" if "," in type_name and not type_name.endswith(",0)") else str(seed)
    if kind in ("real", "double"):
        return seed + 0.5
    if kind in ("varchar", "char", "text"):
        return f"v{seed}"[: portable.params[0]] if portable.params else f"v{seed}"
    if kind == "boolean":
        return seed % 2 == 0
    if kind == "date":
        return f"2024-01-{seed % 28 + 1:02d}"
    if kind in ("time", "timetz"):
        return f"12:{seed % 60:02d}:00"
    if kind in ("timestamp", "timestamptz"):
        return f"2024-02-03 04:05:{seed % 60:02d}"
    if kind in ("json", "jsonb"):
        return f'{{"n": {seed}}}'
    if kind == "uuid":
        return f"00000000-0000-0000-0000-{seed:012d}"
    if kind == "blob":
        return bytes([seed % 256, 1, 2])
    raise AssertionError(f"no sample value for {type_name}")


def insert_sample_rows(conn: Connection, schema: Schema, seed: int) -> None:
    """Insert one row into every table, each foreign key pointing at the row of its parent.

    Every table's row is made of the same seed, so a key column holds the same value in
    the parent and the child; the rows go in with foreign key checks off (sakila's stores
    and staff reference each other through NOT NULL columns), and are consistent after.
    """
    rows = {table.name: _sample_row(table, seed, conn.dialect) for table in schema.tables}
    for table in schema.tables:
        for fk in table.foreign_keys:
            parent = rows[fk.ref_table]
            for col, ref_col in zip(fk.columns, fk.ref_columns, strict=True):
                rows[table.name][col] = parent[ref_col]
    with _foreign_key_checks_off(conn):
        for table in _parents_first(schema):
            _insert(conn, table, rows[table.name])


def _sample_row(table: Table, seed: int, dialect: str) -> dict[str, object]:
    row = {}
    for column in table.columns:
        if column.generated is not None:
            continue
        fixed = FIXED_VALUES.get(column.name)
        text_like = parse_type(column.type).kind in ("varchar", "char", "text") and not parse_type(column.type).array
        row[column.name] = fixed if fixed is not None and (text_like or not isinstance(fixed, str)) else \
            sample_value(column.type, seed, dialect)
    return row


@contextmanager
def _foreign_key_checks_off(conn: Connection) -> Iterator[None]:
    """Let rows that reference each other go in one at a time (the engines' own switches, tests only)."""
    off, on = {
        "postgres": ("SET session_replication_role = replica", "SET session_replication_role = DEFAULT"),
        "mysql": ("SET FOREIGN_KEY_CHECKS = 0", "SET FOREIGN_KEY_CHECKS = 1"),
        "sqlite": ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON"),
    }[conn.dialect]
    conn.execute(off)
    try:
        yield
    finally:
        conn.execute(on)


def _parents_first(schema: Schema) -> list[Table]:
    done: list[Table] = []
    pending = {t.name: t for t in schema.tables}
    while pending:
        ready = [t for t in pending.values()
                 if all(fk.ref_table in {d.name for d in done} or fk.ref_table == t.name or fk.ref_table not in pending
                        for fk in t.foreign_keys)]
        ready = ready or [pending[min(pending)]]
        for t in sorted(ready, key=lambda t: t.name):
            done.append(t)
            del pending[t.name]
    return done


def _insert(conn: Connection, table: Table, row: dict[str, object]) -> None:
    dialect = get_dialect(conn.dialect).compiler
    cols = list(row)
    # PostgreSQL refuses a value for a GENERATED ALWAYS identity column unless told it is meant.
    overriding = " OVERRIDING SYSTEM VALUE" if conn.dialect == "postgres" and any(
        c.identity_always for c in table.columns) else ""
    sql = (f"INSERT INTO {dialect.quote(table.name)} ({dialect.quote_list(tuple(cols))}){overriding} "
           f"VALUES ({', '.join(['%s'] * len(cols))})")
    conn.execute(sql, [row[c] for c in cols])


def read_rows(conn: Connection, schema: Schema) -> dict[str, dict[str, list[str]]]:
    """Return every table's rows as {table: {column: sorted values as text}}."""
    dialect = get_dialect(conn.dialect).compiler
    out = {}
    for table in schema.tables:
        out[table.name] = {}
        for col in table.columns:
            values = conn.query(f"SELECT {dialect.quote(col.name)} FROM {dialect.quote(table.name)}")
            out[table.name][col.name] = sorted(_text(v[0]) for v in values)
    return out


def _text(value: object) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    return repr(value)


def kept_data(before: dict, after: dict, old: Schema, new: Schema) -> tuple[dict, dict]:
    """Restrict two row snapshots to the columns that exist, with the same type and generation, in both schemas."""
    left, right = {}, {}
    for table in old.tables:
        other = new.table(table.name)
        if other is None:
            continue
        for col in table.columns:
            match = other.column(col.name)
            if match is not None and match.type == col.type and match.generated == col.generated:
                left[(table.name, col.name)] = before[table.name][col.name]
                right[(table.name, col.name)] = after[table.name][col.name]
    return left, right


def run_script(conn: Connection, text: str, where: str, online: bool = False) -> int:
    """Run every statement of `text` as a DBA would by hand (`psql -1 -f`); return how many ran.

    One transaction where the engine's DDL is transactional, so a failure leaves nothing;
    statement by statement (`psql -f`) for an online bundle's script where the engine has online forms.
    """
    dialect = get_dialect(conn.dialect)
    statements = split_statements(text, conn.dialect)
    transactional = dialect.transactional_ddl and not (online and dialect.online_forms)
    restore = dialect.driver.prepare_session(conn)
    try:
        if transactional:
            conn.begin()
        try:
            for number, statement in enumerate(statements, 1):
                run_statement(conn, statement, number, where)
            if transactional:
                conn.commit()
        except BaseException:
            if transactional:
                conn.rollback()
            raise
    finally:
        restore()
    return len(statements)
