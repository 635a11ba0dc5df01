"""CLI commands that touch a database: `apply`, `status`, `drift`, `baseline` and `prove`."""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from reviewkit.cli.console import err, out, say
from reviewkit.cli.status_view import print_status
from reviewkit.config import Settings, load_settings
from reviewkit.errors import UsageError
from reviewkit.plural import counted

if TYPE_CHECKING:  # imported where used: the runner pulls in the drivers and sqlglot
    from reviewkit.db.prove import DialectProof, ProveReport
    from reviewkit.db.runner import ApplyResult, Step

# Differences listed per failing step; the proof file holds them all.
SHOWN_DIFFERENCES = 20


class PlainProgress:
    """One line per bundle: what a log file or CI output wants."""

    def __init__(self, echo) -> None:
        self.echo = echo

    def step_started(self, step: Step, index: int, total: int) -> None:
        self.echo(f"[{index}/{total}] {step.label}: {counted(len(step.statements), 'statement')}")

    def statement_done(self, step: Step, number: int) -> None:
        pass

    def step_finished(self, step: Step, seconds: float) -> None:
        self.echo(f"      done in {seconds:.2f} s")

    def note(self, line: str) -> None:
        self.echo(line)


class BarProgress:
    """A rich progress bar per bundle, statement by statement, on a terminal."""

    def __init__(self, console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=console)
        self.task = None

    def step_started(self, step: Step, index: int, total: int) -> None:
        if self.task is None:
            self.bar.start()
        self.task = self.bar.add_task(f"[{index}/{total}] {step.label}", total=len(step.statements),
                                      completed=step.start_at)

    def statement_done(self, step: Step, number: int) -> None:
        self.bar.update(self.task, completed=number)

    def step_finished(self, step: Step, seconds: float) -> None:
        self.bar.update(self.task, completed=len(step.statements))

    def note(self, line: str) -> None:
        say(self.bar.console, line)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()



def apply_cmd(
    bundle: Annotated[str | None, typer.Argument(metavar="BUNDLE", help="Apply pending bundles up to this one (default: all).")] = None,
    database: Annotated[str | None, typer.Option("--database", metavar="DB", help="A name from [databases] or a URL.")] = None,
    to: Annotated[str | None, typer.Option("--to", metavar="BUNDLE", help="Go to exactly this bundle, running down scripts if it is older; 0 for none.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; touch nothing.")] = False,
    fake: Annotated[bool, typer.Option("--fake", help="Record bundles as applied without running them.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a bundle that failed half-way (MySQL).")] = False,
    lock_timeout: Annotated[float, typer.Option("--lock-timeout", metavar="SECONDS", help="Seconds to wait for another runner.")] = 10.0,
    yes: Annotated[bool, typer.Option("--yes", help="Run down scripts and high-risk bundles without asking (needed when not on a terminal).")] = False,
    actor: Annotated[str | None, typer.Option("--actor", metavar="NAME", help="Who applies (default: REVIEWKIT_ACTOR, OS user).")] = None,
    reviewers: Annotated[str | None, typer.Option("--reviewers", metavar="FILE", help="Trusted reviewers file (default: REVIEWKIT_REVIEWERS, the project's).")] = None,
) -> None:
    """Verify, then apply pending bundles and record them. Each bundle runs in order and gets its row in the
    ledger; --to an older bundle runs down scripts back to it."""
    from reviewkit.db.runner import ApplyOptions, apply

    if not (0 < lock_timeout < math.inf):  # nan and inf as well: no engine takes them as a wait
        raise UsageError(f"--lock-timeout {lock_timeout:g}: give the seconds to wait for another runner, a number above 0")
    settings = load_settings()
    options = ApplyOptions(target=bundle, to=to, dry_run=dry_run, fake=fake, resume=resume,
                           lock_timeout=lock_timeout, actor=actor, reviewers=reviewers)
    progress = BarProgress(err) if err.is_terminal else PlainProgress(lambda line: say(out, line))
    try:
        result = apply(settings, database, options, progress, _confirmer(yes or fake, out))
    finally:
        if isinstance(progress, BarProgress):
            progress.stop()
    _report(result, out, fake)

