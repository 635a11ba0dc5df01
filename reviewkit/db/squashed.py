"""How a database's ledger reads a history with squashed bundles.

A squash (`reviewkit squash`) stands in the chain for the bundles it replaces. A database
may have run it, or the bundles it replaces, or part of them:

- its latest row of the range is the squash's own: the squash is in that state;
- it applied every bundle the squash replaces: the squash counts as applied ("as
  0002_a..0005_d"), once the digests the ledger recorded are the ones `replaces` lists;
- it applied none of them (or rolled them all back): the squash is pending, and runs alone;
- it stopped part-way through them: it goes on with the replaced bundles themselves, as
  Django does while the replaced migrations are still there; once they are gone from the
  bundles folder, nobody can finish the range for it, and that is refused, never guessed.

`ledger_view` gives the chain as one database goes through it (each squash, or its
originals where the database is part-way through them), every bundle's state, and what
does not add up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reviewkit.bundle.store import Bundle
from reviewkit.db.ledger import BundleState, LedgerRow, bundle_states


@dataclass
class LedgerView:
    chain: list[Bundle]  # the bundles this database goes through, in order
    states: dict[str, BundleState]  # per bundle id, a squash's read from its originals' rows where they are newer
    problems: list[str] = field(default_factory=list)
    expanded: dict[str, Bundle] = field(default_factory=dict)  # original id -> the squash it stands in for here


def ledger_view(rows: list[LedgerRow], chain: list[Bundle]) -> LedgerView:
    """Return the chain, states and problems of a database whose ledger holds `rows`, against the bundles' `chain`."""
    view = LedgerView([], bundle_states(rows))
    latest = {row.bundle_id: position for position, row in enumerate(rows)}
    for bundle in chain:
        if not bundle.replaces:
            view.chain.append(bundle)
        elif latest.get(bundle.id, -1) > max(latest.get(i, -1) for i in bundle.replaced_ids):
            view.chain.append(bundle)  # its own rows are the newest: it was applied (or rolled back) as itself
        else:
            _read_through_originals(bundle, rows, latest, view)
    return view


def _read_through_originals(squash: Bundle, rows: list[LedgerRow], latest: dict[str, int], view: LedgerView) -> None:
    """Put the squash, or its originals, into the view, with the squash's state read from the originals' rows."""
    ids = squash.replaced_ids
    states = [view.states.get(i, BundleState("pending")) for i in ids]
    newest = max((latest[i] for i in ids if i in latest), default=None)
    if newest is None:
        view.chain.append(squash)  # nothing of the range ran here: the squash runs alone
        return
    view.problems += _digest_problems(squash, view.states)
    applied = [i for i, state in zip(ids, states, strict=True) if state.is_applied]
    failed = [i for i, state in zip(ids, states, strict=True) if state.state == "failed"]
    if len(applied) == len(ids):
        faked = all(state.state == "faked" for state in states)
        view.states[squash.id] = BundleState("faked" if faked else "applied", rows[newest], tuple(ids))
        view.chain.append(squash)
        return
    if not applied and not failed:
        view.states[squash.id] = BundleState("rolled back", rows[newest])  # pending again: the squash runs alone
        view.chain.append(squash)
        return
    view.states[squash.id] = BundleState("failed" if failed else "partial", view.states[(failed or applied)[-1]].row,
                                         tuple(applied))
    _go_through_originals(squash, applied, view)


def _go_through_originals(squash: Bundle, applied: list[str], view: LedgerView) -> None:
    """Put the originals in the squash's place, or say why this database cannot finish the range."""
    present = {original.id for original in squash.originals}
    missing = [i for i in squash.replaced_ids if i not in present]
    if missing:
        done = ", ".join(applied) if applied else "none"
        view.problems.append(
            f"{squash.id}: this database is part-way through the bundles it replaces ({squash.range_label}; applied: "
            f"{done}), and {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} no longer in the bundles folder; "
            "restore the replaced bundles (from version control) so that apply can finish the range with them")
        view.chain.append(squash)
        return
    listed = {item["id"]: item["digest"] for item in squash.replaces}
    for original in squash.originals:
        if original.digest != listed[original.id]:
            view.problems.append(f"{original.id}: its digest {original.digest[:12]} is not the one {squash.id} replaces "
                                 f"({listed[original.id][:12]}); it was edited after the squash")
        view.chain.append(original)
        view.expanded[original.id] = squash


def _digest_problems(squash: Bundle, states: dict[str, BundleState]) -> list[str]:
    """Return each replaced bundle this database applied with another digest than the one the squash replaces."""
    problems = []
    for item in squash.replaces:
        state = states.get(item["id"])
        if state is not None and state.is_applied and state.row is not None and state.row.digest != item["digest"]:
            problems.append(f"{item['id']} was applied here with digest {state.row.digest[:12]}, but {squash.id} replaces "
                            f"it with digest {item['digest'][:12]}: the squash does not stand for what this database ran")
    return problems
