"""The small Django project of tests/django_project, migrated by Django itself and by reviewkit.

`DjangoRun` copies the project into a test folder, where Django's `makemigrations` may
write migrations and reviewkit its bundles. Django runs as a subprocess (`python -m
django ... --settings=mysite.settings`), its database named by DJANGO_DATABASE_URL.
`shape` is what the tests compare of two databases: the tables' columns (type as
stored, nullability, default, auto-increment), primary key, unique column sets (whether
a constraint or a unique index holds them), foreign keys, index key sets and checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from reviewkit.db.introspect import introspect
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.schema.state import Schema, Table
from tests.test_runner import cli_url, run

PROJECT = Path(__file__).resolve().parent / "django_project"
CONFIG = """\
[reviewkit]
models = "django:mysite.settings"
django_apps = {apps}
dialects = {dialects}

[policy]
approvals = 0
high_risk_approvals = 0
"""


@dataclass
class DjangoRun:
    """A copy of the Django project, set up for one engine."""

    root: Path
    apps: tuple[str, ...]

    @classmethod
    def create(cls, folder: Path, apps: tuple[str, ...], dialects: tuple[str, ...]) -> DjangoRun:
        root = folder / "project"
        shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
        quoted = lambda names: "[" + ", ".join(f'"{n}"' for n in names) + "]"  # noqa: E731
        (root / "reviewkit.toml").write_text(CONFIG.format(apps=quoted(apps), dialects=quoted(dialects)))
        return cls(root, apps)

    def django(self, url: DatabaseURL | None, *args: str, input_: str | None = None) -> subprocess.CompletedProcess:
        """Run a Django management command on the project, against `url`."""
        env = {**os.environ, "DJANGO_APPS": ",".join(self.apps)}
        if url is not None:
            env["DJANGO_DATABASE_URL"] = cli_url(url) if url.dialect != "sqlite" else f"sqlite:///{url.path}"
        result = subprocess.run([sys.executable, "-m", "django", *args, "--settings=mysite.settings"], cwd=self.root,
                                capture_output=True, text=True, env=env, timeout=300, input=input_)
        assert result.returncode == 0, f"django {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result

    def reviewkit(self, *args: str) -> subprocess.CompletedProcess:
        return run(self.root, *args)

    def write_models(self, app: str, text: str) -> None:
        (self.root / app / "models.py").write_text(text)


def live(url: DatabaseURL) -> Schema:
    with connect(url) as conn:
        return introspect(conn)


def unmodelled_properties(url: DatabaseURL, tables: set[str]) -> list[tuple[str, str, str, str]]:
    """Return what the models cannot say of the objects of `tables` (a key's deferral...), each object by its table only."""
    with connect(url) as conn:
        found = get_dialect(url.dialect).introspection.read_unmodelled_properties(conn)
    return sorted((p.object, p.table, p.key, p.value) for p in found if p.table in tables)


def shape(schema: Schema, tables: set[str], fk_indexes: bool = False) -> dict[str, dict]:
    """Return what the tests compare of each of `tables`: the structure, not the names Django leaves to the engine.

    `fk_indexes`: count each foreign key's columns as indexed, as InnoDB indexes them itself.
    """
    return {t.name: table_shape(t, fk_indexes) for t in schema.tables if t.name in tables}


def table_shape(table: Table, fk_indexes: bool = False) -> dict:
    uniques = {tuple(sorted(u.columns)) for u in table.uniques}
    uniques |= {tuple(sorted(ix.column_names)) for ix in table.indexes if ix.unique and not ix.where}
    indexes = {(tuple((p.expression, p.descending) for p in ix.parts), ix.where)
               for ix in table.indexes if not ix.unique or ix.where}
    if fk_indexes:
        indexes |= {(tuple((c, False) for c in fk.columns), None) for fk in table.foreign_keys}
    return {
        "columns": {c.name: (c.type, c.nullable, c.default, c.identity) for c in table.columns},
        "primary_key": table.primary_key.columns if table.primary_key else None,
        "uniques": sorted(uniques),
        "foreign_keys": sorted((fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) for fk in table.foreign_keys),
        "indexes": sorted(indexes, key=repr),
        "checks": sorted(c.expression for c in table.checks),
    }
