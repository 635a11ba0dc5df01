"""The command line: one module per command group, each parsing options, calling one
library function and rendering the result; `app` puts them together.

`main` is the `reviewkit` console script.
"""

from reviewkit.cli.app import main

__all__ = ["main"]
