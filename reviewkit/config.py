"""Project settings: `reviewkit.toml`, or `[tool.reviewkit]` in pyproject.toml.

Read once into a frozen `Settings` object that every stage receives; nothing else
reads the configuration or the environment's REVIEWKIT_* variables for settings.

Every setting is checked against the tables `_MAIN`, `_DATABASE`, `_POLICY`, `_PROVE`,
`_LINT` and `_GENERATE`, and each fleet of `[fleets]` by `_fleets`: a value
of the wrong type, an unknown key or an unknown section is a ConfigError naming the
file, the section and the key. A setting that is silently coerced or ignored is a
security bug here (`self_approval = "false"` must not turn self-approval on), so nothing
is converted but lists to tuples. The checks are plain functions rather than a schema
library, which would be one more dependency, convert values unless told not to, and cost
every command 16 to 190 ms as measured (see the README's Dependencies).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewkit.dialects import dialect_names, get_dialect
from reviewkit.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///reviewkit.sqlite3"
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
SECTIONS = ("reviewkit", "databases", "fleets", "policy", "prove", "lint", "generate")
# The tables [tool.reviewkit] holds besides its own settings.
SUBTABLES = SECTIONS[1:]


@dataclass(frozen=True)
class Policy:
    approvals: int = 1
    high_risk_approvals: int = 2
    self_approval: bool = False
    required_roles: tuple[str, ...] = ()
    require_proof: tuple[str, ...] = ()  # dialects whose fresh passing proof `approve` needs


LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class LintSettings:
    """[lint]: how `lint` weighs its findings."""

    small_table_rows: int = 10_000  # lock findings on smaller tables drop to low
    large_table_rows: int = 1_000_000  # and on larger ones rise to high
    disable: tuple[str, ...] = ()  # rules turned off
    fail_on: str = "high"  # `lint` exits 1 on a finding at or above this level


@dataclass(frozen=True)
class GenerateSettings:
    """[generate]: the form of the SQL `generate` writes."""

    online: bool = False  # the lock-safe forms (`generate --online`)
    lock_timeout: str = "5s"  # how long an online script's statements wait for a lock: `SET lock_timeout`


@dataclass(frozen=True)
class Settings:
    root: Path
    config_file: Path
    models: tuple[str, ...] = ("models/*.sql",)
    models_dialect: str = "postgres"
    bundles: str = "bundles"
    dialects: tuple[str, ...] = field(default_factory=dialect_names)
    reviewers: str = "reviewers.toml"
    ignore_unsupported: bool = False  # skip functions, triggers, partitions... in model files, with a warning
    django_apps: tuple[str, ...] | None = None  # models = "django:...": the app labels read (None: every non-contrib app)
    databases: dict[str, str] = field(default_factory=lambda: {"default": DEFAULT_DATABASE_URL})
    fleets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # [fleets]: name -> database names and URLs, in order
    policy: Policy = Policy()
    prove: dict[str, str] = field(default_factory=dict)  # [prove]: dialect -> URL of a server for scratch databases
    lint: LintSettings = LintSettings()
    generate: GenerateSettings = GenerateSettings()

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

    def prove_server(self, dialect: str) -> str | None:
        """Return the server `prove` makes scratch databases of `dialect` on, or None when none is named.

        The environment (REVIEWKIT_PROVE_<DIALECT>_URL) wins over [prove], as
        REVIEWKIT_DATABASE_URL wins over [databases.default]: a CI job points at its own
        server without editing the file.
        """
        env = prove_env_var(dialect)
        if os.environ.get(env):
            return os.environ[env]
        url = self.prove.get(dialect)
        return None if url is None else expand_env(url, f"[prove] {dialect}")


def prove_env_var(dialect: str) -> str:
    """Return the environment variable naming `prove`'s server for `dialect`: REVIEWKIT_PROVE_MYSQL_URL."""
    return f"REVIEWKIT_PROVE_{dialect.upper()}_URL"


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


# -- the checks, one per kind of setting --------------------------------------------------


