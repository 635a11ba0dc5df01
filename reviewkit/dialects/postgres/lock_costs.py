"""What one PostgreSQL statement locks until its transaction ends: a key per object.

Measured on PostgreSQL 15 by counting the backend's `pg_locks` after each statement of
generated bundles (tests/test_pg_locks.py keeps the estimate above what the server
counts, and not far above it). A CREATE TABLE locks the table, its row type, each key's
index and constraint, each identity or serial sequence, each foreign key, and a TOAST
table and its index when a row could pass about 2 kB. DROP TABLE locks all of that again
and more: defaults, the four triggers of each foreign key, the parent table. A column type
change that rewrites the table locks a new heap, TOAST and types, and every index. Where
the words do not say (a rewrite or not, a TOAST table or not) the larger count is taken.

The tables a statement alters or drops are looked up in the schema before the script
(their indexes, constraints, defaults); a table it does not hold counts as a table with
a primary key, a unique key, two indexes, a foreign key, defaults and TOAST.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from reviewkit.schema.state import Table

if TYPE_CHECKING:
    from reviewkit.dialects.postgres.locks import LockCounter

Keys = tuple[list[str], list[str]]  # the objects' keys, and the names the statement drops
UNKNOWN_TABLE = 22  # the objects of a table the schema does not hold, when it is dropped

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_QUALIFIED = rf"(?:{_NAME}\s*\.\s*)?({_NAME})"
_STRING = re.compile(r"'(?:[^']|'')*'")
_I = re.IGNORECASE
_CREATE_TABLE = re.compile(rf"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+"
                           rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QUALIFIED}", _I)
_CREATE_INDEX = re.compile(rf"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
                           rf"(?:{_QUALIFIED}\s+)?ON\s+(?:ONLY\s+)?{_QUALIFIED}", _I)
_CREATE_VIEW = re.compile(rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:TEMP|TEMPORARY|MATERIALIZED)\s+)?VIEW\s+"
                          rf"(?:IF\s+NOT\s+EXISTS\s+)?{_QUALIFIED}", _I)
_CREATE_SEQUENCE = re.compile(rf"CREATE\s+(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?SEQUENCE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                              rf"{_QUALIFIED}", _I)
_ALTER_TABLE = re.compile(rf"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_QUALIFIED}", _I)
_ALTER_INDEX = re.compile(rf"ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?{_QUALIFIED}", _I)
_DROP = re.compile(r"DROP\s+(TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW|SEQUENCE|TYPE|DOMAIN)\s+(?:CONCURRENTLY\s+)?"
                   r"(?:IF\s+EXISTS\s+)?(.*)", _I | re.DOTALL)
_DROPPED_NAME = re.compile(rf"{_QUALIFIED}\s*(?:,|;|$|\s+(?:CASCADE|RESTRICT))", _I)
_DML = re.compile(rf"(?:INSERT\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?|MERGE\s+INTO|COPY|TRUNCATE"
                  rf"(?:\s+TABLE)?(?:\s+ONLY)?)\s+{_QUALIFIED}", _I)
_COMMENT = re.compile(r"COMMENT\s+ON\s+(TABLE|COLUMN|VIEW|MATERIALIZED\s+VIEW|INDEX|SEQUENCE)\s+(\S+(?:\s*\.\s*\S+)*)", _I)
_OWNED_BY = re.compile(r"\bOWNED\s+BY\s+(\S+(?:\s*\.\s*\S+)*)", _I)
_FROM = re.compile(rf"\b(?:FROM|JOIN)\s+(?:ONLY\s+)?{_QUALIFIED}", _I)
_REFERENCES = re.compile(rf"\bREFERENCES\s+{_QUALIFIED}", _I)
_KEY = re.compile(r"\b(?:PRIMARY\s+KEY|UNIQUE)\b", _I)
_CHECK = re.compile(r"\bCHECK\s*\(", _I)
_SEQUENCE_COLUMN = re.compile(r"\b(?:GENERATED\s+(?:ALWAYS|BY\s+DEFAULT)\s+AS\s+IDENTITY|(?:SMALL|BIG)?SERIAL[248]?"
                              r"|nextval)\b", _I)
_TYPE_CHANGE = re.compile(rf"\bALTER\s+(?:COLUMN\s+)?({_NAME})\s+(?:SET\s+DATA\s+)?TYPE\s+([^,;]*)", _I)
_VARCHAR = re.compile(r"(?:VARCHAR|CHARACTER\s+VARYING)\s*\(\s*(\d+)\s*\)\s*$|TEXT\s*$", _I)
_ADD_COLUMN = re.compile(r"\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
                         r"(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)(.*)", _I | re.DOTALL)
# A column added with a stored generated value or a function call for a default: PostgreSQL
# may compute it for every row (a rewrite); a constant default is kept once, in the catalog.
_FILLS_ROWS = re.compile(r"\bGENERATED\s+ALWAYS\s+AS\s*\(|\bDEFAULT\s+[^,]*\(", _I)
_DROP_CONSTRAINT = re.compile(rf"\bDROP\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?({_NAME})", _I)
_DROP_COLUMN = re.compile(rf"\bDROP\s+(?!CONSTRAINT\b|DEFAULT\b|NOT\b|IDENTITY\b|EXPRESSION\b)(?:COLUMN\s+)?"
                          rf"(?:IF\s+EXISTS\s+)?({_NAME})", _I)
_DEFAULT = re.compile(r"\bDEFAULT\b", _I)
_DEFAULT_CHANGE = re.compile(r"\b(?:SET|DROP)\s+DEFAULT\b", _I)
_VALIDATE = re.compile(rf"\bVALIDATE\s+CONSTRAINT\s+({_NAME})", _I)
_RENAME_CONSTRAINT = re.compile(r"\bRENAME\s+CONSTRAINT\b", _I)
# Column types whose values are never long: a table of only these (and short varchars) gets no TOAST table.
_FIXED_TYPES = re.compile(
    r"(?:SMALLINT|INTEGER|INT|INT[248]|BIGINT|(?:SMALL|BIG)?SERIAL[248]?|BOOLEAN|BOOL|REAL|FLOAT[48]?(?:\s*\(\s*\d+\s*\))?"
    r"|DOUBLE\s+PRECISION|DATE|MONEY|UUID|OID|INET|CIDR|MACADDR8?|INTERVAL(?:\s*\(\s*\d+\s*\))?"
    r"|(?:TIME|TIMESTAMP)(?:\s*\(\s*\d+\s*\))?(?:\s+(?:WITH|WITHOUT)\s+TIME\s+ZONE)?|TIMESTAMPTZ|TIMETZ)", _I)
_BOUNDED_TYPE = re.compile(
    r"(?:VARCHAR|CHARACTER\s+VARYING|CHAR|CHARACTER|BPCHAR|NUMERIC|DECIMAL|BIT(?:\s+VARYING)?|VARBIT)\s*\(\s*(\d+)", _I)
_COLUMN_END = re.compile(r"\s(?:NOT|NULL|DEFAULT|PRIMARY|UNIQUE|CHECK|REFERENCES|GENERATED|CONSTRAINT|COLLATE)\b|$", _I)
_TABLE_ITEM = re.compile(r"\s*(?:CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN|EXCLUDE|LIKE)\b", _I)
# PostgreSQL moves long values out of a row (TOAST) when the row could pass about 2 kB;
# a varchar(n) may take 4 bytes per character.
_TOAST_THRESHOLD = 2000
_PUNCTUATION = re.compile(r"[(),]")
_QUOTED_NAME = re.compile(r'"(?:[^"]|"")*"')
_SHAPES: dict[str, tuple[bool, int, int, int]] = {}
_TOASTED: dict[tuple[str, ...], bool] = {}  # table_toasted's answers, per list of column types
# How far into a statement its kind and target are read: a data statement may be megabytes long.
_HEAD = 400
_LONG_HEAD = 20_000  # a DROP of many tables, a query's FROM list
_NOTHING = ("SET", "RESET", "SHOW", "BEGIN", "COMMIT", "START", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "")


def statement_locks(sql: str, counter: LockCounter) -> Keys:
    """Return a key per object the statement locks (the same object has the same key in every statement),
    and the names of the objects it drops."""
    head = sql[:_HEAD]
    word = head.split(None, 1)[0].upper() if head.strip() else ""
    if word == "CREATE":
        return _create(sql, head, counter), []
    if word == "ALTER":
        return _alter(sql, head, counter), []
    if word == "DROP":
        return _drop(sql[:_LONG_HEAD], counter)
    if word in ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "TRUNCATE"):
        return _data(head, counter), []
    if word in _NOTHING:
        return [], []
    if word in ("SELECT", "WITH", "VALUES", "TABLE"):
        return _read(sql[:_LONG_HEAD], counter), []
    if word == "COMMENT":
        target = _COMMENT.match(head)
        if target:
            names = re.findall(_NAME, target.group(2))
            on = names[-2] if target.group(1).upper() == "COLUMN" and len(names) > 1 else names[-1]
            return ["rel:pg_description", f"rel:{counter.object(_unquoted(on))}"], []
    return counter.fresh(2), []  # GRANT, CREATE EXTENSION...: a guess, counted every time


def _create(sql: str, head: str, counter: LockCounter) -> list[str]:
    table = _CREATE_TABLE.match(head)
    if table:
        return _create_table(counter.object(_unquoted(table.group(1))), _STRING.sub("''", sql), counter)
    index = _CREATE_INDEX.match(head)
    if index:
        name = f"rel:{counter.object(_unquoted(index.group(1)))}" if index.group(1) else counter.fresh(1)[0]
        return [name, f"rel:{counter.object(_unquoted(index.group(2)))}"]
    view = _CREATE_VIEW.match(head)
    if view:
        name = counter.object(_unquoted(view.group(1)))
        return [f"rel:{name}", f"type:{name}", f"rule:{name}", *_read(_STRING.sub("''", sql), counter)]
    sequence = _CREATE_SEQUENCE.match(head)
    if sequence:
        return [f"rel:{counter.object(_unquoted(sequence.group(1)))}"]
    return counter.fresh(2)  # a type or a domain (and its array type), an extension, a function...


def _create_table(name: str, sql: str, counter: LockCounter) -> list[str]:
    """A new table: itself, its row type, TOAST table and index, and per key an index and a constraint."""
    toast, keys_, checks, sequences = _table_shape(sql)
    keys = [f"rel:{name}", f"type:{name}"] + ([f"toast:{name}", f"toastidx:{name}"] if toast else [])
    keys += [f"{name}#key{i}:{part}" for i in range(keys_) for part in ("index", "constraint")]
    keys += [f"{name}#check{i}" for i in range(checks)] + [f"{name}#sequence{i}" for i in range(sequences)]
    for i, match in enumerate(_REFERENCES.finditer(sql)):
        parent = counter.object(_unquoted(match.group(1)))
        keys += [f"{name}#fk{i}", f"rel:{parent}", f"{parent}#key0:index"]
    return keys


def _table_shape(sql: str) -> tuple[bool, int, int, int]:
    """Return whether a CREATE TABLE makes a TOAST table, and its keys, checks and sequences.

    Kept per shape of statement (its quoted names taken out): a bundle of many tables has few.
    """
    shape = _QUOTED_NAME.sub('""', sql)
    found = _SHAPES.get(shape)
    if found is None:
        if len(_SHAPES) > 4096:
            _SHAPES.clear()
        found = _SHAPES[shape] = (toasted(_body(shape)), len(_KEY.findall(shape)), len(_CHECK.findall(shape)),
                                  len(_SEQUENCE_COLUMN.findall(shape)))
    return found


def _alter(sql: str, head: str, counter: LockCounter) -> list[str]:
    index = _ALTER_INDEX.match(head)
    if index:
        name = _unquoted(index.group(1))
        return [f"rel:{counter.object(name)}", _owner(name, counter)]
    match = _ALTER_TABLE.match(head)
    if not match:  # ALTER TYPE, ALTER SEQUENCE ... OWNED BY t.c, ALTER DOMAIN...
        owned = [re.findall(_NAME, m.group(1)) for m in _OWNED_BY.finditer(sql)]
        return [*counter.fresh(1), *(f"rel:{counter.object(_unquoted(n[-2]))}" for n in owned if len(n) > 1)]
    table_name = _unquoted(match.group(1))
    table, name, text = counter.table(table_name), counter.object(table_name), _STRING.sub("''", sql)
    keys = [f"rel:{name}"]
    change = _TYPE_CHANGE.search(text)
    if change:
        keys += _type_change(name, table, _unquoted(change.group(1)), change.group(2))
    keys += _added(name, text, table, counter) + _dropped(name, text, table, counter)
    for validated in _VALIDATE.finditer(text):
        keys += _parent_of(table, _unquoted(validated.group(1)), counter)
    if _DEFAULT_CHANGE.search(text):
        keys += counter.fresh(1)  # the default replaced or dropped
    if _RENAME_CONSTRAINT.search(text):
        keys += counter.fresh(1)  # the key's index is renamed with it
    return keys


def _type_change(name: str, table: Table | None, column: str, new_type: str) -> list[str]:
    """A column's new type: a rewrite (a new heap and TOAST, their types, every index built again), unless it
    only widens a varchar, which checks nothing and builds the column's own indexes again."""
    old = next((c.type for c in table.columns if c.name == column), "") if table else ""
    before, after = _VARCHAR.match(old), _VARCHAR.match(new_type.strip())
    if before and after and (after.group(1) is None or (before.group(1) and int(after.group(1)) >= int(before.group(1)))):
        return [f"type:{name}", f"arraytype:{name}", f"{name}#transient",
                *(f"{name}#index:{index}" for index in _indexes_on(table, column))]
    return _rewrite(name, table)


