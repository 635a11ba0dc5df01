"""The columns a PostgreSQL statement defines, read from sqlglot's tokens for the column rules of `lint`.

A CREATE TABLE's items at its first parenthesis, or an ALTER TABLE's `ADD [COLUMN]`
actions. Tokens, not a tree: they are cheaper, and a rule needs only each column's name,
the words of its type and whether it is the primary key.

A generated script repeats a few CREATE TABLE shapes many times, names apart (a bundle of
1,000 alike tables has one): the column types of a CREATE TABLE are read from its tokens
once per shape and script, and each statement of that shape gets them under its own names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from sqlglot.tokens import Token, TokenType

from reviewkit.lint.engine import Script, Statement

_TABLE_CONSTRAINTS = (TokenType.CONSTRAINT, TokenType.PRIMARY_KEY, TokenType.UNIQUE, TokenType.FOREIGN_KEY,
                      TokenType.LIKE, TokenType.INDEX)
_CONSTRAINT_WORDS = ("CHECK", "EXCLUDE")  # plain words to sqlglot's tokenizer
_NAMES = (TokenType.VAR, TokenType.IDENTIFIER)


class ColumnType(NamedTuple):
    """What the column rules read of one column definition."""

    name: str
    first: TokenType  # the first word of its type (TokenType.VARCHAR)
    sized: bool  # that word is followed by a parenthesis: varchar(n)
    zoned: bool  # a timestamp WITH TIME ZONE
    primary_key: bool


def column_types(statement: Statement, script: Script, firsts: frozenset[TokenType]) -> list[ColumnType]:
    """Return the type of each column a CREATE TABLE or ALTER TABLE ... ADD defines whose type begins with one of `firsts`."""
    if statement.upper.startswith("CREATE TABLE"):
        return _created_columns(statement, script, firsts)
    return _own_reading(statement, firsts)


def _own_reading(statement: Statement, firsts: frozenset[TokenType]) -> list[ColumnType]:
    return [column for column in (_column_type(name, kind, key) for name, kind, key in column_definitions(statement))
            if column.first in firsts]


def column_definitions(statement: Statement) -> Iterator[tuple[str, list[Token], bool]]:
    """Yield (name, the tokens after the name, whether it is the primary key) of each column the statement defines."""
    tokens = statement.tokens
    columns, keys = _columns_and_keys(tokens, statement.upper.startswith("CREATE TABLE"))
    key_names = [[_name(tokens[i]) for i in key] for key in keys]
    for a, b, inline_key in columns:
        name = _name(tokens[a])
        yield name, tokens[a + 1:b], inline_key or [name] in key_names


def _column_type(name: str, kind: list[Token], primary_key: bool) -> ColumnType:
    sized = len(kind) > 1 and kind[1].token_type == TokenType.L_PAREN
    return ColumnType(name, kind[0].token_type, sized, _with_time_zone(kind), primary_key)


def _columns_and_keys(tokens: list[Token], create: bool) -> tuple[list[tuple[int, int, bool]], list[list[int]]]:
    """Return each column's token range (its name first) with whether it says PRIMARY KEY itself, and the name
    tokens of each `PRIMARY KEY (...)` item."""
    kinds = [token.token_type for token in tokens]
    if create:
        if TokenType.L_PAREN not in kinds:
            return [], []
        items = _items(kinds, kinds.index(TokenType.L_PAREN) + 1, depth=1)
    else:
        items = [_after_add(tokens, a, b) for a, b in _items(kinds, 0, depth=0) if _is_add(tokens, a, b)]
    keys = [[i for i in range(start, b) if kinds[i] in _NAMES] for a, b in items if (start := _key_start(kinds, a, b)) >= 0]
    columns = [(a, b, TokenType.PRIMARY_KEY in kinds[a:b]) for a, b in items
               if not (b - a < 2 or kinds[a] in _TABLE_CONSTRAINTS or _is_word(tokens[a], _CONSTRAINT_WORDS))]
    return columns, keys


def _key_start(kinds: list[TokenType], a: int, b: int) -> int:
    """Return where a table item's `PRIMARY KEY (...)` starts, after any `CONSTRAINT name` (-1: not a primary key)."""
    if a < b and kinds[a] == TokenType.PRIMARY_KEY:
        return a
    if a < b and kinds[a] == TokenType.CONSTRAINT and TokenType.PRIMARY_KEY in kinds[a:b]:
        return kinds.index(TokenType.PRIMARY_KEY, a, b)
    return -1


# -- one reading per shape of CREATE TABLE ---------------------------------------------------

# A quoted name (its text captured) or a string: what may differ between statements of one shape.
_QUOTED = re.compile(r'"([^"]*)"|\'(?:[^\']|\'\')*\'')
# Where a quote may not be what it seems to this simple reading: escapes, dollar quoting,
# comments (which may hold a lone quote), a doubled quote inside a name.
_NOT_PLAIN = ("\\", "$", "--", "/*", '""')


