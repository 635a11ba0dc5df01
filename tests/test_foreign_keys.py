"""Foreign keys through index and type changes, on every engine.

MySQL/MariaDB refuse to drop the last index a foreign key uses and to change the type of
a column a foreign key uses; each scenario here makes such a change on one or both ends
of a foreign key and walks the bundles up, down and up again on the real engines.
"""

from __future__ import annotations

import pytest

from tests.scenario_support import build_scenario, walk_bundles
from tests.test_engines import assert_schema

FK_SCENARIOS = ("fk_index_swap", "fk_widen_key", "fk_parent_key_swap", "fk_renames", "fk_shared_index")


@pytest.fixture(scope="module", params=FK_SCENARIOS)
def fk_bundles(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return build_scenario(request.param, tmp_path_factory.mktemp(request.param))


def test_foreign_key_scenario_round_trips(engine_db, fk_bundles):
    walk_bundles(engine_db, fk_bundles, assert_schema)