def _rewrite(name: str, table: Table | None) -> list[str]:
    return [*(f"{name}#rewrite{i}" for i in range(7)), f"toast:{name}", f"toastidx:{name}", f"type:{name}",
            f"arraytype:{name}", *_indexes(name, table)]


def _added(name: str, text: str, table: Table | None, counter: LockCounter) -> list[str]:
    """What adding a column, key, check or foreign key locks besides the table."""
    if " ADD " not in f" {text.upper()} ":
        return []
    keys = [key for _ in _KEY.finditer(text) for key in counter.fresh(2)]  # an index and its constraint
    keys += [key for _ in _CHECK.finditer(text) for key in counter.fresh(1)]
    for match in _REFERENCES.finditer(text):  # checking the rows: the parent and its key, the table's indexes
        parent = counter.object(_unquoted(match.group(1)))
        keys += [*counter.fresh(1), f"rel:{parent}", f"{parent}#key0:index", *_indexes(name, table)]
    column = _ADD_COLUMN.search(text)
    if column:
        if _DEFAULT.search(column.group(1)):
            keys += [f"type:{name}", f"arraytype:{name}"]  # a default kept for the rows there: the row type is read
        keys += [key for _ in _SEQUENCE_COLUMN.finditer(column.group(1)) for key in counter.fresh(1)]
        if _FILLS_ROWS.search(column.group(1)):
            keys += _rewrite(name, table)
        elif toasted(column.group(1)) and (table is None or not table_toasted(table)):
            keys += [f"toast:{name}", f"toastidx:{name}"]  # the first long column makes the TOAST table
    return keys


