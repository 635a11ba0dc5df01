"""MySQL and MariaDB: DDL commits as it goes, MODIFY COLUMN restates the whole column.

Written against MariaDB 10.5+ and MySQL 8.0 (RENAME COLUMN, CHECK constraints,
descending index keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reviewkit.dialects.base import Dialect, Introspection, ScriptRules

if TYPE_CHECKING:
    from reviewkit.dialects.compiler import Compiler
    from reviewkit.dialects.driver import Driver


class MySQL(Dialect):
    name = "mysql"
    title = "MySQL/MariaDB"
    url_schemes = ("mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql")
    default_port = 3306
    lexer = "mysql"
    identifier_quotes = ("`", "`")
    script_rules = ScriptRules(
        quotes="'\"`", backslash_quotes="'\"", hash_comments=True, dash_needs_space=True,
        delimiter_command=True, executable_comments=True,
    )
    transactional_ddl = False
    online_forms = True
    index_names_per_table = True
    default_time_precision = 0
    declared_types = {"UUID": "uuid@native"}  # MySQL has no UUID type: MariaDB 10.7+ has its own
    partial_indexes = False
    expression_indexes = False
    key_prefixes = True

    def key_prefix(self, type_name: str) -> int | None:
        from reviewkit.dialects.mysql import innodb
        from reviewkit.schema.types import parse_type

        portable = parse_type(type_name)
        return innodb.TEXT_KEY_PREFIX if portable.array or portable.kind in innodb.UNINDEXABLE else None

    def _load_compiler(self) -> Compiler:
        from reviewkit.dialects.mysql.compiler import MySQLCompiler

        return MySQLCompiler(self)

    def _load_online_compiler(self) -> Compiler:
        from reviewkit.dialects.mysql.online import MySQLOnlineCompiler

        return MySQLOnlineCompiler(self)

    def _load_driver(self) -> Driver:
        from reviewkit.dialects.mysql.driver import MySQLDriver

        return MySQLDriver(self)

    def _load_lint_rules(self) -> list:
        from reviewkit.dialects.mysql.lint_rules import RULES

        return RULES

    def _load_introspection(self) -> Introspection:
        from reviewkit.dialects.mysql import introspect

        return introspect


DIALECT = MySQL()
