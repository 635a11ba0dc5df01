"""`reviewkit baseline`: start a project's history from a database that already exists.

The live schema is read from the engine's catalog and written out twice: as model DDL
in the project's `models_dialect` (so that the models say what the database has) and as
bundle 0001, generated from those models like any first bundle, marked `"baseline": true`.
The models are read back before anything is kept: their schema, as the live engine
stores it, must be the live schema, or nothing is written. Then `apply --fake` records
the bundle in that database and `generate` finds nothing to do.

This module reads the database; `baseline_bundle` writes the models and the bundle. It is
imported, with the parser and the compilers, while the server answers the catalog
queries sent ahead (`Connection.prefetch`): on a large schema the server's part of
reading the catalog takes about as long as loading them. What only the bundle's planning
needs (`generator`, the lint rules, the other engines' compilers) is loaded by that
planning, beside the forked child that writes the models and reads them back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import Settings
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.errors import OperationFailed, UnsupportedType, UsageError
from reviewkit.models import DJANGO_PREFIX, SQLALCHEMY_PREFIX
from reviewkit.plural import counted

if TYPE_CHECKING:
    from reviewkit.dialects.introspection import UnmodelledProperty  # the module loads sqlglot: not before the fetch

DEFAULT_MODELS_OUT = "models/baseline.sql"


def baseline(
    settings: Settings, database: str | None, name: str | None = None, models_out: str | None = None,
    author: str | None = None, warn: Callable[[str], None] | None = None,
) -> tuple[Bundle, Path | None]:
    """Write the live schema of `database` as models and as bundle 0001; return the bundle and the models file.

    Django models are code: the database is checked against them and only the bundle is written (None: no file).
    """
    if any(pattern.startswith(DJANGO_PREFIX) for pattern in settings.models):
        if load_bundles(settings.bundles_dir):
            _models_path(settings, models_out)  # refused as any baseline is, with bundles already there
        if models_out is not None:
            raise UsageError("--models-out: Django models are the project's Python classes; baseline writes no model file")
        from reviewkit.generate.baseline_models import baseline_from_models

        return baseline_from_models(settings, database, name, author, warn), None
    out = _models_path(settings, models_out)
    url = target_url(settings, database)
    conn = open_database(url, create=False)
    if conn is None:
        raise OperationFailed(f"database {url.redacted()}: the file does not exist")
    with conn:
        conn.prefetch(get_dialect(url.dialect).catalog_queries(conn))
        from reviewkit.db.introspect import introspect, with_view_queries
        from reviewkit.generate import baseline_bundle

        live = introspect(conn)
        with_queries, left_out = with_view_queries(conn, live, settings.models_dialect, settings.ignore_unsupported)
        unmodelled = get_dialect(url.dialect).introspection.read_unmodelled(conn)
        properties = get_dialect(url.dialect).introspection.read_unmodelled_properties(conn)
    refuse_unmodelled_properties(properties, settings.ignore_unsupported, warn)
    if warn is not None and unmodelled:
        counts = ", ".join(f"{count} {kind}{'s' if count != 1 else ''}" for kind, count in sorted(unmodelled.items()))
        warn(f"left out, as reviewkit does not model them (they stay in the database; the bundle's up.sql "
             f"does not make them, and drift does not compare them): {counts}")
    if warn is not None and left_out:
        warn(f"ignore_unsupported: left out {counted(len(left_out), 'view')} the models cannot hold, which drift will "
             f"report as added: {'; '.join(left_out)}")
    bundle = baseline_bundle.write_baseline(settings, url, live, with_queries, out, name, author, warn)
    return bundle, out


_SHOWN_PROPERTIES = 20


def refuse_unmodelled_properties(properties: list[UnmodelledProperty], ignore_unsupported: bool,
                                  warn: Callable[[str], None] | None) -> None:
    """Refuse a live schema with properties the models cannot say (the bundle would build its objects without
    them); with ignore_unsupported, warn instead: drift then reports each of them."""
    if not properties:
        return
    shown = [f"  {p.describe()}" for p in properties[:_SHOWN_PROPERTIES]]
    if len(properties) > _SHOWN_PROPERTIES:
        shown.append(f"  ... and {len(properties) - _SHOWN_PROPERTIES} more")
    if ignore_unsupported:
        if warn is not None:
            warn("\n".join([f"ignore_unsupported: left out {counted(len(properties), 'property', 'properties')} the "
                            "models cannot say; the bundle builds these objects without them, and drift reports "
                            "each:", *shown]))
        return
    raise UnsupportedType("\n".join([
        f"the models cannot say {counted(len(properties), 'property', 'properties')} of the live schema, so its bundle "
        "would build these objects without them:", *shown,
        "change them in the database first, or set ignore_unsupported = true to baseline without them "
        "(drift then reports each)"]))


def _models_path(settings: Settings, models_out: str | None) -> Path:
    """Return where the models go; refuse a project with bundles or SQLAlchemy models, and an existing file."""
    existing = load_bundles(settings.bundles_dir)
    if existing:
        raise UsageError(f"{settings.bundles}/ has {counted(len(existing), 'bundle')} already; baseline starts a project's "
                         "history, so it needs a project without bundles (use `reviewkit drift` to compare a "
                         "database with them)")
    if any(pattern.startswith(SQLALCHEMY_PREFIX) for pattern in settings.models):
        raise UsageError("baseline writes DDL model files, but models are SQLAlchemy metadata here; "
                         "point models at DDL files (models = [\"models/*.sql\"]) to baseline")
    out = (settings.root / (models_out or DEFAULT_MODELS_OUT)).resolve()
    if out.exists():
        raise UsageError(f"{shown_path(out, settings)} exists already; baseline never overwrites a model file "
                         "(choose another with --models-out)")
    return out


def shown_path(path: Path, settings: Settings) -> str:
    """Return `path` as a message names it: from the project root when it is inside."""
    return str(path.relative_to(settings.root.resolve())) if path.is_relative_to(settings.root.resolve()) else str(path)
