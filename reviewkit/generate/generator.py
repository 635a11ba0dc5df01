"""Generate a bundle: models -> diff -> operations -> SQL per dialect -> files on disk."""

from __future__ import annotations

import gc
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from reviewkit import __version__
from reviewkit.bundle.store import (
    BUNDLE_FORMAT,
    SCHEMA,
    Bundle,
    StagedBundle,
    load_bundles,
    stage_bundle,
    write_bundle,
)
from reviewkit.config import Settings, os_user
from reviewkit.dialects import get_dialect
from reviewkit.dialects.base import Dialect
from reviewkit.dialects.compiler import CompileContext, CompiledOperation, Compiler, contexts_for
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, Questioner, diff_schemas
from reviewkit.errors import ModelError, UnsupportedType, UsageError
from reviewkit.generate.review import render_empty_review, render_review
from reviewkit.generate.risk import (
    Finding,
    assess,
    foreign_key_findings,
    offline_findings,
    online_locks,
    overall_level,
    rebuild_findings,
)
from reviewkit.generate.scripts import render_empty_script, render_script
from reviewkit.models import load_models
from reviewkit.schema.operations import CreateView, DropView, Operation, reverse_all
from reviewkit.schema.state import Schema, schema_to_json


@dataclass(frozen=True)
class GenerateOptions:
    name: str | None = None
    empty: bool = False
    renames: DeclaredRenames = DeclaredRenames()
    author: str | None = None
    warn: Callable[[str], None] | None = None  # receives what the model readers skipped
    baseline: str | None = None  # the database a baseline bundle was read from (URL without password)
    models: Schema | None = None  # the models, when the caller has just read them (baseline): not read again
    online: bool | None = None  # the lock-safe forms (`--online`); None: `[generate] online`


@dataclass(frozen=True)
class ScriptForm:
    """How a bundle's scripts are written: plain, or in each engine's lock-safe forms."""

    online: bool = False
    lock_timeout: str = "5s"

    def compiler(self, dialect: Dialect) -> Compiler:
        """Return the compiler of this form for `dialect` (an engine without online forms has only its plain one)."""
        return (dialect.online_compiler or dialect.compiler) if self.online else dialect.compiler

    def preamble(self, dialect: Dialect) -> list[str]:
        return self.compiler(dialect).session_statements(self.lock_timeout) if self.online else []

    def notes(self, dialects: list[Dialect]) -> list[tuple[str, list[str]]] | None:
        """Return what REVIEW.md says of each engine's online forms; None for a plain bundle."""
        return [(d.title, self.compiler(d).online_notes()) for d in dialects] if self.online else None


@dataclass(frozen=True)
class PlannedBundle:
    """A bundle built in memory, its files and manifest, not yet written."""

    bundle_id: str
    files: dict[str, bytes]
    manifest: dict

    def write(self, settings: Settings) -> Bundle:
        return write_bundle(settings.bundles_dir, self.bundle_id, self.files, self.manifest)

    def stage(self, settings: Settings) -> StagedBundle:
        """Write the bundle beside its place, to be put there (`commit`) or removed (`discard`) later."""
        return stage_bundle(settings.bundles_dir, self.bundle_id, self.files, self.manifest)


def generate(settings: Settings, options: GenerateOptions, questioner: Questioner | None = None) -> Bundle | None:
    """Write the next bundle and return it, or return None when the models did not change."""
    planned = plan_bundle(settings, options, questioner)
    return None if planned is None else planned.write(settings)


def plan_bundle(settings: Settings, options: GenerateOptions, questioner: Questioner | None = None) -> PlannedBundle | None:
    """Return the next bundle, built but not written, or None when the models did not change."""
    # Generating builds hundreds of thousands of small objects and frees none of them in
    # cycles; the collector's repeated scans of them cost a third of the run on large
    # schemas, so it waits until the bundle is built.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan(settings, options, questioner)
    finally:
        if was_enabled:
            gc.enable()


def _plan(settings: Settings, options: GenerateOptions, questioner: Questioner | None) -> PlannedBundle | None:
    bundles = load_bundles(settings.bundles_dir)
    parent = bundles[-1] if bundles else None
    before = parent.schema() if parent else Schema()
    dialects = [get_dialect(d) for d in settings.dialects]
    author = resolve_author(options.author, settings)
    number = (parent.number + 1) if parent else 1
    form = ScriptForm(settings.generate.online if options.online is None else options.online,
                      settings.generate.lock_timeout)

    if options.empty:
        bundle_id = f"{number:04d}_{slugify(options.name or 'hand_written')}"
        files = _empty_files(bundle_id, dialects, before, parent, author, form)
        manifest = _manifest(bundle_id, parent, author, dialects, [], [], form)
        return PlannedBundle(bundle_id, files, manifest)

    models = options.models if options.models is not None else load_models(settings, options.warn)
    check_engines_hold(models, dialects)
    operations = diff_schemas(before, models, options.renames, questioner or NoInputQuestioner())
    if not operations:
        return None
    up_contexts = contexts_for(operations, before)
    after = up_contexts[-1].after
    # Both are normalized: equal as they are, unless a rename moved a column to the end.
    if after != models and after.ignoring_column_order() != models.ignoring_column_order():
        raise ModelError("internal: the operations do not reproduce the models; please report this with your models")
    bundle_id = f"{number:04d}_{slugify(options.name or default_slug(operations, parent is None))}"
    files, findings = _bundle_files(bundle_id, dialects, operations, up_contexts, parent, author, form)
    manifest = _manifest(bundle_id, parent, author, dialects, operations, findings, form)
    if options.baseline is not None:
        manifest["baseline"] = True
        files["REVIEW.md"] = baseline_note(options.baseline).encode() + files["REVIEW.md"]
    return PlannedBundle(bundle_id, files, manifest)


