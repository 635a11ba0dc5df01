"""SQLite: transactional DDL, few ALTERs (everything else is a table rebuild), one file per database."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reviewkit.dialects.base import Dialect, Introspection, ScriptRules

if TYPE_CHECKING:
    from reviewkit.dialects.compiler import Compiler
    from reviewkit.dialects.driver import Driver


# The table a CREATE TABLE ... WITHOUT ROWID names, which sqlglot reads as no statement at all.
_WITHOUT_ROWID = re.compile(r'^\s*CREATE\s+(?:TEMP(?:ORARY)?\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?'
                            r'("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w.]+).*\)\s*(?:STRICT\s*,\s*)?WITHOUT\s+ROWID\b',
                            re.IGNORECASE | re.DOTALL)


class SQLite(Dialect):
    name = "sqlite"
    title = "SQLite"
    url_schemes = ("sqlite",)
    file_based = True
    script_rules = ScriptRules(quotes="'\"`[", trigger_bodies=True)

    def read_model_statement(self, sql: str, tokens: list) -> tuple[str, list[str]]:
        from reviewkit.dialects.sqlite.affinity import read_declared_types

        return read_declared_types(sql, tokens)

    def unreadable_model_statement(self, sql: str) -> str | None:
        found = _WITHOUT_ROWID.search(sql)
        if found is None:
            return None
        return (f"table {found.group(1)}: WITHOUT ROWID is not supported: the models cannot say it, and a bundle "
                "would build a table with a rowid")

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
