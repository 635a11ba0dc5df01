"""Rebase: move the bundle of one branch on top of the other's, when two branches forked the history.

Two branches that each ran `generate` from the same parent leave, once merged, two
bundles with one parent, which every command refuses. `rebase BUNDLE` regenerates BUNDLE
on top of the other branch's last bundle, through the generator like any bundle: its
models are the other branch's schema plus BUNDLE's own change (`reviewkit.diff.merge`),
the renames and one-off defaults BUNDLE recorded are given again, and it is renumbered
with its name kept. As Django's `makemigrations --merge` and Alembic's `merge` answer the
same problem, but as one line of history, each step reviewed.

The new bundle has a new digest: the old one's approvals do not carry over. Rebase works
on files; a database that applied the old bundle is checked only when named.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from reviewkit.bundle.digest import APPROVALS
from reviewkit.bundle.store import Bundle, StagedBundle, read_bundles
from reviewkit.config import Settings
from reviewkit.diff import DeclaredRenames, OneOffQuestion
from reviewkit.diff.merge import Branches, merge_schemas
from reviewkit.errors import (
    BundleNotFound,
    IntegrityError,
    LedgerMismatch,
    OperationFailed,
    ReviewkitError,
    UsageError,
)
from reviewkit.generate.generator import GenerateOptions, plan_bundle_on
from reviewkit.schema.expressions import render
from reviewkit.schema.state import Schema


@dataclass(frozen=True)
class RebaseRequest:
    bundle: str  # the bundle to move: number, id or path
    onto: str | None = None  # a bundle of the branch to move onto; needed when more than two branches fork
    databases: tuple[str, ...] = ()  # databases to check: the bundle must not be applied there


@dataclass(frozen=True)
class RebaseResult:
    old: Bundle  # the bundle moved; its folder is gone
    onto: Bundle  # the last bundle of the other branch: the new bundle's parent
    new: Bundle
    stale_reviewers: list[str]  # who had approved the old bundle
    checked: list[str] = field(default_factory=list)  # the databases found not to have applied the old bundle
    leftover: Path | None = None  # the old folder, when it could not be removed after the new one was in place
    hand_edits: list[str] = field(default_factory=list)  # the old bundle's scripts edited after generate: not carried over


@dataclass(frozen=True)
class Fork:
    """Where the history forks: the bundle to move, and the last bundle of the branch it moves onto."""

    moving: Bundle
    onto: Bundle
    parent: Bundle | None  # the bundle both branches started from; None: both start the history


def rebase(settings: Settings, request: RebaseRequest) -> RebaseResult:
    """Regenerate the bundle on top of the other branch, then remove the old one; on any failure change nothing."""
    bundles = read_bundles(settings.bundles_dir)
    fork = find_fork(bundles, pick(bundles, request.bundle), request.onto)
    refuse_unmovable(fork.moving)
    checked = [check_not_applied(settings, fork.moving, database) for database in request.databases]
    base = fork.parent.schema() if fork.parent is not None else Schema()
    merged = merge_schemas(base, fork.onto.schema(), fork.moving.schema(), Branches(fork.onto.id, fork.moving.id))
    renames, answers = recorded_answers(fork.moving, settings.models_dialect)
    options = GenerateOptions(name=fork.moving.id.split("_", 1)[1], renames=renames, author=fork.moving.manifest["author"],
                              models=merged, online=fork.moving.online, rollback_fills=answers.rollback_fills)
    planned = plan_bundle_on(settings, fork.onto, options, answers)
    if planned is None:
        raise UsageError(f"{fork.moving.id} changes nothing on top of {fork.onto.id}: both branches made the same "
                         f"change; remove {fork.moving.id} instead")
    edited = hand_edits(settings, fork, options, answers)
    planned.files["REVIEW.md"] = rebased_note(fork).encode() + planned.files["REVIEW.md"]
    stale = [path.stem for path in sorted((fork.moving.path / APPROVALS).glob("*.json"))]
    new, leftover = replace_bundle(planned.stage(settings), fork.moving)
    return RebaseResult(fork.moving, fork.onto, new, stale, checked, leftover, edited)


def hand_edits(settings: Settings, fork: Fork, options: GenerateOptions, answers: RecordedAnswers) -> list[str]:
    """Return the old bundle's scripts (`postgres/up.sql`) whose statements differ from what generate writes for its change.

    Those are hand edits (sealed after generate), which a bundle generated again does not
    carry. Statements are compared, and `-- reviewkit: allow` lines (a DBA's acceptance of a
    finding); other comments are generate's and change with its version.
    """
    try:
        again = plan_bundle_on(settings, fork.parent, replace(options, models=fork.moving.schema()), answers)
    except ReviewkitError:
        return []  # its change cannot be planned as it was (reviewkit or the engines moved on): nothing to compare with
    if again is None or again.bundle_id != fork.moving.id:
        return []
    return [rel for rel, data in sorted(again.files.items())
            if rel.endswith(".sql") and rel.split("/")[0] in fork.moving.manifest["dialects"]
            and _signed_lines(data.decode()) != _signed_lines((fork.moving.path / rel).read_text(encoding="utf-8"))]


def _signed_lines(script: str) -> list[str]:
    lines = (line.strip() for line in script.splitlines())
    return [line for line in lines if line and (not line.startswith("--") or line.startswith("-- reviewkit: allow"))]


def rebased_note(fork: Fork) -> str:
    """Return what the new bundle's REVIEW.md says first: where it came from, and that its approvals do not carry over."""
    start = fork.parent.id if fork.parent is not None else "the start of the history"
    return (f"> **Rebased** from {fork.moving.id} (digest {fork.moving.digest[:12]}), which a branch generated from "
            f"{start};\n> generated again on top of {fork.onto.id}, where the other branch had gone. Approvals of "
            f"{fork.moving.id}\n> do not carry over: review this bundle's SQL as new.\n\n")


