"""Random model histories around foreign keys, for the sweep in test_foreign_key_sweep.

A history is a list of steps, each the DDL of a small schema and the renames it declares:
a parent table whose key and unique code column are referenced by a child table, the
child's self-reference and a grandchild that comes and goes. Each step after the first
makes a few of the changes engines trip over: the child's indexes replaced, widened,
renamed or dropped, either end of a foreign key changing type, the referenced unique key
swapped between a constraint and a unique index (under the same name or another), columns
and the parent table renamed. Every step is a model all three engines accept.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

INT_KINDS = ("integer", "bigint")
LENGTHS = (8, 12, 16, 24)
# The child's indexes name its columns by role; the model renders the role's current name.
INDEX_SHAPES = (("p_ref",), ("p_ref", "title"), ("p_code_ref",), ("p_code_ref", "title"), ("title", "p_ref"),
                ("parent_c",), ("p_ref", "p_code_ref"))
INDEX_NAMES = ("c_fk_idx", "c_fk_wide_idx", "c_other_idx")
CODE_KEYS = (("constraint", "p_code_key"), ("index", "p_code_uidx"), ("constraint", "p_code_uidx"))
NAMES = {"parent": ("p", "parent"), "pid": ("id", "pid"), "code": ("code", "sku"), "p_ref": ("p_id", "parent_ref")}


@dataclass(frozen=True)
class Model:
    """One step's schema: every name and type that a change may touch."""

    parent: str = "p"
    pid: str = "id"
    pid_kind: str = "integer"
    code: str = "code"
    code_len: int = 12
    code_key: tuple[str, str] = CODE_KEYS[0]
    cid_kind: str = "integer"
    p_ref: str = "p_id"
    p_ref_not_null: bool = True
    p_code_ref_len: int = 12
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    grandchild: bool = False


@dataclass
class Step:
    ddl: str
    renames: list[str] = field(default_factory=list)


def random_history(rng: random.Random, changes: int = 3) -> list[Step]:
    """Return a first schema and `changes` steps after it."""
    model = Model(
        pid_kind=rng.choice(INT_KINDS), cid_kind=rng.choice(INT_KINDS), code_len=rng.choice(LENGTHS),
        code_key=rng.choice(CODE_KEYS), p_ref_not_null=rng.random() < 0.5, p_code_ref_len=rng.choice(LENGTHS),
        indexes=_random_indexes(rng), grandchild=rng.random() < 0.5,
    )
    steps = [Step(render(model))]
    for _ in range(changes):
        model, renames = _changed(rng, model)
        steps.append(Step(render(model), renames))
    return steps


def _random_indexes(rng: random.Random) -> tuple[tuple[str, tuple[str, ...]], ...]:
    names = rng.sample(INDEX_NAMES, rng.randint(0, 2))
    return tuple(sorted((name, rng.choice(INDEX_SHAPES)) for name in names))


def _changed(rng: random.Random, model: Model) -> tuple[Model, list[str]]:
    """Apply one to three random changes until the schema differs; return it and its declared renames."""
    while True:
        new, renames = model, []
        for change in rng.sample(CHANGES, rng.randint(1, 3)):
            new = change(rng, new, renames)
        if render(new) != render(model):
            return new, renames


# -- the changes ---------------------------------------------------------------------------


