"""Shared by the corpus tests: public sample schemas used as models, as a new user would.

The corpus lives beside the project as `../shared/corpus` (see its README). In CI it must
be there; elsewhere a test that needs it is skipped with the reason.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.db.execute import run_statement
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.splitter import split_statements
from reviewkit.diff import DeclaredRenames
from reviewkit.generate import GenerateOptions, generate
from reviewkit.models.kinds import classify

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus_file(relative: str) -> Path:
    """Return a corpus file; skip the test when the corpus is missing (fail in CI)."""
    path = CORPUS / relative
    if not path.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the corpus file {path} is missing in CI", pytrace=False)
        pytest.skip(f"the public schema corpus is not at {CORPUS} (it sits beside the project in CI)")
    return path


@dataclass(frozen=True)
class Change:
    """A realistic second change to a corpus model: text edits and the renames they declare."""

    edits: tuple[tuple[str, str], ...]
    renames: tuple[str, ...] = ()
    everywhere: tuple[tuple[str, str], ...] = ()  # edits of every occurrence (the views that read a renamed column)

    def apply(self, text: str, where: str) -> str:
        for old, new in self.edits:
            assert text.count(old) == 1, f"{where}: expected exactly one {old!r} to edit"
            text = text.replace(old, new)
        for old, new in self.everywhere:
            assert old in text, f"{where}: nothing to edit for {old!r}"
            text = text.replace(old, new)
        return text


@dataclass(frozen=True)
class CorpusModel:
    """One corpus file used as the models of a project, and a change to make to it."""

    file: str  # relative to the corpus
    dialect: str  # models_dialect
    change: Change
    settings: dict[str, str] = field(default_factory=dict)  # extra [reviewkit] settings, TOML values
    # Edits made to the file as published, each with its reason: what an engine cannot run as
    # written (a view grouping by less than it selects, on PostgreSQL), or the test servers
    # cannot (PostgreSQL 18's uuidv7() on PostgreSQL 15). `old` is a regular expression.
    adapt: tuple[tuple[str, str, str], ...] = ()

    def source_text(self) -> str:
        text = corpus_file(self.file).read_text(encoding="utf-8-sig")
        for old, new, _reason in self.adapt:
            text, count = re.subn(old, new, text, flags=re.DOTALL)
            assert count, f"{self.file}: nothing to adapt for {old!r}"
        return text

    @property
    def id(self) -> str:
        return Path(self.file).stem


CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "{dialect}"
dialects = ["postgres", "mysql", "sqlite"]
{extra}
"""


def build_corpus_project(model: CorpusModel, project: Path, warnings: list[str] | None = None) -> list[Bundle]:
    """Generate bundle 1 from the corpus file as it is, then bundle 2 from the changed file."""
    project.mkdir(parents=True, exist_ok=True)
    extra = "\n".join(f"{key} = {value}" for key, value in model.settings.items())
    (project / "reviewkit.toml").write_text(CONFIG.format(dialect=model.dialect, extra=extra))
    models = project / "models"
    models.mkdir(exist_ok=True)
    text = model.source_text()
    warn = (warnings.append if warnings is not None else None)
    steps = [(text, ()), (model.change.apply(text, model.file), model.change.renames)]
    for number, (step_text, renames) in enumerate(steps, 1):
        (models / "schema.sql").write_text(step_text, encoding="utf-8")
        options = GenerateOptions(renames=DeclaredRenames.parse(list(renames)), author="corpus", warn=warn)
        assert generate(load_settings(project), options) is not None, f"{model.file}: step {number} made no bundle"
    return load_bundles(project / "bundles")


def load_corpus_data(conn: Connection, model: CorpusModel) -> int:
    """Run the corpus file's own INSERT statements on an engine of its dialect; return how many ran."""
    text = corpus_file(model.file).read_text(encoding="utf-8-sig")
    inserts = [s for s in split_statements(text, model.dialect) if classify(s.sql).label == "INSERT"]
    conn.begin()
    for number, statement in enumerate(inserts, 1):
        run_statement(conn, statement, number, model.file)
    conn.commit()
    return len(inserts)
