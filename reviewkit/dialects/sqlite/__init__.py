"""SQLite: transactional DDL, few ALTERs (everything else is a table rebuild), one file per database."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.dialects.base import Dialect, Introspection, ScriptRules

if TYPE_CHECKING:
    from reviewkit.dialects.compiler import Compiler
    from reviewkit.dialects.driver import Driver


class SQLite(Dialect):
    name = "sqlite"
    title = "SQLite"
    url_schemes = ("sqlite",)
    file_based = True
    script_rules = ScriptRules(quotes="'\"`[", trigger_bodies=True)

    def read_model_statement(self, sql: str, tokens: list) -> tuple[str, list[str]]:
        from reviewkit.dialects.sqlite.affinity import read_declared_types

        return read_declared_types(sql, tokens)

    def _load_compiler(self) -> Compiler:
        from reviewkit.dialects.sqlite.compiler import SQLiteCompiler

        return SQLiteCompiler(self)

    def _load_driver(self) -> Driver:
        from reviewkit.dialects.sqlite.driver import SQLiteDriver

        return SQLiteDriver(self)

    def _load_lint_rules(self) -> list:
        from reviewkit.dialects.sqlite.lint_rules import RULES

        return RULES

    def _load_introspection(self) -> Introspection:
        from reviewkit.dialects.sqlite import introspect

        return introspect


DIALECT = SQLite()
