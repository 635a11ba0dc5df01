"""`reviewkit baseline`: start a project's history from a database that already exists.

The live schema is read from the engine's catalog and written out twice: as model DDL
in the project's `models_dialect` (so that the models say what the database has) and as
bundle 0001, generated from those models like any first bundle, marked `"baseline": true`.
The models are read back before anything is kept: their schema, as the live engine
stores it, must be the live schema, or nothing is written. Then `apply --fake` records
the bundle in that database and `generate` finds nothing to do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from reviewkit import __version__
from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import Settings
from reviewkit.db.introspect import introspect, with_view_queries
from reviewkit.db.target import open_database, target_url
from reviewkit.dialects import get_dialect
from reviewkit.dialects.compiler import contexts_for
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, diff_schemas
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.errors import ConfigError, ModelError, OperationFailed, UsageError
from reviewkit.forked import ForkedCall, fork_helps
from reviewkit.generate.generator import GenerateOptions, PlannedBundle, plan_bundle
from reviewkit.models import DJANGO_PREFIX, SQLALCHEMY_PREFIX, load_models
from reviewkit.plural import counted
from reviewkit.schema import naming
from reviewkit.schema.operations import AddConstraint, CreateTable
from reviewkit.schema.state import Schema
from reviewkit.schema.types import named_enum

DEFAULT_MODELS_OUT = "models/baseline.sql"
_SHOWN_DIFFERENCES = 10


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
        live = introspect(conn)
        with_queries, left_out = with_view_queries(conn, live, settings.models_dialect, settings.ignore_unsupported)
        unmodelled = get_dialect(url.dialect).introspection.read_unmodelled(conn)
    if warn is not None and unmodelled:
        counts = ", ".join(f"{count} {kind}{'s' if count != 1 else ''}" for kind, count in sorted(unmodelled.items()))
        warn(f"left out, as reviewkit does not model them (they stay in the database; the bundle's up.sql "
             f"does not make them, and drift does not compare them): {counts}")
    if warn is not None and left_out:
        warn(f"ignore_unsupported: left out {counted(len(left_out), 'view')} the models cannot hold, which drift will "
             f"report as added: {'; '.join(left_out)}")
    written = _portable_names(with_queries)
    with _reader_beside(settings, written) as reader:
        text = models_ddl(written, settings.models_dialect, url.redacted())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        try:
            if out not in _model_files(settings):
                raise UsageError(f"{_shown(out, settings)} is not matched by models = {list(settings.models)}, so "
                                 "generate would not read it; choose a path the models setting matches")
            check = _GivesBack(settings, _views_kept(live, with_queries), url.dialect, out)
            options = GenerateOptions(name=name or "baseline", author=author, warn=warn, baseline=url.redacted())
            bundle = _write_checked(settings, options, check, written, reader, warn)
        except BaseException:
            out.unlink(missing_ok=True)  # nothing is kept of a baseline that did not complete
            raise
    if bundle is None:  # the database has no table and no view
        out.unlink(missing_ok=True)
        raise UsageError(f"database {url.redacted()} has no tables or views: there is nothing to baseline; "
                         "start with `reviewkit generate`")
    return bundle, out


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
        raise UsageError(f"{_shown(out, settings)} exists already; baseline never overwrites a model file "
                         "(choose another with --models-out)")
    return out


def models_ddl(schema: Schema, dialect: str, source: str) -> str:
    """Return `schema` as a model file in `dialect`: the statements that create it, as a first bundle's are built."""
    operations = diff_schemas(Schema(), schema, DeclaredRenames(), NoInputQuestioner())
    compiler = get_dialect(dialect).compiler
    # A model file declares each table whole, its foreign keys inline, in any order; a script
    # must make a key only once its table exists, so the differ defers the keys of a cycle
    # (which SQLite adds by rebuilding a table). Here every table gets all its keys back.
    whole = [replace(op, table_def=schema.table(op.table)) if isinstance(op, CreateTable) else op
             for op in operations if not isinstance(op, AddConstraint)]
    compiled = [compiler.compile(op, ctx) for op, ctx in zip(whole, contexts_for(whole, Schema()), strict=True)]
    when = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lines = [f"-- The schema of {source}, read by reviewkit {__version__} baseline at {when}.",
             "-- From now on this file is the model: edit it, then run `reviewkit generate`."]
    for item in compiled:
        lines.append("")
        lines += [statement + ";" for statement in item.statements]
    return "\n".join(lines) + "\n"


def _model_files(settings: Settings) -> set[Path]:
    try:
        return {path.resolve() for path in settings.model_files()}
    except ConfigError:  # the models match no file at all
        return set()


def _portable_names(schema: Schema) -> Schema:
    """Give the live schema the names every engine can hold, as the model reader gives them.

    MySQL's inline enums get a type name (`table_column`), and primary keys that share a
    name (MySQL calls every one PRIMARY) get the usual `table_pkey`: PostgreSQL names
    constraints once per schema.
    """
    pk_names = Counter(t.primary_key.name for t in schema.tables if t.primary_key)
    tables = []
    for table in schema.tables:
        columns = tuple(c if (named := named_enum(c.type, table.name, c.name)) == c.type else replace(c, type=named)
                        for c in table.columns)
        key = table.primary_key
        if key is not None and pk_names[key.name] > 1:
            key = replace(key, name=naming.constraint_name(table.name, (), "pkey"))
        tables.append(replace(table, columns=columns, primary_key=key))
    return Schema(tuple(tables), schema.views)