class _Shape(NamedTuple):
    """The column types of one shape of CREATE TABLE, with each name as the quoted name it is (its index) or the
    unquoted word (its text, part of the shape)."""

    columns: list[tuple[int | str, TokenType, bool, bool, bool]]  # (name, first, sized, zoned, says PRIMARY KEY)
    keys: list[list[int | str]]  # the names of each PRIMARY KEY (...) item


def _created_columns(statement: Statement, script: Script, firsts: frozenset[TokenType]) -> list[ColumnType]:
    apart = _names_apart(statement.sql)
    if apart is None:
        return _own_reading(statement, firsts)
    shape_key = (firsts, apart[0])
    names = apart[1]
    shapes: dict[tuple, _Shape | None] = script.memo.setdefault("pg-create-table-shapes", {})  # type: ignore[assignment]
    if shape_key not in shapes:
        shapes[shape_key] = _read_shape(statement.tokens, names, firsts)
    shape = shapes[shape_key]
    if shape is None:  # the tokens did not bear the reading out: read each statement of this shape on its own
        return _own_reading(statement, firsts)

    def named(ref: int | str) -> str:
        return names[ref] if isinstance(ref, int) else ref

    keys = [[named(ref) for ref in key] for key in shape.keys]
    return [ColumnType(named(ref), first, sized, zoned, inline_key or [named(ref)] in keys)
            for ref, first, sized, zoned, inline_key in shape.columns]


def _names_apart(sql: str) -> tuple[tuple[str | bool, ...], list[str]] | None:
    """Return the statement's shape (its text without what its quotes hold) and its quoted names in order.

    None when the quotes cannot be read this simply: the statement is then read from its own tokens.
    """
    if any(mark in sql for mark in _NOT_PLAIN):
        return None
    parts = _QUOTED.split(sql)
    outside, inside = parts[0::2], parts[1::2]
    if any('"' in part or "'" in part for part in outside):  # a quote left open
        return None
    return (*outside, *(held is None for held in inside)), [held for held in inside if held is not None]


def _read_shape(tokens: list[Token], names: list[str], firsts: frozenset[TokenType]) -> _Shape | None:
    """Read the column types of a statement whose quoted names are `names`; None when its tokens disagree with them.

    Every quoted name is one IDENTIFIER token, in order, holding its text; an unquoted
    name is a word of the shape. So the reading holds for every statement of the shape.
    """
    identifiers = [i for i, token in enumerate(tokens) if token.token_type == TokenType.IDENTIFIER]
    if len(identifiers) != len(names) or any(tokens[i].text != name for i, name in zip(identifiers, names, strict=True)):
        return None
    position = {token_index: n for n, token_index in enumerate(identifiers)}

    def ref(i: int) -> int | str:
        return position[i] if i in position else _name(tokens[i])

    columns, keys = _columns_and_keys(tokens, create=True)
    read = []
    for a, b, inline_key in columns:
        column = _column_type("", tokens[a + 1:b], False)
        if column.first in firsts:
            read.append((ref(a), column.first, column.sized, column.zoned, inline_key))
    return _Shape(read, [[ref(i) for i in key] for key in keys])


# -- tokens -----------------------------------------------------------------------------------


def _is_add(tokens: list[Token], a: int, b: int) -> bool:
    # The first action follows ALTER TABLE name: find ADD as the action's own first word.
    words = [t.text.upper() for t in tokens[a:min(b, a + 6)]]
    return "ADD" in words and words.index("ADD") in (0, 3, 4, 5) and (words.index("ADD") == 0 or words[0] == "ALTER")


def _after_add(tokens: list[Token], a: int, b: int) -> tuple[int, int]:
    a += [t.text.upper() for t in tokens[a:b]].index("ADD") + 1
    if a < b and tokens[a].token_type == TokenType.COLUMN:
        a += 1
    if b - a > 3 and [t.text.upper() for t in tokens[a:a + 3]] == ["IF", "NOT", "EXISTS"]:
        a += 3
    return a, b


def _is_word(token: Token, words: tuple[str, ...]) -> bool:
    return token.token_type == TokenType.VAR and token.text.upper() in words


def _name(token: Token) -> str:
    return token.text if token.token_type == TokenType.IDENTIFIER else token.text.lower()


def _items(kinds: list[TokenType], start: int, depth: int) -> list[tuple[int, int]]:
    """Return the (start, end) token ranges between the commas of parenthesis depth `depth`, up to where it closes."""
    items = []
    level, begin = depth, start
    open_, close, comma = TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA
    for i in range(start, len(kinds)):
        kind = kinds[i]
        if kind is open_:
            level += 1
        elif kind is close:
            level -= 1
            if level < depth:
                items.append((begin, i))
                return items
        elif kind is comma and level == depth:
            items.append((begin, i))
            begin = i + 1
    items.append((begin, len(kinds)))
    return items


def _with_time_zone(kind: list[Token]) -> bool:
    """Tell whether a TIMESTAMP (with or without a precision) is followed by WITH TIME ZONE."""
    rest = kind[1:]
    if rest and rest[0].token_type == TokenType.L_PAREN:
        rest = rest[3:]  # ( precision )
    return bool(rest) and rest[0].token_type == TokenType.WITH
