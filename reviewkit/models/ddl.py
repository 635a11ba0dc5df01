"""Model source 1: SQL DDL files, read statement by statement into the schema state.

A file is split the way the engine's own client reads it (`reviewkit.dialects.splitter`:
dollar-quoted bodies, `DELIMITER`, psql's `\\c`), each statement is sorted by its leading
words (`reviewkit.models.kinds`), and only schema statements are parsed, by sqlglot in
the models' dialect. What the schema statements declare is in `ddl_tables`.

Every problem of the run is collected with its file, line and source text, and reported
together at the end; sqlglot's own log lines are kept quiet, since each statement it
cannot read becomes one of those problems.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Tokenizer, TokenType

from reviewkit.dialects import get_dialect
from reviewkit.dialects.splitter import ScriptStatement, split_statements
from reviewkit.errors import ModelError
from reviewkit.models import ddl_tables
from reviewkit.models.builder import SchemaBuilder
from reviewkit.models.kinds import (
    MODEL,
    NOISE,
    UNSUPPORTED,
    StatementKind,
    classify,
    routine_named_by,
    tables_named_by,
)
from reviewkit.models.problems import Problems
from reviewkit.schema.expressions import blank_not_deferrable, quiet_sqlglot
from reviewkit.schema.state import Schema

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Statement:
    """One schema statement of a model file, parsed."""

    node: exp.Expression | None  # None: read from its text (what sqlglot does not parse)
    file: str  # "models/shop.sql"
    line: int  # where the statement starts
    source: str  # its text as the file has it
    label: str = ""  # its kind, as `reviewkit.models.kinds` names it

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def where_at(self, node: exp.Expression) -> str:
        """Return file:line of a part of the statement (a column), or of the statement."""
        line = node.meta.get("line") if isinstance(node, exp.Expression) else None
        return f"{self.file}:{self.line + line - 1}" if line else self.where

    def source_at(self, node: exp.Expression) -> str:
        """Return the source line a part of the statement is on, or the statement's text."""
        line = node.meta.get("line") if isinstance(node, exp.Expression) else None
        lines = self.source.splitlines()
        return lines[line - 1] if line and line <= len(lines) else self.source


def load_ddl_files(
    paths: list[Path], dialect: str, root: Path, ignore_unsupported: bool = False, warn: Warn | None = None,
    targets: tuple[str, ...] = (),
) -> Schema:
    """Read every DDL file and return the schema they declare together.

    Raises one ModelError listing every problem found; `warn` receives the lines saying
    what was skipped. `targets` are the dialects the project generates for: when every
    one of them names indexes per table, two tables may have indexes of the same name.
    """
    problems = Problems()
    builder = SchemaBuilder(per_table_index_names=get_dialect(dialect).index_names_per_table)
    builder.index_names_per_schema = not (targets and all(get_dialect(d).index_names_per_table for d in targets))
    # The collector would scan sqlglot's many small tree nodes over and over while we
    # parse; nothing here makes reference cycles worth collecting early.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with quiet_sqlglot():
            scripts = [(_relative(path, root), _sorted_statements(path, dialect, root)) for path in paths]
            left_out = tables_left_out(scripts) if ignore_unsupported else set()
            context = ddl_tables.ModelContext(builder, dialect, problems, ignore_unsupported=ignore_unsupported,
                                              left_out=left_out, left_out_routines=routines_left_out(scripts))
            if ignore_unsupported:
                builder.leave_out_view = lambda draft, why: problems.ignored.append((f"CREATE VIEW ({why})", draft.where))
            read = 0
            for rel, statements in scripts:
                for stmt in _schema_statements(rel, statements, dialect, context):
                    ddl_tables.apply_statement(context, stmt)
                    read += 1
                    if read % _TREES_PER_COLLECTION == 0:
                        free_read_trees()
            ddl_tables.check_one_schema(context)
            schema = builder.build(problems)
            problems.renamed_indexes = builder.renamed_indexes
    finally:
        if was_enabled:
            gc.enable()
    problems.raise_if_any()
    if warn is not None:
        for line in problems.warnings():
            warn(line)
    return schema


Sorted = list[tuple[ScriptStatement, StatementKind]]

# sqlglot's trees hold their nodes in parent/child cycles, so with the collector off
# (here and in the `reviewkit` process) the tree of every statement read stayed in memory
# to the end: 370 MB of a 10,000-table schema. Every so many statements, the youngest
# generation is collected: it holds only what was made since the last time, so the
# whole read costs one look at each object, and at most this many trees are held (about
# 12 KB each: 150 MB). Each collection also costs about 0.1 s of its own beyond the trees
# it frees: at 4,000 statements a 10,000-table read spent 1.9 s in 7 collections, at 12,000
# 1.0 s in 2, for 100 MB more at its peak. A read of fewer statements, such as a
# 1,000-table schema's 3,000 (its plain indexes read without a tree), frees none: the
# `reviewkit` process ends without freeing anything.
_TREES_PER_COLLECTION = 12_000


def free_read_trees() -> None:
    gc.collect(0)


def _sorted_statements(path: Path, dialect: str, root: Path) -> Sorted:
    """Split a file the way the engine's client does and say what each statement is."""
    text = _read_text(path, _relative(path, root))
    return [(statement, classify(statement.sql)) for statement in split_statements(text, dialect)]


