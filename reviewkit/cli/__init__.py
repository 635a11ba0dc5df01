"""The command line: one module per command group, each parsing options, calling one
library function and rendering the result; `app` puts them together.

`main` is the `reviewkit` console script.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run the `reviewkit` command; a Ctrl-C while its modules load ends it as one during the command would."""
    try:
        from reviewkit.cli.app import main as run_command
    except KeyboardInterrupt:  # nothing has run yet: no traceback, the usual line and status
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        os._exit(130)
    run_command()


__all__ = ["main"]
