"""Proofs: the evidence `reviewkit prove` leaves that a bundle's scripts do what its schema.json says.

`proofs/<dialect>.json`, next to `approvals/`, holds `format`, `bundle`, `digest`,
`dialect`, `server_version`, `result` (`proven` or `failed`), `steps` and `at`. Like
approvals, proofs are outside the digest (they are made of it), and are evidence for
reviewers, not signatures. Each dialect of a bundle is in one proof state:

- `proven`: a passing proof of the bundle's current digest;
- `failed`: a failing proof of the current digest;
- `stale`: a proof of another digest (the bundle was edited and sealed since);
- `none`: no proof file;
- `invalid`: a file that is not a proof (not JSON, wrong fields, contradicting itself).

Reading a proof never raises: whatever is in the file becomes a state and a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.bundle.digest import PROOFS
from reviewkit.bundle.manifest import (
    UnreadableJSON,
    describe,
    encodes,
    is_sha256_hex,
    is_utc_time,
    read_json,
    write_json,
)
from reviewkit.bundle.store import Bundle

if TYPE_CHECKING:
    from reviewkit.bundle.verify_cache import VerifyCache

PROOF_FORMAT = 1
STEP_RESULTS = ("passed", "failed", "skipped")
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": int, "bundle": str, "digest": str, "dialect": str, "server_version": str, "result": str,
    "steps": list, "at": str,
}
_STEP_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str, "result": str, "statements": int, "error": (dict, type(None)), "differences": list,
}
_DIFFERENCE_FIELDS = {"object", "name", "change", "expected", "actual"}


@dataclass(frozen=True)
class ProofState:
    """What one dialect's proof file says about the bundle as it is now."""

    dialect: str
    state: str  # proven, failed, stale, none, invalid
    file: str  # "<bundle>/proofs/<dialect>.json"
    detail: str = ""  # why it failed, is stale or invalid
    at: str | None = None
    server_version: str | None = None

    @property
    def fresh_pass(self) -> bool:
        return self.state == "proven"

    def to_dict(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "state": self.state, "file": self.file, "detail": self.detail,
                "at": self.at, "server_version": self.server_version}

    def line(self) -> str:
        """Return e.g. "postgres proven (PostgreSQL 16.2, 2026-11-25T17:30:00Z)" or "mysql stale: ..."."""
        where = ", ".join(x for x in (self.server_version, self.at) if x)
        return f"{self.dialect} {self.state}" + (f" ({where})" if where else "") + (f": {self.detail}" if self.detail else "")


def proof_path(bundle: Bundle, dialect: str) -> Path:
    return bundle.path / PROOFS / f"{dialect}.json"


def proof_states(bundle: Bundle, cache: VerifyCache | None = None) -> list[ProofState]:
    """Return the proof state of every dialect of the bundle, then any proof file naming another dialect.

    `cache` may already know the bundle folder's listing, this run: then no `proofs/` there needs no look.
    """
    dialects = bundle.manifest["dialects"]
    listed = cache.folder(bundle.path).confirmed_names("") if cache is not None and cache.enabled else None
    if listed is not None and f"{PROOFS}/" not in listed:
        return [ProofState(dialect, "none", _label(bundle, dialect)) for dialect in dialects]
    folder = bundle.path / PROOFS
    if not folder.is_dir():  # most bundles of a long history: nothing to read or hash
        return [ProofState(dialect, "none", _label(bundle, dialect)) for dialect in dialects]
    digest = bundle.computed_digest  # recomputed: a hand-set digest field must not make a proof fresh
    states = [proof_state(bundle, dialect, digest) for dialect in dialects]
    for path in sorted(folder.glob("*.json")):
        if path.stem not in dialects and not path.name.startswith("."):
            states.append(ProofState(path.stem, "invalid", _label(bundle, path.stem),
                                     f"names no dialect of this bundle ({', '.join(dialects)})"))
    return states


def proof_state(bundle: Bundle, dialect: str, digest: str) -> ProofState:
    """Return the state of the bundle's proof on `dialect`, `digest` being the bundle's current digest."""
    label = _label(bundle, dialect)
    path = proof_path(bundle, dialect)
    if not path.exists() and not path.is_symlink():
        return ProofState(dialect, "none", label)
    try:
        record = read_json(path)
    except UnreadableJSON as why:
        return ProofState(dialect, "invalid", label, str(why))
    problem = proof_problem(record, bundle.id, dialect)
    if problem:
        return ProofState(dialect, "invalid", label, problem)
    seen = {"at": record["at"], "server_version": record["server_version"]}
    if record["digest"] != digest:
        why = f"proves digest {record['digest'][:12]}, the bundle is now {digest[:12]}: run `reviewkit prove` again"
        return ProofState(dialect, "stale", label, why, **seen)
    if record["result"] == "failed":
        return ProofState(dialect, "failed", label, _first_failure(record["steps"]), **seen)
    return ProofState(dialect, "proven", label, **seen)


