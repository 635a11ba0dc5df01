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
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import TokenType

from reviewkit.dialects.splitter import split_statements
from reviewkit.errors import ModelError
from reviewkit.models import ddl_tables
from reviewkit.models.builder import SchemaBuilder
from reviewkit.models.kinds import MODEL, NOISE, classify
from reviewkit.models.problems import Problems
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
) -> Schema:
    """Read every DDL file and return the schema they declare together.

    Raises one ModelError listing every problem found; `warn` receives the lines saying
    what was skipped.
    """
    problems = Problems()
    builder = SchemaBuilder()
    # The collector would scan sqlglot's many small tree nodes over and over while we
    # parse; nothing here makes reference cycles worth collecting early.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with _quiet_sqlglot():
            statements = [s for path in paths for s in read_file(path, dialect, root, ignore_unsupported, problems)]
            context = ddl_tables.ModelContext(builder, dialect, problems)
            for stmt in statements:
                ddl_tables.apply_statement(context, stmt)
            ddl_tables.check_one_schema(context)
            schema = builder.build(problems)
    finally:
        if was_enabled:
            gc.enable()
    problems.raise_if_any()
    if warn is not None:
        for line in problems.warnings():
            warn(line)
    return schema


def read_file(path: Path, dialect: str, root: Path, ignore_unsupported: bool, problems: Problems) -> Iterator[Statement]:
    """Yield the parsed schema statements of one file; record its noise, its unsupported and unparsable statements."""
    rel = _relative(path, root)
    text = _read_text(path, rel)
    dia = Dialect.get_or_raise(dialect)
    parser = dia.parser()  # parse() resets it; one per file, not one per statement
    for script_statement in split_statements(text, dialect):
        where = f"{rel}:{script_statement.line}"
        kind = classify(script_statement.sql)
        if kind.role == NOISE:
            problems.skipped[kind.label] += 1
        elif kind.role != MODEL:
            if ignore_unsupported:
                problems.ignored.append((kind.label, where))
            else:
                problems.add_unsupported(where, kind.label, script_statement.sql)
        elif ddl_tables.read_from_text(kind.label, script_statement.sql):
            yield Statement(None, rel, script_statement.line, script_statement.sql, kind.label)
        else:
            text = ddl_tables.parsable_text(kind.label, script_statement.sql)
            node = _parse(text, dia, parser, where, problems, script_statement.sql)
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


def _parse(sql: str, dia: Dialect, parser: Parser, where: str, problems: Problems, source: str) -> exp.Expression | None:
    """Parse one statement; record a problem (with its `source` text) and return None when it does not parse.

    `sql` is what sqlglot reads: the source, or the source with clauses it cannot read blanked out.
    """
    try:
        tokens = dia.tokenize(sql)
        stray = _stray_comma(tokens)
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
        problems.add(where, f"does not parse as {dia.__class__.__name__} DDL reviewkit can read", source)
        return None
    return parsed[0]


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


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """Silence sqlglot's warnings ("Falling back to parsing as a 'Command'"): each becomes a problem of ours."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
