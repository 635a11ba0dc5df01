"""`reviewkit squash FROM TO [NAME]`: one bundle in place of the bundles FROM..TO.

The squash is generated, not concatenated: the schema before FROM (its parent's
`schema.json`, or nothing) is diffed against TO's `schema.json` and compiled as `generate`
compiles a change, so its scripts are as short as a fresh `generate` would make them,
linted like any bundle, with a REVIEW.md of its own. Two things only the replaced bundles'
operations know are carried over: their renames (a diff cannot tell a rename from a drop
and an add, and a database at FROM's parent keeps its rows through the squash) and the
one-off defaults they filled existing rows with. Its `schema.json` is TO's, byte for byte;
its manifest's `replaces` lists the ids and digests of the bundles it stands for, under
its own digest, which needs approvals like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reviewkit.bundle.digest import verify_files
from reviewkit.bundle.store import SCHEMA, Bundle, find_bundle, load_bundles
from reviewkit.config import Settings
from reviewkit.dialects import get_dialect
from reviewkit.dialects.compiler import check_engines_hold, contexts_for
from reviewkit.dialects.splitter import split_statements
from reviewkit.diff import DeclaredRenames, NoInputQuestioner, diff_schemas, with_rollback_fills
from reviewkit.diff.one_off_defaults import needs_one_off_default
from reviewkit.errors import IntegrityError, ModelError, UsageError
from reviewkit.generate.generator import (
    PlannedBundle,
    ScriptForm,
    compile_bundle,
    resolve_author,
    slugify,
)
from reviewkit.schema.operations import AddColumn, AlterColumn, Operation
from reviewkit.schema.state import Schema


@dataclass(frozen=True)
class SquashOptions:
    first: str  # FROM: a bundle number, id or path
    last: str  # TO
    name: str | None = None
    author: str | None = None
    online: bool | None = None  # None: [generate] online


def squash(settings: Settings, options: SquashOptions) -> Bundle:
    """Write the squash of the bundles `options.first`..`options.last` and return it."""
    return plan_squash(settings, options).write(settings)


def plan_squash(settings: Settings, options: SquashOptions) -> PlannedBundle:
    """Return the squash, built but not written; refuse a range that cannot be squashed."""
    chain = load_bundles(settings.bundles_dir)
    originals = squashed_range(chain, options.first, options.last)
    first, last = originals[0], originals[-1]
    position = chain.index(first)
    parent = chain[position - 1] if position else None
    before = parent.schema() if parent is not None else Schema()
    after = last.schema()
    check_engines_hold(after, [get_dialect(d) for d in settings.dialects])
    renames, fills, rollback_fills = carried_over(originals, before)
    try:
        operations = diff_schemas(before, after, renames, NoInputQuestioner())
    except UsageError as why:  # a chain of renames the diff cannot say in one step
        raise UsageError(f"cannot squash {first.id}..{last.id}: the renames of the range do not add up ({why})") from None
    if not operations:
        raise UsageError(f"nothing to squash: {first.id}..{last.id} change nothing together (the schema after {last.id} "
                         f"is the one before {first.id}); remove the bundles instead, if no database applied them")
    operations = _filled(operations, fills, first)
    operations = with_rollback_fills(operations, rollback_fills)
    up_contexts = contexts_for(operations, before)
    if up_contexts[-1].after.ignoring_column_order() != after.ignoring_column_order():
        raise ModelError(f"internal: the squash's operations do not rebuild {last.id}'s schema; please report this")
    bundle_id = f"{first.number:04d}_squashed_{last.number:04d}" + (f"_{slugify(options.name)}" if options.name else "")
    form = ScriptForm(settings.generate.online if options.online is None else options.online, settings.generate.lock_timeout)
    planned = compile_bundle(settings, bundle_id, operations, up_contexts, parent, resolve_author(options.author, settings),
                             form)
    planned.manifest["replaces"] = [{"id": b.id, "digest": b.digest} for b in originals]
    planned.files[SCHEMA] = (last.path / SCHEMA).read_bytes()  # the next bundle's base, as TO left it
    planned.files["REVIEW.md"] = squash_note(originals).encode() + planned.files["REVIEW.md"]
    return planned


def squashed_range(chain: list[Bundle], first_ref: str, last_ref: str) -> list[Bundle]:
    """Return the bundles FROM..TO of the chain, or refuse a range a squash cannot stand for."""
    first, last = find_bundle(chain, first_ref), find_bundle(chain, last_ref)
    start, end = chain.index(first), chain.index(last)
    if start > end:
        raise UsageError(f"squash {first_ref} {last_ref}: {first.id} comes after {last.id}; name the older bundle first")
    if start == end:
        raise UsageError(f"squash {first_ref} {last_ref}: the range is {first.id} alone; a squash replaces two bundles or more")
    originals = chain[start:end + 1]
    for bundle in originals:
        _refuse_unsquashable(bundle)
    return originals


def _refuse_unsquashable(bundle: Bundle) -> None:
    """Refuse a bundle the squash could not stand for: tampered, a squash, a baseline, hand-written SQL."""
    problems = verify_files(bundle.path, bundle.manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise IntegrityError(f"{problems[0]}{more}; not squashing: `replaces` would record a digest its files do not match")
    if bundle.replaces:
        raise UsageError(f"{bundle.id} is a squash of {bundle.range_label}: a squash cannot replace another squash; "
                         "squash a range before or after it")
    if bundle.manifest.get("baseline"):
        raise UsageError(f"{bundle.id} is a baseline: a database adopted later records it alone (`apply --fake`), "
                         "which a squash would make impossible; squash from the bundle after it")
    if not bundle.manifest["operations"]:
        for dialect in bundle.manifest["dialects"]:
            driver = get_dialect(dialect).driver
            statements = [s for s in split_statements(bundle.script(dialect, "up"), dialect) if not driver.session_setting(s.sql)]
            if statements:
                raise UsageError(f"{bundle.id} is hand-written ({len(statements)} statements in {dialect}/up.sql, no "
                                 "operations): a squash generated from the schemas would leave them out; squash the "
                                 "ranges before and after it")


Fills = dict[tuple[str, str], str]  # (table, column) -> a one-off value, canonical SQL


def carried_over(originals: list[Bundle], before: Schema) -> tuple[DeclaredRenames, Fills, Fills]:
    """Return the net renames of the range, the one-off defaults its rows were filled with, by final names, and the
    values its rollbacks give (`--default` of a column dropped or let be NULL), as the squash's operations name the
    columns: a dropped one by its name before the range, one let be NULL by its final name.

    Only tables and columns that exist before the range are followed: what the range
    creates, the squash creates under its final name.
    """
    tables = {t.name: t.name for t in before.tables}  # name now -> name before the range
    columns = {(t.name, c.name): c.name for t in before.tables for c in t.columns}  # (table, column) now -> column before
    fills: Fills = {}  # (table, column) now -> the value its rows were filled with
    dropped: Fills = {}  # (table now, column before the range) -> the value its rollback gives
    relaxed: Fills = {}  # (table, column) now -> the value its rollback gives
    for bundle in originals:
        for op in bundle.manifest["operations"]:
            kind, table = op["op"], op["table"]
            if kind == "rename_table":
                if table in tables:
                    tables[op["new_name"]] = tables.pop(table)
                columns, fills, dropped, relaxed = (
                    {(op["new_name"] if t == table else t, c): value for (t, c), value in names.items()}
                    for names in (columns, fills, dropped, relaxed))
            elif kind == "rename_column":
                for names in (columns, fills, relaxed):
                    if (table, op["column"]) in names:
                        names[(table, op["new_name"])] = names.pop((table, op["column"]))
            elif kind == "drop_table":
                tables.pop(table, None)
                columns, fills, dropped, relaxed = ({k: v for k, v in names.items() if k[0] != table}
                                                    for names in (columns, fills, dropped, relaxed))
            elif kind == "drop_column":
                original = columns.pop((table, op["column"]), None)
                fills.pop((table, op["column"]), None)
                relaxed.pop((table, op["column"]), None)
                if original is not None and isinstance(op.get("rollback_fill"), str):
                    dropped[(table, original)] = op["rollback_fill"]
            if isinstance(op.get("fill"), str):
                fills[(table, op["column"])] = op["fill"]
            if kind == "alter_column" and isinstance(op.get("rollback_fill"), str):
                relaxed[(table, op["column"])] = op["rollback_fill"]
    renamed_tables = {old: now for now, old in tables.items() if old != now}
    renamed_columns = {(t, old): c for (t, c), old in columns.items() if old != c}
    return DeclaredRenames(renamed_tables, renamed_columns), fills, {**dropped, **relaxed}


def _filled(operations: list[Operation], fills: dict[tuple[str, str], str], first: Bundle) -> list[Operation]:
    """Give each column that needs a one-off default the value the replaced bundles filled its rows with."""
    filled = list(operations)
    for index, op in enumerate(operations):
        if not needs_one_off_default(op):
            continue
        column = op.column if isinstance(op, AddColumn) else op.new if isinstance(op, AlterColumn) else None
        assert column is not None
        value = fills.get((op.table, column.name))
        if value is None:
            raise UsageError(f"{op.table}.{column.name} becomes NOT NULL without a default over rows that exist before "
                             f"{first.id}, and no bundle of the range gave a one-off default for it; squash a shorter range")
        filled[index] = replace(op, fill=value)  # type: ignore[call-arg]
    return filled


def squash_note(originals: list[Bundle]) -> str:
    """Return what the squash's REVIEW.md says first: what it replaces, and how databases count it."""
    listed = "".join(f">   - `{b.id}` (digest {b.digest[:12]})\n" for b in originals)
    return (f"> **Squash** of {len(originals)} bundles, {originals[0].id}..{originals[-1].id}, generated from the schema\n"
            f"> before {originals[0].id} and the schema after {originals[-1].id}:\n{listed}"
            "> A database that applied all of them counts this bundle as applied; a new one runs it alone.\n"
            "> Hand edits of the replaced bundles' SQL are not carried over: this bundle's SQL is what it runs.\n\n")
