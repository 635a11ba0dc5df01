"""SQL as HTML lines: escaped, with keywords, types, strings, comments and numbers coloured.

One compiled pattern over the whole script instead of Pygments: a 1,000-table bundle
carries some 70,000 lines of SQL in six scripts, which Pygments' lexers take more than
2 s to read, and the page has to be written in under one. Only what a reader's eye
needs is told apart; everything else is plain escaped text, so a token the pattern gets
wrong is only uncoloured, never unescaped. The text is escaped first (`&`, `<`, `>`),
which none of the token patterns contain, and the spans are added to the escaped text.

Generated scripts repeat most of their lines (`  "title" VARCHAR(100) NOT NULL,` once per
table), so lines are highlighted one by one and each distinct line once. That is the
same as reading the whole script unless a comment or a string runs over a line break:
a line that leaves one open sends the whole script through the one pattern instead.
"""

from __future__ import annotations

import html
import re

# Keywords of the DDL and DML that bundles hold, in the three engines' spellings.
KEYWORDS = frozenset("""
ACTION ADD AFTER ALGORITHM ALL ALTER ALWAYS AND AS ASC AUTOINCREMENT AUTO_INCREMENT BEFORE BEGIN BETWEEN BY CASCADE
CASE CAST CHARACTER CHARSET CHECK COLLATE COLUMN COMMENT COMMIT CONCURRENTLY CONSTRAINT COPY CREATE CURRENT_DATE
CURRENT_TIME CURRENT_TIMESTAMP CYCLE DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DISTINCT DO DOMAIN DROP EACH
ELSE END ENGINE ENUM EXCLUSIVE EXISTS FALSE FIRST FOR FOREIGN FROM FULL FULLTEXT FUNCTION GENERATED GLOB GRANT GROUP
HAVING IDENTITY IF IMMEDIATE IN INCLUDE INCREMENT INDEX INITIALLY INNER INPLACE INSERT INSTANT INTO INVALID IS JOIN
KEY LAST LEFT LIKE LIMIT LOCAL LOCK MATCH MAXVALUE MINVALUE MODE MODIFY NO NONE NOT NOTHING NULL NULLS OF OFF OFFSET
ON ONLY OPTION OR ORDER OUTER OWNED PRAGMA PRIMARY RECURSIVE REFERENCES RENAME REPLACE RESTRICT RETURNING RIGHT
ROLLBACK ROW ROWID SCHEMA SELECT SEQUENCE SESSION SET SHARE SHOW START STORED STRICT TABLE TEMPORARY THEN TIMEOUT TO
TRANSACTION TRIGGER TRUE TRUNCATE TYPE UNION UNIQUE UNSIGNED UPDATE USE USING VALID VALIDATE VALUE VALUES VIEW VIRTUAL
WHEN WHERE WITH WITHOUT ZONE
""".split())
# Type names, coloured apart from the keywords: a reviewer scans a CREATE TABLE for them.
TYPES = frozenset("""
BIGINT BIGSERIAL BINARY BIT BLOB BOOL BOOLEAN BYTEA CHAR CIDR DATE DATETIME DEC DECIMAL DOUBLE FLOAT FLOAT4 FLOAT8
INET INT INT2 INT4 INT8 INTEGER INTERVAL JSON JSONB LONGBLOB LONGTEXT MACADDR MEDIUMBLOB MEDIUMINT MEDIUMTEXT MONEY
NCHAR NUMERIC NVARCHAR PRECISION REAL SERIAL SMALLINT SMALLSERIAL TEXT TIME TIMESTAMP TIMESTAMPTZ TIMETZ TINYBLOB
TINYINT TINYTEXT TSQUERY TSVECTOR UUID VARBINARY VARCHAR VARYING XML YEAR
""".split())
# The element each kind of token is wrapped in. Keywords and types, most of a script's
# tokens, take the shortest elements there are (the page styles `b` and `i` in the SQL);
# a quoted name stays plain: matched only so that no keyword is coloured inside it.
_OPEN = {"k": "<b>", "t": "<i>", "c": "<span class=c>", "s": "<span class=s>", "n": "<span class=n>"}
_CLOSE = {"k": "</b>", "t": "</i>", "c": "</span>", "s": "</span>", "n": "</span>"}
# One kind per word, looked up once per word of the script.
_WORD_KIND = {word: "k" for word in KEYWORDS} | {word: "t" for word in TYPES}

_TOKEN = re.compile(
    r"(?P<c>--[^\n]*|/\*.*?\*/)"  # comments: a line's rest, or a block (MySQL's /*! ... */ too)
    r"|(?P<s>'(?:[^']|'')*')"  # strings, '' inside them
    r"|(?P<q>\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`)"  # quoted identifiers
    r"|(?P<w>\b[A-Za-z_][A-Za-z0-9_$]*)"  # words: keywords, types, names
    r"|(?P<n>\b\d+(?:\.\d+)?\b)"  # numbers
    r"|(?P<o>['\"`]|/\*)",  # a string, name or comment the text does not close
    re.DOTALL,
)


class _Unclosed(Exception):
    """A line opens a string, quoted name or block comment that it does not close."""


def _span(match: re.Match[str]) -> str:
    kind = match.lastgroup
    text = match.group()
    if kind == "w":
        kind = _WORD_KIND.get(text.upper())
        if kind is None:
            return text
    elif kind == "q":
        return text
    elif kind == "o":
        raise _Unclosed
    if "\n" in text:  # a block comment or string over several lines: each line gets its own element
        text = text.replace("\n", f"{_CLOSE[kind]}\n{_OPEN[kind]}")
    return f"{_OPEN[kind]}{text}{_CLOSE[kind]}"


def _plain_opener(match: re.Match[str]) -> str:
    return match.group() if match.lastgroup == "o" else _span(match)


def highlight_lines(sql: str) -> list[str]:
    """Return the script's lines as HTML: escaped, coloured, no span open across a line break."""
    lines = sql.split("\n")
    if sql.endswith("\n"):
        lines.pop()  # the newline that ends the last line starts no line of its own
    done: dict[str, str] = {}
    out = []
    for line in lines:
        shown = done.get(line)
        if shown is None:
            shown = _line_html(line)
            if shown is None:
                return _script_html(sql)
            done[line] = shown
        out.append(shown)
    return out


def _line_html(line: str) -> str | None:
    """Return one line as HTML, or None when it opens a token that a later line closes."""
    try:
        return _merged(_TOKEN.sub(_span, html.escape(line, quote=False)))
    except _Unclosed:
        return None


def _script_html(sql: str) -> list[str]:
    """Return the lines of a script whose comments or strings span lines, read in one piece.

    A quote or `/*` that nothing closes, even here, is left as plain text.
    """
    lines = _merged(_TOKEN.sub(_plain_opener, html.escape(sql, quote=False))).split("\n")
    if sql.endswith("\n"):
        lines.pop()
    return lines


def _merged(text: str) -> str:
    """Join keywords that follow each other (`NOT NULL`, `PRIMARY KEY`) into one element: a smaller page."""
    return text.replace("</b> <b>", " ")
