"""SQL as HTML lines: escaped, with keywords, types, strings, comments and numbers coloured.

One compiled pattern over the whole script instead of Pygments: a 1,000-table bundle
carries some 70,000 lines of SQL in six scripts, which Pygments' lexers take more than
2 s to read, and the page has to be written in under one. Only what a reader's eye
needs is told apart; everything else is plain escaped text, so a token the pattern gets
wrong is only uncoloured, never unescaped. The text is escaped first (`&`, `<`, `>`),
which none of the token patterns contain, and the spans are added to the escaped text.
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
# One class per word, looked up once per word of the script.
_WORD_CLASS = {word: "k" for word in KEYWORDS} | {word: "t" for word in TYPES}

_TOKEN = re.compile(
    r"(?P<c>--[^\n]*|/\*.*?\*/)"  # comments: a line's rest, or a block (MySQL's /*! ... */ too)
    r"|(?P<s>'(?:[^']|'')*')"  # strings, '' inside them
    r"|(?P<q>\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`)"  # quoted identifiers
    r"|(?P<w>\b[A-Za-z_][A-Za-z0-9_$]*)"  # words: keywords, types, names
    r"|(?P<n>\b\d+(?:\.\d+)?\b)",  # numbers
    re.DOTALL,
)


def _span(match: re.Match[str]) -> str:
    kind = match.lastgroup
    text = match.group()
    if kind == "w":
        kind = _WORD_CLASS.get(text.upper())
        if kind is None:
            return text
    if "\n" in text:  # a block comment or string over several lines: each line gets its own span
        text = text.replace("\n", f"</span>\n<span class={kind}>")
    return f"<span class={kind}>{text}</span>"


def highlight_lines(sql: str) -> list[str]:
    """Return the script's lines as HTML: escaped, coloured, no span open across a line break."""
    escaped = html.escape(sql, quote=False)
    lines = _TOKEN.sub(_span, escaped).split("\n")
    if lines and lines[-1] == "" and sql.endswith("\n"):
        lines.pop()  # the newline that ends the last line starts no line of its own
    return lines