class _Invalid(Exception):
    """A setting's value is wrong: `reason` says how ("must be ..., not ..."), `at` where inside it ("[2]")."""

    def __init__(self, reason: str, at: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


Check = Callable[[Any], Any]  # return the value to keep, or raise _Invalid


def toml_key(key: str) -> str:
    """Return `key` as TOML writes it in a header: bare, or quoted when it holds anything else (a line break too)."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def describe(value: Any) -> str:
    """Return how a TOML value reads in a message: `true`, `-1`, `the string "false"`, `a table`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value[:40]) + ("..." if len(value) > 40 else "")  # JSON quoting keeps it on one line
        return f"the string {shown}"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**12 else f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a table"
    return f"the date/time {value.isoformat()}"  # tomllib's other values: datetime, date, time


def _count(value: Any) -> int:
    """Accept a whole number >= 0; TOML's true is not 1 and 0.5 is not 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Invalid(f"must be a whole number >= 0, not {describe(value)}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {describe(value)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be a non-empty string, not {describe(value)}")
    return value


def _text_list(value: Any, example: str) -> tuple[str, ...]:
    """Accept a list of non-empty strings; a bare string is refused, not split into letters."""
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of strings (e.g. {example}), not {describe(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise _Invalid(f"must be a non-empty string, not {describe(item)}", f"[{index}]")
    return tuple(value)


def _models(value: Any) -> tuple[str, ...]:
    """Accept one model source ("models/*.sql", "sqlalchemy:...") or a list of file patterns."""
    if isinstance(value, str):
        return (_text(value),)
    return _text_list(value, '["models/*.sql"]')


def _app_labels(value: Any) -> tuple[str, ...]:
    return _text_list(value, '["library"]')


def _roles(value: Any) -> tuple[str, ...]:
    return _text_list(value, '["dba"]')


def _dialect(value: Any) -> str:
    known = dialect_names()
    if not isinstance(value, str):
        raise _Invalid(f"must be a dialect name ({', '.join(known)}), not {describe(value)}")
    if value not in known:
        close = _closest(value, known)
        hint = f"did you mean {close!r}? " if close else ""
        raise _Invalid(f"names an unknown dialect {value!r} ({hint}known: {', '.join(known)})")
    return value


def _dialects(value: Any) -> tuple[str, ...]:
    """Accept a non-empty list of distinct dialect names."""
    if not isinstance(value, list) or not value:
        raise _Invalid(f"must list at least one dialect (e.g. {json.dumps(list(dialect_names()))}), not {describe(value)}")
    return _distinct_dialects(value)


def _required_proofs(value: Any) -> tuple[str, ...]:
    """Accept a list of distinct dialect names, empty for none."""
    if not isinstance(value, list):
        raise _Invalid(f"must be a list of dialect names (e.g. {json.dumps(list(dialect_names())[:2])}), not {describe(value)}")
    return _distinct_dialects(value)


def _distinct_dialects(value: list) -> tuple[str, ...]:
    for index, item in enumerate(value):
        try:
            _dialect(item)
        except _Invalid as invalid:
            raise _Invalid(invalid.reason, f"[{index}]") from None
        if item in value[:index]:
            raise _Invalid(f"names {item!r} twice", f"[{index}]")
    return tuple(value)


# The settings of each section, named as the `Settings` and `Policy` fields they fill.
_MAIN: dict[str, Check] = {
    "models": _models,
    "models_dialect": _dialect,
    "bundles": _text,
    "dialects": _dialects,
    "reviewers": _text,
    "ignore_unsupported": _flag,
    "django_apps": _app_labels,
}
_DATABASE: dict[str, Check] = {"url": _text}
_POLICY: dict[str, Check] = {
    "approvals": _count,
    "high_risk_approvals": _count,
    "self_approval": _flag,
    "required_roles": _roles,
    "require_proof": _required_proofs,
}


def _level(value: Any) -> str:
    if value not in LEVELS:
        raise _Invalid(f"must be one of {', '.join(LEVELS)}, not {describe(value)}")
    return value


def _rules(value: Any) -> tuple[str, ...]:
    return _text_list(value, '["pg-index-without-concurrently"]')


_LINT: dict[str, Check] = {
    "small_table_rows": _count,
    "large_table_rows": _count,
    "disable": _rules,
    "fail_on": _level,
}


# A duration as PostgreSQL's lock_timeout takes it, with its unit: "5s", "500ms", "1min".
LOCK_TIMEOUT = re.compile(r"([1-9][0-9]{0,8})(ms|s|min)")


def _lock_timeout(value: Any) -> str:
    """Accept a positive duration with its unit; 0 (wait forever) would undo what online forms are for."""
    if not isinstance(value, str) or not LOCK_TIMEOUT.fullmatch(value):
        raise _Invalid(f'must be a duration like "5s", "500ms" or "1min" (a whole number > 0 and ms, s or min), '
                       f"not {describe(value)}")
    return value


_GENERATE: dict[str, Check] = {
    "online": _flag,
    "lock_timeout": _lock_timeout,
}


# [prove]: one server URL per dialect that lives on a server (a file-based one needs none).
_PROVE: dict[str, Check] = {name: _text for name in dialect_names() if not get_dialect(name).file_based}
# Where a setting belongs, for one misplaced in another section.
_HOME = {**dict.fromkeys(_MAIN, "reviewkit"), **dict.fromkeys(_DATABASE, "databases.NAME"), **dict.fromkeys(_POLICY, "policy"),
         **dict.fromkeys(_PROVE, "prove"), **dict.fromkeys(_LINT, "lint"),
         **dict.fromkeys(_GENERATE, "generate")}


# -- reading the file ---------------------------------------------------------------------


class _Source:
    """The configuration file and how its sections are spelled there."""

    __slots__ = ("file", "prefix")  # a plain class: a dataclass would cost every command a millisecond to build

    def __init__(self, file: str, prefix: str) -> None:
        self.file = file  # "reviewkit.toml" or "pyproject.toml"
        self.prefix = prefix  # "" or "tool.reviewkit."

    def section(self, name: str) -> str:
        """Return the header of section `name` as the user writes it: `[policy]`, `[tool.reviewkit.policy]`."""
        if name == "reviewkit":
            return "[tool.reviewkit]" if self.prefix else "[reviewkit]"
        return f"[{self.prefix}{name}]"

    @classmethod
    def of(cls, path: Path) -> _Source:
        return cls(path.name, "tool.reviewkit." if path.name == "pyproject.toml" else "")

    def error(self, text: str) -> ConfigError:
        return ConfigError(f"{self.file}: {text}")


def find_config(start: Path) -> Path | None:
    """Return the nearest reviewkit.toml, or pyproject.toml with [tool.reviewkit], above `start`."""
    for folder in (start, *start.parents):
        candidate = folder / "reviewkit.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool")
            if isinstance(tool, dict) and "reviewkit" in tool:
                return pyproject
    return None


def load_settings(start: Path | None = None) -> Settings:
    """Find the configuration at or above `start` (default: the current folder) and check every setting."""
    start = (start or Path.cwd()).resolve()
    path = find_config(start)
    if path is None:
        raise ConfigError(f"no reviewkit.toml found in {start} or above; run `reviewkit init` first")
    data, source = _read_toml(path), _Source.of(path)
    sections = _split_pyproject(source, data["tool"]["reviewkit"]) if source.prefix else _split_sections(source, data)
    return settings_from_dict(path, **sections)


def _split_sections(source: _Source, data: dict[str, Any]) -> dict[str, dict]:
    """Return reviewkit.toml's sections by name ([reviewkit] as `main`); refuse anything else at the top."""
    for key, value in data.items():
        if key not in SECTIONS and isinstance(value, dict):
            raise source.error(f"unknown section [{toml_key(key)}] (known: {', '.join(SECTIONS)})")
        if key not in SECTIONS:
            home = f"it belongs in {source.section(_HOME[key])}" if key in _HOME else f"sections: {', '.join(SECTIONS)}"
            raise source.error(f"setting {key!r} is outside any section ({home})")
        if not isinstance(value, dict):
            raise source.error(f"{key} must be a section {source.section(key)}, not {describe(value)}")
    return {"main": data.get("reviewkit", {}), **{key: data.get(key, {}) for key in SUBTABLES}}


