"""SQLite's own reading of declared column types, for SQLite model files.

SQLite takes any run of words as a column type and gives the column an affinity by the
rules of https://sqlite.org/datatype3.html ("Determination Of Column Affinity"). Schema
scripts written for several engines use that: sakila's SQLite file declares
`BLOB SUB_TYPE TEXT` (a Firebird spelling), which SQLite reads as TEXT. A model file gets
the same reading: a type sqlglot cannot read is replaced by the name of its affinity,
and a note says so.
"""

from __future__ import annotations

import sqlglot
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

# Words that end a column's type: the start of a constraint or of the next element.
_AFTER_TYPE = {"NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "CHECK", "REFERENCES", "COLLATE", "CONSTRAINT",
               "GENERATED", "AS", "AUTOINCREMENT"}
_TABLE_CONSTRAINTS = {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}


def affinity(declared: str) -> str:
    """Return the type name of the affinity SQLite gives a declared type."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def read_declared_types(sql: str, tokens: list[Token]) -> tuple[str, list[str]]:
    """Return `sql` with each multi-word type sqlglot cannot read replaced by its affinity, and notes saying so."""
    if len(tokens) < 3 or tokens[0].text.upper() != "CREATE" or not any(t.text.upper() == "TABLE" for t in tokens[:4]):
        return sql, []
    replacements, notes = [], []
    for words in _column_types(tokens):
        declared = sql[words[0].start:words[-1].end + 1]
        if len(words) < 2 or _readable(declared):
            continue
        replacements.append((words[0].start, words[-1].end + 1, affinity(declared)))
        notes.append(f"type {declared} read as {affinity(declared)} (SQLite's affinity rules)")
    for start, end, name in reversed(replacements):
        sql = sql[:start] + name + sql[end:]
    return sql, notes


def _readable(declared: str) -> bool:
    """Tell whether sqlglot reads a column of this type (the test that matters: it reads the whole table)."""
    try:
        sqlglot.parse_one(f"CREATE TABLE t (c {declared})", read="sqlite")
        return True
    except (ParseError, ValueError):
        return False


def _column_types(tokens: list[Token]) -> list[list[Token]]:
    """Return the tokens of each column's type, for the columns of a CREATE TABLE (...)."""
    depth, types, i = 0, [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            if depth == 1:
                i = _read_element(tokens, i + 1, types)
                continue
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.COMMA and depth == 1:
            i = _read_element(tokens, i + 1, types)
            continue
        i += 1
    return types


def _read_element(tokens: list[Token], i: int, types: list[list[Token]]) -> int:
    """Read the column name and type words starting at `i`; return where the scan goes on."""
    if i >= len(tokens) or tokens[i].text.upper() in _TABLE_CONSTRAINTS:
        return i
    words, j = [], i + 1
    while j < len(tokens) and tokens[j].token_type not in (TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA) \
            and tokens[j].text.upper() not in _AFTER_TYPE:
        words.append(tokens[j])
        j += 1
    if words:
        types.append(words)
    return j
