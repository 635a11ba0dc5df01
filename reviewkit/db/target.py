"""The database a command works on: `--database` (a name from [databases] or a URL), opened."""

from __future__ import annotations

from pathlib import Path

from reviewkit.config import Settings
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import Connection, DatabaseURL, connect, parse_url


def target_url(settings: Settings, database: str | None) -> DatabaseURL:
    """Return the URL `--database` names; without it REVIEWKIT_DATABASE_URL, else [databases.default]."""
    return parse_url(settings.database_url(database), settings.root)


def open_database(url: DatabaseURL, create: bool = True) -> Connection | None:
    """Connect to `url`; None for a database file that does not exist and may not be made."""
    if get_dialect(url.dialect).file_based and not create and url.path != ":memory:" and not Path(url.path or "").exists():
        return None
    return connect(url)
