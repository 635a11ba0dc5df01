"""The project's `.reviewkit/` folder: what reviewkit keeps on this machine between runs, never committed.

Lint's findings (`.reviewkit/lint/`) and the verification cache (`.reviewkit/verify.json`)
live there. The folder ignores itself, as `.pytest_cache` does, with a `.gitignore` of
`*`: nothing to add to a project's own `.gitignore`, and `reviewkit init` writes it too.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(".reviewkit")
GITIGNORE = "# what reviewkit keeps on this machine (lint findings, verification cache): never commit it\n*\n"


def local_folder(root: Path, *parts: str) -> Path:
    """Return `.reviewkit/<parts>` of the project at `root`, made if needed, with its `.gitignore`; raise OSError."""
    folder = root / FOLDER
    folder.joinpath(*parts).mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")
    return folder.joinpath(*parts)
