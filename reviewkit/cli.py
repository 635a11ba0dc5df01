"""The command line: parse options, call one library function, render the result.

Every ReviewkitError becomes one or two plain lines on stderr and its exit code; a
traceback appears only with --debug.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reviewkit import __version__
from reviewkit.bundle import find_bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.errors import ReviewkitError

app = typer.Typer(
    help="Reviewed, signed, checksummed schema migrations: generate, review, approve, apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}


class TerminalQuestioner:
    """Ask the differ's questions on the terminal."""

    def ask_rename_table(self, old: str, new: str) -> bool:
        return typer.confirm(f"Did you rename table {old} to {new}?", default=False)

    def ask_rename_column(self, table: str, old: str, new: str, type_name: str) -> bool:
        return typer.confirm(f"Did you rename {table}.{old} to {table}.{new} ({type_name})?", default=False)


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
    _state["debug"] = debug


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Project folder (default: the current one).")] = Path("."),
) -> None:
    """Scaffold reviewkit.toml, models/, bundles/ and reviewers.toml."""
    from reviewkit.scaffold import init_project

    created = init_project(directory)
    for path in created:
        out.print(f"created {path}")
    out.print("Next: declare tables in models/*.sql, then run `reviewkit generate`.")


@app.command("generate")
def generate_cmd(
    name: Annotated[str | None, typer.Argument(help="Name for the bundle (default: derived from the changes).")] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Write an empty bundle to fill by hand.")] = False,
    rename: Annotated[list[str] | None, typer.Option("--rename", help="Declare a rename: OLD=NEW or table.old=table.new.")] = None,
    no_input: Annotated[bool, typer.Option("--no-input", help="Never ask; a drop+add stays a drop+add.")] = False,
    author: Annotated[str | None, typer.Option("--author", help="Bundle author (default: REVIEWKIT_AUTHOR, git, OS user).")] = None,
) -> None:
    """Diff the models against the last bundle and write a new bundle."""
    # Imported here: the differ and model parsers are not needed by apply or status.
    from reviewkit.diff import DeclaredRenames
    from reviewkit.generate import GenerateOptions, generate

    settings = load_settings()
    interactive = not no_input and sys.stdin.isatty()
    options = GenerateOptions(name=name, empty=empty, renames=DeclaredRenames.parse(rename or []), author=author)
    bundle = generate(settings, options, TerminalQuestioner() if interactive else None)
    if bundle is None:
        out.print("No changes detected")
        return
    rel = bundle.path.relative_to(settings.root) if bundle.path.is_relative_to(settings.root) else bundle.path
    out.print(f"Wrote bundle {rel} ({len(bundle.manifest['operations'])} operations, risk {bundle.risk_level})")
    for finding in bundle.manifest["risk"]["findings"]:
        scope = f" [{finding['dialect']}]" if "dialect" in finding else ""
        out.print(f"  {finding['level']:<6} {finding['message']}{scope}", highlight=False)
    out.print(f"digest {bundle.digest}")


@app.command()
def show(
    bundle: Annotated[str, typer.Argument(help="Bundle number, id or path.")],
    dialect: Annotated[str | None, typer.Option("--dialect", help="Dialect (default: the first configured).")] = None,
    down: Annotated[bool, typer.Option("--down", help="Show the down script.")] = False,
) -> None:
    """Print a bundle's SQL."""
    settings = load_settings()
    found = find_bundle(load_bundles(settings.bundles_dir), bundle)
    text = found.script(dialect or found.manifest["dialects"][0], "down" if down else "up")
    if out.is_terminal:
        from rich.syntax import Syntax  # only a terminal needs it; keep start-up fast

        lexer = "mysql" if (dialect or found.manifest["dialects"][0]) == "mysql" else "postgresql" if (dialect or "") != "sqlite" else "sql"
        out.print(Syntax(text, lexer, word_wrap=True))
    else:
        sys.stdout.write(text)


from reviewkit.cli_runner import register as _register_runner  # noqa: E402 - commands added to `app`

_register_runner(app)


def main() -> None:
    """Entry point: run the app, turning our errors into plain lines and exit codes."""
    try:
        app()  # standalone: typer reports bad options itself, with exit code 2
    except ReviewkitError as error:
        if _state["debug"]:
            raise
        err.print(f"error: {error}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the last line of defence against tracebacks
        if _state["debug"]:
            raise
        err.print(f"internal error: {type(error).__name__}: {error} (run with --debug for details)", markup=False)
        sys.exit(1)


from reviewkit.cli_signoff import register as _register_signoff  # noqa: E402 - commands added to `app`

_register_signoff(app)


if __name__ == "__main__":
    main()
