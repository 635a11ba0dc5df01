"""`reviewkit generate --check`: do the models need a bundle? Writes nothing.

The pre-commit and CI gate, as Django's `makemigrations --check`: the models are read and
diffed against the newest bundle's schema exactly as `generate` would, without asking
anything, and the operations a bundle would hold are returned. A model error is an
error here too (exit 2), so a broken model file cannot pass the gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reviewkit.bundle.store import load_bundles
from reviewkit.config import Settings
from reviewkit.dialects import get_dialect
from reviewkit.dialects.compiler import check_engines_hold
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, diff_schemas
from reviewkit.models import load_models
from reviewkit.schema.operations import Operation
from reviewkit.schema.state import Schema


@dataclass(frozen=True)
class ModelCheck:
    """What `generate` would do now: the operations of the bundle it would write (none: nothing to do)."""

    newest: str | None  # the id of the bundle the models were compared with; None: no bundle yet
    operations: list[Operation]

    @property
    def up_to_date(self) -> bool:
        return not self.operations


def check_models(settings: Settings, renames: DeclaredRenames | None = None,
                 warn: Callable[[str], None] | None = None) -> ModelCheck:
    """Compare the models with the newest bundle's schema, as `generate --no-input` would; write nothing.

    A drop and an add that look like a rename stay a drop and an add unless `renames`
    declares it, as without a terminal. One-off defaults are not asked for: the question
    is whether a bundle is missing, not whether it could be written without them.
    """
    bundles = load_bundles(settings.bundles_dir)
    newest = bundles[-1] if bundles else None
    before = newest.schema() if newest else Schema()
    models = load_models(settings, warn)
    check_engines_hold(models, [get_dialect(d) for d in settings.dialects])
    operations = diff_schemas(before, models, renames or DeclaredRenames(), NoInputQuestioner())
    return ModelCheck(newest.id if newest else None, operations)
