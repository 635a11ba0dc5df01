"""What `baseline` writes once it has read the live schema: the model file, the proof that it reads back to
that schema, and bundle 0001 (`reviewkit.generate.baseline` reads the database).

Writing the models and reading them back, and planning the bundle, are the two largest parts
of a baseline of a large schema: with a second core they run side by side (`_write_checked`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit import __version__
from reviewkit.bundle.store import Bundle
from reviewkit.config import Settings
from reviewkit.dialects import get_dialect
from reviewkit.dialects.compiler import check_engines_hold, contexts_for
from reviewkit.dialects.connection import DatabaseURL
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, diff_schemas
from reviewkit.diff.differences import Difference, schema_differences
from reviewkit.errors import ConfigError, ModelError, UsageError
from reviewkit.forked import ForkedCall, fork_helps
from reviewkit.generate.baseline import shown_path
from reviewkit.models import load_models
from reviewkit.schema import naming
from reviewkit.schema.operations import AddConstraint, CreateTable, Operation
from reviewkit.schema.state import Schema
from reviewkit.schema.types import named_enum

if TYPE_CHECKING:
    from reviewkit.generate.generator import GenerateOptions, PlannedBundle

_SHOWN_DIFFERENCES = 10


def write_baseline(
    settings: Settings, url: DatabaseURL, live: Schema, with_queries: Schema, out: Path, name: str | None,
    author: str | None, warn: Callable[[str], None] | None,
) -> Bundle:
    """Write `with_queries` (the live schema, with the views' queries) as models at `out` and as bundle 0001."""
    written = _portable_names(with_queries, url.dialect)
    check = _GivesBack(settings, _views_kept(live, with_queries), url.dialect, out)
    write_models = partial(_write_models, settings, written, out, url.redacted())
    made = [folder for folder in out.parents if not folder.exists()]  # what writing the models creates
    try:
        with _reader_beside(settings, written, check, write_models) as reader:
            if reader is None:
                write_models()
            from reviewkit.generate.generator import GenerateOptions  # the planning's: loaded beside the child

            options = GenerateOptions(name=name or "baseline", author=author, warn=warn, baseline=url.redacted())
            bundle = _write_checked(settings, options, check, written, reader, warn)
    except BaseException:
        _remove_models(out, made)  # nothing is kept of a baseline that did not complete (the child is gone by now)
        raise
    if bundle is None:  # the database has no table and no view
        _remove_models(out, made)
        raise UsageError(f"database {url.redacted()} has no tables or views: there is nothing to baseline; "
                         "start with `reviewkit generate`")
    return bundle


def _remove_models(out: Path, made: list[Path]) -> None:
    """Remove the model file and the folders made for it (`made`, deepest first), which nothing else can be in."""
    out.unlink(missing_ok=True)
    for folder in made:
        try:
            folder.rmdir()
        except OSError:  # not made after all, or something else was put there meanwhile: it stays
            break


def _write_models(settings: Settings, written: Schema, out: Path, source: str) -> None:
    """Write `written` as the model file `out`; refuse a path the models setting does not match."""
    text = models_ddl(written, settings.models_dialect, source)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    if out not in _model_files(settings):
        raise UsageError(f"{shown_path(out, settings)} is not matched by models = {list(settings.models)}, so "
                         "generate would not read it; choose a path the models setting matches")


def models_ddl(schema: Schema, dialect: str, source: str) -> str:
    """Return `schema` as a model file in `dialect`: the statements that create it, as a first bundle's are built."""
    operations = diff_schemas(Schema(), schema, DeclaredRenames(), NoInputQuestioner())
    compiler = get_dialect(dialect).compiler
    # A model file declares each table whole, its foreign keys inline, in any order; a script
    # must make a key only once its table exists, so the differ defers the keys of a cycle
    # (which SQLite adds by rebuilding a table). Here every table gets all its keys back.
    whole = [_whole(op, schema) for op in operations if not isinstance(op, AddConstraint)]
    compiled = [compiler.compile(op, ctx) for op, ctx in zip(whole, contexts_for(whole, Schema()), strict=True)]
    when = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lines = [f"-- The schema of {source}, read by reviewkit {__version__} baseline at {when}.",
             "-- From now on this file is the model: edit it, then run `reviewkit generate`."]
    for item in compiled:
        lines.append("")
        lines += [statement + ";" for statement in item.statements]
    return "\n".join(lines) + "\n"


def _whole(op: Operation, schema: Schema) -> Operation:
    if not isinstance(op, CreateTable) or op.table_def is (table := schema.table(op.table)):
        return op  # the schema's own table: its keys are all inline already
    return replace(op, table_def=table)


def _model_files(settings: Settings) -> set[Path]:
    try:
        return {path.resolve() for path in settings.model_files()}
    except ConfigError:  # the models match no file at all
        return set()


def _portable_names(schema: Schema, engine: str) -> Schema:
    """Give the live schema the names every engine can hold, as the model reader gives them.

    MySQL's inline enums get a type name (`table_column`), and primary keys that share a
    name (MySQL calls every one PRIMARY) get the usual `table_pkey`: PostgreSQL names
    constraints once per schema. A type the engine reads back from another model type
    (MariaDB's native UUID: uuid@native) gets that type (`Compiler.model_types`).
    """
    pk_names = Counter(t.primary_key.name for t in schema.tables if t.primary_key)
    model_types = get_dialect(engine).compiler.model_types
    tables = []
    for table in schema.tables:
        columns = tuple(c if (named := named_enum(model_types.get(c.type, c.type), table.name, c.name)) == c.type
                        else replace(c, type=named) for c in table.columns)
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
    differences: list[Difference] | None = None  # the models' differences from the live schema, when asked for


def _read_back(settings: Settings, written: Schema, check: _GivesBack | None = None) -> _ReadBack:
    """Read the models back; with `check`, also compare them with the live schema (the forked child does both)."""
    skipped: list[str] = []
    models = load_models(settings, skipped.append)
    back = _ReadBack(skipped, None if models == written else models)
    return back if check is None else replace(back, differences=check.differences(models))


@contextmanager
def _reader_beside(settings: Settings, written: Schema, check: _GivesBack,
                   write_models: Callable[[], None]) -> Iterator[ForkedCall[_ReadBack] | None]:
    """Start a child that writes the models (`write_models`) and reads them back while this process plans the bundle,
    where a second core helps; else yield None."""
    if not fork_helps():
        yield None
        return
    call = partial(_written_and_read_back, write_models, settings, written, check)
    with ForkedCall(call) as child:
        yield child


def _written_and_read_back(write_models: Callable[[], None], settings: Settings, written: Schema,
                           check: _GivesBack) -> _ReadBack:
    """Write the models and read them back; when they give `written` back, check that every dialect holds it,
    as the planning beside this child, which plans from `written`, leaves to it."""
    write_models()
    back = _read_back(settings, written, check)
    if back.models is None and not back.differences:
        check_engines_hold(written, [get_dialect(name) for name in settings.dialects])
    return back


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
            f"the models, with {shown_path(self.out, settings)} written by baseline, do not give the live schema back "
            "(\"expected\" is the database, \"actual\" the models; other model files may declare tables too):",
            *shown, *more, *hint]))


