"""The commands that work on the project's files only: `init`, `generate`, `squash`, `rebase`, `show`, `lint`, `review`."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewkit.bundle import find_bundle, load_bundles
from reviewkit.cli.console import err, out, say
from reviewkit.config import load_settings
from reviewkit.errors import UsageError
from reviewkit.plural import counted

if TYPE_CHECKING:
    from reviewkit.config import Settings
    from reviewkit.diff import DeclaredRenames, OneOffQuestion


class TerminalQuestioner:
    """Ask the differ's questions on the terminal."""

    def ask_rename_table(self, old: str, new: str) -> bool:
        return typer.confirm(f"Did you rename table {old} to {new}?", default=False)

    def ask_rename_column(self, table: str, old: str, new: str, type_name: str) -> bool:
        return typer.confirm(f"Did you rename {table}.{old} to {table}.{new} ({type_name})?", default=False)

    def ask_one_off_default(self, question: OneOffQuestion) -> str | None:
        """Ask until the value is one every engine takes; an empty answer or `quit` gives up."""
        say(out, question.text)
        while True:
            answer = typer.prompt(f"{question.where} ({question.type_name})", default="", show_default=False).strip()
            if answer in ("", "quit", "q"):
                return None
            problem = question.check(answer)
            if problem is None:
                return answer
            say(out, f"{problem}; try again, or quit")


def init_cmd(
    directory: Annotated[Path, typer.Argument(metavar="DIRECTORY", help="Project folder (default: the current one).", show_default=False)] = Path("."),
) -> None:
    """Scaffold reviewkit.toml, models/, bundles/ and reviewers.toml."""
    from reviewkit.scaffold import init_project

    for path in init_project(directory):
        say(out, f"created {path}")
    say(out, "Next: declare tables in models/*.sql, then run `reviewkit generate`.")


def generate_cmd(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Name for the bundle (default: derived from the changes).")] = None,
    empty: Annotated[bool, typer.Option("--empty", help="Write an empty bundle to fill by hand.")] = False,
    rename: Annotated[list[str] | None, typer.Option("--rename", metavar="OLD=NEW", help="Declare a rename: OLD=NEW or table.old=table.new.")] = None,
    no_input: Annotated[bool, typer.Option(
        "--no-input", help="Never ask: a drop+add stays a drop+add, and a column that needs a one-off default "
                           "without --default stops generate.")] = False,
    one_off: Annotated[list[str] | None, typer.Option(
        "--default", metavar="TABLE.COLUMN=VALUE",
        help="A one-off default for the existing rows of a NOT NULL column without a default, added or made "
             "NOT NULL: an SQL value (0, 'unknown'); filled once, not kept in the schema. Of a column dropped or "
             "let be NULL: the value down.sql gives the rows when it makes it NOT NULL again.")] = None,
    author: Annotated[str | None, typer.Option("--author", metavar="NAME", help="Bundle author (default: REVIEWKIT_AUTHOR, git, OS user).")] = None,
    online: Annotated[bool | None, typer.Option(
        "--online/--no-online",
        help="Write the lock-safe forms (CONCURRENTLY, NOT VALID, ALGORITHM=...), run statement by statement "
             "(default: [generate] online).")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Write nothing: exit 1 and list the changes when the models need a bundle, else 0 "
                        "(for pre-commit and CI).")] = False,
) -> None:
    """Diff the models against the last bundle and write a new bundle."""
    # Imported here: the differ and model parsers are not needed by apply or status.
    from reviewkit.diff import DeclaredRenames, OneOffDefaults
    from reviewkit.generate import GenerateOptions, generate

    settings = load_settings()
    if check:
        if empty:
            raise UsageError("--check compares the models with the newest bundle; --empty writes a bundle by hand: "
                             "use one or the other")
        _check_models(settings, DeclaredRenames.parse(rename or []))
        return
    interactive = not no_input and sys.stdin.isatty()
    options = GenerateOptions(
        name=name, empty=empty, renames=DeclaredRenames.parse(rename or []), author=author,
        warn=lambda line: say(err, f"warning: {line}"), online=online, one_off_defaults=OneOffDefaults.parse(one_off or []),
    )
    bundle = generate(settings, options, TerminalQuestioner() if interactive else None)
    if bundle is None:
        say(out, "No changes detected")
        return
    rel = bundle.path.relative_to(settings.root) if bundle.path.is_relative_to(settings.root) else bundle.path
    online_words = ", online" if bundle.online else ""
    say(out, f"Wrote bundle {rel} ({counted(len(bundle.manifest['operations']), 'operation')}, risk {bundle.risk_level}{online_words})")
    print_findings(bundle.manifest["risk"]["findings"])
    say(out, f"digest {bundle.digest}")


