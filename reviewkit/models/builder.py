"""Assemble a schema state from model declarations, whatever source they come from.

Both model sources (DDL files, SQLAlchemy metadata) feed a `SchemaBuilder`, which gives
unnamed constraints and indexes their deterministic names, resolves foreign keys that
name only a table, checks that everything refers to columns that exist, and brings each
column default into the form its type calls for (`reviewkit.schema.defaults`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from reviewkit.errors import ModelError
from reviewkit.models.problems import Problems
from reviewkit.schema import naming
from reviewkit.schema.defaults import normalize_default
from reviewkit.schema.expressions import column_names_in
from reviewkit.schema.state import Check, Column, ForeignKey, Index, IndexPart, PrimaryKey, Schema, Table, Unique, View

_FK_ACTIONS = {"NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"}


@dataclass
class TableDraft:
    name: str
    where: str
    source: str = ""  # the statement that declared it, for messages
    comment: str | None = None
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str | None, tuple[str, ...]] | None = None
    uniques: list[tuple[str | None, tuple[str, ...]]] = field(default_factory=list)
    checks: list[tuple[str | None, str, tuple[str, ...]]] = field(default_factory=list)
    foreign_keys: list[tuple[str | None, tuple[str, ...], str, tuple[str, ...], str, str]] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)  # named "" until built
    flavors: dict[str, str] = field(default_factory=dict)  # unique or foreign key name -> its flavor (Django's)

    def replace_column(self, name: str, where: str, **changes: object) -> None:
        """Change a column declared earlier (a later ALTER TABLE or COMMENT ON gives it a default, a comment)."""
        for i, column in enumerate(self.columns):
            if column.name == name:
                self.columns[i] = replace(column, **changes)
                return
        raise ModelError(f"{where}: table {self.name} has no column {name}")

    def set_primary_key(self, name: str | None, columns: tuple[str, ...], where: str) -> None:
        if self.primary_key is not None:
            raise ModelError(f"{where}: table {self.name} declares more than one primary key")
        self.primary_key = (name, columns)

    def add_unique(self, name: str | None, columns: tuple[str, ...], flavor: str | None = None) -> None:
        self.uniques.append((name, columns))
        if flavor and name:
            self.flavors[name] = flavor

    def add_check(self, name: str | None, expression: str, columns: tuple[str, ...]) -> None:
        self.checks.append((name, expression, columns))

    def add_foreign_key(
        self, name: str | None, columns: tuple[str, ...], ref_table: str, ref_columns: tuple[str, ...],
        on_delete: str = "NO ACTION", on_update: str = "NO ACTION", flavor: str | None = None,
    ) -> None:
        self.foreign_keys.append((name, columns, ref_table, ref_columns, on_delete.upper(), on_update.upper()))
        if flavor and name:
            self.flavors[name] = flavor

    def add_index(
        self, name: str | None, parts: tuple[IndexPart, ...], unique: bool, where: str | None,
        method: str | None = None, include: tuple[str, ...] = (), flavor: str | None = None,
    ) -> None:
        self.indexes.append(Index(name or "", parts, unique, where, method, include, flavor))


@dataclass(frozen=True)
class ViewDraft:
    """A view as a model file declares it, with where, for messages."""

    view: View
    where: str
    source: str = ""


class SchemaBuilder:
    """Collect table and view drafts, then `build()` the validated, named schema state."""

    def __init__(self, per_table_index_names: bool = False) -> None:
        self._drafts: dict[str, TableDraft] = {}
        # MySQL models may give two tables an index of the same name; PostgreSQL and
        # SQLite keep index names once per schema, so the later one is renamed.
        self.per_table_index_names = per_table_index_names
        # False when every engine the project targets names indexes per table (MySQL only):
        # then two tables' indexes may share a name, as the database has them.
        self.index_names_per_schema = True
        self.renamed_indexes: list[tuple[str, str, str]] = []  # (table, name in the models, name given)
        self._views: dict[str, ViewDraft] = {}
        # With ignore_unsupported: told of each view left out because it reads what is left out.
        self.leave_out_view: Callable[[ViewDraft, str], None] | None = None

    def new_table(self, name: str, where: str, source: str = "") -> TableDraft:
        if name in self._drafts:
            raise ModelError(f"{where}: table {name} is already declared at {self._drafts[name].where}")
        draft = TableDraft(name, where, source)
        self._drafts[name] = draft
        return draft

    def forget(self, name: str) -> None:
        """Drop a table declared so far (one the models' reader decided to leave out)."""
        self._drafts.pop(name, None)

    def new_view(self, view: View, where: str, source: str = "") -> None:
        if view.name in self._views:
            raise ModelError(f"{where}: view {view.name} is already declared at {self._views[view.name].where}")
        self._views[view.name] = ViewDraft(view, where, source)

    def existing(self, name: str, where: str) -> TableDraft:
        if name not in self._drafts:
            raise ModelError(f"{where}: table {name} is not declared (declare it before its indexes and constraints)")
        return self._drafts[name]

    def build(self, problems: Problems | None = None) -> Schema:
        """Return the schema; with `problems`, record each table's problem there and go on with the others."""
        taken: set[str] = set()  # PostgreSQL and SQLite share one namespace for indexes and tables
        tables = []
        for draft in self._drafts.values():
            with recorded(problems, draft.source):
                tables.append(self._build_table(draft, taken if self.index_names_per_schema else set()))
        schema = Schema(tuple(tables)).normalized()
        for table in schema.tables:
            with recorded(problems, self._drafts[table.name].source):
                _check_foreign_keys(table, schema, self._drafts[table.name].where)
        if not self._views:
            return schema
        from reviewkit.models.view_checks import checked_views  # sqlglot's optimizer, only for models with views

        views = checked_views(list(self._views.values()), schema, set(self._drafts), problems, self.leave_out_view)
        return Schema(schema.tables, views).normalized()

    def _build_table(self, d: TableDraft, taken: set[str]) -> Table:
        if not d.columns:
            raise ModelError(f"{d.where}: table {d.name} has no columns")
        table = _TableBuild(d)
        # Names are given in this order (key, uniques, checks, foreign keys): SQLite's reader
        # names what the engine left unnamed the same way, in the same order.
        primary_key, columns = table.primary_key()
        uniques = table.uniques()
        checks = table.checks()
        fks = table.foreign_keys(lambda ref_table: self._primary_key_of(ref_table, d))
        indexes = table.indexes(taken, self.per_table_index_names, self.renamed_indexes)
        return Table(d.name, columns, primary_key, uniques, checks, fks, indexes, d.comment)

    def _primary_key_of(self, table: str, referrer: TableDraft) -> tuple[str, ...]:
        target = self._drafts.get(table)
        if target is None:
            raise ModelError(f"{referrer.where}: foreign key on {referrer.name} references unknown table {table}")
        if target.primary_key is None:
            raise ModelError(f"{referrer.where}: foreign key on {referrer.name} references {table}, which has no primary key")
        return target.primary_key[1]


class _TableBuild:
    """One draft becoming a table: names given, columns and expressions checked."""

    def __init__(self, draft: TableDraft) -> None:
        self.d = draft
        self.names = {c.name for c in draft.columns}
        if len(self.names) != len(draft.columns):
            twice = sorted(name for name, n in Counter(c.name for c in draft.columns).items() if n > 1)
            raise ModelError(f"{draft.where}: table {draft.name} declares the column{'s' if len(twice) > 1 else ''} {', '.join(twice)} twice")
        self.used: set[str] = set()  # constraint names, unique within the table
        self.columns = tuple(self.with_normal_default(c) for c in draft.columns)

    def pick(self, explicit: str | None, columns: tuple[str, ...], suffix: str) -> str:
        """Return the constraint's own name, or the conventional one for an unnamed constraint."""
        d = self.d
        if explicit:
            if explicit in self.used:
                raise ModelError(f"{d.where}: table {d.name} uses the name {explicit} twice")
            self.used.add(explicit)
            return explicit
        return naming.unique_among(naming.constraint_name(d.name, columns, suffix), self.used)

    def known(self, columns: tuple[str, ...], what: str) -> tuple[str, ...]:
        for col in columns:
            if col not in self.names:
                raise ModelError(f"{self.d.where}: {what} on {self.d.name} names unknown column {col}")
        return columns

    def with_normal_default(self, column: Column) -> Column:
        """Return the column with its default in the form its type calls for, or refuse the default."""
        default = normalize_default(column.default, column.type, f"{self.d.where}: column {self.d.name}.{column.name}")
        return column if default == column.default else replace(column, default=default)  # keeps comment, collation, ...

    def primary_key(self) -> tuple[PrimaryKey | None, tuple[Column, ...]]:
        """Return the primary key and the columns, those of the key made NOT NULL."""
        d, primary_key, columns = self.d, None, list(self.columns)
        if d.primary_key:
            pk_cols = self.known(d.primary_key[1], "primary key")
            primary_key = PrimaryKey(self.pick(d.primary_key[0], (), "pkey"), pk_cols)
            # A primary key implies NOT NULL on every engine; say so in the state too.
            columns = [replace(c, nullable=False) if c.name in pk_cols and c.nullable else c for c in columns]
        return primary_key, tuple(columns)

    def uniques(self) -> tuple[Unique, ...]:
        flavors = self.d.flavors
        return tuple(Unique(self.pick(n, self.known(cols, "unique"), "key"), cols, flavors.get(n) if n else None)
                     for n, cols in self.d.uniques)

    def checks(self) -> tuple[Check, ...]:
        return tuple(
            Check(self.pick(n, cols, "check"), _known_expression(expr, self.names, self.d, "check"))
            for n, expr, cols in self.d.checks
        )

    def foreign_keys(self, primary_key_of: Callable[[str], tuple[str, ...]]) -> tuple[ForeignKey, ...]:
        """Return the foreign keys; one that names only a table references its primary key."""
        fks = []
        for n, cols, ref_table, ref_cols, on_delete, on_update in self.d.foreign_keys:
            for action in (on_delete, on_update):
                if action not in _FK_ACTIONS:
                    raise ModelError(f"{self.d.where}: foreign key on {self.d.name}: unknown action {action}")
            name = self.pick(n, self.known(cols, "foreign key"), "fkey")
            fks.append(ForeignKey(name, cols, ref_table, ref_cols or primary_key_of(ref_table), on_delete, on_update,
                                  self.d.flavors.get(n) if n else None))
        return tuple(fks)

    def indexes(self, taken: set[str], per_table: bool, renamed: list[tuple[str, str, str]]) -> tuple[Index, ...]:
        """Return the indexes; `taken` holds every index name of the schema (one namespace per schema).

        With `per_table` (MySQL models), a name another table's index has is prefixed with
        this table's name instead of refused, and the rename recorded in `renamed`.
        """
        d, indexes = self.d, []
        for index in d.indexes:
            self.known(tuple(p.expression for p in index.parts if p.is_column) + index.include, "index")
            for p in index.parts:
                if not p.is_column:
                    _known_expression(p.expression, self.names, d, "index")
            if index.where:
                _known_expression(index.where, self.names, d, "index filter")
            key_names = tuple(p.expression if p.is_column else "expr" for p in index.parts)
            name = index.name or naming.unique_among(naming.constraint_name(d.name, key_names, "idx"), taken)
            if index.name and index.name in taken:
                if not per_table or index.name in {ix.name for ix in indexes}:
                    raise ModelError(f"{d.where}: index name {index.name} is used twice")
                name = naming.unique_among(naming.fit(f"{d.name}_{index.name}"), taken)
                renamed.append((d.name, index.name, name))
            taken.add(name)
            indexes.append(index if index.name == name else replace(index, name=name))
        return tuple(indexes)


def _known_expression(expression: str, names: set[str], d: TableDraft, what: str) -> str:
    unknown = column_names_in(expression) - names
    if unknown:
        raise ModelError(f"{d.where}: {what} on {d.name} names unknown column {sorted(unknown)[0]}")
    return expression


@contextmanager
def recorded(problems: Problems | None, source: str) -> Iterator[None]:
    """Record a ModelError in `problems` instead of raising it, when there is somewhere to record it."""
    try:
        yield
    except ModelError as err:
        if problems is None:
            raise
        problems.add_error(err, source)


def _check_foreign_keys(table: Table, schema: Schema, where: str) -> None:
    for fk in table.foreign_keys:
        target = schema.table(fk.ref_table)
        if target is None:
            raise ModelError(f"{where}: foreign key {fk.name} references unknown table {fk.ref_table}")
        missing = [c for c in fk.ref_columns if target.column(c) is None]
        if missing:
            raise ModelError(f"{where}: foreign key {fk.name} references unknown column {fk.ref_table}.{missing[0]}")
        if len(fk.ref_columns) != len(fk.columns):
            raise ModelError(f"{where}: foreign key {fk.name} has {len(fk.columns)} columns but references {len(fk.ref_columns)}")
