"""The manifest of a format-1 bundle, checked field by field before anything trusts it.

`check_manifest` is the one gate: a field of the wrong type, an unknown field, or fields
that contradict each other is an IntegrityError naming the manifest file and the field,
never a TypeError three modules later. Format 1 has exactly the fields of `_FIELDS`, and
may have those of `_OPTIONAL` (`baseline`, `online`, `replaces`); a new required field means a new format. The JSON rules (`read_json`) and the shapes of digests and
times serve the approval files as well.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from reviewkit.dialects import dialect_names
from reviewkit.errors import IntegrityError, OperationFailed
from reviewkit.plural import counted

BUNDLE_FORMAT = 1
RISK_LEVELS = ("low", "medium", "high")
BUNDLE_ID = re.compile(r"[0-9]{4,}_[a-z0-9_]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_UTC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|\+00:00)")
_FINDING_FIELDS = {"level", "code", "message", "operation", "dialect", "help", "statement", "line", "table", "allowed"}


class _Wrong(Exception):
    """A field's value is wrong: `reason` says how, `at` where inside the field (`[2].op`)."""

    def __init__(self, reason: str, at: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.at = at


# -- JSON and the shapes shared with approval files ---------------------------------------


class UnreadableJSON(Exception):
    """A JSON file that is missing, unreadable or not strict JSON; the text says which, for a message."""


def read_json(path: Path) -> Any:
    """Return the parsed JSON file, or raise UnreadableJSON saying why not (never a traceback's worth)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableJSON("missing") from None
    except OSError as err:
        raise UnreadableJSON(f"cannot read it ({err.strerror or err})") from None
    return json_from_bytes(data)


def json_from_bytes(data: bytes) -> Any:
    """Return the parsed strict JSON of a file's bytes, or raise UnreadableJSON saying why not."""
    try:
        return parse_json(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise UnreadableJSON(f"not UTF-8 text (byte {err.object[err.start]:#04x} at offset {err.start})") from None
    except ValueError as err:  # JSONDecodeError, a duplicate key, or an integer of more than 4300 digits
        raise UnreadableJSON(f"not valid JSON ({str(err).split(';')[0]})") from None
    except RecursionError:
        raise UnreadableJSON("not valid JSON (arrays or objects nested too deeply)") from None


def write_json(target: Path, record: Any, what: str) -> Path:
    """Write `record` as `target` atomically (a temporary file renamed over it), or raise naming `what` it is.

    For the evidence added to a bundle after it is sealed (approvals, proofs): a reader never
    sees half a file, and an earlier one stays whole until the new one is complete.
    """
    temp = None
    try:
        target.parent.mkdir(exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as err:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)
        raise OperationFailed(f"{target}: cannot write the {what} ({err.strerror or err})") from None
    return target


def parse_json(text: str) -> Any:
    """Parse strict JSON: refuse duplicate keys (an editor shows the first, json the last) and NaN.

    Raise ValueError (a too long integer, a duplicate key) or RecursionError (nesting too deep).
    """
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {json.dumps(key)} appears twice in one object")
        found[key] = value
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def encodes(value: Any) -> bool:
    """Return whether every string in `value` is valid Unicode: JSON's \\ud800 escape is not, and UTF-8 refuses it."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_sha256_hex(value: Any) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def is_utc_time(value: Any) -> bool:
    """Return whether `value` is an ISO 8601 UTC time as reviewkit writes it: 2026-11-25T17:30:00Z."""
    if not isinstance(value, str) or not _UTC_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)  # refuses month 13, February 30, hour 24
    except ValueError:
        return False
    return True


def describe(value: Any) -> str:
    """Return how a JSON value reads in a message: `null`, `12`, `the string "high"`, `an array`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = json.dumps(value[:40]) + ("..." if len(value) > 40 else "")  # escaped: one line, ASCII
        return f"the string {shown}"
    if isinstance(value, int):
        return str(value) if abs(value) < 10**12 else f"a {len(str(abs(value)))}-digit number"
    if isinstance(value, float):
        return repr(value)
    return "an array" if isinstance(value, list) else "an object"


# -- the fields -------------------------------------------------------------------------


def _format(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Wrong(f"must be the number {BUNDLE_FORMAT}, not {describe(value)}")
    if value != BUNDLE_FORMAT:
        raise _Wrong(f"{describe(value)} is not supported (this reviewkit reads format {BUNDLE_FORMAT})")


def _bundle_id(value: Any) -> None:
    if not isinstance(value, str) or not BUNDLE_ID.fullmatch(value):
        raise _Wrong(f"must be a bundle id like 0002_add_email, not {describe(value)}")


def _parent(value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not BUNDLE_ID.fullmatch(value)):
        raise _Wrong(f"must be null or a bundle id like 0001_initial, not {describe(value)}")


def _created_at(value: Any) -> None:
    if not is_utc_time(value):
        raise _Wrong(f"must be a UTC time like 2026-11-25T17:30:00Z, not {describe(value)}")


def _author(value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _Wrong(f"must be a non-empty string (Name <email>, email or name), not {describe(value)}")


def _generator(value: Any) -> None:
    if not isinstance(value, str):
        raise _Wrong(f"must be a string (the reviewkit version), not {describe(value)}")


def _dialects(value: Any) -> None:
    known = dialect_names()
    if not isinstance(value, list) or not value:
        raise _Wrong(f"must be a non-empty array of dialect names ({', '.join(known)}), not {describe(value)}")
    for index, name in enumerate(value):
        if name not in known:  # also refuses non-strings: the names are strings
            raise _Wrong(f"must be a dialect name ({', '.join(known)}), not {describe(name)}", f"[{index}]")
        if name in value[:index]:
            raise _Wrong(f"repeats {json.dumps(name)}", f"[{index}]")


def _operations(value: Any) -> None:
    """Check the dialect-neutral operations: each names its kind and table; the rest describes it."""
    if not isinstance(value, list):
        raise _Wrong(f"must be an array of operations, not {describe(value)}")
    for index, op in enumerate(value):
        if not isinstance(op, dict):
            raise _Wrong(f"must be an object with op and table, not {describe(op)}", f"[{index}]")
        for key in ("op", "table"):
            if not isinstance(op.get(key), str):
                raise _Wrong(f"must be a string, not {describe(op.get(key)) if key in op else 'missing'}", f"[{index}].{key}")


def _risk(value: Any) -> None:
    if not isinstance(value, dict) or set(value) != {"level", "findings"}:
        found = f"the fields {', '.join(map(json.dumps, sorted(value)))}" if isinstance(value, dict) else describe(value)
        raise _Wrong(f"must be an object with exactly level and findings, not {found}")
    if value["level"] not in RISK_LEVELS:
        raise _Wrong(f"must be one of {', '.join(RISK_LEVELS)}, not {describe(value['level'])}", ".level")
    if not isinstance(value["findings"], list):
        raise _Wrong(f"must be an array, not {describe(value['findings'])}", ".findings")
    for index, finding in enumerate(value["findings"]):
        try:
            _finding(finding)
        except _Wrong as wrong:
            raise _Wrong(wrong.reason, f".findings[{index}]{wrong.at}") from None


def _finding(value: Any) -> None:
    if not isinstance(value, dict):
        raise _Wrong(f"must be an object with level, code and message, not {describe(value)}")
    unknown = sorted(set(value) - _FINDING_FIELDS)
    if unknown:
        raise _Wrong(f"has an unknown field {json.dumps(unknown[0])} (known: {', '.join(sorted(_FINDING_FIELDS))})")
    if value.get("level") not in RISK_LEVELS:
        raise _Wrong(f"must be one of {', '.join(RISK_LEVELS)}, not {_shown(value, 'level')}", ".level")
    for key in ("code", "message"):
        if not isinstance(value.get(key), str):
            raise _Wrong(f"must be a string, not {_shown(value, key)}", f".{key}")
    for key in ("help", "allowed"):
        if key in value and not isinstance(value[key], str):
            raise _Wrong(f"must be a string, not {describe(value[key])}", f".{key}")
    # A finding of a statement that belongs to no operation (an online script's SET, a hand
    # edit sealed) has no operation.
    for key, what in (("operation", "an operation's index (0, 1, ...)"), ("statement", "a statement number (1, 2, ...)"),
                      ("line", "a line number (1, 2, ...)")):
        number = value.get(key)
        if key in value and (isinstance(number, bool) or not isinstance(number, int) or number < (0 if key == "operation" else 1)):
            raise _Wrong(f"must be {what}, not {describe(number)}", f".{key}")
    for key in ("dialect", "table"):
        if key in value and not isinstance(value[key], str):
            raise _Wrong(f"must be a {'dialect' if key == 'dialect' else 'table'} name, not {describe(value[key])}", f".{key}")


def _shown(record: dict[str, Any], key: str) -> str:
    return describe(record[key]) if key in record else "missing"


def _files(value: Any) -> None:
    if not isinstance(value, dict):
        raise _Wrong(f"must be an object mapping paths to sha256 hex digests, not {describe(value)}")
    for rel, digest in value.items():
        if not path_stays_inside(rel):
            raise _Wrong("leaves the bundle folder", f"[{json.dumps(rel)}]")
        if not rel.isprintable():  # a path with a line break would split every message naming it
            raise _Wrong("is not a printable path", f"[{json.dumps(rel)}]")
        if not is_sha256_hex(digest):
            raise _Wrong(f"must be a sha256 (64 lowercase hex digits), not {describe(digest)}", f"[{json.dumps(rel)}]")


def path_stays_inside(rel: str) -> bool:
    """Return whether a manifest path names a file inside the bundle folder."""
    pure = PurePosixPath(rel)
    return bool(rel) and not (pure.is_absolute() or ".." in pure.parts or "\\" in rel or rel.startswith("~") or "\0" in rel)


def _digest(value: Any) -> None:
    if not is_sha256_hex(value):
        raise _Wrong(f"must be a sha256 (64 lowercase hex digits), not {describe(value)}")


_FIELDS: dict[str, Callable[[Any], None]] = {
    "format": _format,
    "id": _bundle_id,
    "parent": _parent,
    "created_at": _created_at,
    "author": _author,
    "generator": _generator,
    "dialects": _dialects,
    "operations": _operations,
    "risk": _risk,
    "files": _files,
    "digest": _digest,
}
FIELDS = tuple(_FIELDS)


def _baseline(value: Any) -> None:
    if value is not True:
        raise _Wrong(f"must be true when present (a bundle that records an existing schema), not {describe(value)}")


def _online(value: Any) -> None:
    if value is not True:
        raise _Wrong(f"must be true when present (a bundle written in the lock-safe forms of generate --online, "
                     f"run statement by statement), not {describe(value)}")


def _replaces(value: Any) -> None:
    """Check a squash's list of the bundles it replaces: two or more, each its id and digest, in chain order."""
    if not isinstance(value, list) or len(value) < 2:
        raise _Wrong(f"must be an array of two or more {{\"id\", \"digest\"}} objects (the bundles a squash replaces), "
                     f"not {describe(value) if not isinstance(value, list) else f'{len(value)} of them'}")
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"id", "digest"}:
            found = f"the fields {', '.join(map(json.dumps, sorted(item)))}" if isinstance(item, dict) else describe(item)
            raise _Wrong(f"must be an object with exactly id and digest, not {found}", f"[{index}]")
        try:
            _bundle_id(item["id"])
        except _Wrong as wrong:
            raise _Wrong(wrong.reason, f"[{index}].id") from None
        if not is_sha256_hex(item["digest"]):
            raise _Wrong(f"must be a sha256 (64 lowercase hex digits), not {describe(item['digest'])}", f"[{index}].digest")
        if index and _number(item["id"]) <= _number(value[index - 1]["id"]):
            raise _Wrong(f"{item['id']} does not come after {value[index - 1]['id']}: the bundles replaced are listed in "
                         "the order of their chain", f"[{index}].id")


def _number(bundle_id: str) -> int:
    return int(bundle_id.split("_", 1)[0])


# Fields a manifest may leave out: format 1 readers before them never met them.
_OPTIONAL: dict[str, Callable[[Any], None]] = {"baseline": _baseline, "online": _online, "replaces": _replaces}


# -- the whole manifest -----------------------------------------------------------------


def check_manifest(manifest: Any, folder: str, where: str) -> dict[str, Any]:
    """Return `manifest` when it is a valid format-1 manifest of bundle folder `folder`.

    Raise IntegrityError naming `where` (the manifest file) and the field otherwise.
    """
    if not isinstance(manifest, dict):
        raise IntegrityError(f"{where}: not a JSON object but {describe(manifest)}")
    if not encodes(manifest):
        raise IntegrityError(f"{where}: a string holds a lone surrogate escape (\\ud800 to \\udfff), which is not text")
    missing = [k for k in _FIELDS if k not in manifest]
    if missing:
        raise IntegrityError(f"{where}: missing field {missing[0]!r}")
    unknown = sorted(set(manifest) - set(_FIELDS) - set(_OPTIONAL))
    if unknown:
        raise IntegrityError(f"{where}: unknown field {json.dumps(unknown[0])} (format {BUNDLE_FORMAT} has exactly: "
                             f"{', '.join(_FIELDS)}, and may have {', '.join(_OPTIONAL)})")
    for name, check in {**_FIELDS, **_OPTIONAL}.items():
        if name not in manifest:
            continue
        try:
            check(manifest[name])
        except _Wrong as wrong:
            raise IntegrityError(f"{where}: {name}{wrong.at} {wrong.reason}") from None
    problem = _contradiction(manifest, folder)
    if problem:
        raise IntegrityError(f"{where}: {problem}")
    return manifest


def _contradiction(manifest: dict[str, Any], folder: str) -> str | None:
    """Return how well-typed fields contradict each other or the folder, if they do."""
    if manifest["id"] != folder:
        return f"id {manifest['id']!r} does not match its folder {folder!r}"
    replaced = [item["id"] for item in manifest.get("replaces", ())]
    for name in (manifest["id"], manifest["parent"]):
        if name in replaced:
            return f"replaces lists {name}, the squash's own {'id' if name == manifest['id'] else 'parent'}"
    for dialect in manifest["dialects"]:
        for direction in ("up", "down"):
            if f"{dialect}/{direction}.sql" not in manifest["files"]:
                return f"dialects lists {dialect} but files has no {dialect}/{direction}.sql"
    findings = manifest["risk"]["findings"]
    for index, finding in enumerate(findings):
        where = f"risk.findings[{index}]"
        if finding.get("operation", -1) >= len(manifest["operations"]):
            return f"{where}.operation {finding['operation']} is past the last of its {counted(len(manifest['operations']), 'operation')}"
        if finding.get("dialect", manifest["dialects"][0]) not in manifest["dialects"]:
            return f"{where}.dialect {json.dumps(finding['dialect'])} is not one of the bundle's dialects ({', '.join(manifest['dialects'])})"
    highest = max((RISK_LEVELS.index(f["level"]) for f in findings), default=0)
    if RISK_LEVELS.index(manifest["risk"]["level"]) < highest:
        # The level decides how many approvals a bundle needs: it must not hide a finding.
        return f"risk.level {manifest['risk']['level']!r} is below its highest finding's level {RISK_LEVELS[highest]!r}"
    return None
