"""Model sources: where the declared schema comes from."""

from __future__ import annotations

from collections.abc import Callable

from reviewkit.config import Settings
from reviewkit.errors import ConfigError
from reviewkit.schema.state import Schema

SQLALCHEMY_PREFIX = "sqlalchemy:"
DJANGO_PREFIX = "django:"  # reviewkit.models.django imports Django: it is imported only for such models


def load_models(settings: Settings, warn: Callable[[str], None] | None = None) -> Schema:
    """Return the schema the project's models declare; `warn` receives what was skipped on the way."""
    if len(settings.models) == 1 and settings.models[0].startswith(DJANGO_PREFIX):
        from reviewkit.models.django import load_django

        return load_django(settings.models[0][len(DJANGO_PREFIX):], settings.django_apps, settings.root)
    if settings.django_apps is not None:
        raise ConfigError(f"{settings.config_file.name}: django_apps applies only to models = \"django:SETTINGS\"")
    if len(settings.models) == 1 and settings.models[0].startswith(SQLALCHEMY_PREFIX):
        from reviewkit.models.sqlalchemy import load_metadata

        return load_metadata(settings.models[0][len(SQLALCHEMY_PREFIX):], settings.root)
    from reviewkit.models.ddl import load_ddl_files

    return load_ddl_files(
        settings.model_files(), settings.models_dialect, settings.root, settings.ignore_unsupported, warn,
        settings.dialects,
    )