def widen_parent_key(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """Both ends of the child's foreign key to the parent key change type (MySQL needs them equal)."""
    return replace(m, pid_kind=_other(INT_KINDS, m.pid_kind))


def widen_child_key(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """The child's key, its self-reference and the grandchild's reference change type together."""
    return replace(m, cid_kind=_other(INT_KINDS, m.cid_kind))


def resize_codes(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """The referenced varchar or the referencing one changes length (lengths may differ)."""
    if rng.random() < 0.5:
        return replace(m, code_len=_other(LENGTHS, m.code_len, rng))
    return replace(m, p_code_ref_len=_other(LENGTHS, m.p_code_ref_len, rng))


def swap_code_key(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """The unique key behind the referenced code column becomes another: constraint, index, same name or not."""
    return replace(m, code_key=_other(CODE_KEYS, m.code_key, rng))


def change_indexes(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """One index of the child is replaced (same name or not), dropped, or added."""
    indexes = dict(m.indexes)
    action = rng.choice(("replace", "drop", "add")) if indexes else "add"
    if action in ("replace", "drop"):
        name = rng.choice(sorted(indexes))
        shape = indexes.pop(name)
        if action == "replace":
            indexes[rng.choice(INDEX_NAMES)] = _other(INDEX_SHAPES, shape, rng)
    else:
        indexes[rng.choice(INDEX_NAMES)] = rng.choice(INDEX_SHAPES)
    return replace(m, indexes=tuple(sorted(indexes.items())))


def rename_column(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """A column at either end of a foreign key is renamed (declared, so the data stays)."""
    role = rng.choice(("pid", "code", "p_ref"))
    old = getattr(m, role)
    new = _other(NAMES[role], old)
    table = "c" if role == "p_ref" else m.parent
    renames.append(f"{_earlier_name(table, renames)}.{old}={table}.{new}")
    return replace(m, **{role: new})


def rename_parent(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """The referenced table is renamed."""
    new = _other(NAMES["parent"], m.parent)
    # A column rename declared earlier in this step must name the table's new name on its right.
    renames[:] = [_moved_to(r, m.parent, new) for r in renames]
    renames.append(f"{m.parent}={new}")
    return replace(m, parent=new)


def toggle_grandchild(rng: random.Random, m: Model, renames: list[str]) -> Model:
    """A table referencing the child comes or goes (created while the child's key may still change type)."""
    return replace(m, grandchild=not m.grandchild)


CHANGES = (widen_parent_key, widen_child_key, resize_codes, swap_code_key, change_indexes, change_indexes,
           rename_column, rename_parent, toggle_grandchild)


def _other(options: tuple, current: object, rng: random.Random | None = None) -> object:
    rest = [o for o in options if o != current]
    return rng.choice(rest) if rng else rest[0]


def _moved_to(rename: str, table: str, new_table: str) -> str:
    old, _, target = rename.partition("=")
    target_table, _, column = target.partition(".")
    return f"{old}={new_table}.{column}" if column and target_table == table else rename


def _earlier_name(table: str, renames: list[str]) -> str:
    """Return the name `table` had before this step, from a table rename declared in it."""
    for r in renames:
        old, _, new = r.partition("=")
        if "." not in old and new == table:
            return old
    return table


# -- the DDL ---------------------------------------------------------------------------------


def render(m: Model) -> str:
    """Return the PostgreSQL DDL of the model."""
    columns = {"p_ref": m.p_ref, "p_code_ref": "p_code", "title": "title", "parent_c": "parent_c"}
    unique = f" CONSTRAINT {m.code_key[1]} UNIQUE" if m.code_key[0] == "constraint" else ""
    parts = [
        f"CREATE TABLE {m.parent} (\n  {m.pid} {m.pid_kind} PRIMARY KEY,\n  {m.code} varchar({m.code_len}){unique},\n"
        "  name varchar(40)\n);\n",
        f"CREATE TABLE c (\n  id {m.cid_kind} PRIMARY KEY,\n"
        f"  {m.p_ref} {m.pid_kind}{' NOT NULL' if m.p_ref_not_null else ''} REFERENCES {m.parent} ({m.pid}) ON DELETE CASCADE,\n"
        f"  p_code varchar({m.p_code_ref_len}) REFERENCES {m.parent} ({m.code}) ON DELETE SET NULL,\n"
        f"  parent_c {m.cid_kind} REFERENCES c (id),\n  title varchar(40)\n);\n",
    ]
    if m.code_key[0] == "index":
        parts.append(f"CREATE UNIQUE INDEX {m.code_key[1]} ON {m.parent} ({m.code});\n")
    for name, shape in m.indexes:
        parts.append(f"CREATE INDEX {name} ON c ({', '.join(columns[role] for role in shape)});\n")
    if m.grandchild:
        parts.append(f"CREATE TABLE g (\n  id integer PRIMARY KEY,\n  c_id {m.cid_kind} REFERENCES c (id) ON DELETE CASCADE\n);\n")
    return "\n".join(parts)
