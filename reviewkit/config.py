"""Project settings: `reviewkit.toml`, or `[tool.reviewkit]` in pyproject.toml.

Read once into a frozen `Settings` object that every stage receives; nothing else
reads the configuration or the environment's REVIEWKIT_* variables for settings.
"""

from __future__ import annotations

import getpass
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewkit.dialects import dialect_names
from reviewkit.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///reviewkit.sqlite3"
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Policy:
    approvals: int = 1
    high_risk_approvals: int = 2
    self_approval: bool = False
    required_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    root: Path
    config_file: Path
    models: tuple[str, ...] = ("models/*.sql",)
    models_dialect: str = "postgres"
    bundles: str = "bundles"
    dialects: tuple[str, ...] = field(default_factory=dialect_names)
    reviewers: str = "reviewers.toml"
    databases: dict[str, str] = field(default_factory=lambda: {"default": DEFAULT_DATABASE_URL})
    policy: Policy = Policy()

    @property
    def bundles_dir(self) -> Path:
        return self.root / self.bundles

    @property
    def reviewers_file(self) -> Path:
        return self.root / self.reviewers

    def model_files(self) -> list[Path]:
        """Return the model files the globs match, sorted, or raise when none match."""
        files: set[Path] = set()
        for pattern in self.models:
            files.update(p for p in self.root.glob(pattern) if p.is_file())
        if not files:
            raise ConfigError(f"{self.config_file.name}: models = {list(self.models)} matches no file under {self.root}")
        return sorted(files)

    def database_url(self, name_or_url: str | None) -> str:
        """Resolve `--database` (a name from [databases] or a URL) to a URL, expanding ${VARS}."""
        if name_or_url is None:
            url = os.environ.get("REVIEWKIT_DATABASE_URL") or self.databases.get("default", DEFAULT_DATABASE_URL)
        elif "://" in name_or_url:
            url = name_or_url
        elif name_or_url in self.databases:
            url = self.databases[name_or_url]
        else:
            known = ", ".join(sorted(self.databases)) or "none"
            raise ConfigError(f"no database named {name_or_url!r} in [databases] (known: {known})")
        return expand_env(url, f"[databases] {name_or_url or 'default'}")


def os_user() -> str:
    """Return the operating system's user name: the last fallback for authors and actors."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def expand_env(text: str, where: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = os.environ.get(match.group(1))
        if value is None:
            raise ConfigError(f"{where}: environment variable {match.group(1)} is not set")
        return value

    return _ENV_VAR.sub(substitute, text)


def find_config(start: Path) -> Path | None:
    """Return the nearest reviewkit.toml, or pyproject.toml with [tool.reviewkit], above `start`."""
    for folder in (start, *start.parents):
        candidate = folder / "reviewkit.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "reviewkit" in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_settings(start: Path | None = None) -> Settings:
    start = (start or Path.cwd()).resolve()
    path = find_config(start)
    if path is None:
        raise ConfigError(f"no reviewkit.toml found in {start} or above; run `reviewkit init` first")
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data["tool"]["reviewkit"]
        main = {k: v for k, v in data.items() if k not in ("databases", "policy")}
    else:
        main = data.get("reviewkit", {})
    return settings_from_dict(path, main, data.get("databases", {}), data.get("policy", {}))


def settings_from_dict(path: Path, main: dict[str, Any], databases: dict[str, Any], policy: dict[str, Any]) -> Settings:
    name = path.name
    unknown = set(main) - {"models", "models_dialect", "bundles", "dialects", "reviewers"}
    if unknown:
        raise ConfigError(f"{name}: unknown setting {sorted(unknown)[0]!r} in [reviewkit]")
    models = main.get("models", ["models/*.sql"])
    models = (models,) if isinstance(models, str) else tuple(models)
    known_dialects = dialect_names()
    dialects = tuple(main.get("dialects", known_dialects))
    for d in (*dialects, main.get("models_dialect", "postgres")):
        if d not in known_dialects:
            raise ConfigError(f"{name}: unknown dialect {d!r} (known: {', '.join(known_dialects)})")
    if not dialects:
        raise ConfigError(f"{name}: dialects must name at least one dialect")
    dbs = {"default": DEFAULT_DATABASE_URL}
    for db_name, entry in databases.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str):
            raise ConfigError(f"{name}: [databases.{db_name}] needs url = \"...\"")
        dbs[db_name] = url
    try:
        pol = Policy(
            approvals=int(policy.get("approvals", 1)),
            high_risk_approvals=int(policy.get("high_risk_approvals", 2)),
            self_approval=bool(policy.get("self_approval", False)),
            required_roles=tuple(policy.get("required_roles", ())),
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name}: [policy]: {err}") from None
    return Settings(
        root=path.parent,
        config_file=path,
        models=models,
        models_dialect=main.get("models_dialect", "postgres"),
        bundles=main.get("bundles", "bundles"),
        dialects=dialects,
        reviewers=main.get("reviewers", "reviewers.toml"),
        databases=dbs,
        policy=pol,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path.name}: {err}") from None
