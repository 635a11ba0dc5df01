"""The `reviewkit` command: the typer app, its command groups, and `main`.

Every ReviewkitError becomes one or two plain lines on stderr and its exit code; a
traceback appears only with --debug.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reviewkit import __version__
from reviewkit.cli import database, project, signoff
from reviewkit.cli.console import err, out
from reviewkit.errors import ReviewkitError

app = typer.Typer(
    help="Reviewed, signed, checksummed schema migrations: generate, review, approve, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_debug = {"on": False}

# The order `reviewkit --help` lists them in: the workflow's.
COMMANDS = (
    ("init", project.init_cmd),
    ("generate", project.generate_cmd),
    ("show", project.show_cmd),
    ("status", database.status_cmd),
    ("apply", database.apply_cmd),
    ("keygen", signoff.keygen_cmd),
    ("approve", signoff.approve_cmd),
    ("verify", signoff.verify_cmd),
    ("seal", signoff.seal_cmd),
)
for _name, _command in COMMANDS:
    app.command(_name)(_command)


def _print_version(value: bool) -> None:
    if value:
        out.print(f"reviewkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    _debug["on"] = debug


def main() -> None:
    """Entry point: run the app, turning our errors into plain lines and exit codes."""
    try:
        app()  # standalone: typer reports bad options itself, with exit code 2
    except ReviewkitError as error:
        if _debug["on"]:
            raise
        err.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if _debug["on"]:
            raise
        err.print(f"internal error: {type(error).__name__}: {error} (run with --debug for details)", markup=False)
        sys.exit(1)
