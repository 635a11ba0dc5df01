"""Put table creations and drops in an order that every engine accepts.

Referenced tables are created first and dropped last. Foreign keys that close a cycle
cannot be declared inline, so they become separate operations after all creations
(and before all drops).
"""

from __future__ import annotations

import heapq
from dataclasses import replace

from reviewkit.schema.operations import AddConstraint, CreateTable, DropConstraint, DropTable, Operation
from reviewkit.schema.state import ForeignKey, Schema, Table


def order_creations(created: list[Table], base: Schema) -> tuple[list[Operation], list[Operation]]:
    """Return (CreateTable operations in dependency order, foreign keys to add afterwards).

    A topological sort that always takes the ready table with the smallest name, so the
    order is deterministic; when only cycles remain, the smallest-named table goes
    first and its foreign keys to tables not yet made are deferred.
    """
    pending = {t.name: t for t in created}
    waits_on = {t.name: {fk.ref_table for fk in t.foreign_keys if fk.ref_table in pending and fk.ref_table != t.name}
                for t in created}
    needed_by: dict[str, set[str]] = {name: set() for name in pending}
    for name, deps in waits_on.items():
        for dep in deps:
            needed_by[dep].add(name)
    ready = [name for name, deps in waits_on.items() if not deps]
    heapq.heapify(ready)
    ordered: list[Operation] = []
    later: list[Operation] = []
    done: set[str] = set()
    while pending:
        name = heapq.heappop(ready) if ready else min(pending)
        table = pending.pop(name)
        done.add(name)
        inline = tuple(fk for fk in table.foreign_keys if _resolved(fk, table, done, base, pending))
        # The table itself when every key is inline: the models' own Table, which the compilers know already.
        ordered.append(CreateTable(table if len(inline) == len(table.foreign_keys) else replace(table, foreign_keys=inline)))
        later.extend(AddConstraint(name, fk) for fk in table.foreign_keys if fk not in inline)
        for dependent in needed_by[name]:
            deps = waits_on[dependent]
            deps.discard(name)
            if not deps and dependent in pending and dependent not in ready:
                heapq.heappush(ready, dependent)
        if name in ready:  # taken out of turn to break a cycle
            ready.remove(name)
            heapq.heapify(ready)
    return ordered, later


def _resolved(fk: ForeignKey, table: Table, done: set[str], base: Schema, pending: dict[str, Table]) -> bool:
    if fk.ref_table == table.name or fk.ref_table in done:
        return True
    if fk.ref_table in pending:
        return False
    existing = base.table(fk.ref_table)
    # Inline only against columns that exist before this bundle's column changes run.
    return existing is not None and all(existing.column(c) is not None for c in fk.ref_columns)


def order_drops(dropped: list[Table]) -> tuple[list[Operation], list[Operation]]:
    """Return (foreign keys to drop first, DropTable operations in dependency order)."""
    pending = {t.name: t for t in dropped}
    first: list[Operation] = []
    ordered: list[Operation] = []
    while pending:
        referenced = {fk.ref_table for t in pending.values() for fk in t.foreign_keys if fk.ref_table != t.name}
        ready = [t for t in pending.values() if t.name not in referenced]
        if not ready:
            victim = pending[min(pending)]
            cyclic = [fk for fk in victim.foreign_keys if fk.ref_table in pending and fk.ref_table != victim.name]
            first.extend(DropConstraint(victim.name, fk) for fk in cyclic)
            victim = replace(victim, foreign_keys=tuple(fk for fk in victim.foreign_keys if fk not in cyclic))
            pending[victim.name] = victim
            continue
        for table in sorted(ready, key=lambda t: t.name):
            ordered.append(DropTable(table))
            del pending[table.name]
    return first, ordered