def _dropped(name: str, text: str, table: Table | None, counter: LockCounter) -> list[str]:
    """What dropping a constraint or a column locks besides the table."""
    keys: list[str] = []
    for match in _DROP_CONSTRAINT.finditer(text):
        constraint = _unquoted(match.group(1))
        keys.append(f"{name}#constraint:{constraint}")
        kind = _constraint_kind(table, constraint)
        if kind in ("key", None):
            keys.append(f"{name}#index:{constraint}")
        if kind in ("foreign key", None):
            keys += [f"{name}#trigger:{constraint}:{i}" for i in range(4)] + _parent_of(table, constraint, counter)
    column = _DROP_COLUMN.search(text)
    if column:
        dropped = _unquoted(column.group(1))
        if table is None:
            return keys + counter.fresh(3)  # its default, an index or two
        keys += [f"{name}#index:{index}" for index in _indexes_on(table, dropped)]
        keys += [f"{name}#default:{c.name}" for c in table.columns if c.name == dropped and (c.default or c.generated)]
    return keys


def _constraint_kind(table: Table | None, name: str) -> str | None:
    """Return "key", "foreign key" or "check" for a constraint of the table; None when the table is not known."""
    if table is None:
        return None
    if name in [k.name for k in table.uniques] + ([table.primary_key.name] if table.primary_key else []):
        return "key"
    return "foreign key" if any(fk.name == name for fk in table.foreign_keys) else "check"


