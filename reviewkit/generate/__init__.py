"""Generate a bundle: models -> diff -> operations -> SQL per dialect -> files on disk.

`generator` runs the stage, `risk` finds what a reviewer must not miss, `scripts` writes
the `.sql` files and `review` writes REVIEW.md.

`GenerateOptions` and `generate` are loaded when first asked for: `baseline`, in this
package too, reads the database before it needs them (and the parser they load).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reviewkit.generate.generator import GenerateOptions, generate

__all__ = ["GenerateOptions", "generate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reviewkit.generate import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
