"""CLI commands that touch a database: `apply`, `status`, `drift`, `baseline` and `prove`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from reviewkit.cli.console import err, out, say
from reviewkit.config import Settings, load_settings

if TYPE_CHECKING:  # imported where used: the runner pulls in the drivers and sqlglot
    from reviewkit.db.prove import DialectProof, ProveReport
    from reviewkit.db.runner import ApplyResult, Step
    from reviewkit.db.status import StatusReport

# Differences listed per failing step; the proof file holds them all.
SHOWN_DIFFERENCES = 20


class PlainProgress:
    """One line per bundle: what a log file or CI output wants."""

    def __init__(self, echo) -> None:
        self.echo = echo

    def step_started(self, step: Step, index: int, total: int) -> None:
        self.echo(f"[{index}/{total}] {step.label}: {len(step.statements)} statements")

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
        self.bar.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def stop(self) -> None:
        if self.task is not None:
            self.bar.stop()



def apply_cmd(
    bundle: Annotated[str | None, typer.Argument(help="Apply pending bundles up to this one (default: all).")] = None,
    database: Annotated[str | None, typer.Option("--database", help="A name from [databases] or a URL.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Go to exactly this bundle, running down scripts if it is older; 0 for none.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would run; touch nothing.")] = False,
    fake: Annotated[bool, typer.Option("--fake", help="Record bundles as applied without running them.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a bundle that failed half-way (MySQL).")] = False,
    lock_timeout: Annotated[float, typer.Option("--lock-timeout", help="Seconds to wait for another runner.")] = 10.0,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before down scripts or high-risk bundles.")] = False,
    actor: Annotated[str | None, typer.Option("--actor", help="Who applies (default: REVIEWKIT_ACTOR, OS user).")] = None,
    reviewers: Annotated[str | None, typer.Option("--reviewers", help="Trusted reviewers file (default: REVIEWKIT_REVIEWERS, the project's).")] = None,
) -> None:
    """Verify, then apply pending bundles in order, recording each in the ledger."""
    from reviewkit.db.runner import ApplyOptions, apply

    settings = load_settings()
    options = ApplyOptions(target=bundle, to=to, dry_run=dry_run, fake=fake, resume=resume,
                           lock_timeout=lock_timeout, actor=actor, reviewers=reviewers)
    progress = BarProgress(err) if err.is_terminal else PlainProgress(lambda line: out.print(line, highlight=False))
    try:
        result = apply(settings, database, options, progress, _confirmer(yes, out))
    finally:
        if isinstance(progress, BarProgress):
            progress.stop()
    _report(result, out, settings)

def status_cmd(
    database: Annotated[str | None, typer.Option("--database", help="A name from [databases] or a URL.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when anything is pending, failed or flagged.")] = False,
    reviewers: Annotated[str | None, typer.Option("--reviewers", help="Trusted reviewers file.")] = None,
) -> None:
    """Show every bundle: risk, approvals, proofs, and its state in the database."""
    from reviewkit.db.status import collect_status

    settings = load_settings()
    report = collect_status(settings, database, reviewers)
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        _print_status(report, out)
    if check and report.needs_attention:
        raise typer.Exit(1)


def drift_cmd(
    database: Annotated[str | None, typer.Option("--database", help="A name from [databases] or a URL.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Compare the live schema with the newest bundle applied to it; exit 1 when they differ."""
    from reviewkit.db.drift import check_drift

    report = check_drift(load_settings(), database)
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        expected = f"bundle {report.bundle}" if report.bundle else "the empty schema (no bundle applied)"
        out.print(f"database {report.database} against {expected}: "
                  f"{len(report.differences) or 'no'} difference{'s' if len(report.differences) != 1 else ''}",
                  highlight=False, markup=False, soft_wrap=True)
        for difference in report.differences:
            out.print(f"  {difference.describe()}", highlight=False, markup=False, soft_wrap=True)
    if report.differences:
        raise typer.Exit(1)


