"""What each statement of a model file is, told from its leading words before any parsing.

A schema dump or a sample database script carries more than the schema: session
settings, ownership, grants, data, and objects reviewkit does not model (functions,
triggers, partitions). Sorting them out by their first words keeps such files usable as
they are, keeps sqlglot away from procedure bodies it cannot parse, and spares parsing
thousands of INSERT statements.

- `model`: part of the schema; parsed and added to the state.
- `noise`: not schema (settings, ownership, grants, transactions, data); skipped, counted
  in one warning.
- `unsupported`: schema reviewkit does not model; an error naming file, line and kind,
  unless `ignore_unsupported = true` turns it into a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MODEL, NOISE, UNSUPPORTED = "model", "noise", "unsupported"


@dataclass(frozen=True)
class StatementKind:
    role: str  # MODEL, NOISE or UNSUPPORTED
    label: str  # how messages name it: "CREATE TABLE", "INSERT", "CREATE FUNCTION"


_COMMENT = re.compile(r"/\*(?!!).*?\*/|--[^\n]*|#[^\n]*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")
# MySQL's DEFINER=`user`@`host` before the kind of object: its words name a user, not the kind.
_DEFINER = re.compile(r"""\bDEFINER\s*=\s*(?:`[^`]*`|'[^']*'|"[^"]*"|\w+)(?:\s*@\s*(?:`[^`]*`|'[^']*'|"[^"]*"|[\w.%-]+))?""",
                      re.IGNORECASE)
# Words that may stand between CREATE and the kind of object without changing it.
_CREATE_MODIFIERS = {
    "OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE", "RECURSIVE",
    "DEFINER", "SQL", "SECURITY", "INVOKER", "ALGORITHM", "UNDEFINED", "MERGE", "TEMPTABLE",
    "CURRENT_USER", "ONLINE", "OFFLINE", "FULLTEXT", "SPATIAL", "DEFAULT", "TRUSTED", "PROCEDURAL",
    "IF", "NOT", "EXISTS",
}
_NOISE_FIRST_WORDS = {
    "SET": "SET", "RESET": "RESET", "USE": "USE", "GRANT": "GRANT", "REVOKE": "REVOKE",
    "BEGIN": "BEGIN", "COMMIT": "COMMIT", "START": "START TRANSACTION", "ROLLBACK": "ROLLBACK", "END": "COMMIT",
    "ANALYZE": "ANALYZE", "ANALYSE": "ANALYZE", "VACUUM": "VACUUM", "CHECKPOINT": "CHECKPOINT",
    "INSERT": "INSERT", "REPLACE": "INSERT", "COPY": "COPY", "UPDATE": "UPDATE", "DELETE": "DELETE",
    "TRUNCATE": "TRUNCATE", "LOCK": "LOCK TABLES", "UNLOCK": "UNLOCK TABLES", "FLUSH": "FLUSH",
    "PRAGMA": "PRAGMA", "SELECT": "SELECT", "REFRESH": "REFRESH MATERIALIZED VIEW", "SECURITY": "SECURITY LABEL",
}
# CREATE <kind>: objects that are not schema state (a database, its extensions) are noise.
_CREATE_NOISE = {"DATABASE": "CREATE DATABASE", "SCHEMA": "CREATE SCHEMA", "EXTENSION": "CREATE EXTENSION"}
_CREATE_MODEL = {
    "TABLE": "CREATE TABLE", "INDEX": "CREATE INDEX", "TYPE": "CREATE TYPE", "SEQUENCE": "CREATE SEQUENCE",
    "DOMAIN": "CREATE DOMAIN", "VIEW": "CREATE VIEW",
}
_CREATE_UNSUPPORTED = {
    "FUNCTION": "CREATE FUNCTION", "PROCEDURE": "CREATE PROCEDURE", "TRIGGER": "CREATE TRIGGER",
    "CONSTRAINT": "CREATE CONSTRAINT TRIGGER", "EVENT": "CREATE EVENT", "RULE": "CREATE RULE",
    "POLICY": "CREATE POLICY", "AGGREGATE": "CREATE AGGREGATE", "OPERATOR": "CREATE OPERATOR",
    "CAST": "CREATE CAST", "COLLATION": "CREATE COLLATION", "CONVERSION": "CREATE CONVERSION",
    "LANGUAGE": "CREATE LANGUAGE", "MATERIALIZED": "CREATE MATERIALIZED VIEW", "FOREIGN": "CREATE FOREIGN TABLE",
    "SERVER": "CREATE SERVER", "PUBLICATION": "CREATE PUBLICATION", "SUBSCRIPTION": "CREATE SUBSCRIPTION",
    "STATISTICS": "CREATE STATISTICS", "TEXT": "CREATE TEXT SEARCH", "ROLE": "CREATE ROLE", "USER": "CREATE USER",
    "TABLESPACE": "CREATE TABLESPACE", "ACCESS": "CREATE ACCESS METHOD", "TRANSFORM": "CREATE TRANSFORM",
}
_INHERITS = re.compile(r"\)\s*INHERITS\s*\(", re.IGNORECASE)
_PARTITIONED = re.compile(r"\)\s*PARTITION\s+BY\b", re.IGNORECASE)
_PARTITION_OF = re.compile(r"^\s*CREATE\s+(?:\w+\s+)*?TABLE\s+.*?\s+PARTITION\s+OF\b", re.IGNORECASE | re.DOTALL)
_OWNER_TO = re.compile(r"\bOWNER\s+TO\b", re.IGNORECASE)
_ATTACH_PARTITION = re.compile(r"\bATTACH\s+PARTITION\b", re.IGNORECASE)
_ROW_SECURITY = re.compile(r"\bROW\s+LEVEL\s+SECURITY\b", re.IGNORECASE)
_TRIGGER_STATE = re.compile(r"\b(?:ENABLE|DISABLE)\s+(?:ALWAYS\s+|REPLICA\s+)?(?:TRIGGER|RULE)\b", re.IGNORECASE)
_STORAGE_ONLY = re.compile(r"\b(?:CLUSTER\s+ON|REPLICA\s+IDENTITY|SET\s+STATISTICS|SET\s+STORAGE)\b", re.IGNORECASE)