# -- which bundle, onto which ----------------------------------------------------------------


def pick(bundles: list[Bundle], ref: str) -> Bundle:
    """Find the bundle `ref` names; in a fork two bundles may share a number, and then the id is needed."""
    by_id = [b for b in bundles if b.id == ref]
    by_number = [b for b in bundles if ref.isdigit() and int(ref) == b.number]
    by_path = [b for b in bundles if Path(ref).exists() and Path(ref).resolve() == b.path.resolve()]
    found = by_id or by_path or by_number
    if len(found) > 1:
        raise UsageError(f"{ref} names {' and '.join(b.id for b in found)}: give the bundle's id")
    if not found:
        raise BundleNotFound(f"no bundle matches {ref!r}")
    return found[0]


def find_fork(bundles: list[Bundle], moving: Bundle, onto_ref: str | None) -> Fork:
    """Return the fork `moving` ends one branch of; refuse a bundle that is not the whole of its branch."""
    children: dict[str | None, list[Bundle]] = {}
    for bundle in bundles:
        children.setdefault(bundle.parent, []).append(bundle)
    if children.get(moving.id):
        raise UsageError(f"{moving.id} is not the last bundle of its branch: {children[moving.id][0].id} builds on it; "
                         "rebase moves a branch of one bundle (rebase the other branch's, or generate again by hand)")
    siblings = [b for b in children.get(moving.parent, []) if b is not moving]
    parent_name = moving.parent or "the start of the history"
    if not siblings:
        raise UsageError(f"{moving.id} is not part of a fork: no other bundle builds on {parent_name}; nothing to rebase")
    branch = _branch_onto(siblings, onto_ref, bundles, children, moving, parent_name)
    by_id = {b.id: b for b in bundles}
    if moving.parent is not None and moving.parent not in by_id:
        raise IntegrityError(f"{moving.id}: its parent {moving.parent} is not in the bundles folder")
    return Fork(moving, _last_of_branch(branch, children), by_id.get(moving.parent) if moving.parent else None)


def _branch_onto(siblings: list[Bundle], onto_ref: str | None, bundles: list[Bundle],
                 children: dict[str | None, list[Bundle]], moving: Bundle, parent_name: str) -> Bundle:
    """Return the first bundle of the branch to move onto: the only other one, or the one `--onto` names."""
    if onto_ref is None:
        if len(siblings) > 1:
            names = ", ".join(b.id for b in [moving, *siblings])
            raise UsageError(f"{len(siblings) + 1} branches fork at {parent_name} ({names}): "
                             "name the branch to move onto with --onto BUNDLE")
        return siblings[0]
    onto = pick(bundles, onto_ref)
    for sibling in siblings:
        if any(b is onto for b in _branch(sibling, children)):
            return sibling
    raise UsageError(f"--onto {onto.id}: it is not on another branch that forks at {parent_name}")


def _branch(first: Bundle, children: dict[str | None, list[Bundle]]) -> list[Bundle]:
    """Return the bundles of a branch from its first, as long as it does not fork again."""
    line = [first]
    while len(children.get(line[-1].id, [])) == 1:
        line.append(children[line[-1].id][0])
    return line


