"""Generate a bundle: models -> diff -> operations -> SQL per dialect -> files on disk.

`generator` runs the stage, `risk` finds what a reviewer must not miss, `scripts` writes
the `.sql` files and `review` writes REVIEW.md.
"""

from reviewkit.generate.generator import GenerateOptions, generate

__all__ = ["GenerateOptions", "generate"]
