"""A seeded sweep of random histories around foreign keys, run on the real engines.

Each history (tests/fk_histories.py) is generated into bundles, and every bundle runs up,
down and up again on each engine with the schema read back and rows kept, as the
scenarios do. The default run is short; `REVIEWKIT_FK_SWEEP=500 python -m pytest
tests/test_foreign_key_sweep.py` runs 500 histories. A failing history's id is its seed:
`random_history(random.Random(seed))` rebuilds it.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.diff import DeclaredRenames
from reviewkit.generate import GenerateOptions, generate
from tests.fk_histories import Step, random_history
from tests.scenario_support import CONFIG, walk_bundles
from tests.test_foreign_keys import assert_schema_and_innodb_indexes

HISTORIES = int(os.environ.get("REVIEWKIT_FK_SWEEP", "24"))
SEEDS = [f"seed{n}" for n in range(HISTORIES)]


def build_history(steps: list[Step], project: Path) -> list[Bundle]:
    """Generate one bundle per step of a history; return them in order."""
    project.mkdir(parents=True)
    (project / "reviewkit.toml").write_text(CONFIG.format(dialects='["postgres", "mysql", "sqlite"]', models_dialect="postgres"))
    models = project / "models"
    for number, step in enumerate(steps, 1):
        shutil.rmtree(models, ignore_errors=True)
        models.mkdir()
        (models / "schema.sql").write_text(step.ddl)
        options = GenerateOptions(renames=DeclaredRenames.parse(step.renames), author="sweep")
        assert generate(load_settings(project), options) is not None, f"step {number} changed nothing:\n{step.ddl}"
    return load_bundles(project / "bundles")


@pytest.fixture(scope="module")
def histories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Bundle]]:
    """Bundles of each seed's history, built once for every engine."""
    return {}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_foreign_key_history_round_trips(seed, engine_db, histories, tmp_path_factory):
    if seed not in histories:
        steps = random_history(random.Random(int(seed.removeprefix("seed"))))
        histories[seed] = build_history(steps, tmp_path_factory.mktemp(seed) / "project")
    walk_bundles(engine_db, histories[seed], assert_schema_and_innodb_indexes)
