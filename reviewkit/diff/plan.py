"""Put table creations and drops in an order that every engine accepts.

Referenced tables are created first and dropped last. Foreign keys that close a cycle
cannot be declared inline, so they become separate operations after all creations
(and before all drops).
"""

from __future__ import annotations

from dataclasses import replace

from reviewkit.operations import AddConstraint, CreateTable, DropConstraint, DropTable, Operation
from reviewkit.state import ForeignKey, Schema, Table


def order_creations(created: list[Table], base: Schema) -> tuple[list[Operation], list[Operation]]:
    """Return (CreateTable operations in dependency order, foreign keys to add afterwards)."""
    pending = {t.name: t for t in created}
    ordered: list[Operation] = []
    later: list[Operation] = []
    done: set[str] = set()
    while pending:
        ready = [t for t in pending.values() if all(_resolved(fk, t, done, base, pending) for fk in t.foreign_keys)]
        if not ready:
            # A cycle: take the first table by name and defer its foreign keys to unmade tables.
            ready = [pending[min(pending)]]
        for table in sorted(ready, key=lambda t: t.name):
            inline = tuple(fk for fk in table.foreign_keys if _resolved(fk, table, done | {table.name}, base, {}))
            deferred = [fk for fk in table.foreign_keys if fk not in inline]
            ordered.append(CreateTable(replace(table, foreign_keys=inline)))
            later.extend(AddConstraint(table.name, fk) for fk in deferred)
            done.add(table.name)
            del pending[table.name]
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