def _parent_of(table: Table | None, constraint: str, counter: LockCounter) -> list[str]:
    """The parent table of a foreign key and its key's index (two objects more when the table is not known)."""
    if table is None:
        return counter.fresh(2)
    found = next((fk for fk in table.foreign_keys if fk.name == constraint), None)
    if found is None:
        return []  # not a foreign key
    parent = counter.object(found.ref_table)
    return [f"rel:{parent}", f"{parent}#key0:index"]


def _drop(sql: str, counter: LockCounter) -> Keys:
    match = _DROP.match(sql)
    if not match:
        return counter.fresh(2), []
    kind = match.group(1).upper().split()[-1]
    names = [_unquoted(m.group(1)) for m in _DROPPED_NAME.finditer(match.group(2))]
    keys: list[str] = []
    for plain in names:
        name = counter.object(plain)
        if kind == "TABLE":
            keys += _drop_table(name, counter.table(plain), counter)
        elif kind == "INDEX":
            keys += [f"rel:{name}", _owner(plain, counter)]
        elif kind == "VIEW":
            keys += [f"rel:{name}", f"type:{name}", f"arraytype:{name}", f"rule:{name}"]
        else:  # a sequence, a type, a domain
            keys += [f"rel:{name}", f"type:{name}"]
    return (keys or counter.fresh(2)), names