def baseline_cmd(
    database: Annotated[str, typer.Option("--database", help="The existing database: a name from [databases] or a URL.")],
    name: Annotated[str | None, typer.Argument(help="Name of the bundle (default: baseline).")] = None,
    models_out: Annotated[str | None, typer.Option("--models-out", help="Model file to write (default: models/baseline.sql).")] = None,
    author: Annotated[str | None, typer.Option("--author", help="Bundle author (default: REVIEWKIT_AUTHOR, git, OS user).")] = None,
) -> None:
    """Start the history from an existing database: its schema as models and as bundle 0001."""
    from reviewkit.generate.baseline import baseline

    settings = load_settings()
    bundle, models = baseline(settings, database, name, models_out, author, warn=lambda line: err.print(
        f"warning: {line}", highlight=False, markup=False, soft_wrap=True))
    root = settings.root.resolve()
    wrote = "" if models is None else f"{models.relative_to(root) if models.is_relative_to(root) else models} and "
    out.print(f"Wrote {wrote}bundle {bundle.path.relative_to(settings.root)} ({len(bundle.manifest['operations'])} "
              "operations)", highlight=False, markup=False, soft_wrap=True)
    out.print(f"Next: approve it, then record it without running it: reviewkit apply --fake --database {database}",
              highlight=False, markup=False, soft_wrap=True)
    out.print(f"digest {bundle.digest}", highlight=False)


def prove_cmd(
    bundle: Annotated[str | None, typer.Argument(help="Bundle number, id or path (default: the newest).")] = None,
    dialect: Annotated[str | None, typer.Option("--dialect", help="Prove on this dialect only (default: every dialect of the bundle).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Replay the bundle on scratch databases (up, down, up again), compare with schema.json, write proofs/."""
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
    def confirm(steps: list[Step]) -> bool:
        risky = [s for s in steps if s.direction == "down" or s.bundle.risk_level == "high"]
        if yes or not risky or not sys.stdin.isatty():
            return True
        for s in risky:
            why = "runs its down script" if s.direction == "down" else "is high risk"
            console.print(f"{s.bundle.id} {why}", highlight=False)
        if not typer.confirm("Go ahead?", default=False):
            raise typer.Abort()
        return True

    return confirm


def _report(result: ApplyResult, console, settings: Settings) -> None:
    if result.dry_run:
        if not result.steps:
            console.print("Nothing to do: the database is up to date.")
        for step in result.steps:
            console.print(f"-- {step.label}: {len(step.statements)} statements", highlight=False)
            for number, statement in enumerate(step.statements, 1):
                if number > step.start_at:
                    sys.stdout.write(statement.sql + ";\n")
        return
    if not result.steps:
        console.print("Nothing to do: the database is up to date.")
        return
    console.print(f"Applied {len(result.steps)} bundle(s), {result.statements} statements in {result.seconds:.2f} s",
                  highlight=False)


def _print_status(report: StatusReport, console) -> None:
    from rich.table import Table

    if not report.bundles:
        console.print("No bundles yet: run `reviewkit generate`.")
        return
    if report.database:
        table = Table("bundle", "risk", "approvals", "proofs", "state")
        for b in report.bundles:
            table.add_row(b.id, b.risk, b.approvals or "-", b.proofs_cell(), f"{b.state}{(' ' + b.detail) if b.detail else ''}")
    else:
        table = Table("bundle", "created", "risk", "approvals", "proofs", "author")
        for b in report.bundles:
            table.add_row(b.id, b.created_at[:10], b.risk, b.approvals or "-", b.proofs_cell(), b.author)
    console.print(table)
    console.print(f"database: {report.database or 'none (not created yet)'}", highlight=False)
    for b in report.bundles:
        for flag in b.flags:
            say(console, f"FLAG {flag}")  # never wrapped: one flag, one line, for whoever greps them
        for line in b.explanation:
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    for problem in report.ledger_problems:
        say(console, f"FLAG {problem}")