def _last_of_branch(first: Bundle, children: dict[str | None, list[Bundle]]) -> Bundle:
    last = _branch(first, children)[-1]
    if children.get(last.id):
        names = ", ".join(b.id for b in children[last.id])
        raise UsageError(f"the branch of {first.id} forks again at {last.id} ({names}): rebase that fork first")
    return last


def refuse_unmovable(bundle: Bundle) -> None:
    """Refuse a bundle whose SQL cannot be regenerated: a baseline, or one written by hand."""
    if bundle.manifest.get("baseline") is True:
        raise UsageError(f"{bundle.id} is a baseline: it records a database's schema and cannot move; "
                         "keep one baseline and remove the other")
    if not bundle.manifest["operations"]:
        raise UsageError(f"{bundle.id} is hand-written (generate --empty): its SQL cannot be regenerated; "
                         f"redo it by hand: remove it, then `reviewkit generate --empty` on top of the other branch")


def check_not_applied(settings: Settings, bundle: Bundle, database: str) -> str:
    """Refuse when `database` records the bundle (applied, faked or failed): its ledger would name a bundle that is gone.

    Return the database's URL (without password) when it does not.
    """
    from reviewkit.db.ledger import bundle_states, read_rows
    from reviewkit.db.target import open_database, target_url

    url = target_url(settings, database)
    conn = open_database(url, create=False)
    if conn is None:
        return url.redacted()
    with conn:
        state = bundle_states(read_rows(conn)).get(bundle.id)
    if state is not None and state.state != "rolled back":
        raise LedgerMismatch(f"{bundle.id} is {state.state} in {url.redacted()}: roll it back there first "
                             "(from the branch that made it), then rebase; nothing was changed")
    return url.redacted()


# -- what the old bundle's author answered -----------------------------------------------------


class RecordedAnswers:
    """Answer the generator's questions as the old bundle's author did: its one-off defaults, and no other renames.

    The renames are declared (`DeclaredRenames`); a drop plus an add the author left as
    such stays one.
    """

    def __init__(self, fills: dict[tuple[str, str], str], rollback_fills: dict[tuple[str, str], str]) -> None:
        self.fills = fills
        self.rollback_fills = rollback_fills  # canonical SQL, as the operations keep them

    def ask_rename_table(self, old: str, new: str) -> bool:
        return False

    def ask_rename_column(self, table: str, old: str, new: str, type_name: str) -> bool:
        return False

    def ask_one_off_default(self, question: OneOffQuestion) -> str | None:
        return self.fills.get((question.table, question.column))


def recorded_answers(bundle: Bundle, models_dialect: str) -> tuple[DeclaredRenames, RecordedAnswers]:
    """Return the renames the bundle made, and its one-off defaults written as the models' dialect writes values."""
    tables: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    fills: dict[tuple[str, str], str] = {}
    rollback_fills: dict[tuple[str, str], str] = {}
    for op in bundle.manifest["operations"]:
        if op["op"] == "rename_table":
            tables[op["table"]] = op["new_name"]
        elif op["op"] == "rename_column":
            columns[(op["table"], op["column"])] = op["new_name"]
        elif "fill" in op:  # canonical SQL; the generator reads answers as the models' dialect writes them
            fills[(op["table"], op["column"])] = render(op["fill"], models_dialect)
        if "rollback_fill" in op:
            rollback_fills[(op["table"], op["column"])] = op["rollback_fill"]
    return DeclaredRenames(tables, columns), RecordedAnswers(fills, rollback_fills)


# -- putting the new bundle in the old one's place ----------------------------------------------


def replace_bundle(staged: StagedBundle, old: Bundle) -> tuple[Bundle, Path | None]:
    """Put the staged bundle in place and remove the old one, so that either both happen or neither.

    The old folder is first renamed aside (one step), the new one renamed into place (one
    step); if that fails the old folder is renamed back. Only then is the old folder
    deleted: if that fails, it stays aside under a hidden name, which no command reads.
    """
    aside: Path | None = None
    try:
        aside = Path(tempfile.mkdtemp(prefix=f".{old.id}.rebased.", dir=old.path.parent))
        os.rename(old.path, aside / old.id)
    except OSError as err:
        if aside is not None:
            aside.rmdir()
        staged.discard()
        raise OperationFailed(f"{old.path}: cannot move the old bundle aside ({err.strerror or err}); nothing was changed") from None
    try:
        new = staged.commit()
    except BaseException:
        os.rename(aside / old.id, old.path)
        os.rmdir(aside)
        staged.discard()
        raise
    try:
        shutil.rmtree(aside)
    except OSError:
        return new, aside
    return new, None
