"""Settings of the small Django project the tests read as models and migrate with Django itself.

The database comes from DJANGO_DATABASE_URL (sqlite:///path, postgresql://..., mysql://...);
reading the models needs none. DJANGO_APPS lists the installed apps (default: library,
catalog and kinds): MariaDB has no partial or expression indexes, so its tests leave catalog out.
"""

import os
from urllib.parse import unquote, urlsplit

SECRET_KEY = "reviewkit-tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = os.environ.get("DJANGO_APPS", "library,catalog,kinds").split(",")


def _database(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:] if parts.path.startswith("//") else parts.path)}
    if parts.scheme in ("mysql", "mariadb"):
        import pymysql

        pymysql.install_as_MySQLdb()  # Django's MySQL backend through PyMySQL, reviewkit's driver
        engine = "django.db.backends.mysql"
    else:
        engine = "django.db.backends.postgresql"
    return {"ENGINE": engine, "NAME": parts.path.lstrip("/"), "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""), "HOST": parts.hostname or "", "PORT": str(parts.port or "")}


DATABASES = {"default": _database(os.environ.get("DJANGO_DATABASE_URL", "sqlite:///:memory:"))}
