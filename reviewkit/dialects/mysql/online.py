"""MySQL's and MariaDB's lock-safe forms (`generate --online`): each ALTER says how it must run.

InnoDB picks an algorithm per ALTER (the "Online DDL" tables of the MySQL 8.0 and MariaDB
manuals): INSTANT (metadata only), INPLACE (with or without a rebuild) or COPY (a new
table filled row by row while writes wait). Left to itself it falls back to COPY in
silence. Here every ALTER of a table in use names the algorithm that keeps it online on
MariaDB 10.6+ and MySQL 8.0+: `ALGORITHM=INSTANT` where both do it from metadata alone
(a column added at the end), `ALGORITHM=INPLACE, LOCK=NONE` where both let reads and writes
go on; the engine then refuses the statement rather than copy the table. CREATE INDEX and
DROP INDEX are written as ALTER TABLE ... ADD/DROP INDEX, which take these clauses.

What neither engine can do online (a type change that copies, a primary key changed, a
check or foreign key added, a FULLTEXT index built, a table with a FULLTEXT index rebuilt)
keeps its plain form: `lint` (and so the bundle's REVIEW.md) reports it as a high finding
naming pt-online-schema-change and gh-ost. Every script
begins with `SET SESSION lock_wait_timeout`, the metadata-lock wait PostgreSQL calls
lock_timeout. Tables the script creates itself keep the plain forms.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace

from reviewkit.dialects.compiler import CompileContext, CompiledOperation
from reviewkit.dialects.mysql.compiler import MySQLCompiler
from reviewkit.dialects.mysql.copies import TOOLS, grows_in_place
from reviewkit.schema.operations import (
    AddColumn,
    AddConstraint,
    AddIndex,
    AlterColumn,
    AlterEnum,
    CreateEnum,
    CreateTable,
    CreateView,
    DropColumn,
    DropConstraint,
    DropEnum,
    DropTable,
    DropView,
    Operation,
    RenameConstraint,
    RenameTable,
)
from reviewkit.schema.state import PrimaryKey, Table, Unique

INSTANT = "ALGORITHM=INSTANT"
INPLACE = "ALGORITHM=INPLACE, LOCK=NONE"
# Operations that alter no table in use: new objects, drops, RENAME TABLE (metadata only).
_NO_ALTER = (CreateTable, DropTable, RenameTable, CreateView, DropView, CreateEnum, DropEnum, AlterEnum)
_NAME = r"`(?:[^`]|``)+`"
_CREATE_INDEX = re.compile(rf"CREATE (UNIQUE )?INDEX ({_NAME}) ON ({_NAME}) (\(.*\))", re.DOTALL)
_DROP_INDEX = re.compile(rf"DROP INDEX ({_NAME}) ON ({_NAME})")
_DURATION = re.compile(r"([0-9]+)(ms|s|min)")


def seconds(duration: str) -> int:
    """Return `[generate] lock_timeout` ("5s", "500ms", "1min") in whole seconds, at least 1: MySQL's unit."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise ValueError(f"not a duration: {duration!r}")
    scale = {"ms": 0.001, "s": 1, "min": 60}[match.group(2)]
    return max(1, math.ceil(int(match.group(1)) * scale))


def _fulltext(table: Table | None) -> bool:
    return table is not None and any(index.method == "fulltext" for index in table.indexes)