_PLAIN_INDEX = re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\b", re.IGNORECASE)


def classify(sql: str) -> StatementKind:
    """Return what the statement `sql` is, from its leading words."""
    text = sql.lstrip()
    if _PLAIN_INDEX.match(text):  # the most common statement of a large schema, told apart cheaply
        return StatementKind(MODEL, "CREATE INDEX")
    if text.startswith("\\"):
        return StatementKind(NOISE, "\\" + (_WORD.match(text, 1).group() if _WORD.match(text, 1) else ""))
    if text.startswith("/*!"):
        return StatementKind(NOISE, "MySQL /*!...*/ version comment")
    head = _COMMENT.sub(" ", text[:400])
    words = [w.upper() for w in _WORD.findall(head)[:12]]
    if "DEFINER" in words:
        words = [w.upper() for w in _WORD.findall(_DEFINER.sub(" DEFINER ", head))[:12]]
    if not words:
        return StatementKind(MODEL, "statement")
    first = words[0]
    if first == "CREATE":
        return _create_kind(words, text)
    if first == "ALTER":
        return _alter_kind(words, text)
    if first == "DROP":
        if "IF" in words[:4] and "EXISTS" in words[:5]:
            return StatementKind(NOISE, f"DROP {words[1]} IF EXISTS")
        return StatementKind(UNSUPPORTED, f"DROP {words[1] if len(words) > 1 else ''}".strip())
    if first == "COMMENT":
        return _comment_kind(words)
    if first in _NOISE_FIRST_WORDS:
        return StatementKind(NOISE, _NOISE_FIRST_WORDS[first])
    return StatementKind(MODEL, first)


