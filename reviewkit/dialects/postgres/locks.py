"""PostgreSQL's lock table: how many of its slots one transaction of a bundle takes, and how many a server has.

Every object a transaction locks (a table, each of its indexes, its sequences, its TOAST
table and index, its row type, a constraint, a trigger) holds a slot of one shared table
until the transaction ends. PostgreSQL's documentation promises room for
max_locks_per_transaction x (max_connections + max_prepared_transactions) objects: 6,400
with the default settings. A 2,000-table bundle in one transaction runs out of them
part-way ("out of shared memory", hint: increase max_locks_per_transaction). The server
finds a little more room than it promises (its background processes count too, and some
shared memory is spare), but nothing it guarantees; reviewkit counts with the promise.

`LockCounter` estimates the objects a script's transaction has locked so far, statement
by statement (`lock_costs` says what each kind of statement locks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reviewkit.dialects.base import LockCapacity
from reviewkit.dialects.connection import Connection
from reviewkit.dialects.postgres.lock_costs import index_names, statement_locks
from reviewkit.schema.state import Schema, Table

# What any transaction of a bundle locks once: its transaction id and virtual id, the
# schema (namespace) it creates in, pg_class and its indexes, pg_description, the ledger
# table, its index and TOAST, and the runner's advisory lock.
BASE = 12
# The share of the server's slots one transaction may take; the rest stays for other sessions.
BUDGET_SHARE = 0.8


@dataclass(frozen=True)
class PostgresLockTable(LockCapacity):
    """A server's lock table, from its three settings."""

    max_locks: int = 64
    connections: int = 100
    prepared: int = 0

    @classmethod
    def of(cls, max_locks: int, connections: int, prepared: int) -> PostgresLockTable:
        slots = max_locks * (connections + prepared)
        return cls(slots=slots, budget=int(slots * BUDGET_SHARE), max_locks=max_locks, connections=connections,
                   prepared=prepared)

    def describe(self) -> str:
        connections = f"max_connections {self.connections}"
        if self.prepared:
            connections = f"({connections} + max_prepared_transactions {self.prepared})"
        return f"{self.slots:,} locks (max_locks_per_transaction {self.max_locks} x {connections})"

    @property
    def remedy(self) -> str:
        return "raise max_locks_per_transaction (a server restart)"


DEFAULT = PostgresLockTable.of(64, 100, 0)


def read_lock_table(conn: Connection) -> PostgresLockTable:
    """Return the lock table of the server `conn` is connected to, from its settings."""
    rows = conn.query("SELECT name, setting FROM pg_settings WHERE name IN "
                      "('max_locks_per_transaction', 'max_connections', 'max_prepared_transactions')")
    settings = {name: int(value) for name, value in rows}
    return PostgresLockTable.of(settings["max_locks_per_transaction"], settings["max_connections"],
                                settings.get("max_prepared_transactions", 0))


class LockCounter:
    """Estimate the objects one transaction has locked, statement by statement.

    `before` returns the schema before the script, for the tables a statement alters or
    drops; it is called once, on the first statement that needs it (a script that only
    creates never reads it). An object locked twice counts once; an object dropped and
    made again (a view around a table change) is a new one. `reset` starts the next
    transaction.
    """

    def __init__(self, before: Callable[[], Schema | None] = lambda: None) -> None:
        self._load = before
        self._schema: Schema | None = None
        self._loaded = False
        self._owners: dict[str, str] | None = None
        self._generation: dict[str, int] = {}
        self._fresh = 0
        self.held: set[str] = set()
        self.total = 0

    def reset(self) -> None:
        """Start counting a new transaction: the last one's locks were released at its commit."""
        self.held.clear()
        self.total = 0

    def add(self, sql: str) -> int:
        """Count the objects `sql` locks that the transaction does not hold yet; return how many."""
        keys, dropped = statement_locks(sql.lstrip(), self)
        if not self.held:
            keys = [*keys, *(f"base:{i}" for i in range(BASE))]
        new = 0
        for key in keys:
            if key not in self.held:
                self.held.add(key)
                new += 1
        for name in dropped:  # the name now means the next object made under it
            self._generation[name] = self._generation.get(name, 0) + 1
        self.total += new
        return new

    def object(self, name: str) -> str:
        """Return the key of the table, view, index or sequence called `name` now."""
        return f"{name}@{self._generation.get(name, 0)}"

    def fresh(self, count: int) -> list[str]:
        """Return `count` keys no other statement has: objects the words do not name, counted every time."""
        self._fresh += count
        return [f"anon:{n}" for n in range(self._fresh - count, self._fresh)]

    def table(self, name: str) -> Table | None:
        """Return the table `name` as the schema before the script has it, or None."""
        schema = self._before()
        return schema.table(name) if schema is not None and not self._generation.get(name) else None

    def index_owner(self, name: str) -> str | None:
        """Return the table the index (or key) `name` belongs to in the schema before the script, or None."""
        if self._owners is None:
            schema = self._before()
            self._owners = {} if schema is None else {
                index: table.name for table in schema.tables for index in index_names(table)}
        return self._owners.get(name)

    def _before(self) -> Schema | None:
        if not self._loaded:
            self._schema, self._loaded = self._load(), True
        return self._schema


class PostgresLocks:
    """PostgreSQL as a `reviewkit.dialects.base.LockTable`."""

    default = DEFAULT

    def counter(self, before: Callable[[], Schema | None] = lambda: None) -> LockCounter:
        return LockCounter(before)

    def read(self, conn: Connection) -> PostgresLockTable:
        return read_lock_table(conn)

    def full(self, message: str) -> bool:
        # SQLSTATE 53200 with the hint that names the setting: the lock table, not memory in general.
        return "out of shared memory" in message and "max_locks_per_transaction" in message


LOCK_TABLE = PostgresLocks()


def estimate(statements: Iterable[str], before: Callable[[], Schema | None] = lambda: None) -> int:
    """Return the objects a transaction running `statements` holds at its end."""
    counter = LockCounter(before)
    for sql in statements:
        counter.add(sql)
    return counter.total