def _split_pyproject(source: _Source, table: Any) -> dict[str, dict]:
    """Return [tool.reviewkit]'s own settings (as `main`) and its subtables by name."""
    if not isinstance(table, dict):
        raise source.error(f"tool.reviewkit must be a table [tool.reviewkit], not {describe(table)}")
    for key in SUBTABLES:
        if key in table and not isinstance(table[key], dict):
            raise source.error(f"{source.section('reviewkit')} {key} must be a table {source.section(key)}, not {describe(table[key])}")
    main = {k: v for k, v in table.items() if k not in SUBTABLES}
    return {"main": main, **{key: table.get(key, {}) for key in SUBTABLES}}


def settings_from_dict(path: Path, main: dict[str, Any], databases: dict[str, Any], policy: dict[str, Any],
                       prove: dict[str, Any] | None = None, lint: dict[str, Any] | None = None,
                       generate: dict[str, Any] | None = None, fleets: dict[str, Any] | None = None) -> Settings:
    """Return the Settings of config file `path`'s sections, each setting checked; raise ConfigError naming it."""
    source = _Source.of(path)
    urls = {"default": DEFAULT_DATABASE_URL, **_databases(source, databases)}
    settings = Settings(
        root=path.parent,
        config_file=path,
        databases=urls,
        fleets=_fleets(source, fleets or {}, urls),
        policy=Policy(**_checked(source, "policy", policy, _POLICY)),
        prove=_checked(source, "prove", prove or {}, _PROVE),
        lint=LintSettings(**_checked(source, "lint", lint or {}, _LINT)),
        generate=GenerateSettings(**_checked(source, "generate", generate or {}, _GENERATE)),
        **_checked(source, "reviewkit", main, _MAIN),
    )
    _check_required_proofs(source, settings)
    return settings