def _create_kind(words: list[str], text: str) -> StatementKind:
    kind = next((w for w in words[1:] if w not in _CREATE_MODIFIERS), "")
    if kind in _CREATE_NOISE:
        return StatementKind(NOISE, _CREATE_NOISE[kind])
    if kind == "TABLE":
        if _INHERITS.search(text):
            return StatementKind(UNSUPPORTED, "CREATE TABLE ... INHERITS (table inheritance)")
        # The word first: the two patterns scan the whole statement, and few mention partitions.
        if "PARTITION" in text.upper() and (_PARTITIONED.search(text) or _PARTITION_OF.match(text)):
            return StatementKind(UNSUPPORTED, "CREATE TABLE ... PARTITION (partitioning)")
    if kind == "VIEW" and "RECURSIVE" in words[:words.index("VIEW")]:
        return StatementKind(UNSUPPORTED, "CREATE RECURSIVE VIEW")
    if kind in _CREATE_MODEL:
        return StatementKind(MODEL, _CREATE_MODEL[kind])
    if kind in _CREATE_UNSUPPORTED:
        return StatementKind(UNSUPPORTED, _CREATE_UNSUPPORTED[kind])
    return StatementKind(UNSUPPORTED, f"CREATE {kind}".strip())


def _alter_kind(words: list[str], text: str) -> StatementKind:
    target = words[1] if len(words) > 1 else ""
    if _OWNER_TO.search(text):
        return StatementKind(NOISE, "ALTER ... OWNER TO")
    if target == "DEFAULT":  # ALTER DEFAULT PRIVILEGES
        return StatementKind(NOISE, "ALTER DEFAULT PRIVILEGES")
    if target in ("TABLE", "INDEX") and _ATTACH_PARTITION.search(text):
        return StatementKind(UNSUPPORTED, "ALTER ... ATTACH PARTITION (partitioning)")
    if target == "TABLE" and _ROW_SECURITY.search(text):
        return StatementKind(UNSUPPORTED, "ALTER TABLE ... ROW LEVEL SECURITY (policies)")
    if target == "TABLE" and _TRIGGER_STATE.search(text):
        return StatementKind(UNSUPPORTED, "ALTER TABLE ... ENABLE/DISABLE TRIGGER (triggers)")
    if target in ("TABLE", "INDEX") and _STORAGE_ONLY.search(text):
        return StatementKind(NOISE, "ALTER ... storage setting")
    if target in ("TABLE", "TYPE"):
        return StatementKind(MODEL, f"ALTER {target}")
    if target == "SEQUENCE":  # OWNED BY, RESTART: the counter's bookkeeping, not its definition
        return StatementKind(NOISE, "ALTER SEQUENCE")
    return StatementKind(UNSUPPORTED, f"ALTER {target}".strip())


def _comment_kind(words: list[str]) -> StatementKind:
    target = words[2] if len(words) > 2 and words[1] == "ON" else ""
    if target in ("TABLE", "COLUMN"):
        return StatementKind(MODEL, f"COMMENT ON {target}")
    # Comments on the database, its schemas and extensions, or on objects reviewkit skips.
    return StatementKind(NOISE, f"COMMENT ON {target}".strip())


_NAME = r'((?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w$]+)(?:\.(?:"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w$]+))*)'
_MADE_TABLE = re.compile(
    r"^\s*CREATE\s+(?:\w+\s+)*?(?:TABLE|MATERIALIZED\s+VIEW|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _NAME, re.IGNORECASE)
_ATTACHED = re.compile(r"\bATTACH\s+PARTITION\s+" + _NAME, re.IGNORECASE)


_MADE_ROUTINE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:FUNCTION|AGGREGATE|PROCEDURE)\s+" + _NAME,
    re.IGNORECASE)


def routine_named_by(sql: str) -> str | None:
    """Return the function, aggregate or procedure an unsupported statement makes, if it makes one."""
    made = _MADE_ROUTINE.match(sql)
    return plain_name(made.group(1)) if made else None


def tables_named_by(sql: str) -> set[str]:
    """Return the relations an unsupported statement makes: an inherited table, a partition, a materialized view."""
    names = set()
    made = _MADE_TABLE.match(sql)
    if made:
        names.add(plain_name(made.group(1)))
    names.update(plain_name(match.group(1)) for match in _ATTACHED.finditer(sql))
    return names


def plain_name(qualified: str) -> str:
    """Return the last part of a qualified name as the models name it: quoted as written, else lowercased."""
    last = re.findall(r'"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([\w$]+)', qualified)[-1]
    quoted = next((part for part in last[:3] if part), None)
    return quoted.replace('""', '"') if quoted is not None else last[3].lower()
