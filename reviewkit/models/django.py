"""Model source 3: Django models, read from each model's `_meta` into the schema state.

`models = "django:mysite.settings"` names the settings module (imported with the project
root on `sys.path`); `django_apps = ["library"]` limits the models to those app labels
(default: every installed app outside `django.contrib`). Django is imported only then.
Django's migration machinery is not run: each concrete, managed model is read as the
DDL and SQLAlchemy sources read theirs, and everything goes through `SchemaBuilder`.

The state holds what Django's `migrate` creates on PostgreSQL, with the names it gives
(`reviewkit.models.django_names`), and the types each engine's backend declares, so that a
bundle and a Django-migrated database agree and `reviewkit baseline` of such a database is
followed by "No changes detected":

- columns: `db_column`, `null`, `db_default`, `db_comment`; types as `django_fields` says
  (a positive integer field's `>= 0` check comes with its type, named by each engine);
  `AutoField`/`BigAutoField`/`SmallAutoField` are identity columns;
- the primary key (`<table>_pkey`), `unique=True` (`<table>_<column>_key`): named by
  PostgreSQL, as Django leaves them;
- `ForeignKey`/`OneToOneField` with `db_constraint=True`: a foreign key named as Django
  names it, `ON DELETE NO ACTION` (Django runs `on_delete` in Python; its `DB_*` actions,
  where a Django version has them, are the database's); its column gets Django's index;
- `db_index=True` and foreign keys: an index `<table>_<column>_<digest>`; on a varchar or
  text column (and a unique or primary-key one) also Django's `<...>_like` index with
  `varchar_pattern_ops`/`text_pattern_ops`, which only PostgreSQL builds;
- `unique_together` (`_uniq`), `index_together` (`_idx`, before Django 5.1), `Meta.indexes`,
  `Meta.constraints` (`UniqueConstraint`: a constraint, or a unique index with a condition,
  expressions or opclasses; `CheckConstraint`), `db_table_comment`;
- `ManyToManyField`: its through table, auto-created or explicit, like any other model.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

from reviewkit.errors import ConfigError, ModelError
from reviewkit.models import DJANGO_PREFIX
from reviewkit.models.builder import SchemaBuilder, TableDraft
from reviewkit.models.django_fields import (
    AUTO_FIELDS,
    ExpressionCompiler,
    column_type,
    db_default,
    field_where,
)
from reviewkit.models.django_names import django_index_name, foreign_key_name
from reviewkit.schema.naming import postgres_object_name
from reviewkit.schema.state import Column, IndexPart, Schema

INSTALL_HINT = "pip install 'reviewkit[django]'"
# Django's `on_delete` handlers that the database carries out (Django 6.0's DB_* options).
_DATABASE_ACTIONS = {"DB_CASCADE": "CASCADE", "DB_SET_NULL": "SET NULL", "DB_SET_DEFAULT": "SET DEFAULT",
                     "DB_RESTRICT": "RESTRICT"}
_INDEX_METHODS = {"btree": None, "hash": "hash", "gin": "gin", "gist": "gist", "brin": "brin", "spgist": "spgist"}


def load_django(settings_module: str, app_labels: tuple[str, ...] | None, root: Path) -> Schema:
    """Set Django up with `settings_module` and return the schema its models declare."""
    models = django_models(settings_module, app_labels, root)
    compiler = ExpressionCompiler()
    builder = SchemaBuilder()
    problems: list[str] = []
    read = {model._meta.db_table for model in models}
    for model in models:
        try:
            _check_targets(model, read)
            _add_model(builder, model, compiler)
        except ModelError as err:
            problems.append(str(err))
    if problems:
        raise ModelError("\n".join(problems))
    return builder.build()


def django_models(settings_module: str, app_labels: tuple[str, ...] | None, root: Path) -> list[Any]:
    """Return the concrete, managed models of the apps chosen, auto-created through tables included."""
    _setup(settings_module, root)
    from django.apps import apps

    configs = _app_configs(apps, app_labels)
    chosen = []
    for config in configs:
        for model in config.get_models(include_auto_created=True):
            opts = model._meta
            if opts.managed and not opts.proxy and not opts.swapped and not opts.abstract:
                chosen.append(model)
    return chosen


def _setup(settings_module: str, root: Path) -> None:
    where = f"models = '{DJANGO_PREFIX}{settings_module}'"
    try:
        import django
    except ImportError:
        raise ModelError(f"{where} needs Django: {INSTALL_HINT}") from None
    from django.conf import settings

    if settings.configured:  # set up already in this process (tests read models more than once)
        if os.environ.get("DJANGO_SETTINGS_MODULE") != settings_module:
            raise ModelError(f"{where}: Django is set up with other settings in this process")
        return
    path = str(root.resolve())
    sys.path.insert(0, path)
    importlib.invalidate_caches()
    try:
        importlib.import_module(settings_module)
    except Exception as err:  # noqa: BLE001 - a user's module can fail in any way; report it in one line
        sys.path.remove(path)
        raise ModelError(f"{where}: cannot import the settings module: {type(err).__name__}: {_first_line(err)}") from None
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    try:
        django.setup()
    except Exception as err:  # noqa: BLE001 - an app's import can fail in any way
        raise ModelError(f"{where}: Django's setup failed: {type(err).__name__}: {_first_line(err)}") from None
    # The project root stays on sys.path: the apps' modules import each other lazily.


def _app_configs(apps: Any, labels: tuple[str, ...] | None) -> list[Any]:
    installed = {config.label: config for config in apps.get_app_configs()}
    if labels is None:
        return [config for config in installed.values() if not config.name.startswith("django.contrib.")]
    unknown = [label for label in labels if label not in installed]
    if unknown:
        raise ConfigError(f"django_apps names {', '.join(repr(u) for u in unknown)}, which INSTALLED_APPS does not "
                          f"install (installed app labels: {', '.join(sorted(installed))})")
    return [installed[label] for label in labels]


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


# -- one model, one table ------------------------------------------------------------------


def _add_model(builder: SchemaBuilder, model: Any, compiler: ExpressionCompiler) -> None:
    opts = model._meta
    where = f"django: {opts.label}"
    draft = builder.new_table(opts.db_table, where)
    draft.comment = getattr(opts, "db_table_comment", None) or None
    for field in opts.local_fields:
        if field.column is None:  # a composite primary key: its fields are the columns
            continue
        if getattr(field, "generated", False):
            raise ModelError(f"django: {field_where(field)}: GeneratedField is not supported")
        _add_field(draft, field, compiler)
    pk_columns = tuple(f.column for f in _pk_fields(opts))
    draft.set_primary_key(postgres_object_name(opts.db_table, None, "pkey"), pk_columns, where)
    for fields in opts.unique_together:
        columns = [opts.get_field(name).column for name in fields]
        draft.add_unique(django_index_name(opts.db_table, columns, "_uniq"), tuple(columns), "django_together")
    for fields in getattr(opts, "index_together", ()):  # gone in Django 5.1
        columns = [opts.get_field(name).column for name in fields]
        draft.add_index(django_index_name(opts.db_table, columns, "_idx"), _parts(columns), False, None)
    for index in opts.indexes:
        _add_meta_index(draft, model, index, compiler)
    for constraint in opts.constraints:
        _add_constraint(draft, model, constraint, compiler)


def _check_targets(model: Any, read: set[str]) -> None:
    """Refuse a foreign key to a model that is not read: its table would be missing from the schema."""
    for field in model._meta.local_fields:
        if field.is_relation and field.db_constraint and field.related_model._meta.db_table not in read:
            target = field.related_model._meta
            raise ModelError(f"django: {field_where(field)}: its foreign key references {target.label} "
                             f"({target.db_table}), which is not read: add {target.app_label!r} to django_apps, "
                             "or give the field db_constraint=False")


def _pk_fields(opts: Any) -> list[Any]:
    pk = opts.pk
    return list(pk.fields) if getattr(pk, "column", None) is None and hasattr(pk, "fields") else [pk]


def _add_field(draft: TableDraft, field: Any, compiler: ExpressionCompiler) -> None:
    table, column = draft.name, field.column
    portable = column_type(field)
    internal = field.get_internal_type()
    identity = internal in AUTO_FIELDS and not field.is_relation
    comment = getattr(field, "db_comment", None) or None
    draft.columns.append(Column(column, portable, bool(field.null) and not field.primary_key,
                                db_default(field, compiler), identity, comment=comment))
    if field.unique and not field.primary_key:
        draft.add_unique(postgres_object_name(table, column, "key"), (column,), "django")
    if field.is_relation and field.db_constraint:
        target = field.target_field
        draft.add_foreign_key(foreign_key_name(table, column, target.model._meta.db_table, target.column), (column,),
                              target.model._meta.db_table, (target.column,), _on_delete(field), "NO ACTION", "django")
    if field.db_index and not field.unique:
        # A foreign key's index is InnoDB's own under Django: MySQL's backend leaves it out.
        flavor = "django_fk" if field.is_relation and field.db_constraint else "django"
        draft.add_index(django_index_name(table, [column]), _parts([column]), False, None, flavor=flavor)
    if field.db_index or field.unique:
        _add_like_index(draft, column, portable)


def _add_like_index(draft: TableDraft, column: str, portable: str) -> None:
    """Add the `_like` index Django makes on PostgreSQL for an indexed varchar or text column."""
    kind = portable.split("(")[0]
    opclass = {"varchar": "varchar_pattern_ops", "text": "text_pattern_ops"}.get(kind)
    if opclass is not None:
        name = django_index_name(draft.name, [column], "_like")
        draft.add_index(name, (IndexPart(column, True, False, opclass),), False, None)


def _on_delete(field: Any) -> str:
    handler = getattr(field.remote_field, "on_delete", None)
    return _DATABASE_ACTIONS.get(getattr(handler, "__name__", ""), "NO ACTION")


def _parts(columns: list[str] | tuple[str, ...]) -> tuple[IndexPart, ...]:
    return tuple(IndexPart(column) for column in columns)


# -- Meta.indexes and Meta.constraints -----------------------------------------------------


def _add_meta_index(draft: TableDraft, model: Any, index: Any, compiler: ExpressionCompiler) -> None:
    where = f"django: {model._meta.label}: index {index.name}"
    suffix = getattr(index, "suffix", "idx")
    if suffix != "idx" and suffix not in _INDEX_METHODS:
        raise ModelError(f"{where}: {type(index).__name__} is not supported")
    method = _INDEX_METHODS.get(suffix)
    opclasses = list(index.opclasses) or [None] * max(len(index.fields_orders), len(index.expressions))
    parts = _index_parts(model, index.fields_orders, index.expressions, opclasses, compiler, where)
    include = tuple(model._meta.get_field(name).column for name in index.include)
    condition = compiler.condition(model, index.condition, where) if index.condition is not None else None
    draft.add_index(index.name, parts, False, condition, method, include)


def _index_parts(model: Any, fields_orders: list[tuple[str, str]], expressions: tuple[Any, ...],
                 opclasses: list[str | None], compiler: ExpressionCompiler, where: str) -> tuple[IndexPart, ...]:
    from django.db.models import OrderBy

    parts = []
    for (name, order), opclass in zip(fields_orders, opclasses, strict=False):
        parts.append(IndexPart(model._meta.get_field(name).column, True, order == "DESC", opclass))
    for expression, opclass in zip(expressions, opclasses, strict=False):
        descending = isinstance(expression, OrderBy) and expression.descending
        inner = expression.expression if isinstance(expression, OrderBy) else expression
        text = compiler.expression(model, inner, where)
        column = _plain_column(text)
        parts.append(IndexPart(column or text, column is not None, descending, opclass))
    return tuple(parts)


def _plain_column(text: str) -> str | None:
    from reviewkit.schema.expressions import parse_canonical

    node = parse_canonical(text)
    return node.name if node.key == "column" and not node.table else None


def _add_constraint(draft: TableDraft, model: Any, constraint: Any, compiler: ExpressionCompiler) -> None:
    from django.db.models import CheckConstraint, UniqueConstraint

    where = f"django: {model._meta.label}: constraint {constraint.name}"
    if isinstance(constraint, CheckConstraint):
        condition = getattr(constraint, "condition", None) or getattr(constraint, "check", None)
        draft.add_check(constraint.name, compiler.condition(model, condition, where), ())
    elif isinstance(constraint, UniqueConstraint):
        _add_unique_constraint(draft, model, constraint, compiler, where)
    else:
        raise ModelError(f"{where}: {type(constraint).__name__} is not supported")


def _add_unique_constraint(draft: TableDraft, model: Any, constraint: Any, compiler: ExpressionCompiler,
                           where: str) -> None:
    if constraint.deferrable is not None:
        raise ModelError(f"{where}: deferrable unique constraints are not supported")
    if getattr(constraint, "nulls_distinct", None) is not None:
        raise ModelError(f"{where}: nulls_distinct is not supported")
    columns = [model._meta.get_field(name).column for name in constraint.fields]
    if not (constraint.condition is not None or constraint.expressions or constraint.opclasses or constraint.include):
        draft.add_unique(constraint.name, tuple(columns))
        return
    # Django makes these a unique index, not a constraint (`_unique_sql` leaves them to CREATE UNIQUE INDEX).
    opclasses = list(constraint.opclasses) or [None] * max(len(columns), len(constraint.expressions))
    parts = _index_parts(model, [(name, "") for name in constraint.fields], constraint.expressions, opclasses,
                         compiler, where)
    include = tuple(model._meta.get_field(name).column for name in constraint.include)
    condition = compiler.condition(model, constraint.condition, where) if constraint.condition is not None else None
    draft.add_index(constraint.name, parts, True, condition, None, include)

