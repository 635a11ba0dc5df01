"""Findings kept per script, so that linting bytes already linted costs a file read and a hash.

A script's findings (allowances applied, not yet weighed by size or filtered by `[lint]
disable`) depend only on its bytes, its dialect, the schema before it, whether its bundle
is online, and the rules. The key hashes all five; the rules by the text of the modules that make them, so an upgrade or
an edit of a rule is never answered from an old entry. Entries live in the project's
`.reviewkit/lint/` folder, which git ignores by the `.gitignore` it holds; a cache that
cannot be read or written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from reviewkit.lint.findings import Finding
from reviewkit.local_cache import FOLDER as LOCAL_FOLDER
from reviewkit.local_cache import local_folder

FOLDER = LOCAL_FOLDER / "lint"
_FIELDS = {"rule", "level", "message", "help", "file", "line", "statement", "table", "rows", "allowed", "locks"}


def key(script: bytes, dialect: str, before: bytes, path: str, online: bool = False) -> str:
    """Return the cache key of a script: its bytes, dialect, the schema before it, where it is, its form, the rules' code."""
    digest = hashlib.sha256()
    for part in (_rules_fingerprint(dialect).encode(), dialect.encode(), path.encode(), hashlib.sha256(before).digest(),
                 hashlib.sha256(script).digest(), b"online" if online else b"plain"):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def load(root: Path, entry: str) -> list[Finding] | None:
    """Return the findings kept under `entry`, or None when there are none (or they cannot be read)."""
    try:
        data = json.loads((root / FOLDER / f"{entry}.json").read_text(encoding="utf-8"))
        return [Finding(**{k: v for k, v in item.items() if k in _FIELDS}) for item in data]
    except (OSError, ValueError, TypeError):
        return None


def store(root: Path, entry: str, findings: list[Finding]) -> None:
    """Keep the findings under `entry`, written whole (a temporary file renamed) or not at all."""
    try:
        folder = local_folder(root, FOLDER.name)
        temporary = folder / f".{entry}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps([_as_dict(f) for f in findings]), encoding="utf-8")
        temporary.replace(folder / f"{entry}.json")
    except OSError:
        pass  # a read-only project lints all the same, only without keeping what it found


def _as_dict(finding: Finding) -> dict:
    return {name: value for name, value in vars(finding).items() if name in _FIELDS}


@lru_cache(maxsize=8)
def _rules_fingerprint(dialect: str) -> str:
    """Hash the source of the lint engine and of the dialect's package (its rules and what they use)."""
    digest = hashlib.sha256()
    for source in rule_sources(dialect):
        try:
            digest.update(source.read_bytes())
        except OSError:
            digest.update(source.name.encode())
    return digest.hexdigest()


def rule_sources(dialect: str) -> list[Path]:
    """Return the modules that make a dialect's findings: the lint engine's, and every module of the dialect.

    Not only its `lint_*.py`: the rules import the dialect's other modules (PostgreSQL's
    `rewrites.py`, the lock estimate), and an edit there changes findings too.
    """
    package = Path(__file__).resolve().parent
    return sorted(package.glob("*.py")) + sorted((package.parent / "dialects" / dialect).glob("*.py"))
