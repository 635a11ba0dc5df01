"""How `apply --fleet` and `status --fleet` read: bars on a terminal, one line per event anywhere else.

On a terminal each database has one rich progress bar (statements done of the total its
plan holds, the bundle running now), then a summary table. Elsewhere (CI, a log) a line
per database and bundle as each finishes, prefixed with the database, then the same
summary as aligned plain lines. Databases show as their name in [databases], or their URL
without its password.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from reviewkit.cli.console import say
from reviewkit.cli.status_view import aligned, print_table
from reviewkit.plural import counted

if TYPE_CHECKING:
    from rich.console import Console

    from reviewkit.db.fleet import FleetResult, Member, Outcome
    from reviewkit.db.fleet_status import FleetStatus
    from reviewkit.db.plan import Step


class FleetLines:
    """Off a terminal: one plain line per database and bundle, as each ends."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def for_member(self, member: Member) -> DatabaseLines:
        return DatabaseLines(self.console, member.label)

    def stop(self) -> None:
        pass


class DatabaseLines:
    def __init__(self, console: Console, label: str) -> None:
        self.console, self.label = console, label

    def planned(self, steps: list[Step]) -> None:
        pass

    def step_started(self, step: Step, index: int, total: int) -> None:
        pass

    def statement_done(self, step: Step, number: int) -> None:
        pass

    def step_finished(self, step: Step, seconds: float) -> None:
        say(self.console, f"{self.label}: {step.label}: {counted(len(step.statements) - step.start_at, 'statement')} "
                          f"in {seconds:.2f} s")

    def note(self, line: str) -> None:
        say(self.console, f"{self.label}: {line}")

    def finished(self, outcome: Outcome) -> None:
        if outcome.error:
            say(self.console, f"{self.label}: {outcome.result}: {outcome.error}")


class FleetBars:
    """On a terminal: one rich progress bar per database, statements done of total, the bundle running now."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.fields[database]}"), TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(), console=console)
        self.lock = threading.Lock()
        self.started = False
        self.done: list = []  # the tasks of databases finished, oldest first

    def for_member(self, member: Member) -> DatabaseBar:
        with self.lock:
            if not self.started:
                self.bar.start()
                self.started = True
        return DatabaseBar(self, member.label)

    def retire(self, task) -> None:
        """Keep the bars within the screen: a fleet of hundreds hides its oldest finished ones (the table lists all)."""
        with self.lock:
            self.done.append(task)
            room = max(self.bar.console.height - 2, 4)
            while len(self.done) > 1 and sum(1 for t in self.bar.tasks if t.visible) > room:
                self.bar.update(self.done.pop(0), visible=False)

    def stop(self) -> None:
        if self.started:
            self.bar.stop()


class DatabaseBar:
    def __init__(self, bars: FleetBars, label: str) -> None:
        self.bars = bars
        self.bar = bar = bars.bar
        self.label = label
        self.task = bar.add_task("connecting", total=None, database=label)
        self.before = 0  # statements of the bundles finished before the current one
        self.total: int | None = None  # statements of the database's plan, once known

    def planned(self, steps: list[Step]) -> None:
        self.total = sum(len(step.statements) - step.start_at for step in steps)
        self.bar.update(self.task, total=self.total, description="up to date" if not steps else "waiting")

    def step_started(self, step: Step, index: int, total: int) -> None:
        self.bar.update(self.task, description=f"[{index}/{total}] {step.label}")

    def statement_done(self, step: Step, number: int) -> None:
        self.bar.update(self.task, completed=self.before + number - step.start_at)

    def step_finished(self, step: Step, seconds: float) -> None:
        self.before += len(step.statements) - step.start_at
        self.bar.update(self.task, completed=self.before)

    def note(self, line: str) -> None:
        say(self.bar.console, f"{self.label}: {line}")

    def finished(self, outcome: Outcome) -> None:
        total = self.before if self.total is None else self.total
        self.bar.update(self.task, description=outcome.result, total=total, completed=self.before)
        self.bars.retire(self.task)


def print_fleet_result(result: FleetResult, console: Console) -> None:
    """Print the summary: database, bundles applied, result, time; then each error, then the count."""
    header = ["database", "bundles applied", "result", "time"]
    rows = [[o.member.label, _bundles_cell(o), o.result, f"{o.seconds:.2f} s" if o.result != "not run" else "-"]
            for o in result.outcomes]
    if console.is_terminal:
        print_table(console, header, rows)
    else:
        for line in aligned([header, *rows]):
            say(console, line)
    for outcome in result.outcomes:
        if outcome.error:
            say(console, f"{outcome.member.label}: {outcome.error}")
    say(console, _fleet_line(result), "bold")


def _bundles_cell(outcome: Outcome) -> str:
    cell = str(outcome.applied)
    return cell + (f", {outcome.rolled_back} rolled back" if outcome.rolled_back else "")


def _fleet_line(result: FleetResult) -> str:
    """Return e.g. "fleet prod (shard 1/4): 3 databases: 2 applied, 1 failed"."""
    results: dict[str, int] = {}
    for outcome in result.outcomes:
        results[outcome.result] = results.get(outcome.result, 0) + 1
    shard = f" (shard {result.shard})" if result.shard else ""
    if not result.outcomes:
        return f"fleet {result.fleet}{shard}: no database (a shard of a fleet shorter than its count)"
    said = ", ".join(f"{n} {what}" for what, n in results.items())
    stopped = "; stopped by Ctrl-C" if result.interrupted else ""
    return f"fleet {result.fleet}{shard}: {counted(len(result.outcomes), 'database')}: {said}{stopped}"


def print_fleet_status(status: FleetStatus, console: Console) -> None:
    """Print one row per database: its newest bundle applied, how many are pending, its state in words."""
    header = ["database", "head", "pending", "state"]
    rows = [[db.member.label, db.head or "-", "-" if db.error else str(db.pending), db.summary()]
            for db in status.databases]
    if console.is_terminal:
        print_table(console, header, rows)
    else:
        for line in aligned([header, *rows]):
            say(console, line)
    for flag in status.flags:
        say(console, f"FLAG {flag}")
    for db in status.databases:
        for problem in db.ledger_problems:
            say(console, f"FLAG {db.member.label}: {problem}")
    attention = sum(1 for db in status.databases if db.needs_attention)
    shard = f" (shard {status.shard})" if status.shard else ""
    head = status.bundles[-1] if status.bundles else "none"
    say(console, f"fleet {status.fleet}{shard}: {counted(len(status.databases), 'database')}, head {head}: "
                 f"{len(status.databases) - attention} at the head, {attention} need attention", "bold")
