"""`reviewkit init`: the files a new project starts from, never overwriting any."""

from __future__ import annotations

import json
from pathlib import Path

from reviewkit.dialects import dialect_names
from reviewkit.errors import UsageError
from reviewkit.local_cache import local_folder

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]          # DDL files; or "sqlalchemy:package.module:Base.metadata"
models_dialect = "postgres"        # dialect the model files are written in
bundles = "bundles"
dialects = {dialects}
reviewers = "reviewers.toml"

[databases.default]                # the embedded default: works on a fresh machine
url = "sqlite:///reviewkit.sqlite3"

# [databases.prod]
# url = "${PROD_DATABASE_URL}"     # environment variables are expanded

[policy]
approvals = 1
high_risk_approvals = 2
self_approval = false
"""

REVIEWERS = """\
# Who may approve bundles. Add a reviewer with `reviewkit keygen NAME`, which prints the entry.
#
# [reviewers.alice]
# keys = ["ssh-ed25519 AAAA... alice"]
# emails = ["alice@example.com"]
# roles = ["dba"]
"""

MODEL = """\
-- Declare your tables here (CREATE TABLE, CREATE INDEX, ALTER TABLE ... ADD CONSTRAINT),
-- then run `reviewkit generate`.
"""


def init_project(directory: Path) -> list[Path]:
    """Create the scaffold in `directory`; return the paths created."""
    config_text = CONFIG.replace("{dialects}", json.dumps(list(dialect_names())))
    config = directory / "reviewkit.toml"
    if config.exists():
        raise UsageError(f"{config} already exists; this folder is a reviewkit project already")
    created = []
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in ((config, config_text), (directory / "reviewers.toml", REVIEWERS), (directory / "models" / "schema.sql", MODEL)):
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        created.append(path)
    bundles = directory / "bundles"
    if not bundles.exists():
        bundles.mkdir()
        (bundles / ".gitkeep").write_text("")
        created.append(bundles)
    # The verification cache and lint's findings go there: ignored by git from the first commit on.
    local_folder(directory)
    return created