def _drop_table(name: str, table: Table | None, counter: LockCounter) -> list[str]:
    """A dropped table: each object it owns, and each foreign key's triggers and parent."""
    keys = [f"rel:{name}", f"type:{name}", f"arraytype:{name}"]
    if table is None:
        return keys + [f"{name}#owned{i}" for i in range(UNKNOWN_TABLE - len(keys))]
    if table_toasted(table):
        keys += [f"toast:{name}", f"toastidx:{name}"]
    keys += _indexes(name, table)
    constraints = ([table.primary_key] if table.primary_key else []) + [*table.uniques, *table.checks, *table.foreign_keys]
    keys += [f"{name}#constraint:{c.name}" for c in constraints]
    keys += [f"{name}#default:{c.name}" for c in table.columns if c.default is not None or c.generated]
    keys += [f"{name}#sequence:{c.name}" for c in table.columns if c.identity]
    for fk in table.foreign_keys:
        keys += [f"{name}#trigger:{fk.name}:{i}" for i in range(4)] + [f"rel:{counter.object(fk.ref_table)}"]
    return keys


def _data(head: str, counter: LockCounter) -> list[str]:
    """A data statement: the table, its indexes and TOAST, its sequences, and each foreign key's parent and key."""
    match = _DML.match(head)
    if not match:
        return counter.fresh(1)
    plain = _unquoted(match.group(1))
    table, name = counter.table(plain), counter.object(plain)
    if table is None:
        return [f"rel:{name}", *(f"{name}#data{i}" for i in range(6))]
    keys = [f"rel:{name}", f"toast:{name}", f"toastidx:{name}", *_indexes(name, table)]
    keys += [f"{name}#sequence:{c.name}" for c in table.columns if c.identity]
    for fk in table.foreign_keys:
        parent = counter.object(fk.ref_table)
        keys += [f"rel:{parent}", f"{parent}#key0:index"]
    return keys