def squash_cmd(
    first: Annotated[str, typer.Argument(metavar="FROM", help="First bundle to replace: number, id or path.")],
    last: Annotated[str, typer.Argument(metavar="TO", help="Last bundle to replace.")],
    name: Annotated[str | None, typer.Argument(help="Name for the squash (its id is NNNN_squashed_MMMM[_NAME]).")] = None,
    author: Annotated[str | None, typer.Option("--author", help="Bundle author (default: REVIEWKIT_AUTHOR, git, OS user).")] = None,
    online: Annotated[bool | None, typer.Option(
        "--online/--no-online", help="Write the lock-safe forms (default: \\[generate] online).")] = None,
) -> None:
    """Replace bundles FROM..TO with one bundle, approved anew.

    The bundle is generated from the schemas before FROM and after TO, as a fresh generate
    would write it.
    """
    from reviewkit.generate.squash import SquashOptions, squash

    settings = load_settings()
    bundle = squash(settings, SquashOptions(first, last, name, author, online))
    rel = bundle.path.relative_to(settings.root) if bundle.path.is_relative_to(settings.root) else bundle.path
    say(out, f"Wrote bundle {rel} ({len(bundle.manifest['operations'])} operations, risk {bundle.risk_level}"
             f"{', online' if bundle.online else ''}), replacing {bundle.range_label}")
    print_findings(bundle.manifest["risk"]["findings"])
    say(out, f"digest {bundle.digest}")
    say(out, f"Next: approve it (the replaced bundles' approvals do not carry over): reviewkit approve {bundle.number} --key KEYFILE")


def _check_models(settings: Settings, renames: DeclaredRenames) -> None:
    """`generate --check`: say whether the models need a bundle; exit 1 when they do."""
    from reviewkit.generate.check import check_models

    result = check_models(settings, renames, warn=lambda line: say(err, f"warning: {line}"))
    against = f"bundle {result.newest}" if result.newest else "an empty schema (no bundle yet)"
    if result.up_to_date:
        say(out, f"No changes detected: the models match {against}")
        return
    count = len(result.operations)
    say(out, f"The models differ from {against}: {count} change{'s' if count != 1 else ''} without a bundle")
    for operation in result.operations:
        say(out, f"  - {operation.describe()}")
    say(out, "Run `reviewkit generate` to write the bundle, then have it reviewed.")
    raise typer.Exit(1)


def rebase_cmd(
    bundle: Annotated[str, typer.Argument(help="The bundle to move: the one of the branch merged last (number, id or path).")],
    onto: Annotated[str | None, typer.Option(
        "--onto", help="A bundle of the branch to move onto; needed when more than two branches fork.")] = None,
    database: Annotated[list[str] | None, typer.Option(
        "--database", help="Refuse when this database has applied the bundle (repeatable).")] = None,
) -> None:
    """Move a forked branch's bundle on top of the other's, renumbered.

    After two branches each added a bundle: BUNDLE is generated again on top of the other
    branch's bundle; its approvals become stale.
    """
    from reviewkit.generate.rebase import RebaseRequest, rebase

    settings = load_settings()
    result = rebase(settings, RebaseRequest(bundle, onto, tuple(database or ())))
    new = result.new
    rel = new.path.relative_to(settings.root) if new.path.is_relative_to(settings.root) else new.path
    say(out, f"Rebased {result.old.id} onto {result.onto.id}: wrote bundle {rel} "
             f"({len(new.manifest['operations'])} operations, risk {new.risk_level}), removed {result.old.id}")
    print_findings(new.manifest["risk"]["findings"])
    say(out, f"digest {new.digest}")
    if result.stale_reviewers:
        say(out, f"approvals by {', '.join(result.stale_reviewers)} are stale: the bundle's digest changed; "
                 f"approve {new.id} again")
    for url in result.checked:
        say(out, f"{result.old.id} is not applied in {url}")
    if not result.checked:
        how = f"`apply --to {result.old.parent}` from the branch that made it" if result.old.parent else "from its branch"
        say(err, f"warning: rebase changes files only; a database that applied {result.old.id} must roll it back "
                 f"({how}) before it applies {new.id}; `rebase --database DB` checks a database first")
    if result.hand_edits:
        say(err, f"warning: {', '.join(result.hand_edits)} of {result.old.id} held hand edits, which a bundle generated "
                 f"again does not carry: make them in {new.id} again, then `reviewkit seal {new.id}`")
    if result.leftover is not None:
        say(err, f"warning: the old bundle could not be removed; delete {result.leftover}")


# Findings listed one per line after the counts; REVIEW.md lists them all.
_SHOWN_FINDINGS = 5


