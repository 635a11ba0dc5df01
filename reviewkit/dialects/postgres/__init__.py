"""PostgreSQL: transactional DDL, ALTER COLUMN for every column change, advisory locks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.dialects.base import Dialect, Introspection, LockTable, ScriptRules

if TYPE_CHECKING:
    from reviewkit.dialects.compiler import Compiler
    from reviewkit.dialects.connection import Connection
    from reviewkit.dialects.driver import Driver


class PostgreSQL(Dialect):
    name = "postgres"
    title = "PostgreSQL"
    url_schemes = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg3")
    default_port = 5432
    lexer = "postgresql"
    script_rules = ScriptRules(
        quotes="'\"", nested_comments=True, dollar_quotes=True, escape_strings=True,
        backslash_commands=True, copy_data=True,
    )
    # psql -1 -f sends a whole script at once; batches keep a large bundle near that.
    batch_size = 100
    online_forms = True

    def _load_compiler(self) -> Compiler:
        from reviewkit.dialects.postgres.compiler import PostgresCompiler

        return PostgresCompiler(self)

    def _load_online_compiler(self) -> Compiler:
        from reviewkit.dialects.postgres.online import PostgresOnlineCompiler

        return PostgresOnlineCompiler(self)

    def _load_driver(self) -> Driver:
        from reviewkit.dialects.postgres.driver import PostgresDriver

        return PostgresDriver(self)

    def _load_lint_rules(self) -> list:
        from reviewkit.dialects.postgres.lint_lock_table import lock_table_full
        from reviewkit.dialects.postgres.lint_rules import RULES

        return [*RULES, lock_table_full]

    def _load_lock_table(self) -> LockTable:
        from reviewkit.dialects.postgres.locks import LOCK_TABLE

        return LOCK_TABLE

    def _load_introspection(self) -> Introspection:
        from reviewkit.dialects.postgres import introspect

        return introspect

    def catalog_queries(self, conn: Connection) -> tuple[str, ...]:
        from reviewkit.dialects.postgres.catalog import prefetched

        return prefetched(conn.raw.info.server_version)


DIALECT = PostgreSQL()