class MySQLOnlineCompiler(MySQLCompiler):
    """MySQL's and MariaDB's SQL with the algorithm each ALTER of a table in use must keep."""

    def session_statements(self, lock_timeout: str) -> list[str]:
        return [f"SET SESSION lock_wait_timeout = {seconds(lock_timeout)}"]

    def online_notes(self) -> list[str]:
        return [
            "Every ALTER of a table in use names its algorithm: ALGORITHM=INSTANT (a column added at the end) or "
            "ALGORITHM=INPLACE, LOCK=NONE; MariaDB 10.6+ and MySQL 8.0+ then refuse the statement rather than "
            "copy the table while writes wait. CREATE INDEX and DROP INDEX are written as ALTER TABLE ... ADD/DROP "
            "INDEX to take these clauses.",
            "Every script begins with SET SESSION lock_wait_timeout: an ALTER that waits longer for its metadata "
            "lock fails instead of making every query of its table wait behind it.",
            f"What neither engine can do online keeps its plain form and is a high finding: run it with {TOOLS}.",
        ]

    # -- the clause each operation needs -----------------------------------------------------

    def compile(self, op: Operation, ctx: CompileContext) -> CompiledOperation:
        compiled = super().compile(op, ctx)
        clause = self.online_clause(op, ctx)
        if clause is None:
            return compiled
        return replace(compiled, statements=tuple(with_clause(s, clause) for s in compiled.statements))

    def compile_drop_constraint(self, op: DropConstraint, ctx: CompileContext) -> list[str]:
        # Also called on its own, for foreign keys InnoDB needs out of the way.
        statements = super().compile_drop_constraint(op, ctx)
        clause = self.online_clause(op, ctx)
        return statements if clause is None else [with_clause(s, clause) for s in statements]

    def online_clause(self, op: Operation, ctx: CompileContext) -> str | None:
        """Return the clause that keeps `op` online; None where it needs none, or cannot be online (plain form kept).

        What cannot be online is not reported here: `lint` reads the plain form in an online
        bundle (`mysql-copying-alter`, `mysql-not-online`).
        """
        if isinstance(op, _NO_ALTER) or op.table in ctx.fresh:
            return None
        table = ctx.before.table(op.table)
        if isinstance(op, AddColumn):
            # An auto-increment or stored generated column is computed for every row: a copy.
            if op.column.identity or (op.column.generated is not None and op.column.stored):
                return None
            return _unless_fulltext(table, INSTANT)
        if isinstance(op, DropColumn):
            if table is not None and table.primary_key and op.column.name in table.primary_key.columns:
                return None  # part of the primary key: the key changes, a copy
            return _unless_fulltext(table, INPLACE)
        if isinstance(op, AlterColumn):
            return self._alter_column_clause(op, table)
        if isinstance(op, AddIndex) and op.index.method in ("fulltext", "spatial"):
            return None  # built under LOCK=SHARED
        if isinstance(op, AddConstraint | DropConstraint | RenameConstraint):
            constraint = op.old if isinstance(op, RenameConstraint) else op.constraint
            return _constraint_clause(op, constraint)
        return INPLACE  # indexes added or dropped, renames of columns and indexes, a table's comment

    def _alter_column_clause(self, op: AlterColumn, table: Table | None) -> str | None:
        old, new = op.old, op.new
        where = f"{op.table}.{new.name}"
        spelled_old, spelled_new = self.type_sql(old.type, where), self.type_sql(new.type, where)
        if spelled_old != spelled_new and not grows_in_place(old.type, new.type):
            return None  # a type change that copies
        if (old.generated, old.stored, old.identity, old.collation) != (new.generated, new.stored, new.identity,
                                                                         new.collation):
            return None  # how it is generated, its auto-increment or its collation: a copy
        if old.nullable != new.nullable:
            return _unless_fulltext(table, INPLACE)
        return INPLACE


def _unless_fulltext(table: Table | None, clause: str) -> str | None:
    """A table with a FULLTEXT index is rebuilt only under a lock (MariaDB: "Fulltext index creation requires a lock")."""
    return None if _fulltext(table) else clause


def _constraint_clause(op: Operation, constraint: object) -> str | None:
    adding = isinstance(op, AddConstraint | RenameConstraint)  # a check or foreign key is renamed by adding it again
    if isinstance(constraint, PrimaryKey):
        return None  # a primary key changed: a copy (renamed: nothing to say, the name is PRIMARY)
    if isinstance(constraint, Unique) or not adding:
        return INPLACE
    # A foreign key or check added: InnoDB checks the rows by copying the table (and gh-ost
    # does not handle foreign keys).
    return None


def with_clause(statement: str, clause: str) -> str:
    """Return an ALTER TABLE (or CREATE/DROP INDEX, rewritten as one) that runs with `clause`."""
    if "ALGORITHM=" in statement:
        return statement  # already given its clause (a foreign key dropped for InnoDB)
    if statement.startswith("UPDATE "):
        return statement  # a one-off default filling NULLs changes rows, not the table: no algorithm
    if statement.startswith("ALTER TABLE "):
        return f"{statement}, {clause}"
    created = _CREATE_INDEX.fullmatch(statement)
    if created:
        unique, name, table, keys = created.groups()
        return f"ALTER TABLE {table} ADD {unique or ''}INDEX {name} {keys}, {clause}"
    dropped = _DROP_INDEX.fullmatch(statement)
    if dropped:
        return f"ALTER TABLE {dropped.group(2)} DROP INDEX {dropped.group(1)}, {clause}"
    raise ValueError(f"internal: no online form for {statement[:60]!r}")
