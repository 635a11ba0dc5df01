"""Check the views a model declares against the tables and views around them.

A view may be declared before the tables it reads (the order of a file does not matter),
so these checks run once every table is built: each name a view reads must be declared,
a view must not share a table's name or read itself round a cycle, and the columns it
returns must be known and distinct, named the same way on every engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from reviewkit.errors import ModelError
from reviewkit.models.builder import recorded
from reviewkit.schema.state import Schema, View
from reviewkit.schema.views import ViewQueryError, query_columns, unnamed_outputs, views_in_dependency_order

if TYPE_CHECKING:
    from reviewkit.models.builder import ViewDraft
    from reviewkit.models.problems import Problems


def checked_views(
    drafts: list[ViewDraft], schema: Schema, declared_tables: set[str], problems: Problems | None,
    leave_out: Callable[[ViewDraft, str], None] | None = None,
) -> tuple[View, ...]:
    """Return the declared views once checked; record (or raise, without `problems`) what is wrong with each.

    `declared_tables` names every table the models declare, those whose problems kept them
    out of `schema` too: a view reading one of them has that table's problem, already recorded.
    With `leave_out` (ignore_unsupported), a view that reads what the models left out, or
    a view left out, is left out too and handed to it instead of being an error.
    """
    by_name = {d.view.name: d for d in drafts}
    sources: dict[str, tuple[str, ...]] = {t.name: t.column_names() for t in schema.tables}
    failed = {name for name in declared_tables if schema.table(name) is None}
    left: set[str] = set()
    for view in views_in_dependency_order([d.view for d in drafts]):
        draft = by_name[view.name]
        if view.reads & failed:
            failed.add(view.name)  # its own problem is the view it reads; saying more would repeat it
            continue
        missing = sorted(n for n in view.reads if schema.table(n) is None and (n not in by_name or n in left))
        if leave_out is not None and missing:
            leave_out(draft, f"it reads {missing[0]}, which is left out")
            left.add(view.name)
            continue
        with recorded(problems, draft.source):
            failed.add(view.name)
            _check_names(view, draft.where, schema, by_name)
            sources[view.name] = _checked_columns(view, draft.where, sources)
            failed.discard(view.name)
    return tuple(d.view for d in drafts if d.view.name not in left)


def _check_names(view: View, where: str, schema: Schema, views: dict[str, ViewDraft]) -> None:
    if schema.table(view.name) is not None:
        raise ModelError(f"{where}: view {view.name} has the name of a table; tables and views share one namespace")
    if view.name in view.reads:
        raise ModelError(f"{where}: view {view.name} reads itself")
    missing = sorted(name for name in view.reads if schema.table(name) is None and name not in views)
    if missing:
        raise ModelError(f"{where}: view {view.name} reads {missing[0]}, which the models do not declare "
                         "(as a table or a view)")
    circle = _reads_back(view.name, views)
    if circle:
        raise ModelError(f"{where}: views {' -> '.join(circle)} read each other in a circle")


def _reads_back(name: str, views: dict[str, ViewDraft]) -> list[str]:
    """Return a path of views from `name` back to itself through what they read, or [] when there is none."""
    path, stack, seen = [name], [iter(sorted(views[name].view.reads & views.keys()))], {name}
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            path.pop()
        elif step == name:
            return [*path, name]
        elif step not in seen:
            seen.add(step)
            path.append(step)
            stack.append(iter(sorted(views[step].view.reads & views.keys())))
    return []


def _checked_columns(view: View, where: str, sources: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Return the names of the columns the view returns; refuse unnamed, duplicate or uncounted ones."""
    unnamed = unnamed_outputs(view.query)
    if unnamed and not view.columns:
        raise ModelError(f"{where}: view {view.name}: name the column {unnamed[0]} (AS name) or list the view's "
                         "columns: each engine names it its own way")
    try:
        returned = query_columns(view.query, sources)
    except ViewQueryError as err:
        raise ModelError(f"{where}: view {view.name}: {err}") from None
    if view.columns and len(view.columns) != len(returned):
        listed = f"{len(view.columns)} column" + ("s" if len(view.columns) != 1 else "")
        raise ModelError(f"{where}: view {view.name} lists {listed} but its query returns {len(returned)}")
    names = view.columns or returned
    twice = sorted(name for name, n in Counter(names).items() if n > 1)
    if twice:
        raise ModelError(f"{where}: view {view.name} returns two columns named {twice[0]}; name them apart (AS ...)")
    return names
