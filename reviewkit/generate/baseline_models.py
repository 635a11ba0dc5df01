"""`reviewkit baseline` where the models are code (Django): adopt a database those models built.

A DDL project's baseline writes the live schema as its models. A Django project's models
are its Python classes, so nothing is written but bundle 0001, generated from those models
once the live database is shown to hold them: every table the models declare, with the
same columns, nullability, auto-increment, primary key, foreign keys, unique column sets,
index keys and checks. Whatever else the database has (Django's own `django_migrations`,
the tables of apps left out of `django_apps`, views) is left as it is, and named.

What an engine holds otherwise than the models declare, beyond that structure, is not a
reason to refuse (the index names a Django `RenameField` kept): each such difference is named in a warning,
as `drift` will report it. A database `migrate` built from the same models has none: the
state declares on each engine what Django declares there (the `django` flavors).
"""

from __future__ import annotations

from collections.abc import Callable

from reviewkit.bundle.store import Bundle
from reviewkit.config import Settings
from reviewkit.db.introspect import introspect
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.diff.differences import schema_differences
from reviewkit.errors import ModelError, OperationFailed, UsageError
from reviewkit.generate.baseline import refuse_unmodelled_properties
from reviewkit.generate.generator import GenerateOptions, generate
from reviewkit.models import load_models
from reviewkit.plural import counted
from reviewkit.schema.state import Schema, Table

_SHOWN = 10


def baseline_from_models(settings: Settings, database: str | None, name: str | None = None, author: str | None = None,
                         warn: Callable[[str], None] | None = None) -> Bundle:
    """Write bundle 0001 from the project's models, once the live database is shown to hold them."""
    say = warn or (lambda line: None)
    url = target_url(settings, database)
    conn = open_database(url, create=False)
    if conn is None:
        raise OperationFailed(f"database {url.redacted()}: the file does not exist")
    with conn:
        live = introspect(conn)
        properties = get_dialect(url.dialect).introspection.read_unmodelled_properties(conn)
    models = load_models(settings, warn)
    declared = {table.name for table in models.tables}
    # What the models cannot say, of their own tables, beyond what their framework declares there (Django's keys).
    implied = get_dialect(url.dialect).compiler.implied_properties(models)
    refuse_unmodelled_properties([p for p in properties if p.table in declared and p not in implied],
                                 settings.ignore_unsupported, warn)
    others = sorted(t.name for t in live.tables if t.name not in declared) + sorted(v.name for v in live.views)
    if others:
        say(f"left out, as the models do not declare them (they stay in the database; drift will report them "
            f"as added): {', '.join(others)}")
    held = Schema(tuple(t for t in live.tables if t.name in declared))
    expected = get_dialect(url.dialect).compiler.stored_form(models)
    missing = _structural_differences(held, expected)
    if missing:
        shown = [f"  {line}" for line in missing[:_SHOWN]]
        more = [f"  ... and {len(missing) - _SHOWN} more"] if len(missing) > _SHOWN else []
        raise ModelError("\n".join([f"database {url.redacted()} does not hold the models (\"expected\" is the "
                                    "database, \"actual\" the models):", *shown, *more]))
    spelled = schema_differences(held, expected)
    if spelled:
        say(f"{counted(len(spelled), 'difference')} in how {get_dialect(url.dialect).title} spells what the models declare "
            "(types the models' framework declares its own way on this engine, names the engine gave): "
            + "; ".join(d.describe() for d in spelled[:_SHOWN]) + ("; ..." if len(spelled) > _SHOWN else ""))
    bundle = generate(settings, GenerateOptions(name=name or "baseline", author=author, warn=warn,
                                                baseline=url.redacted(), models=models))
    if bundle is None:
        raise UsageError(f"the models declare no tables: there is nothing to baseline in {url.redacted()}")
    return bundle


def _structural_differences(live: Schema, models: Schema) -> list[str]:
    """Return what the database lacks or has otherwise than the models, beyond spelling and names."""
    found = []
    live_tables = {t.name: t for t in live.tables}
    for table in models.tables:
        held = live_tables.get(table.name)
        if held is None:
            found.append(f"table {table.name} missing")
            continue
        mine, theirs = _structure(held), _structure(table)
        found += [f"{what} of {table.name}: {mine[what]} -> {theirs[what]}" for what in mine if mine[what] != theirs[what]]
    return found


def _structure(table: Table) -> dict[str, object]:
    """Return what a table holds, without type spellings and the names an engine gives."""
    uniques = {tuple(sorted(u.columns)) for u in table.uniques}
    uniques |= {tuple(sorted(ix.column_names)) for ix in table.indexes if ix.unique and not ix.where}
    indexes = {tuple(p.expression for p in ix.parts) for ix in table.indexes if not ix.unique or ix.where}
    # An engine that indexes a foreign key's columns itself (InnoDB) holds the index Django left to it.
    indexes |= {fk.columns for fk in table.foreign_keys}
    return {
        "columns": sorted((c.name, "null" if c.nullable else "not null", "identity" if c.identity else "")
                          for c in table.columns),
        "primary key": table.primary_key.columns if table.primary_key else None,
        "unique column sets": sorted(uniques),
        "foreign keys": sorted((fk.columns, fk.ref_table, fk.ref_columns) for fk in table.foreign_keys),
        "index keys": sorted(indexes),
    }
