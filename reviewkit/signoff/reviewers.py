"""The reviewers file: who may approve, with which keys, under which emails and roles.

```toml
[reviewers.alice]
keys = ["ssh-ed25519 AAAA... alice"]
emails = ["alice@example.com"]
roles = ["dba"]
```
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewkit.config import Settings
from reviewkit.errors import ConfigError
from reviewkit.signoff.keys import fingerprint_of_line, valid_name

REVIEWERS_ENV = "REVIEWKIT_REVIEWERS"
_FIELDS = ("keys", "emails", "roles")
_AUTHOR = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")


@dataclass(frozen=True)
class Reviewer:
    name: str
    keys: tuple[str, ...]  # OpenSSH public key lines
    fingerprints: tuple[str, ...]  # one per key, same order
    emails: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def key_for(self, fingerprint: str) -> str | None:
        """Return the public key line with this fingerprint, if the reviewer has it."""
        for line, fp in zip(self.keys, self.fingerprints, strict=True):
            if fp == fingerprint:
                return line
        return None

    def is_author(self, author: str) -> bool:
        """Return whether a manifest author ("Name <email>", "email" or "name") is this reviewer."""
        name, email = split_author(author)
        emails = {e.casefold() for e in self.emails}
        return (name is not None and name.casefold() == self.name.casefold()) or (email is not None and email.casefold() in emails)


@dataclass(frozen=True)
class Reviewers:
    path: Path
    by_name: dict[str, Reviewer]

    def get(self, name: str) -> Reviewer | None:
        return self.by_name.get(name)

    def with_key(self, fingerprint: str) -> list[Reviewer]:
        """Return every reviewer listing the key with this fingerprint, by name."""
        return [r for _, r in sorted(self.by_name.items()) if r.key_for(fingerprint) is not None]


def split_author(author: str) -> tuple[str | None, str | None]:
    """Split "Name <email>" into its parts; a bare "a@b" is an email, anything else a name."""
    match = _AUTHOR.match(author)
    if match:
        return (match["name"] or None), (match["email"].strip() or None)
    text = author.strip()
    return (None, text) if "@" in text else (text or None, None)


def resolve_reviewers_path(settings: Settings, cli_value: str | None) -> Path:
    """Return the reviewers file to trust: `--reviewers`, else REVIEWKIT_REVIEWERS, else the project's."""
    given = cli_value or os.environ.get(REVIEWERS_ENV)
    if given:
        return Path(given).expanduser().absolute()
    return settings.reviewers_file


def load_reviewers(path: Path) -> Reviewers:
    """Read and check the reviewers file; raise ConfigError naming the file and reviewer."""
    label = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: reviewers file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the reviewers file ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{label}: {err}") from None
    except ValueError as err:  # tomllib lets int() refuse a number of more than 4300 digits
        raise ConfigError(f"{label}: not valid TOML ({str(err).split(';')[0]})") from None
    except RecursionError:
        raise ConfigError(f"{label}: not valid TOML (arrays or tables nested too deeply)") from None
    unknown = sorted(set(data) - {"reviewers"})
    if unknown:
        raise ConfigError(f"{label}: unknown table or key {unknown[0]!r} (expected [reviewers.NAME] tables)")
    table = data.get("reviewers", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: 'reviewers' must be a table of [reviewers.NAME] entries")
    return Reviewers(path, {name: _reviewer(label, name, entry) for name, entry in table.items()})


def _reviewer(label: str, name: str, entry: Any) -> Reviewer:
    if not valid_name(name):  # quoted: the name may hold anything, a line break too
        raise ConfigError(f"{label}: [reviewers.{json.dumps(name)}]: a reviewer name uses letters, digits, '.', '_' and '-' only")
    where = f"{label}: [reviewers.{name}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table with keys, emails and roles")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})")
    keys, emails, roles = (_strings(where, field, entry.get(field, [])) for field in _FIELDS)
    if not keys:
        raise ConfigError(f"{where}: keys must list at least one 'ssh-ed25519 AAAA...' public key")
    fingerprints = []
    for index, line in enumerate(keys):
        try:
            fingerprints.append(fingerprint_of_line(line))
        except ValueError as err:
            raise ConfigError(f"{where}: keys[{index}]: {err}") from None
    return Reviewer(name, keys, tuple(fingerprints), emails, roles)


def _strings(where: str, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {field} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)
