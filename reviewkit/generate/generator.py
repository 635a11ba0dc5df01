"""Generate a bundle: models -> diff -> operations -> SQL per dialect -> files on disk."""

from __future__ import annotations

import gc
import os
import re
import subprocess
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

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
from reviewkit.dialects.compiler import CompileContext, CompiledOperation, Compiler, check_engines_hold, contexts_for
from reviewkit.diff import (
    DeclaredRenames,
    NoInputQuestioner,
    OneOffDefaults,
    Questioner,
    ValueReader,
    diff_schemas,
    fill_existing_rows,
    read_one_off_default,
    rollback_operations,
    with_rollback_fills,
)
from reviewkit.errors import ModelError, UnsupportedType, UsageError
from reviewkit.forked import ForkedCall, fork_helps
from reviewkit.generate.review import render_empty_review, render_review
from reviewkit.generate.scripts import numbered_statements, render_empty_script, render_script
from reviewkit.lint import cache
from reviewkit.lint.engine import Statement, lint_statements, rules_of
from reviewkit.lint.findings import Finding
from reviewkit.lint.risk import BundleFinding, kept, risk_of
from reviewkit.models import load_models
from reviewkit.schema.operations import CreateView, DropView, Operation
from reviewkit.schema.state import Column, Schema, schema_to_json


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
    one_off_defaults: OneOffDefaults = OneOffDefaults()  # `--default table.column=VALUE`
    # Write the other dialects' scripts of a large bundle in forked children; False when this
    # process has a child of its own on the second CPU already (baseline's read-back).
    beside: bool = True
    # The caller has checked that every dialect holds `models` (`check_engines_hold`), or has a
    # child checking it: baseline's read-back does, and fails the baseline when one does not.
    engines_checked: bool = False
    # Values down.sql gives the rows of a column dropped or let be NULL, by (table, column), that an earlier
    # bundle was given (`rebase`): kept where `--default` gives none.
    rollback_fills: dict[tuple[str, str], str] | None = None


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
    lint: tuple[tuple[str, list[Finding]], ...] = ()  # what lint found in each script, by its cache key

    def write(self, settings: Settings) -> Bundle:
        self.keep_lint(settings)
        return write_bundle(settings.bundles_dir, self.bundle_id, self.files, self.manifest)

    def stage(self, settings: Settings) -> StagedBundle:
        """Write the bundle beside its place, to be put there (`commit`) or removed (`discard`) later."""
        self.keep_lint(settings)
        return stage_bundle(settings.bundles_dir, self.bundle_id, self.files, self.manifest)

    def keep_lint(self, settings: Settings) -> None:
        """Keep the findings: `reviewkit lint` of these bytes, next, reads them instead of linting again."""
        for entry, found in self.lint:
            cache.store(settings.root, entry, found)


def generate(settings: Settings, options: GenerateOptions, questioner: Questioner | None = None) -> Bundle | None:
    """Write the next bundle and return it, or return None when the models did not change."""
    planned = plan_bundle(settings, options, questioner)
    return None if planned is None else planned.write(settings)


def plan_bundle(settings: Settings, options: GenerateOptions, questioner: Questioner | None = None) -> PlannedBundle | None:
    """Return the next bundle, built but not written, or None when the models did not change."""
    bundles = load_bundles(settings.bundles_dir)
    return plan_bundle_on(settings, bundles[-1] if bundles else None, options, questioner)


def plan_bundle_on(settings: Settings, parent: Bundle | None, options: GenerateOptions,
                   questioner: Questioner | None = None) -> PlannedBundle | None:
    """Return the bundle that follows `parent` (None: the first one), built but not written; None when nothing changed.

    `rebase` names the parent itself: in a forked history there is no single last bundle.
    """
    # Generating builds hundreds of thousands of small objects and frees none of them in
    # cycles; the collector's repeated scans of them cost a third of the run on large
    # schemas, so it waits until the bundle is built.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan(settings, parent, options, questioner)
    finally:
        if was_enabled:
            gc.enable()