def print_findings(findings: list[dict]) -> None:
    """Print a bundle's findings in a few lines: counts by level and rule, then the first medium and high ones.

    A 2,000-table change has thousands of findings; the screen gets their shape, REVIEW.md the list.
    """
    if not findings:
        return
    parts = []
    for level in ("high", "medium", "low"):
        rules = Counter(f["code"] for f in findings if f["level"] == level)
        if rules:
            parts.append(f"{sum(rules.values())} {level} (" + ", ".join(f"{code} {n}" for code, n in rules.most_common()) + ")")
    say(out, f"{counted(len(findings), 'finding')}: {'; '.join(parts)}; REVIEW.md lists each")
    serious = [f for f in findings if f["level"] != "low"]
    for finding in serious[:_SHOWN_FINDINGS]:
        say(out, f"  {finding['level']:<6} {finding.get('dialect', ''):<8} {finding['code']}: {finding['message']}")
    if len(serious) > _SHOWN_FINDINGS:
        say(out, f"  ... and {len(serious) - _SHOWN_FINDINGS} more medium or high")


def show_cmd(
    bundle: Annotated[str, typer.Argument(metavar="BUNDLE", help="Bundle number, id or path.")],
    dialect: Annotated[str | None, typer.Option("--dialect", metavar="DIALECT", help="Dialect (default: the first configured).")] = None,
    down: Annotated[bool, typer.Option("--down", help="Show the down script.")] = False,
) -> None:
    """Print a bundle's SQL."""
    settings = load_settings()
    found = find_bundle(load_bundles(settings.bundles_dir), bundle)
    from reviewkit.bundle.script_file import is_large, read_chunks

    name = dialect or found.manifest["dialects"][0]
    path = found.script_path_checked(name, "down" if down else "up")
    if out.is_terminal and not is_large(path):
        from rich.syntax import Syntax  # only a terminal needs it; keep start-up fast

        from reviewkit.dialects import get_dialect

        out.print(Syntax(found.script(name, "down" if down else "up"), get_dialect(name).lexer, word_wrap=True))
    else:  # piped, or a data script too large to highlight: streamed as it is read
        for chunk in read_chunks(path):
            sys.stdout.write(chunk)


def lint_cmd(
    bundles: Annotated[list[str] | None, typer.Argument(metavar="BUNDLE...", help="Bundles to lint (default: the newest).")] = None,
    all_bundles: Annotated[bool, typer.Option("--all", help="Lint every bundle.")] = False,
    dialect: Annotated[str | None, typer.Option("--dialect", metavar="DIALECT", help="Only this dialect's scripts.")] = None,
    database: Annotated[str | None, typer.Option("--database", metavar="DB", help="Weigh findings by this database's table sizes.")] = None,
    output: Annotated[str, typer.Option("--format", metavar="FORMAT", help="text, json, github or gitlab.")] = "text",
    fail_on: Annotated[str | None, typer.Option("--fail-on", metavar="LEVEL", help="low, medium or high (default: [lint] fail_on, high).")] = None,
) -> None:
    """Lint bundles' SQL as it is on disk: locks, rewrites, data loss. Each finding names the safer form."""
    from reviewkit.config import LEVELS
    from reviewkit.dialects import dialect_names
    from reviewkit.lint import LintRequest, failing, lint_project
    from reviewkit.lint.formats import FORMATS

    if output not in FORMATS:
        raise UsageError(f"--format {output!r}: choose one of {', '.join(FORMATS)}")
    if fail_on is not None and fail_on not in LEVELS:
        raise UsageError(f"--fail-on {fail_on!r}: choose one of {', '.join(LEVELS)}")
    if dialect is not None and dialect not in dialect_names():
        raise UsageError(f"--dialect {dialect!r}: choose one of {', '.join(dialect_names())}")
    settings = load_settings()
    findings = lint_project(settings, LintRequest(tuple(bundles or ()), all_bundles, dialect, database))
    sys.stdout.write(FORMATS[output](findings))
    if failing(findings, fail_on or settings.lint.fail_on):
        raise typer.Exit(1)


def review_cmd(
    bundle: Annotated[str, typer.Argument(help="Bundle number, id or path.")],
    html: Annotated[Path | None, typer.Option(
        "--html", help="Where to write the page (default: review-NNNN.html in the current folder; never into a bundle).")] = None,
    reviewers: Annotated[str | None, typer.Option(
        "--reviewers", help="Trusted reviewers file for checking the approvals (default: REVIEWKIT_REVIEWERS, then the config's).")] = None,
) -> None:
    """Write a static HTML page to review a bundle in a browser.

    One self-contained file: summary, schema change, the SQL of every dialect, lint
    findings, approvals, proofs and the digest.
    """
    from reviewkit.review import write_review_page

    settings = load_settings()
    path = write_review_page(settings, bundle, html, reviewers)
    cwd = Path.cwd()
    say(out, f"wrote {path.relative_to(cwd) if path.is_relative_to(cwd) else path}")
