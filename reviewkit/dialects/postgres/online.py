"""PostgreSQL's lock-safe forms (`generate --online`): each change to a table in use, without the long lock.

- `CREATE INDEX CONCURRENTLY` / `DROP INDEX CONCURRENTLY`: writes go on while the index
  is built (two scans instead of one) or dropped;
- a foreign key or check is added `NOT VALID` (a brief lock, no scan), then
  `VALIDATE CONSTRAINT` checks the rows under SHARE UPDATE EXCLUSIVE: reads and writes go on;
- `SET NOT NULL` after a validated `CHECK (col IS NOT NULL) NOT VALID`: PostgreSQL 12+
  trusts the check and skips its own scan under ACCESS EXCLUSIVE; the check is dropped after;
- `UNIQUE` and `PRIMARY KEY` from a unique index built concurrently
  (`ADD CONSTRAINT ... USING INDEX`, which takes the index over under the constraint's name);
- every script begins with `SET lock_timeout`: a statement that waits longer for its lock
  fails, instead of queueing every query of the table behind its wait.

None of it can run in one transaction: CONCURRENTLY refuses one, and a VALIDATE in the
transaction that added its constraint would keep the ADD's lock to the end. The runner
runs an online bundle statement by statement (`Bundle.online`). Tables the script creates
itself keep the plain forms: nobody uses them yet.
"""

from __future__ import annotations

from reviewkit.dialects.compiler import CompileContext
from reviewkit.dialects.postgres.compiler import PostgresCompiler
from reviewkit.schema import naming
from reviewkit.schema.operations import AddConstraint, AddIndex, AlterColumn, DropIndex
from reviewkit.schema.state import Check, ForeignKey, PrimaryKey, Unique


def _concurrently(sql: str) -> str:
    """Return CREATE [UNIQUE] INDEX or DROP INDEX as its CONCURRENTLY form."""
    if not sql.startswith(("CREATE INDEX ", "CREATE UNIQUE INDEX ", "DROP INDEX ")):
        raise ValueError(f"not an index statement: {sql[:40]}")
    return sql.replace("INDEX ", "INDEX CONCURRENTLY ", 1)


def not_null_check_name(table: str, column: str) -> str:
    """Return the name of the check that proves a column NOT NULL before SET NOT NULL."""
    return naming.constraint_name(table, (column,), "not_null")


class PostgresOnlineCompiler(PostgresCompiler):
    """PostgreSQL's SQL in the lock-safe forms, for the tables a script did not create."""

    def session_statements(self, lock_timeout: str) -> list[str]:
        return [f"SET lock_timeout = '{lock_timeout}'"]

    def online_notes(self) -> list[str]:
        return [
            "Every script begins with SET lock_timeout: a statement that waits longer for a lock fails "
            "(retry it with `apply --resume`) instead of making every query of its table wait behind it.",
            "Indexes on tables in use are built and dropped CONCURRENTLY; foreign keys and checks are added NOT VALID, "
            "then validated; SET NOT NULL follows a validated CHECK (col IS NOT NULL), dropped after; UNIQUE and "
            "PRIMARY KEY take over a unique index built concurrently.",
            "The scripts run statement by statement, not in one transaction (`psql -f` without -1): a failure leaves "
            "the statements before it done, recorded in the ledger as on MySQL; an index an interrupted CREATE INDEX "
            "CONCURRENTLY left INVALID is dropped and built again when the statement runs again.",
        ]

    def compile_add_index(self, op: AddIndex, ctx: CompileContext) -> list[str]:
        statements = super().compile_add_index(op, ctx)
        return statements if op.table in ctx.fresh else [_concurrently(s) for s in statements]

    def compile_drop_index(self, op: DropIndex, ctx: CompileContext) -> list[str]:
        statements = super().compile_drop_index(op, ctx)
        return statements if op.table in ctx.fresh else [_concurrently(s) for s in statements]

    def compile_add_constraint(self, op: AddConstraint, ctx: CompileContext) -> list[str]:
        """A key from an index built concurrently; a foreign key or check NOT VALID, then validated."""
        if op.table in ctx.fresh:
            return super().compile_add_constraint(op, ctx)
        table, constraint = self.quote(op.table), op.constraint
        name = self.quote(constraint.name)
        if isinstance(constraint, ForeignKey | Check):
            return [f"ALTER TABLE {table} ADD {self.constraint_sql(constraint)} NOT VALID",
                    f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}"]
        kind = "UNIQUE" if isinstance(constraint, Unique) else "PRIMARY KEY"
        assert isinstance(constraint, Unique | PrimaryKey)
        return [f"CREATE UNIQUE INDEX CONCURRENTLY {name} ON {table} ({self.quote_list(constraint.columns)})",
                f"ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {name}"]

    def compile_alter_column(self, op: AlterColumn, ctx: CompileContext) -> list[str]:
        """SET NOT NULL proven first by a validated check, which goes once the column holds the rule itself.

        The checks a new type brings (the range of a tinyint held in a smallint) are added
        NOT VALID with the type change, and validated after it.
        """
        statements = super().compile_alter_column(op, ctx)
        if op.table in ctx.fresh:
            return statements
        table, column = self.quote(op.table), self.quote(op.new.name)
        old_checks = self.column_checks(op.table, op.old)
        for implied in (c for c in self.column_checks(op.table, op.new) if c not in old_checks):
            clause = f"ADD {self.constraint_sql(implied)}"
            statements = [s.replace(clause, f"{clause} NOT VALID") for s in statements]
            statements.append(f"ALTER TABLE {table} VALIDATE CONSTRAINT {self.quote(implied.name)}")
        if not op.null_tightened or not any("SET NOT NULL" in s for s in statements):
            return statements
        check = self.quote(not_null_check_name(op.table, op.new.name))
        return [f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({column} IS NOT NULL) NOT VALID",
                f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}",
                *statements,
                f"ALTER TABLE {table} DROP CONSTRAINT {check}"]