def status_cmd(
    database: Annotated[str | None, typer.Option("--database", metavar="DB", help="A name from [databases] or a URL.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when anything is pending, failed or flagged.")] = False,
    reviewers: Annotated[str | None, typer.Option("--reviewers", metavar="FILE", help="Trusted reviewers file.")] = None,
) -> None:
    """Show every bundle and where it stands in the database. Risk, approvals, proofs and state, then a summary
    line: how many are applied, pending, failed."""
    from reviewkit.db.status import collect_status

    settings = load_settings()
    report = collect_status(settings, database, reviewers)
    if json_output:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_status(report, out)
    if check and report.needs_attention:
        raise typer.Exit(1)


def drift_cmd(
    database: Annotated[str | None, typer.Option("--database", metavar="DB", help="A name from [databases] or a URL.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Compare the live schema with the newest bundle applied. Exit 1 when they differ."""
    from reviewkit.db.drift import check_drift

    report = check_drift(load_settings(), database)
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        expected = f"bundle {report.bundle}" if report.bundle else "the empty schema (no bundle applied)"
        count = len(report.differences)
        say(out, f"database {report.database} against {expected}: {counted(count, 'difference') if count else 'no differences'}")
        for difference in report.differences:
            say(out, f"  {difference.describe()}")
    if report.differences:
        raise typer.Exit(1)


def baseline_cmd(
    database: Annotated[str, typer.Option("--database", metavar="DB", help="The existing database: a name from [databases] or a URL.")],
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Name of the bundle (default: baseline).")] = None,
    models_out: Annotated[str | None, typer.Option("--models-out", metavar="FILE", help="Model file to write (default: models/baseline.sql).")] = None,
    author: Annotated[str | None, typer.Option("--author", metavar="NAME", help="Bundle author (default: REVIEWKIT_AUTHOR, git, OS user).")] = None,
) -> None:
    """Start the history from an existing database. Its schema becomes the models and bundle 0001."""
    from reviewkit.dialects.connection import redact
    from reviewkit.generate.baseline import baseline

    settings = load_settings()
    bundle, models = baseline(settings, database, name, models_out, author, warn=lambda line: say(err, f"warning: {line}"))
    root = settings.root.resolve()
    wrote = "" if models is None else f"{models.relative_to(root) if models.is_relative_to(root) else models} and "
    operations = counted(len(bundle.manifest["operations"]), "operation")
    say(out, f"Wrote {wrote}bundle {bundle.path.relative_to(settings.root)} ({operations})")
    # The command to copy names the database as it was given, but never with its password.
    given = redact(database) if "://" in database else database
    say(out, f"Next: approve it, then record it without running it: reviewkit apply --fake --database {given}")
    say(out, f"digest {bundle.digest}")


def prove_cmd(
    bundle: Annotated[str | None, typer.Argument(metavar="BUNDLE", help="Bundle number, id or path (default: the newest).")] = None,
    dialect: Annotated[str | None, typer.Option("--dialect", metavar="DIALECT", help="Prove on this dialect only (default: every dialect of the bundle).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Replay a bundle on scratch databases: up, down, up again. Each is compared with schema.json; proofs/
    records the result."""
    from reviewkit.db.prove import prove

    settings = load_settings()
    started = (lambda name: say(err, f"proving on {name}...", "dim")) if err.is_terminal and not json_output else (lambda name: None)
    report = prove(settings, bundle, dialect, started)
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_prove(report, settings)
    if not report.ok:
        raise typer.Exit(1)


def _print_prove(report: ProveReport, settings: Settings) -> None:
    """Print one line per dialect, one per failing step, and the differences in words."""
    for proof in report.proofs:
        _print_dialect_proof(proof, settings)
    proven = [p.dialect for p in report.proofs if p.result == "proven"]
    failed = [p.dialect for p in report.proofs if p.result != "proven"]
    parts = ([f"proven on {', '.join(proven)}"] if proven else []) + ([f"failed on {', '.join(failed)}"] if failed else [])
    say(out, f"{report.bundle.id}: {'; '.join(parts)}", "bold" if not failed else "bold red")


def _print_dialect_proof(proof: DialectProof, settings: Settings) -> None:
    if proof.record is None:
        say(out, f"{proof.dialect:<9} failed   {proof.reason}")
        return
    file = proof.file.relative_to(settings.root) if proof.file and proof.file.is_relative_to(settings.root) else proof.file
    say(out, f"{proof.dialect:<9} {proof.result:<8} {proof.record['server_version']}  wrote {file}")
    for step in proof.steps:
        if step.error is not None:
            at = f" statement {step.error['statement']} (line {step.error['line']})" if step.error["statement"] else ""
            say(out, f"  {step.name}: failed: {step.error['file']}{at}: {step.error['message']}")
        elif step.differences:
            count = len(step.differences)
            say(out, f"  {step.name}: failed: {count} difference{'s' if count > 1 else ''} from the schema expected")
            for difference in step.differences[:SHOWN_DIFFERENCES]:
                say(out, f"    {difference.describe()}")
            if count > SHOWN_DIFFERENCES:
                say(out, f"    ... and {count - SHOWN_DIFFERENCES} more (see {file})")
        elif step.result == "skipped":
            say(out, f"  {step.name}: skipped")


def _confirmer(yes: bool, console):
    """Ask before down scripts and high-risk bundles run; with nobody to ask, refuse unless --yes.

    Off a terminal (stdin not one: a script, CI) there is no question to answer, and a
    rollback or a data-losing bundle must not run because nobody was there to say no:
    exit 2 before the first statement, the ledger untouched. `approve` follows the same rule.
    """
    def confirm(steps: list[Step]) -> bool:
        risky = [] if yes else [s for s in steps if s.direction == "down" or s.bundle.risk_level == "high"]
        if not risky:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"apply would {_risky_words(risky)}; not on a terminal, nobody can confirm: "
                             "pass --yes to go ahead from a script")
        for s in risky:
            say(console, f"{s.bundle.id} {'runs its down script' if s.direction == 'down' else 'is high risk'}")
        if not typer.confirm("Go ahead?", default=False):
            raise typer.Abort()
        return True

    return confirm


def _risky_words(risky: list[Step]) -> str:
    """Return e.g. "run the down scripts of 0003_a, 0002_b" or "apply the high-risk bundle 0003_a"."""
    def ids(steps: list[Step]) -> str:
        shown = ", ".join(s.bundle.id for s in steps[:3])
        return shown + (f" and {len(steps) - 3} more" if len(steps) > 3 else "")

    down = [s for s in risky if s.direction == "down"]
    high = [s for s in risky if s.direction == "up"]
    parts = ([f"run the down script{'s' if len(down) > 1 else ''} of {ids(down)}"] if down else []) + (
        [f"apply the high-risk bundle{'s' if len(high) > 1 else ''} {ids(high)}"] if high else [])
    return " and ".join(parts)


def _report(result: ApplyResult, console, fake: bool) -> None:
    """Print what ran, or would run: "Applied 2 bundles", "Rolled back 1 bundle", "Recorded ..." for --fake."""
    if result.done_elsewhere:
        ids = ", ".join(step.bundle.id for step in result.done_elsewhere)
        say(console, f"Another runner took {counted(len(result.done_elsewhere), 'bundle')} meanwhile: {ids}")
    if not result.steps:
        say(console, "Nothing to do: the database is up to date.")
        return
    if result.dry_run:
        for step in result.steps:
            say(console, f"-- {step.label}: {counted(len(step.statements), 'statement')}")
            for number, statement in enumerate(step.statements, 1):
                if number > step.start_at:
                    sys.stdout.write(statement.sql + ";\n")
        return
    rolled_back = sum(1 for s in result.steps if s.direction == "down")
    applied = len(result.steps) - rolled_back
    if fake:
        parts = [f"{counted(n, 'bundle')} as {what}" for n, what in ((applied, "applied"), (rolled_back, "rolled back")) if n]
        say(console, f"Recorded {' and '.join(parts)} without running a statement (--fake)")
        return
    done = ", ".join(f"{what} {counted(n, 'bundle')}" for n, what in ((rolled_back, "rolled back"), (applied, "applied")) if n)
    say(console, f"{done[0].upper()}{done[1:]}: {counted(result.statements, 'statement')} in {result.seconds:.2f} s")