def _views_kept(live: Schema, kept: Schema) -> Schema:
    """Return the live schema without the views left out of `kept` (views whose query the models cannot hold)."""
    names = {view.name for view in kept.views}
    return Schema(live.tables, tuple(v for v in live.views if v.name in names))


@dataclass(frozen=True)
class _ReadBack:
    """What reading the models back found."""

    skipped: list[str]  # what the model readers skipped
    models: Schema | None  # the models as read; None when they are exactly the schema they were written from


def _read_back(settings: Settings, written: Schema) -> _ReadBack:
    skipped: list[str] = []
    models = load_models(settings, skipped.append)
    return _ReadBack(skipped, None if models == written else models)


@contextmanager
def _reader_beside(settings: Settings, written: Schema) -> Iterator[ForkedCall[_ReadBack] | None]:
    """Start the child that will read the models back, where a second core helps (else yield None).

    It starts before the models are written, and loads the model reader meanwhile; it reads
    the models once `release()` says they are there.
    """
    if not fork_helps():
        yield None
        return
    with ForkedCall(partial(_read_back, settings, written), prepare=_load_model_reader, held=True) as child:
        yield child


def _load_model_reader() -> None:
    import reviewkit.models.ddl  # noqa: F401 - imported for the read-back to come


@dataclass(frozen=True)
class _GivesBack:
    """The check that models give the live schema back, as the engine stores them.

    `live` is the schema as the engine reports it, as `drift` will compare it later.
    """

    settings: Settings
    live: Schema
    engine: str
    out: Path  # the model file baseline wrote

    def differences(self, models: Schema) -> list[Difference]:
        return schema_differences(self.live, get_dialect(self.engine).compiler.stored_form(models))

    def refuse(self, differences: list[Difference]) -> None:
        """Refuse models that differ from the live schema in `differences`, naming them and what may help."""
        if not differences:
            return
        settings, engine = self.settings, self.engine
        shown = [f"  {d.describe()}" for d in differences[:_SHOWN_DIFFERENCES]]
        more = [f"  ... and {len(differences) - _SHOWN_DIFFERENCES} more"] if len(differences) > _SHOWN_DIFFERENCES else []
        hint = []
        if settings.models_dialect != engine:
            hint.append(f"models_dialect = \"{settings.models_dialect}\" cannot say everything {get_dialect(engine).title} "
                        f"keeps; models_dialect = \"{engine}\" writes the models in the database's own dialect")
        per_schema = [d for d in settings.dialects if not get_dialect(d).index_names_per_table]
        if get_dialect(engine).index_names_per_table and per_schema and any(d.object == "index" for d in differences):
            hint.append(f"{get_dialect(engine).title} names indexes per table, {', '.join(per_schema)} once per schema: "
                        "two tables' indexes of one name are renamed for them; a project whose dialects are "
                        f"[\"{engine}\"] keeps the names")
        raise ModelError("\n".join([
            f"the models, with {_shown(self.out, settings)} written by baseline, do not give the live schema back "
            "(\"expected\" is the database, \"actual\" the models; other model files may declare tables too):",
            *shown, *more, *hint]))


def _write_checked(
    settings: Settings, options: GenerateOptions, check: _GivesBack, written: Schema,
    reader: ForkedCall[_ReadBack] | None, warn: Callable[[str], None] | None,
) -> Bundle | None:
    """Write the bundle of the models, once they are known to give the live schema back.

    Reading the models back and planning the bundle are the two largest parts of a baseline
    of a large schema. With a second core, a forked child (`reader`) reads the models back
    while this process compares the schema the models were written from with the live
    schema, plans the bundle from it and writes it beside its place: the models give that
    very schema back in most cases (the child says whether they do), and then the bundle
    is put in place; otherwise they are compared and the bundle planned again from the
    models as read. An error of the models is reported first either way, as when they are
    read first.
    """
    if reader is None:
        back = _read_back(settings, written)
        models = written if back.models is None else back.models
        _checked(back, check.differences(models), check, warn)
        return _written(plan_bundle(settings, replace(options, models=models)), settings)
    reader.release()  # the models are written
    staged = None
    written_differences = check.differences(written)
    try:
        planned = plan_bundle(settings, replace(options, models=written))
        staged = planned.stage(settings) if planned is not None else None
    except Exception:
        back = _answer(reader, check, written_differences, warn)
        if back.models is None:
            raise  # planning from the models as read would fail alike
    else:
        try:
            back = _answer(reader, check, written_differences, warn)
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
    if back.models is not None:  # planned from a schema that is not the models': plan again
        if staged is not None:
            staged.discard()
        return _written(plan_bundle(settings, replace(options, models=back.models)), settings)
    return staged.commit() if staged is not None else None


def _written(planned: PlannedBundle | None, settings: Settings) -> Bundle | None:
    return planned.write(settings) if planned is not None else None


def _answer(child: ForkedCall[_ReadBack], check: _GivesBack, written_differences: list[Difference],
            warn: Callable[[str], None] | None) -> _ReadBack:
    """Return what the child read back, once the models it read are known to give the live schema back."""
    back = child.result()
    _checked(back, written_differences if back.models is None else check.differences(back.models), check, warn)
    return back


def _checked(back: _ReadBack, differences: list[Difference], check: _GivesBack,
             warn: Callable[[str], None] | None) -> None:
    """Refuse models that differ from the live schema; else pass on what their readers skipped."""
    check.refuse(differences)
    for line in back.skipped:  # said once the models are known to be right
        if warn is not None:
            warn(line)


def _shown(path: Path, settings: Settings) -> str:
    return str(path.relative_to(settings.root.resolve())) if path.is_relative_to(settings.root.resolve()) else str(path)
