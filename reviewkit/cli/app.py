"""The `reviewkit` command: the typer app, its command groups, and `main`.

Every ReviewkitError becomes one or two plain lines on stderr and its exit code; a
traceback appears only with --debug.

Help and usage errors are click's plain text, never rich's boxes: the same lines on a
terminal, in a pipe and in a CI log, and no markup to eat `[databases]` or `<reviewer>`.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated

import typer

from reviewkit import __version__
from reviewkit.cli import database, project, signoff
from reviewkit.cli.console import err, out, say
from reviewkit.errors import ReviewkitError

app = typer.Typer(
    help="Reviewed, signed, checksummed schema migrations: generate, review, approve, apply.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
# The name in usage lines and in the completion variable (_REVIEWKIT_COMPLETE), also
# under `python -m reviewkit`.
PROG_NAME = "reviewkit"
_debug = {"on": False}

# The order `reviewkit --help` lists them in: the workflow's.
COMMANDS = (
    ("init", project.init_cmd),
    ("generate", project.generate_cmd),
    ("squash", project.squash_cmd),
    ("rebase", project.rebase_cmd),
    ("show", project.show_cmd),
    ("lint", project.lint_cmd),
    ("review", project.review_cmd),
    ("prove", database.prove_cmd),
    ("status", database.status_cmd),
    ("apply", database.apply_cmd),
    ("baseline", database.baseline_cmd),
    ("drift", database.drift_cmd),
    ("keygen", signoff.keygen_cmd),
    ("approve", signoff.approve_cmd),
    ("verify", signoff.verify_cmd),
    ("seal", signoff.seal_cmd),
)
for _name, _command in COMMANDS:
    app.command(_name)(_command)


def _print_version(value: bool) -> None:
    if value:
        say(out, f"reviewkit {__version__}")
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
    """Entry point of the `reviewkit` process: run one command, then leave at once.

    A command runs once and the process ends, so two costs are skipped: the cycle
    collector, whose scans of sqlglot's trees (held in parent/child cycles) cost a tenth
    of a large `generate`, and the interpreter's teardown, which frees every object one by
    one for another tenth. Output is flushed first; nothing else is left to finish, since
    every command has committed, closed and written what it opened before it returns.
    Under a profiler or a tracer (cProfile, coverage) the process ends normally, so that
    they can write what they measured.
    """
    gc.disable()
    code = run()  # click has already quieted a stream whose reader left (`reviewkit show 3 | head`)
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run() -> int:
    """Run the app, turning our errors into plain lines, and return the exit code."""
    try:
        app(prog_name=PROG_NAME)  # standalone: typer reports bad options itself, with exit code 2
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except ReviewkitError as error:
        if _debug["on"]:
            raise
        say(err, f"error: {error}")
        return error.exit_code
    except KeyboardInterrupt:
        say(err, "interrupted")
        return 130
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if _debug["on"]:
            raise
        say(err, f"internal error: {type(error).__name__}: {error} (run with --debug for details)")
        return 1
    return 0


def _exit_code(code: object) -> int:
    """The status sys.exit(code) would give: None is 0, a message is printed and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