def _check_required_proofs(source: _Source, settings: Settings) -> None:
    """Refuse a proof required of a dialect no bundle carries: it could never be given."""
    for index, name in enumerate(settings.policy.require_proof):
        if name not in settings.dialects:
            raise source.error(f"{source.section('policy')} require_proof[{index}] names {name!r}, which "
                               f"{source.section('reviewkit')} dialects does not list ({', '.join(settings.dialects)})")


def _databases(source: _Source, databases: dict[str, Any]) -> dict[str, str]:
    """Return each [databases.NAME]'s url; a database is a table holding exactly `url`."""
    urls = {}
    for name, entry in databases.items():
        section = source.section(f"databases.{toml_key(name)}")
        if not isinstance(entry, dict):
            raise source.error(f"{source.section('databases')} {toml_key(name)} must be a table {section} with url = \"...\", not {describe(entry)}")
        checked = _checked(source, f"databases.{toml_key(name)}", entry, _DATABASE)
        if "url" not in checked:
            raise source.error(f'{section} needs url = "..."')
        urls[name] = checked["url"]
    return urls


def _fleets(source: _Source, fleets: dict[str, Any], databases: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Return each fleet's databases: a non-empty list of names from [databases] or URLs, each database once."""
    header = source.section("fleets")
    checked = {}
    for name, members in fleets.items():
        key = f"{header} {toml_key(name)}"
        try:
            checked[name] = _text_list(members, '["eu", "us", "postgresql://..."]')
        except _Invalid as invalid:
            raise source.error(f"{key}{invalid.at} {invalid.reason}") from None
        if not members:
            raise source.error(f"{key} lists no database (give names from {source.section('databases')} or URLs)")
        for index, member in enumerate(members):
            problem = _fleet_member_problem(name, member, members[:index], databases, fleets)
            if problem:
                raise source.error(f"{key}[{index}] {problem}")
    return checked


def _fleet_member_problem(fleet: str, member: str, before: list[str], databases: dict[str, str],
                          fleets: dict[str, Any]) -> str | None:
    """Say what is wrong with one database of a fleet: not a database, the fleet itself, or named twice."""
    if "://" not in member and member not in databases:
        if member == fleet:
            return f"names the fleet {fleet!r} itself: a fleet lists databases"
        if member in fleets:
            return f"names the fleet {member!r}: a fleet lists databases, not fleets"
        close = _closest(member, databases)
        hint = f"did you mean {close!r}? " if close else ""
        return f"names no database {member!r} ({hint}known in [databases]: {', '.join(sorted(databases))}; or give a URL)"
    url = databases.get(member, member)
    for index, earlier in enumerate(before):
        if earlier == member:
            return f"names {_shown(member)} again (as [{index}] does)"
        if databases.get(earlier, earlier) == url:
            return f"{_shown(member)} is the same database as [{index}] {_shown(earlier)}"
    return None


def _shown(member: str) -> str:
    """Return a fleet's database as a message shows it: a name quoted, a URL without its password."""
    if "://" not in member:
        return repr(member)
    from reviewkit.dialects.connection import redact  # only on the way to an error

    return redact(member)


def _checked(source: _Source, section: str, values: dict[str, Any], rules: dict[str, Check]) -> dict[str, Any]:
    """Return the section's settings, each passed through its check; refuse unknown keys, naming the closest."""
    header = source.section(section)
    checked = {}
    for key, value in values.items():
        if key not in rules:
            raise source.error(_unknown(source, section, key, value, rules))
        try:
            checked[key] = rules[key](value)
        except _Invalid as invalid:
            raise source.error(f"{header} {key}{invalid.at} {invalid.reason}") from None
    return checked


def _unknown(source: _Source, section: str, key: str, value: Any, rules: dict[str, Check]) -> str:
    """Return the message for an unknown key: a stray or misspelled table, a misspelling, a misplaced setting."""
    header = source.section(section)
    if isinstance(value, dict):
        return f"unknown section [{header[1:-1]}.{toml_key(key)}] ({_section_hint(source, section, key)})"
    close = _closest(key, rules) or _closest(key, _HOME)
    if section == "prove" and key in dialect_names():
        hint = f"{get_dialect(key).title} needs no server: prove uses a temporary file; known: {', '.join(rules)}"
    elif key in _HOME:
        hint = f"it belongs in {source.section(_HOME[key])}"
    elif close in rules:
        hint = f"did you mean {close!r}?"
    elif close:
        hint = f"did you mean {close!r} in {source.section(_HOME[close])}?"
    else:
        hint = f"known: {', '.join(rules)}"
    return f"{header} unknown setting {key!r} ({hint})"


def _section_hint(source: _Source, section: str, key: str) -> str:
    """Return the hint for an unknown table `key` inside `section`: the section meant, or what is known."""
    close = _closest(key, SUBTABLES, cutoff=0.7)  # "replica" is not "policy"
    if close:
        return f"did you mean {source.section(close)}?"
    if source.prefix and section == "reviewkit":  # [tool.reviewkit] holds the other sections
        return f"known: {', '.join(SUBTABLES)}"
    return f"{source.section(section)} has no subsections"


def _closest(word: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """Return the candidate `word` most likely misspells, if any is close enough."""
    import difflib  # only on the way to an error: every command starts without it

    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return close[0] if close else None


def _read_toml(path: Path) -> dict[str, Any]:
    """Return the parsed TOML file; any way it cannot be read is a ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path.name}: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path.name}: not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})") from None
    except ValueError as err:  # tomllib lets int() refuse a number of more than 4300 digits
        raise ConfigError(f"{path.name}: not valid TOML ({str(err).split(';')[0]})") from None
    except RecursionError:
        raise ConfigError(f"{path.name}: not valid TOML (arrays or tables nested too deeply)") from None
    except OSError as err:
        raise ConfigError(f"{path.name}: cannot read it ({err.strerror or err})") from None
