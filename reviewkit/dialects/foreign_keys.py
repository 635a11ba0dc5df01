"""Scripts in which every foreign key is valid at every statement, whatever the engine demands.

The differ orders a bundle for every engine alike: foreign keys dropped, keys and indexes
dropped, columns changed, keys and indexes added, foreign keys added. An engine may refuse
some of those steps while a foreign key exists: InnoDB will not drop the last index a
foreign key uses or change the type of either of its ends; PostgreSQL will not drop the
unique index a foreign key was checked against, nor change a type so that the two ends
can no longer be compared. Each such engine describes what it
refuses as `ForeignKeyRules`, and its compiler plans its scripts, up and down alike, with
the walk below:

- before an operation the engine would refuse, the foreign keys in its way are dropped;
- each comes back after the last operation of the script that would refuse it, as soon as
  the engine accepts it again (on an engine that builds an index for a foreign key, once
  the script has built the one it will use);
- a foreign key that a new table or an ADD CONSTRAINT declares too early (a referenced
  column still changes type later in the script) waits the same way.

An engine may also run the operations in another order (MySQL builds a replacement index
before dropping the one it replaces); the operations keep their numbers in the script:
statements moved to another operation run there, and notes on both say so.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from reviewkit.dialects.compiler import CompileContext, CompiledOperation, Compiler, contexts_for
from reviewkit.schema.operations import (
    AddConstraint,
    CreateTable,
    DropConstraint,
    DropTable,
    Operation,
    RenameConstraint,
    RenameTable,
)
from reviewkit.schema.state import ForeignKey, Schema, Table

FkKey = tuple[str, str]  # (child table, foreign key name)


class ForeignKeyRules:
    """What an engine refuses while a foreign key exists, and what adding one needs.

    The defaults refuse nothing and accept every foreign key.
    """

    # ADD FOREIGN KEY builds an index on the child table when none serves (InnoDB).
    builds_child_index = False

    def may_refuse(self, op: Operation) -> bool:
        """Tell, cheaply, whether `op` is of a kind the engine may refuse; the walk ignores the others."""
        return False

    def why_refused(self, op: Operation, ctx: CompileContext, table: str, fk: ForeignKey) -> str | None:
        """Return why the engine refuses `op` while foreign key `fk` of `table` exists, or None."""
        return None

    def can_add(self, schema: Schema, table: str, fk: ForeignKey) -> bool:
        """Tell whether adding foreign key `fk` to `table` succeeds on a database holding `schema`."""
        return True

    def shares_index(self, table: Table, fk: ForeignKey, dropped: ForeignKey) -> bool:
        """Tell whether `fk` may use an index that dropping foreign key `dropped` removes."""
        return False

    def serves_child(self, table: Table, fk: ForeignKey, added: Operation) -> bool:
        """Tell whether operation `added` builds an index on `table` that `fk` can use."""
        return False


def foreign_keys_touching(
    schema: Schema, table: str, children: set[str] | None = None,
) -> Iterator[tuple[str, ForeignKey]]:
    """Yield (child table, foreign key) for the foreign keys of `table` and those referencing it.

    `children`, when given, holds at least every table that may reference `table`: only
    those are searched.
    """
    own = schema.table(table)
    if own is not None:
        for fk in own.foreign_keys:
            yield table, fk
    others = schema.tables if children is None else [t for name in sorted(children) if (t := schema.table(name))]
    for other in others:
        if other.name == table:
            continue
        for fk in other.foreign_keys:
            if fk.ref_table == table:
                yield other.name, fk


def possible_referrers(ops: list[Operation], before: Schema) -> dict[str, set[str]]:
    """Map each table name to every table that references it at some point of `ops` (and maybe more).

    Built once per script, it spares looking through every table for each type change.
    """
    referrers: dict[str, set[str]] = {}
    declared = [(t.name, fk) for t in before.tables for fk in t.foreign_keys]
    for op in ops:
        if isinstance(op, CreateTable):
            declared += [(op.table, fk) for fk in op.table_def.foreign_keys]
        elif isinstance(op, AddConstraint) and isinstance(op.constraint, ForeignKey):
            declared.append((op.table, op.constraint))
    for child, fk in declared:
        referrers.setdefault(fk.ref_table, set()).add(child)
    for op in ops:
        if isinstance(op, RenameTable):  # a renamed table keeps its references under its new name
            referrers.setdefault(op.new_name, set()).update(referrers.get(op.table, ()))
            for children in referrers.values():
                if op.table in children:
                    children.add(op.new_name)
    return referrers


def find_foreign_key(table: Table | None, name: str) -> ForeignKey | None:
    if table is None:
        return None
    return next((fk for fk in table.foreign_keys if fk.name == name), None)


def plan_statements(
    compiler: Compiler, rules: ForeignKeyRules, operations: list[Operation], contexts: list[CompileContext],
    order: list[int] | None = None,
) -> list[CompiledOperation]:
    """Compile `operations`, run in `order` (default: as given), keeping every foreign key valid."""
    if not operations:
        return []
    order = order or list(range(len(operations)))
    ops = [operations[i] for i in order]
    ctxs = contexts if order == sorted(order) else contexts_for(ops, contexts[0].before)
    shown = _shown_at(order)
    steps = ForeignKeyWalk(compiler, rules, ops, ctxs, shown).run()
    return _by_operation(operations, order, shown, steps)


@dataclass
class _Step:
    """What runs for one operation, and what the script says about it."""

    statements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Pending:
    """A foreign key the schema has at this point but the database, for now, does not."""

    since: int  # the position where it was dropped or held back
    until: int  # the last position that would refuse it
    why: str
    dropped: bool  # dropped from the database (else held back from its creation)
    index_at: int | None  # a later position that builds the child index it will use, if any


class ForeignKeyWalk:
    """Run through a script's operations, taking foreign keys out of the way and back."""

    def __init__(
        self, compiler: Compiler, rules: ForeignKeyRules, ops: list[Operation], ctxs: list[CompileContext], shown: list[int],
    ) -> None:
        self.compiler, self.rules, self.ops, self.ctxs, self.shown = compiler, rules, ops, ctxs, shown
        self.pending: dict[FkKey, _Pending] = {}
        self.steps = [_Step() for _ in ops]
        # What a look-ahead visits: what the engine may refuse, and what renames or removes a foreign key.
        self.watched = [p for p, op in enumerate(ops)
                        if rules.may_refuse(op) or isinstance(op, RenameTable | DropTable | RenameConstraint | DropConstraint)]
        self.referrers = possible_referrers(ops, ctxs[0].before) if self.watched else {}

    def run(self) -> list[_Step]:
        for p, op in enumerate(self.ops):
            self._drop_what_op_refuses(p, op)
            self.steps[p].statements += self._own_statements(p, op)
            self._follow_table_rename(op)
            self._add_back_ready(p)
        self._add_back_ready(len(self.ops) - 1, at_end=True)
        return self.steps

    # -- dropping -------------------------------------------------------------------------

    def _drop_what_op_refuses(self, p: int, op: Operation) -> None:
        if not self.rules.may_refuse(op):
            return
        ctx = self.ctxs[p]
        refusing: dict[FkKey, tuple[ForeignKey, str]] = {}
        for table, fk in foreign_keys_touching(ctx.before, op.table, self.referrers.get(op.table, set())):
            key = (table, fk.name)
            why = None if key in self.pending else self.rules.why_refused(op, ctx, table, fk)
            if why:
                refusing[key] = (fk, why)
        if refusing:
            self._drop(p, self._with_index_sharers(refusing, ctx))

    def _with_index_sharers(self, chosen: dict[FkKey, tuple[ForeignKey, str]], ctx: CompileContext) -> dict:
        """Add the foreign keys that use an index going with one already chosen."""
        queue = list(chosen)
        while queue:
            table_name, name = queue.pop()
            table = ctx.before.table(table_name)
            dropped = chosen[(table_name, name)][0]
            for other in table.foreign_keys:
                key = (table_name, other.name)
                if key not in chosen and key not in self.pending and self.rules.shares_index(table, other, dropped):
                    chosen[key] = (other, f"it uses the index of foreign key {name}, which goes with it")
                    queue.append(key)
        return chosen

    def _drop(self, p: int, chosen: dict[FkKey, tuple[ForeignKey, str]]) -> None:
        ctx = self.ctxs[p]
        compiled = [self.compiler.compile_drop_constraint(DropConstraint(t, fk), ctx) for (t, _), (fk, _) in chosen.items()]
        # Every foreign key goes before any index that goes with one: another may still use it.
        self.steps[p].statements += [c[0] for c in compiled] + [s for c in compiled for s in c[1:]]
        for key, (fk, why) in chosen.items():
            self.pending[key] = self._pending(key, fk, p, why, dropped=True)

    def _pending(self, key: FkKey, fk: ForeignKey, p: int, why: str, dropped: bool) -> _Pending:
        return _Pending(p, self._last_refusal(key, p), why, dropped, self._child_index_at(key[0], fk, p))

    def _last_refusal(self, key: FkKey, p: int) -> int:
        """Return the last position after `p` whose operation the engine refuses with this foreign key there."""
        table, name = key
        last = p
        for q in self.watched[bisect_right(self.watched, p):]:
            op, ctx = self.ops[q], self.ctxs[q]
            if isinstance(op, RenameTable):
                table = op.new_name if op.table == table else table
                continue
            fk = find_foreign_key(ctx.before.table(table), name)
            if fk is None:
                break  # dropped, or its table is
            if isinstance(op, RenameConstraint) and op.table == table and op.old.name == name:
                name = op.new.name
            elif self.rules.may_refuse(op) and self.rules.why_refused(op, ctx, table, fk):
                last = q
        return last

    def _child_index_at(self, table: str, fk: ForeignKey, p: int) -> int | None:
        """Return the first position after `p` that builds an index the foreign key will use, if the engine cares."""
        if not self.rules.builds_child_index:
            return None
        for q in range(p + 1, len(self.ops)):
            if self.ops[q].table == table and self.rules.serves_child(self.ctxs[q].after.table(table), fk, self.ops[q]):
                return q
        return None

    # -- the operation itself -------------------------------------------------------------

    def _own_statements(self, p: int, op: Operation) -> list[str]:
        removed = op.constraint if isinstance(op, DropConstraint) else op.old if isinstance(op, RenameConstraint) else None
        if isinstance(removed, ForeignKey) and (op.table, removed.name) in self.pending:
            return self._already_out(p, op, removed)
        if isinstance(op, DropTable):
            self._forget_table(p, op.table)
        if isinstance(op, CreateTable):
            held = [fk for fk in op.table_def.foreign_keys if self._held_back(p, op.table, fk)]
            if held:
                kept = tuple(fk for fk in op.table_def.foreign_keys if fk not in held)
                op = CreateTable(replace(op.table_def, foreign_keys=kept))
        if isinstance(op, AddConstraint) and isinstance(op.constraint, ForeignKey) and self._held_back(p, op.table, op.constraint):
            return []
        return list(self.compiler.compile(op, self.ctxs[p]).statements)

    def _already_out(self, p: int, op: Operation, fk: ForeignKey) -> list[str]:
        """Drop or rename a foreign key that is not in the database at this point."""
        pending = self.pending.pop((op.table, fk.name))
        self.steps[p].notes.append(f"foreign key {fk.name} is not in the database here: "
                                   f"dropped at operation {self.shown[pending.since] + 1}")
        if isinstance(op, RenameConstraint):
            self.pending[(op.table, op.new.name)] = pending  # comes back under its new name
        return []

    def _held_back(self, p: int, table: str, fk: ForeignKey) -> bool:
        """Tell whether a foreign key declared at `p` must wait; if so, remember it."""
        key = (table, fk.name)
        last = self._last_refusal(key, p)
        if last == p and self.rules.can_add(self.ctxs[p].after, table, fk):
            return False
        why = ("a later operation could not run with it in place" if last > p
               else "the columns or key it needs are not ready yet")
        self.pending[key] = self._pending(key, fk, p, why, dropped=False)
        return True

    def _forget_table(self, p: int, table: str) -> None:
        for key in [k for k in self.pending if k[0] == table]:
            pending = self.pending.pop(key)
            verb = "dropped" if pending.dropped else "held back"
            self.steps[pending.since].notes.append(f"foreign key {key[1]} is {verb} here: {pending.why}; "
                                                   f"it goes with table {table} at operation {self.shown[p] + 1}")

    def _follow_table_rename(self, op: Operation) -> None:
        if isinstance(op, RenameTable):
            self.pending = {((op.new_name if t == op.table else t), n): v for (t, n), v in self.pending.items()}

    # -- adding back ----------------------------------------------------------------------

    def _add_back_ready(self, p: int, at_end: bool = False) -> None:
        """Add back the foreign keys nothing refuses any more, as soon as the engine accepts them.

        One whose child index a later operation builds waits for it, so that the engine
        does not build one of its own that the next statements make redundant.
        """
        ctx = self.ctxs[p]
        for key in sorted(self.pending):
            pending = self.pending[key]
            fk = find_foreign_key(ctx.after.table(key[0]), key[1])
            if fk is None or p < pending.until:
                continue
            waits = (pending.index_at is not None and p < pending.index_at) or not self.rules.can_add(ctx.after, key[0], fk)
            if waits and not at_end:
                continue
            del self.pending[key]
            self.steps[p].statements += self.compiler.compile_add_constraint(AddConstraint(key[0], fk), ctx)
            self._note_round_trip(key[1], pending, p)

    def _note_round_trip(self, name: str, pending: _Pending, p: int) -> None:
        start, end = self.shown[pending.since] + 1, self.shown[p] + 1
        verb = "dropped" if pending.dropped else "held back"
        if start == end:
            self.steps[p].notes.append(f"foreign key {name} is {verb} and added back around this change: {pending.why}")
            return
        self.steps[pending.since].notes.append(f"foreign key {name} is {verb} here: {pending.why}; "
                                               f"operation {end} adds it back")
        self.steps[p].notes.append(f"adds back foreign key {name}, {verb} at operation {start}")


# -- back to the operations' numbering -----------------------------------------------------


def _shown_at(order: list[int]) -> list[int]:
    """For each position of `order`, the operation whose statements hold it: the first one not yet run."""
    shown = list(order)
    for p in range(len(order) - 2, -1, -1):
        shown[p] = min(order[p], shown[p + 1])
    return shown


def _by_operation(operations: list[Operation], order: list[int], shown: list[int], steps: list[_Step]) -> list[CompiledOperation]:
    items = [_Step() for _ in operations]
    for p, own in enumerate(order):
        at = shown[p]
        items[at].statements += steps[p].statements
        items[at].notes += steps[p].notes
        if at != own:
            items[own].notes.insert(0, f"runs at operation {at + 1}, before the index or key it replaces is dropped: "
                                       "a foreign key needs one at every step")
    return [CompiledOperation(op, tuple(item.statements), note="; ".join(item.notes) or None)
            for op, item in zip(operations, items, strict=True)]