def baseline_note(database: str) -> str:
    """Return what a baseline bundle's REVIEW.md says first: it records a schema, it does not change one."""
    return (f"> **Baseline** of {database}: this bundle records the schema that database already has.\n"
            "> Record it there with `reviewkit apply --fake`; its up.sql builds the same schema on an empty\n"
            "> database, and its down.sql drops all of it.\n\n")


_SHOWN_REFUSALS = 50


def check_engines_hold(models: Schema, dialects: list[Dialect]) -> None:
    """Refuse models that an engine would refuse at apply or keep with another meaning: every refusal at once."""
    refusals = [line for dialect in dialects for line in dialect.compiler.schema_refusals(models)]
    if len(refusals) > 1:
        shown = refusals[:_SHOWN_REFUSALS]
        if len(refusals) > _SHOWN_REFUSALS:
            shown.append(f"... and {len(refusals) - _SHOWN_REFUSALS} more")
        refusals = [f"{len(refusals)} objects of the models that an engine cannot hold:", *shown]
    if refusals:
        raise UnsupportedType("\n".join(refusals))


def _bundle_files(
    bundle_id: str, dialects: list[Dialect], operations: list[Operation], up_contexts: list[CompileContext],
    parent: Bundle | None, author: str, form: ScriptForm,
) -> tuple[dict[str, bytes], list[Finding]]:
    before, after = up_contexts[0].before, up_contexts[-1].after
    down_ops = reverse_all(operations)
    down_contexts = contexts_for(down_ops, after)
    findings = assess(operations, before)
    down_findings = assess(down_ops, after)
    if form.online:
        plain = [d.name for d in dialects if not d.online_forms]
        findings, down_findings = online_locks(findings, plain), online_locks(down_findings, plain)
    files: dict[str, bytes] = {SCHEMA: schema_to_json(after).encode()}
    for dialect in dialects:
        compiler, preamble = form.compiler(dialect), form.preamble(dialect)
        up = compiler.compile_all(operations, up_contexts)
        down = compiler.compile_all(down_ops, down_contexts)
        findings += _engine_findings(up, dialect.name)
        down_findings += _engine_findings(down, dialect.name)
        files[f"{dialect.name}/up.sql"] = render_script(bundle_id, dialect, "up", up, findings, preamble).encode()
        files[f"{dialect.name}/down.sql"] = render_script(bundle_id, dialect, "down", down, down_findings, preamble).encode()
    review = render_review(bundle_id, parent.id if parent else None, author, operations, findings, down_ops, dialects, after,
                           form.notes(dialects))
    files["REVIEW.md"] = review.encode()
    return files, findings


def _engine_findings(compiled: list[CompiledOperation], dialect: str) -> list[Finding]:
    """Return what one engine's script costs beyond the operations themselves: rebuilds, foreign keys, copies."""
    return rebuild_findings(compiled, dialect) + foreign_key_findings(compiled, dialect) + offline_findings(compiled, dialect)


def _empty_files(
    bundle_id: str, dialects: list[Dialect], before: Schema, parent: Bundle | None, author: str, form: ScriptForm,
) -> dict[str, bytes]:
    files = {SCHEMA: schema_to_json(before).encode()}
    for dialect in dialects:
        for direction in ("up", "down"):
            script = render_empty_script(bundle_id, dialect, direction, form.preamble(dialect))
            files[f"{dialect.name}/{direction}.sql"] = script.encode()
    review = render_empty_review(bundle_id, parent.id if parent else None, author, form.notes(dialects))
    files["REVIEW.md"] = review.encode()
    return files


def _manifest(
    bundle_id: str, parent: Bundle | None, author: str, dialects: list[Dialect], operations: list[Operation],
    findings: list[Finding], form: ScriptForm,
) -> dict:
    manifest = {
        "format": BUNDLE_FORMAT,
        "id": bundle_id,
        "parent": parent.id if parent else None,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "author": author,
        "generator": f"reviewkit {__version__}",
        "dialects": [d.name for d in dialects],
        "operations": [op.to_dict() for op in operations],
        "risk": {"level": overall_level(findings), "findings": [f.to_dict() for f in findings]},
    }
    if form.online:
        manifest["online"] = True  # the runner runs it statement by statement
    return manifest


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:50].rstrip("_") or "bundle"


def default_slug(operations: list[Operation], first: bool) -> str:
    if first:
        return "initial"
    # Views dropped to be created again open many bundles: the first change of a table names it better.
    op = next((o for o in operations if not isinstance(o, (DropView, CreateView))), operations[0])
    slug = f"{op.kind}_{op.table}"
    detail = op.to_dict()
    if "column" in detail:
        slug += f"_{detail['column']}"
    return slug if len(operations) == 1 else slug + "_and_more"


def resolve_author(explicit: str | None, settings: Settings) -> str:
    """--author, else REVIEWKIT_AUTHOR, else git's user.name <user.email>, else the OS user."""
    for given, where in ((explicit, "--author"), (os.environ.get("REVIEWKIT_AUTHOR"), "REVIEWKIT_AUTHOR")):
        if given is not None and given.strip():
            return given.strip()
        if given:  # set, but only spaces: a bundle must name someone
            raise UsageError(f"{where} is blank; give a name or an email")
    name, email = _git_config("user.name", settings), _git_config("user.email", settings)
    if name and email:
        return f"{name} <{email}>"
    if name or email:
        return name or email
    return os_user()


def _git_config(key: str, settings: Settings) -> str | None:
    try:
        result = subprocess.run(["git", "config", key], cwd=settings.root, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None