def _write_checked(
    settings: Settings, options: GenerateOptions, check: _GivesBack, written: Schema,
    reader: ForkedCall[_ReadBack] | None, warn: Callable[[str], None] | None,
) -> Bundle | None:
    """Write the bundle of the models, once they are known to give the live schema back.

    Reading the models back and planning the bundle are the two largest parts of a baseline
    of a large schema. With a second core, a forked child (`reader`) writes the models, reads
    them back and compares them with the live schema, while this process plans the bundle from the
    schema the models were written from and writes it beside its place: the models give that
    very schema back in most cases (the child says whether they do), and then the bundle
    is put in place; otherwise they are compared and the bundle planned again from the
    models as read. An error of the models is reported first either way, as when they are
    read first.
    """
    from reviewkit.generate.generator import plan_bundle  # the planning's modules: loaded beside the child

    if reader is None:
        back = _read_back(settings, written)
        models = written if back.models is None else back.models
        _checked(back, check.differences(models), check, warn)
        return _written(plan_bundle(settings, replace(options, models=models)), settings)
    staged = None
    try:
        # The reader has the other CPU; it checks that every engine holds `written` as well.
        planned = plan_bundle(settings, replace(options, models=written, beside=False, engines_checked=True))
        staged = planned.stage(settings) if planned is not None else None
    except Exception:
        back = _answer(reader, check, written, warn)
        if back.models is None:
            raise  # planning from the models as read would fail alike
    else:
        try:
            back = _answer(reader, check, written, warn)
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


def _answer(child: ForkedCall[_ReadBack], check: _GivesBack, written: Schema,
            warn: Callable[[str], None] | None) -> _ReadBack:
    """Return what the child read back, once the models it read are known to give the live schema back."""
    back = child.result()
    differences = back.differences  # the child compared them too, unless it could not be asked to
    if differences is None:
        differences = check.differences(written if back.models is None else back.models)
    _checked(back, differences, check, warn)
    return back


def _checked(back: _ReadBack, differences: list[Difference], check: _GivesBack,
             warn: Callable[[str], None] | None) -> None:
    """Refuse models that differ from the live schema; else pass on what their readers skipped."""
    check.refuse(differences)
    for line in back.skipped:  # said once the models are known to be right
        if warn is not None:
            warn(line)