def _plan(settings: Settings, parent: Bundle | None, options: GenerateOptions,
          questioner: Questioner | None) -> PlannedBundle | None:
    before = parent.schema() if parent else Schema()
    dialects = [get_dialect(d) for d in settings.dialects]
    author = resolve_author(options.author, settings)
    number = (parent.last_number + 1) if parent else 1  # after a squash: the number after the last it replaces
    form = ScriptForm(settings.generate.online if options.online is None else options.online,
                      settings.generate.lock_timeout)

    if options.empty:
        if options.one_off_defaults.values:
            raise UsageError("--default: an empty bundle adds no column whose rows a one-off default could fill")
        bundle_id = f"{number:04d}_{slugify(options.name or 'hand_written')}"
        files = _empty_files(bundle_id, dialects, before, parent, author, form)
        manifest = _manifest(bundle_id, parent, author, dialects, [], [], form)
        return PlannedBundle(bundle_id, files, manifest)

    models = options.models if options.models is not None else load_models(settings, options.warn)
    if not options.engines_checked:
        check_engines_hold(models, dialects)
    questioner = questioner or NoInputQuestioner()
    operations = diff_schemas(before, models, options.renames, questioner)
    operations = fill_existing_rows(operations, models, options.one_off_defaults, questioner,
                                    one_off_reader(settings.models_dialect, dialects, models))
    if options.rollback_fills:
        operations = with_rollback_fills(operations, options.rollback_fills)
    if not operations:
        return None
    up_contexts = contexts_for(operations, before)
    after = up_contexts[-1].after
    # Both are normalized: equal as they are, unless a rename moved a column to the end.
    if after != models and after.ignoring_column_order() != models.ignoring_column_order():
        raise ModelError("internal: the operations do not reproduce the models; please report this with your models")
    bundle_id = f"{number:04d}_{slugify(options.name or default_slug(operations, parent is None))}"
    planned = compile_bundle(settings, bundle_id, operations, up_contexts, parent, author, form, options.beside)
    if options.baseline is not None:
        planned.manifest["baseline"] = True
        planned.files["REVIEW.md"] = baseline_note(options.baseline).encode() + planned.files["REVIEW.md"]
    return planned


def compile_bundle(
    settings: Settings, bundle_id: str, operations: list[Operation], up_contexts: list[CompileContext],
    parent: Bundle | None, author: str, form: ScriptForm, beside: bool = True,
) -> PlannedBundle:
    """Return the bundle of `operations` after `parent`: each dialect's scripts linted, REVIEW.md, the manifest.

    `beside`: a large bundle's other dialects may be written in forked children (`_each_dialects_scripts`).
    """
    dialects = [get_dialect(d) for d in settings.dialects]
    files, findings, lint = _bundle_files(settings, bundle_id, dialects, operations, up_contexts, parent, author, form,
                                          beside)
    manifest = _manifest(bundle_id, parent, author, dialects, operations, findings, form)
    return PlannedBundle(bundle_id, files, manifest, lint)


def one_off_reader(models_dialect: str, dialects: list[Dialect], models: Schema) -> ValueReader:
    """Return the reader of one-off defaults: a value in the models' dialect that every configured engine takes.

    Each engine judges it as a default of the column, the form PostgreSQL and MySQL add
    the column in (SQLite's rebuild copies it into the rows): what an engine would refuse
    at apply is refused now.
    """
    def read(text: str, table: str, column: Column) -> str:
        value = read_one_off_default(text, column.type, models_dialect)
        filled = replace(column, default=value)
        for dialect in dialects:
            try:
                dialect.compiler.check_default(models.table(table), filled)  # type: ignore[arg-type]
            except UnsupportedType as refused:
                raise UsageError(str(refused)) from None
        return value

    return read


def baseline_note(database: str) -> str:
    """Return what a baseline bundle's REVIEW.md says first: it records a schema, it does not change one."""
    return (f"> **Baseline** of {database}: this bundle records the schema that database already has.\n"
            "> Record it there with `reviewkit apply --fake`; its up.sql builds the same schema on an empty\n"
            "> database, and its down.sql drops all of it.\n\n")


def _bundle_files(
    settings: Settings, bundle_id: str, dialects: list[Dialect], operations: list[Operation],
    up_contexts: list[CompileContext], parent: Bundle | None, author: str, form: ScriptForm, beside: bool = True,
) -> tuple[dict[str, bytes], list[BundleFinding], tuple[tuple[str, list[Finding]], ...]]:
    after = up_contexts[-1].after
    down_ops = rollback_operations(operations, up_contexts[0].before)
    down_contexts = contexts_for(down_ops, after)
    files: dict[str, bytes] = {SCHEMA: schema_to_json(after).encode()}
    writer = _ScriptWriter(settings, bundle_id, form, operations, up_contexts, down_ops, down_contexts,
                           (parent.path / SCHEMA).read_bytes() if parent is not None else b"", files[SCHEMA])
    findings: list[BundleFinding] = []
    lint: list[tuple[str, list[Finding]]] = []
    large = len(operations) >= _FORK_FROM_OPERATIONS
    for scripts in _each_dialects_scripts(writer, dialects, beside and large):
        files.update(scripts.files)
        findings += scripts.findings
        lint += scripts.lint
    findings.sort(key=lambda f: (-1 if f.operation is None else f.operation))  # stable: dialect order within
    # A rollback in one transaction that the lock table cannot hold: REVIEW.md says so, as lint does of down.sql.
    rollback = [f for _, found in lint for f in kept(found, settings.lint) if f.locks is not None and "/down.sql" in f.file]
    review = render_review(bundle_id, parent.id if parent else None, author, operations, findings, down_ops, dialects, after,
                           form.notes(dialects), rollback)
    files["REVIEW.md"] = review.encode()
    return files, findings, tuple(lint)


# Below this many operations a forked child costs more than the scripts it would write.
_FORK_FROM_OPERATIONS = 300


