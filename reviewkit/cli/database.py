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
    resume: Annotated[bool, typer.Option("--resume", help="Continue a bundle that failed half-way (MySQL, --batch).")] = False,
    lock_timeout: Annotated[float, typer.Option("--lock-timeout", metavar="SECONDS", help="Seconds to wait for another runner.")] = 10.0,
    yes: Annotated[bool, typer.Option("--yes", help="Run down scripts and high-risk bundles without asking (needed when not on a terminal).")] = False,
    actor: Annotated[str | None, typer.Option("--actor", metavar="NAME", help="Who applies (default: REVIEWKIT_ACTOR, OS user).")] = None,
    reviewers: Annotated[str | None, typer.Option("--reviewers", metavar="FILE", help="Trusted reviewers file (default: REVIEWKIT_REVIEWERS, the project's).")] = None,
    fleet: Annotated[str | None, typer.Option("--fleet", metavar="NAME", help="Apply to every database of this fleet of [fleets].")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", metavar="N", help="With --fleet: databases at a time (default 4).")] = None,
    fail_fast: Annotated[bool, typer.Option("--fail-fast", help="With --fleet: start no database after one failed.")] = False,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N", help="With --fleet: every N-th database, from the I-th (1-based).")] = None,
    batch: Annotated[str | None, typer.Option("--batch", metavar="N|auto", help="Commit every N statements (auto: as many as the server's lock table holds), each group recorded in the ledger.")] = None,
) -> None:
    """Verify, then apply pending bundles and record them. Each bundle runs in order and gets its row in the
    ledger; --to an older bundle runs down scripts back to it."""
    from reviewkit.db.batches import Batch
    from reviewkit.db.runner import ApplyOptions, apply

    if not (0 < lock_timeout < math.inf):  # nan and inf as well: no engine takes them as a wait
        raise UsageError(f"--lock-timeout {lock_timeout:g}: give the seconds to wait for another runner, a number above 0")
    _check_fleet_options(fleet, database, jobs, shard, fail_fast=fail_fast)
    settings = load_settings()
    options = ApplyOptions(target=bundle, to=to, dry_run=dry_run, fake=fake, resume=resume,
                           lock_timeout=lock_timeout, actor=actor, reviewers=reviewers,
                           batch=Batch.parse(batch) if batch is not None else None)
    if fleet is not None:
        _apply_fleet(settings, fleet, options, _confirmer(yes or fake, out), jobs, fail_fast, shard, yes or fake)
        return
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
    fleet: Annotated[str | None, typer.Option("--fleet", metavar="NAME", help="Every database of this fleet of [fleets], one line each.")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", metavar="N", help="With --fleet: databases read at a time (default 4).")] = None,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N", help="With --fleet: every N-th database, from the I-th (1-based).")] = None,
) -> None:
    """Show every bundle and where it stands in the database. Risk, approvals, proofs and state, then a summary
    line: how many are applied, pending, failed."""
    from reviewkit.db.status import collect_status

    _check_fleet_options(fleet, database, jobs, shard)
    settings = load_settings()
    if fleet is not None:
        _status_fleet(settings, fleet, reviewers, jobs, shard, json_output, check)
        return
    report = collect_status(settings, database, reviewers)
    if json_output:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_status(report, out)
    if check and report.needs_attention:
        raise typer.Exit(1)


def _check_fleet_options(fleet: str | None, database: str | None, jobs: int | None, shard: str | None,
                         fail_fast: bool = False) -> None:
    """Refuse (exit 2) --database with --fleet, and the fleet's options without it."""
    if fleet is not None and database is not None:
        raise UsageError("--database and --fleet: give one (a fleet lists its databases in [fleets])")
    if fleet is None:
        given = [name for name, value in (("--jobs", jobs), ("--shard", shard), ("--fail-fast", fail_fast or None))
                 if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} work with --fleet NAME only")


def _apply_fleet(settings: Settings, fleet: str, options, confirm, jobs: int | None, fail_fast: bool,
                 shard: str | None, yes: bool) -> None:
    from reviewkit.cli.fleet_view import FleetBars, FleetLines, print_fleet_result
    from reviewkit.db.fleet import DEFAULT_JOBS, Shard, apply_fleet

    parsed = Shard.parse(shard) if shard is not None else None
    view = FleetBars(err) if err.is_terminal else FleetLines(out)
    try:
        result = apply_fleet(settings, fleet, options, view.for_member, None if yes else confirm,
                             DEFAULT_JOBS if jobs is None else jobs, fail_fast, parsed)
    finally:
        view.stop()
    print_fleet_result(result, out)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _status_fleet(settings: Settings, fleet: str, reviewers: str | None, jobs: int | None, shard: str | None,
                  json_output: bool, check: bool) -> None:
    from reviewkit.cli.fleet_view import print_fleet_status
    from reviewkit.db.fleet import DEFAULT_JOBS, Shard
    from reviewkit.db.fleet_status import collect_fleet_status

    parsed = Shard.parse(shard) if shard is not None else None
    status = collect_fleet_status(settings, fleet, reviewers, DEFAULT_JOBS if jobs is None else jobs, parsed)
    if json_output:
        sys.stdout.write(json.dumps(status.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_fleet_status(status, out)
    if status.unreadable or (check and status.needs_attention):
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
        for note in result.notes:  # SQL comments: the output stays a script
            say(console, "-- " + note.replace("\n", "\n-- "))
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