def _read(sql: str, counter: LockCounter) -> list[str]:
    """The tables and views a query reads."""
    return [f"rel:{counter.object(_unquoted(m.group(1)))}" for m in _FROM.finditer(sql)]


def _owner(index: str, counter: LockCounter) -> str:
    """The key of the table an index belongs to (one more object when the schema does not say)."""
    owner = counter.index_owner(index)
    return f"rel:{counter.object(owner)}" if owner else counter.fresh(1)[0]


# -- a table's objects ------------------------------------------------------------------------


def index_names(table: Table) -> list[str]:
    """Every index a table has: its primary key's, its unique keys', and its plain indexes."""
    keys = [table.primary_key.name] if table.primary_key else []
    return keys + [u.name for u in table.uniques] + [i.name for i in table.indexes]


def _indexes(name: str, table: Table | None) -> list[str]:
    """Keys for every index of a table (four when the table is not known)."""
    if table is None:
        return [f"{name}#index{i}" for i in range(4)]
    return [f"{name}#index:{index}" for index in index_names(table)]


def _indexes_on(table: Table | None, column: str) -> list[str]:
    """The indexes that go with a column: those whose key or columns name it."""
    if table is None:
        return []
    found = [u.name for u in table.uniques if column in u.columns]
    if table.primary_key and column in table.primary_key.columns:
        found.append(table.primary_key.name)
    return found + [i.name for i in table.indexes if any(column in part.expression for part in i.parts)]


def table_toasted(table: Table) -> bool:
    """Tell whether a table of the schema state has a TOAST table (a column of a long type).

    Kept per list of column types: a schema of many tables has few.
    """
    types = tuple(column.type for column in table.columns)
    found = _TOASTED.get(types)
    if found is None:
        if len(_TOASTED) > 4096:
            _TOASTED.clear()
        found = _TOASTED[types] = toasted(", ".join(f"c {kind}" for kind in types))
    return found


def toasted(columns: str) -> bool:
    """Tell whether a table with these column definitions gets a TOAST table: a row could pass about 2 kB."""
    width = 0
    for item in _top_level(columns):
        if not item.strip() or _TABLE_ITEM.match(item):
            continue
        words = item.split(None, 1)
        if len(words) < 2:
            return True
        kind = words[1][:_COLUMN_END.search(words[1]).start()].strip()
        if _FIXED_TYPES.fullmatch(kind):
            width += 16
            continue
        bounded = _BOUNDED_TYPE.match(kind)
        if not bounded or kind.endswith("]"):
            return True  # text, bytea, json, arrays, a domain or type we cannot see into
        width += 4 * int(bounded.group(1))
    return width > _TOAST_THRESHOLD


def _body(sql: str) -> str:
    """Return the text between a CREATE TABLE's first parenthesis and its last."""
    start, end = sql.find("("), sql.rfind(")")
    return sql[start + 1:end] if 0 <= start < end else sql


def _top_level(body: str) -> list[str]:
    """Split a column list at the commas outside parentheses."""
    items, depth, start = [], 0, 0
    for match in _PUNCTUATION.finditer(body):
        char = match.group()
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            items.append(body[start:match.start()])
            start = match.end()
    items.append(body[start:])
    return items


def _unquoted(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