def tables_left_out(scripts: list[tuple[str, Sorted]]) -> set[str]:
    """Return the tables that statements reviewkit does not model make: inherited tables, partitions.

    With ignore_unsupported their indexes, keys and comments are left out with them,
    including partitions made by a plain CREATE TABLE and attached later.
    """
    names: set[str] = set()
    for _, statements in scripts:
        for statement, kind in statements:
            if kind.role == UNSUPPORTED:
                names |= tables_named_by(statement.sql)
    return names


def routines_left_out(scripts: list[tuple[str, Sorted]]) -> set[str]:
    """Return the functions and aggregates the models declare but reviewkit does not model: views calling them go too."""
    names = set()
    for _, statements in scripts:
        for statement, kind in statements:
            if kind.role == UNSUPPORTED and (name := routine_named_by(statement.sql)):
                names.add(name)
    return names


def _schema_statements(rel: str, statements: Sorted, dialect: str, context: ddl_tables.ModelContext) -> Iterator[Statement]:
    """Yield the parsed schema statements of one file; record its noise, its unsupported and unparsable statements."""
    problems = context.problems
    parser = Dialect.get_or_raise(dialect).parser()  # parse() resets it; one per file, not one per statement
    for script_statement, kind in statements:
        where = f"{rel}:{script_statement.line}"
        if kind.role == NOISE:
            problems.skipped[kind.label] += 1
        elif kind.role != MODEL:
            if context.ignore_unsupported:
                problems.ignored.append((kind.label, where))
            else:
                problems.add_unsupported(where, kind.label, script_statement.sql)
        elif ddl_tables.read_from_text(kind.label, script_statement.sql, dialect):
            yield Statement(None, rel, script_statement.line, script_statement.sql, kind.label)
        else:
            text = ddl_tables.parsable_text(kind.label, script_statement.sql)
            node = _parse(text, dialect, parser, where, problems, script_statement.sql)
            if node is not None:
                yield Statement(node, rel, script_statement.line, script_statement.sql, kind.label)


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _read_text(path: Path, rel: str) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a byte order mark, as Windows editors write, is not SQL
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ModelError(f"{rel}:{line}: the file is not UTF-8 (byte 0x{data[err.start]:02x}); "
                         "save it as UTF-8") from None


def _parse(
    sql: str, dialect: str, parser: Parser, where: str, problems: Problems, source: str,
) -> exp.Expression | None:
    """Parse one statement; record a problem (with its `source` text) and return None when it does not parse.

    `sql` is what sqlglot reads: the source, or the source with clauses it cannot read blanked out.
    """
    sql = _without_generation_storage(sql)
    engine, tokenizer = get_dialect(dialect), _tokenizer(dialect)
    try:
        tokens = tokenizer.tokenize(sql)
        plain = blank_not_deferrable(sql, tokens)
        if plain is not sql:
            sql, tokens = plain, tokenizer.tokenize(plain)
        read, notes = engine.read_model_statement(sql, tokens)
        if read != sql:
            sql, tokens = read, tokenizer.tokenize(read)
            problems.noted.update(notes)
        stray = _stray_comma(tokens) if _MAYBE_STRAY_COMMA.search(sql) else None
        if stray is not None:
            problems.add(_at(where, stray), "a comma with nothing after it (`,,` or `,)`)", source)
            return None
        parsed = [node for node in parser.parse(tokens, sql) if node is not None]
    except (ParseError, TokenError) as err:
        problems.add(where, f"does not parse: {_parse_message(err)}", source)
        return None
    except Exception as err:  # noqa: BLE001 - sqlglot's own bugs (a TypeError building a node) are a parse failure too
        problems.add(where, f"does not parse (sqlglot: {type(err).__name__})", source)
        return None
    if len(parsed) != 1 or isinstance(parsed[0], exp.Command):
        problems.add(where, engine.unreadable_model_statement(sql) or f"does not parse as {engine.title} DDL reviewkit "
                     "can read", source)
        return None
    return parsed[0]


_GENERATION_STORAGE = re.compile(r"(\)\s*)(STORED|VIRTUAL|PERSISTENT)\b", re.IGNORECASE)


def _without_generation_storage(sql: str) -> str:
    """Blank out STORED / VIRTUAL after a generation expression, keeping every offset.

    sqlglot's PostgreSQL reader knows neither PostgreSQL 18's VIRTUAL nor MariaDB's
    PERSISTENT; the word is read from the source instead (`ddl_tables`).
    """
    return _GENERATION_STORAGE.sub(lambda m: m.group(1) + " " * len(m.group(2)), sql)


@cache
def _tokenizer(name: str) -> Tokenizer:
    return Dialect.get_or_raise(name).tokenizer()  # tokenize() resets it; building one costs more than using it


_MAYBE_STRAY_COMMA = re.compile(r",\s*[,)]")  # cheap first look; the tokens decide (strings may hold ",)")


def _stray_comma(tokens: list) -> int | None:
    """Return the line of a comma followed by another comma or a closing parenthesis, which SQL never allows."""
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.token_type == TokenType.COMMA and following.token_type in (TokenType.COMMA, TokenType.R_PAREN):
            return token.line
    return None


def _at(where: str, line_in_statement: int) -> str:
    file, _, first = where.rpartition(":")
    return f"{file}:{int(first) + line_in_statement - 1}"


def _parse_message(err: ParseError | TokenError) -> str:
    errors = getattr(err, "errors", None)
    if errors:
        return str(errors[0].get("description") or err).split("\n")[0]
    return str(err).split("\n")[0]