def proof_summary(states: list[ProofState]) -> str:
    """Return the states in one line: "postgres proven, mysql stale, sqlite none"."""
    return ", ".join(f"{s.dialect} {s.state}" for s in states)


def _label(bundle: Bundle, dialect: str) -> str:
    return f"{bundle.id}/{PROOFS}/{dialect}.json"


def _first_failure(steps: list[dict[str, Any]]) -> str:
    for step in steps:
        if step["result"] == "failed":
            if step["error"]:
                return f"{step['name']} failed: {step['error'].get('message', '')}"
            count = len(step["differences"])
            return f"{step['name']} left {count} difference{'s' if count != 1 else ''}"
    return ""


# -- the record's shape -------------------------------------------------------------------


def proof_problem(record: Any, bundle_id: str, dialect: str) -> str:
    """Return why a parsed proof file is not a proof of this bundle on `dialect`, or ""."""
    if not isinstance(record, dict) or set(record) != set(_FIELDS):
        found = f"found {describe(record)}" if not isinstance(record, dict) else _field_difference(record, _FIELDS)
        return f"expected the fields {', '.join(sorted(_FIELDS))}; {found}"
    wrong = _wrong_type(record, _FIELDS)
    if wrong:
        return wrong
    if record["format"] != PROOF_FORMAT:
        return f"format {describe(record['format'])} is not supported (expected {PROOF_FORMAT})"
    for name, ok, shape in (
        ("bundle", record["bundle"] == bundle_id, f"this bundle's id {bundle_id}"),
        ("dialect", record["dialect"] == dialect, f"{dialect}, as the file's name says"),
        ("digest", is_sha256_hex(record["digest"]), "a sha256 (64 lowercase hex digits)"),
        ("result", record["result"] in ("proven", "failed"), "proven or failed"),
        ("at", is_utc_time(record["at"]), "a UTC time like 2026-11-25T17:30:00Z"),
    ):
        if not ok:
            return f"field {name!r} is not {shape}: {describe(record[name])}"
    if not encodes(record):
        return "a string holds a lone surrogate escape (\\ud800 to \\udfff), which is not text"
    return _steps_problem(record["steps"], record["result"])


def _steps_problem(steps: list[Any], result: str) -> str:
    """Return why the steps are malformed or contradict the result, or ""."""
    if not steps:
        return "field 'steps' is empty"
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not isinstance(step, dict) or set(step) != set(_STEP_FIELDS):
            found = f"found {describe(step)}" if not isinstance(step, dict) else _field_difference(step, _STEP_FIELDS)
            return f"{where}: expected the fields {', '.join(sorted(_STEP_FIELDS))}; {found}"
        wrong = _wrong_type(step, _STEP_FIELDS)
        if wrong:
            return f"{where}: {wrong}"
        if step["result"] not in STEP_RESULTS:
            return f"{where}: field 'result' is not one of {', '.join(STEP_RESULTS)}: {describe(step['result'])}"
        if any(not isinstance(d, dict) or set(d) != _DIFFERENCE_FIELDS for d in step["differences"]):
            return f"{where}: each difference needs exactly the fields {', '.join(sorted(_DIFFERENCE_FIELDS))}"
        if step["error"] is not None and not isinstance(step["error"].get("message"), str):
            return f"{where}: field 'error' needs a string 'message'"
    passed = all(step["result"] == "passed" and not step["differences"] and step["error"] is None for step in steps)
    if passed != (result == "proven"):
        return f"says {result} but its steps {'all passed' if passed else 'did not all pass'}"
    return ""


def _wrong_type(record: dict[str, Any], fields: dict[str, type | tuple[type, ...]]) -> str:
    for name, kind in fields.items():
        if not isinstance(record[name], kind) or isinstance(record[name], bool):
            return f"field {name!r} has the wrong type ({describe(record[name])})"
    return ""


def _field_difference(record: dict[str, Any], fields: dict[str, Any]) -> str:
    missing = [name for name in sorted(fields) if name not in record]
    unknown = [json.dumps(name) for name in sorted(record) if name not in fields]
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown[:3])}{more}"] if unknown else [])
    return "; ".join(parts)


# -- writing ------------------------------------------------------------------------------


def write_proof(bundle: Bundle, record: dict[str, Any]) -> Path:
    """Write `proofs/<dialect>.json` atomically, replacing the dialect's earlier proof."""
    return write_json(proof_path(bundle, record["dialect"]), record, "proof")