def _each_dialects_scripts(writer: _ScriptWriter, dialects: list[Dialect], beside: bool) -> list[_Scripts]:
    """Return each dialect's scripts, in the order of `dialects`.

    Compiling and linting one dialect needs nothing from another's, and on a large bundle
    they are a third of generate's time: with a second CPU, forked children write every
    dialect but the first while this process writes that one. A child that fails, or
    cannot answer, has its dialect written again here, so an error reads as it would
    without children.
    """
    if not beside or len(dialects) < 2 or not fork_helps():
        return [writer.scripts(dialect) for dialect in dialects]
    with ExitStack() as children:
        others = [children.enter_context(ForkedCall(partial(writer.scripts, dialect))) for dialect in dialects[1:]]
        first = writer.scripts(dialects[0])
        return [first, *(_answer_or_again(child, writer, dialect) for child, dialect in zip(others, dialects[1:], strict=True))]


def _answer_or_again(child: ForkedCall[_Scripts], writer: _ScriptWriter, dialect: Dialect) -> _Scripts:
    try:
        return child.result()
    except Exception:  # noqa: BLE001 - raised again here, from this process's own objects
        return writer.scripts(dialect)


@dataclass(frozen=True)
class _Scripts:
    """One dialect's up.sql and down.sql, what lint found in up.sql, and what to keep for `reviewkit lint`."""

    files: dict[str, bytes]
    findings: list[BundleFinding]
    lint: list[tuple[str, list[Finding]]]  # (cache key, findings) of each script


@dataclass(frozen=True)
class _ScriptWriter:
    """Writes each dialect's scripts, with `lint`'s findings as `-- RISK` comments above their statements."""

    settings: Settings
    bundle_id: str
    form: ScriptForm
    operations: list[Operation]
    up_contexts: list[CompileContext]
    down_operations: list[Operation]
    down_contexts: list[CompileContext]
    parent_schema: bytes  # the schema before up.sql, as the parent's schema.json holds it
    schema: bytes  # the schema before down.sql: this bundle's schema.json

    def scripts(self, dialect: Dialect) -> _Scripts:
        compiler, before, after = self.form.compiler(dialect), self.up_contexts[0].before, self.up_contexts[-1].after
        up = compiler.compile_all(self.operations, self.up_contexts)
        down = compiler.compile_all(self.down_operations, self.down_contexts)
        up_bytes, up_findings, up_entry = self._script(dialect, "up", up, before, self.parent_schema)
        down_bytes, _, down_entry = self._script(dialect, "down", down, after, self.schema)
        return _Scripts({f"{dialect.name}/up.sql": up_bytes, f"{dialect.name}/down.sql": down_bytes}, up_findings,
                        [up_entry, down_entry])

    def _script(self, dialect: Dialect, direction: str, compiled: list[CompiledOperation], before: Schema,
                before_bytes: bytes) -> tuple[bytes, list[BundleFinding], tuple[str, list[Finding]]]:
        """Return the script's bytes, its findings with their operations, and its entry for lint's cache."""
        name, preamble, online = dialect.name, self.form.preamble(dialect), self.form.online
        path = self._shown(name, direction)
        numbered, found = _lint_compiled(name, compiled, preamble, before, online, path)
        shown = kept(found, self.settings.lint)
        risks: dict[int, list[Finding]] = {}
        for finding in shown:
            risks.setdefault(finding.statement, []).append(finding)
        text, starts = render_script(self.bundle_id, dialect, direction, compiled, risks, preamble)
        for finding in found:
            finding.line = starts[finding.statement]
        data = text.encode()
        findings = [BundleFinding(name, f, numbered[f.statement - 1][0]) for f in shown]
        return data, findings, (cache.key(data, name, before_bytes, path, online), found)

    def _shown(self, dialect: str, direction: str) -> str:
        """The script's path as `lint` names it: from the project root."""
        path = (self.settings.bundles_dir / self.bundle_id / dialect / f"{direction}.sql").resolve()
        root = self.settings.root.resolve()
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _lint_compiled(dialect: str, compiled: list[CompiledOperation], preamble: list[str], before: Schema, online: bool,
                   path: str = "") -> tuple[list[tuple[int | None, str]], list[Finding]]:
    """Return a script's numbered statements and what `lint` finds in them, before they are written."""
    numbered = numbered_statements(compiled, preamble)
    statements = [Statement(sql, number, 0, dialect) for number, (_, sql) in enumerate(numbered, 1)]
    return numbered, lint_statements(statements, dialect, path, before, rules_of(dialect), online)


def assess(operations: list[Operation], before: Schema, dialects: list[str], online: bool = False) -> list[BundleFinding]:
    """Return what `lint` would find in the up scripts of a bundle of `operations` (nothing is written)."""
    contexts = contexts_for(operations, before)
    form = ScriptForm(online)
    found: list[BundleFinding] = []
    for name in dialects:
        dialect = get_dialect(name)
        compiled = form.compiler(dialect).compile_all(operations, contexts)
        numbered, findings = _lint_compiled(name, compiled, form.preamble(dialect), before, online)
        found += [BundleFinding(name, f, numbered[f.statement - 1][0]) for f in findings]
    return found


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
    findings: list[BundleFinding], form: ScriptForm,
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
        "risk": risk_of(findings),
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
