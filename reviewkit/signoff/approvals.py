"""Approvals: a reviewer's Ed25519 signature over a bundle's id and digest, and the policy.

An approval is `approvals/<reviewer>.json` in the bundle folder:
`format`, `reviewer`, `fingerprint`, `bundle`, `digest`, `signed_at`, `comment` and
`signature`, the base64 Ed25519 signature of the message

    b"reviewkit-approval-v1\\n" + canonical JSON of every other field

(canonical: keys sorted, no whitespace, UTF-8). It binds the bundle's id and digest, so an
approval copied into another bundle, or kept across an edit, no longer counts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewkit.bundle.digest import APPROVALS, verify_files
from reviewkit.bundle.manifest import (
    BUNDLE_ID,
    UnreadableJSON,
    describe,
    encodes,
    is_sha256_hex,
    is_utc_time,
    json_from_bytes,
    read_json,
    write_json,
)
from reviewkit.bundle.proofs import proof_states
from reviewkit.bundle.store import Bundle
from reviewkit.config import Policy
from reviewkit.errors import IntegrityError, UsageError
from reviewkit.signoff.keys import fingerprint, valid_name, verify_signature
from reviewkit.signoff.reviewers import Reviewer, Reviewers, resolve_reviewers_path

if TYPE_CHECKING:  # cryptography is imported where a signature is made or checked
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from reviewkit.bundle.verify_cache import VerifyCache

__all__ = [
    "ApprovalCheck", "CountedApproval", "PolicyResult", "approval_message", "approve", "check_approvals",
    "evaluate_with", "find_signer", "missing_proofs", "needs_reviewers", "resolve_reviewers_path", "required_approvals",
]

APPROVAL_FORMAT = 1
MESSAGE_PREFIX = b"reviewkit-approval-v1\n"
_FIELDS = {"format": int, "reviewer": str, "fingerprint": str, "bundle": str, "digest": str, "signed_at": str, "comment": (str, type(None)), "signature": str}
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")  # OpenSSH's: unpadded base64 of 32 bytes
# What each text field must look like beyond being a string, and how a message says so.
_SHAPES: dict[str, tuple[Callable[[str], bool], str]] = {
    "reviewer": (valid_name, "a reviewer name (letters, digits, '.', '_', '-')"),
    "fingerprint": (lambda text: _FINGERPRINT.fullmatch(text) is not None, "an OpenSSH key fingerprint (SHA256:...)"),
    "bundle": (lambda text: BUNDLE_ID.fullmatch(text) is not None, "a bundle id"),
    "digest": (is_sha256_hex, "a sha256 (64 lowercase hex digits)"),
    "signed_at": (is_utc_time, "a UTC time like 2026-11-25T17:30:00Z"),
}
# Statuses that mean someone wrote or altered the file by hand: always a problem.
TAMPERED = ("bad signature", "wrong bundle", "malformed")


@dataclass(frozen=True)
class ApprovalCheck:
    """One approval file and what verifying it found."""

    file: str  # "<bundle>/approvals/<name>.json"
    reviewer: str | None
    fingerprint: str | None
    status: str  # valid, stale, unknown key, bad signature, wrong bundle, self-approval, duplicate key, malformed
    detail: str = ""

    def line(self) -> str:
        return f"{self.file}: {self.status}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class CountedApproval:
    reviewer: str
    fingerprint: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class PolicyResult:
    met: bool
    needed: int
    counted: list[CountedApproval] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    file_problems: list[str] = field(default_factory=list)  # also in problems
    checks: list[ApprovalCheck] = field(default_factory=list)
    missing_roles: list[str] = field(default_factory=list)
    shortfall: str | None = None  # the problem that says the policy is not met (also in problems)

    @property
    def flags(self) -> list[str]:
        """The problems of the approval files themselves (malformed, forged, unknown key): not the shortfall."""
        return [problem for problem in self.problems if problem != self.shortfall]

    def summary(self) -> str:
        """Return e.g. "2/2 (alice, bob)" or "1/2 (alice); missing 1 approval, role dba"."""
        names = ", ".join(c.reviewer for c in self.counted)
        text = f"{len(self.counted)}/{self.needed}" + (f" ({names})" if names else "")
        short = max(self.needed - len(self.counted), 0)
        missing = ([f"{short} approval" + ("s" if short > 1 else "")] if short else []) + [f"role {r}" for r in self.missing_roles]
        # Approvals that do not count, by why: "stale: alice" tells a reviewer to sign again.
        ignored: dict[str, list[str]] = {}
        for check in self.checks:
            if check.status != "valid":
                ignored.setdefault(check.status, []).append(check.reviewer or check.file.rsplit("/", 1)[-1])
        notes = [f"{status}: {', '.join(names)}" for status, names in ignored.items()]
        return text + (f"; missing {', '.join(missing)}" if missing else "") + "".join(f"; {n}" for n in notes)


# -- the signed message -----------------------------------------------------------------


def approval_message(record: dict[str, Any]) -> bytes:
    """Return the bytes an approval's signature covers: the prefix and every field but `signature`."""
    body = {k: v for k, v in record.items() if k != "signature"}
    return MESSAGE_PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_approval(bundle: Bundle, key: Ed25519PrivateKey, reviewer: str, comment: str | None) -> dict[str, Any]:
    """Return a signed approval record of `bundle` by `reviewer`."""
    record: dict[str, Any] = {
        "format": APPROVAL_FORMAT,
        "reviewer": reviewer,
        "fingerprint": fingerprint(key),
        "bundle": bundle.id,
        "digest": bundle.digest,
        "signed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "comment": comment,
    }
    record["signature"] = base64.b64encode(key.sign(approval_message(record))).decode("ascii")
    return record


# -- approving --------------------------------------------------------------------------


def find_signer(reviewers: Reviewers, key: Ed25519PrivateKey, as_name: str | None) -> Reviewer:
    """Return the reviewer the key belongs to; `as_name` picks one when several share it."""
    fp = fingerprint(key)
    owners = reviewers.with_key(fp)
    where = reviewers.path.name
    if as_name is not None:
        chosen = [r for r in owners if r.name == as_name]
        if not chosen:
            why = f"has no [reviewers.{as_name}]" if reviewers.get(as_name) is None else f"does not list this key under [reviewers.{as_name}]"
            raise IntegrityError(f"key {fp}: {where} {why}")
        return chosen[0]
    if not owners:
        raise IntegrityError(f"key {fp} is not listed in {where} ({reviewers.path}); add it under [reviewers.NAME] first")
    if len(owners) > 1:
        names = ", ".join(r.name for r in owners)
        raise UsageError(f"key {fp} is listed for several reviewers ({names}); pick one with --as NAME")
    return owners[0]


def approve(
    bundle: Bundle,
    key: Ed25519PrivateKey,
    reviewers: Reviewers,
    policy: Policy,
    *,
    as_name: str | None = None,
    comment: str | None = None,
    confirm: Callable[[Bundle, Reviewer], bool] = lambda bundle, reviewer: True,
) -> Path | None:
    """Check, ask `confirm`, then sign `bundle` and write its approval file; None when declined."""
    problems = verify_files(bundle.path, bundle.manifest)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise IntegrityError(f"{problems[0]}{more}; not approving: run `reviewkit verify` or `reviewkit seal`")
    reviewer = find_signer(reviewers, key, as_name)
    if not policy.self_approval and reviewer.is_author(bundle.manifest["author"]):
        raise IntegrityError(f"{bundle.id}: {reviewer.name} is the bundle's author ({bundle.manifest['author']}); self-approval is off in [policy]")
    lacking = missing_proofs(bundle, policy)
    if lacking:
        raise IntegrityError(lacking)
    if not confirm(bundle, reviewer):
        return None
    record = sign_approval(bundle, key, reviewer.name, comment)
    return write_approval(bundle, record)


def missing_proofs(bundle: Bundle, policy: Policy) -> str | None:
    """Return why `[policy] require_proof` refuses the bundle, or None when every required proof is fresh and passing.

    A required dialect the bundle carries no scripts for cannot be proven, and needs no proof.
    """
    required = [d for d in policy.require_proof if d in bundle.manifest["dialects"]]
    if not required:
        return None
    states = {state.dialect: state for state in proof_states(bundle)}
    lacking = [states[d] for d in required if not states[d].fresh_pass]
    if not lacking:
        return None
    found = "; ".join(f"{s.dialect} {s.state}" + (f" ({s.detail})" if s.detail else "") for s in lacking)
    return (f"{bundle.id}: [policy] require_proof needs a fresh passing proof on {', '.join(s.dialect for s in lacking)}, "
            f"found {found}; run `reviewkit prove {bundle.number}` first")


def write_approval(bundle: Bundle, record: dict[str, Any]) -> Path:
    """Write `approvals/<reviewer>.json` atomically, replacing the reviewer's earlier approval."""
    return write_json(bundle.path / APPROVALS / f"{record['reviewer']}.json", record, "approval")


# -- checking ---------------------------------------------------------------------------


def approval_files(bundle: Bundle, cache: VerifyCache | None = None) -> list[Path]:
    """Return the bundle's approval files (`approvals/*.json`), sorted; `cache` may recall the folder's listing."""
    folder = bundle.path / APPROVALS
    if cache is None:
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".") and p.is_file())
    names = cache.folder(bundle.path).names(APPROVALS) or []
    return [folder / name for name in names if name.endswith(".json") and not name.startswith(".")]  # no "/": a file


def check_approvals(bundle: Bundle, reviewers: Reviewers, policy: Policy, cache: VerifyCache | None = None) -> list[ApprovalCheck]:
    """Check every approval file of `bundle` against the reviewers, the bundle and the policy."""
    digest = bundle.computed_digest  # recomputed: a hand-set digest field must not help
    cache = cache if cache is not None and cache.enabled else None
    return [check_approval(bundle, path, digest, reviewers, policy, cache) for path in approval_files(bundle, cache)]


def check_approval(bundle: Bundle, path: Path, digest: str, reviewers: Reviewers, policy: Policy,
                   cache: VerifyCache | None = None) -> ApprovalCheck:
    """Return the status of one approval file.

    `cache` recalls approvals an earlier run found signed, by a listed key, for this bundle
    and digest (the policy's self-approval rule is applied again), and signatures verified.
    """
    label = f"{bundle.id}/{APPROVALS}/{path.name}"
    signer = _known_signer(bundle, path, digest, reviewers, cache) if cache is not None else None
    if signer is not None:
        return _judged(bundle, label, signer[0], signer[1], policy)
    record, signature, why, sha = _read_record(bundle, path, cache)
    if record is None:
        return ApprovalCheck(label, None, None, "malformed", why)
    name, fp = record["reviewer"], record["fingerprint"]

    def result(status: str, detail: str = "") -> ApprovalCheck:
        return ApprovalCheck(label, name, fp, status, detail)

    if path.stem != name:
        return result("malformed", f"names reviewer {name!r} but is not approvals/{name}.json")
    reviewer = reviewers.get(name)
    line = reviewer.key_for(fp) if reviewer else None
    if line is None:
        where = reviewers.path.name
        detail = f"{where} has no [reviewers.{name}]" if reviewer is None else f"{where}: [reviewers.{name}] does not list key {fp}"
        return result("unknown key", detail)
    if not verify_signature(line, signature, approval_message(record), cache):
        return result("bad signature", f"the signature does not match {name}'s key {fp} and the file's contents")
    if record["bundle"] != bundle.id:
        return result("wrong bundle", f"signed for bundle {record['bundle']}, not {bundle.id} (copied from another bundle?)")
    if record["digest"] != digest:
        return result("stale", f"{name} signed digest {record['digest'][:12]}, the bundle is now {digest[:12]}; approve again")
    if cache is not None and sha is not None:
        cache.remember(*_signed_fact(sha, bundle, digest, name, fp))
    return _judged(bundle, label, reviewer, fp, policy)


def _judged(bundle: Bundle, label: str, reviewer: Reviewer, fp: str, policy: Policy) -> ApprovalCheck:
    """Return the status of an approval signed by `reviewer`'s key `fp` for this bundle and digest: the policy's word."""
    if not policy.self_approval and reviewer.is_author(bundle.manifest["author"]):
        return ApprovalCheck(label, reviewer.name, fp, "self-approval", f"{reviewer.name} is the bundle's author ({bundle.manifest['author']})")
    return ApprovalCheck(label, reviewer.name, fp, "valid")


def _signed_fact(sha: str, bundle: Bundle, digest: str, name: str, fp: str) -> tuple[bytes, ...]:
    """What the cache keeps of an approval found good: these bytes sign this bundle and digest by this reviewer's key."""
    return b"approval", bytes.fromhex(sha), bundle.id.encode(), digest.encode(), name.encode(), fp.encode()


def _known_signer(bundle: Bundle, path: Path, digest: str, reviewers: Reviewers, cache: VerifyCache) -> tuple[Reviewer, str] | None:
    """Return the reviewer and key of an approval file unchanged since a run found it good, else None."""
    reviewer = reviewers.get(path.stem)
    if reviewer is None:
        return None
    try:
        sha = cache.folder(bundle.path).kept_sha256(f"{APPROVALS}/{path.name}")
    except OSError:
        return None
    if sha is None:
        return None
    for fp in reviewer.fingerprints:
        if cache.known(*_signed_fact(sha, bundle, digest, reviewer.name, fp)):
            return reviewer, fp
    return None


def _read_record(bundle: Bundle, path: Path, cache: VerifyCache | None = None) -> tuple[dict[str, Any] | None, bytes, str, str | None]:
    """Return the approval record, its raw signature and the sha256 of its bytes, or None and why the file is malformed."""
    sha = None
    try:
        if cache is None:
            record = read_json(path)
        else:
            try:
                data, sha = cache.folder(bundle.path).read_bytes(f"{APPROVALS}/{path.name}")
            except OSError:
                record = read_json(path)  # it names why the file cannot be read
            else:
                record = json_from_bytes(data)
    except UnreadableJSON as why:
        return None, b"", str(why), None
    why = _record_problem(record)
    if why:
        return None, b"", why, None
    try:
        return record, base64.b64decode(record["signature"], validate=True), "", sha
    except binascii.Error:
        return None, b"", "the signature is not base64", None


def _field_difference(record: Any) -> str:
    """Return what a record has instead of the approval fields: "missing digest; unknown "sig"", or its type."""
    if not isinstance(record, dict):
        return f"found {describe(record)}"
    missing = [name for name in sorted(_FIELDS) if name not in record]
    unknown = [json.dumps(name) for name in sorted(record) if name not in _FIELDS]  # quoted: a key may hold anything
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    return "; ".join(([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown[:3])}{more}"] if unknown else []))


def _record_problem(record: Any) -> str:
    """Return why a parsed approval record is malformed, or "" when its fields have the right shapes."""
    if not isinstance(record, dict) or set(record) != set(_FIELDS):
        return f"expected the fields {', '.join(sorted(_FIELDS))}; {_field_difference(record)}"
    for name, kind in _FIELDS.items():
        if not isinstance(record[name], kind) or isinstance(record[name], bool):
            return f"field {name!r} has the wrong type ({describe(record[name])})"
    if record["format"] != APPROVAL_FORMAT:
        return f"format {describe(record['format'])} is not supported (expected {APPROVAL_FORMAT})"
    for name, (looks_right, shape) in _SHAPES.items():
        if not looks_right(record[name]):
            return f"field {name!r} is not {shape}: {describe(record[name])}"
    if not encodes(record):
        return "a string holds a lone surrogate escape (\\ud800 to \\udfff), which is not text"
    return ""


# -- the policy -------------------------------------------------------------------------


def required_approvals(bundle: Bundle, policy: Policy) -> int:
    """Return how many approvals the bundle needs: the high-risk count when its risk is high."""
    if bundle.risk_level == "high":
        return max(policy.approvals, policy.high_risk_approvals)
    return policy.approvals


def needs_reviewers(bundle: Bundle, policy: Policy) -> bool:
    """Return whether checking the bundle needs the reviewers file (a project may require no approvals)."""
    return required_approvals(bundle, policy) > 0 or bool(policy.required_roles) or bool(approval_files(bundle))


def evaluate_with(
    bundle: Bundle, policy: Policy, reviewers: Reviewers | None, file_problems: list[str] | None = None,
    cache: VerifyCache | None = None,
) -> PolicyResult:
    """Return whether the bundle's files hold and its valid approvals meet the policy.

    Approvals count once per key (a reviewer has one approval file). A tampered approval file (bad
    signature, wrong bundle, malformed) is always a problem; approvals that merely do not
    count (stale, unknown key, self-approval, duplicate key) are problems only when the policy falls short.
    A caller that has just checked the bundle's files passes what it found as `file_problems`,
    so that no file is read and hashed twice. `cache` spares reading and verifying again what
    an earlier run found unchanged and valid.
    """
    needed = required_approvals(bundle, policy)
    files = verify_files(bundle.path, bundle.manifest, cache, bundle.computed_digest) if file_problems is None else file_problems
    result = PolicyResult(met=False, needed=needed, problems=list(files), file_problems=files)
    result.checks = check_approvals(bundle, reviewers, policy, cache) if reviewers else []
    result.checks, result.counted = _count(result.checks)
    roles = {role for c in result.counted for role in reviewers.get(c.reviewer).roles} if reviewers else set()
    result.missing_roles = [r for r in policy.required_roles if r not in roles]
    short = len(result.counted) < needed or bool(result.missing_roles)
    result.problems += [c.line() for c in result.checks if c.status in TAMPERED or (short and c.status != "valid")]
    if short:
        result.shortfall = _shortfall(bundle, result)
        result.problems.append(result.shortfall)
    result.met = not result.problems
    return result


def _count(checks: list[ApprovalCheck]) -> tuple[list[ApprovalCheck], list[CountedApproval]]:
    """Count valid approvals once per key: reviewers sharing a key are one signer."""
    by_key: dict[str, str] = {}
    counted, result = [], []
    for check in checks:
        if check.status == "valid" and check.fingerprint in by_key:
            detail = f"key {check.fingerprint} already counts for {by_key[check.fingerprint]}"
            check = replace(check, status="duplicate key", detail=detail)
        elif check.status == "valid":
            by_key[check.fingerprint] = check.reviewer
            counted.append(CountedApproval(check.reviewer, check.fingerprint))
        result.append(check)
    return result, counted


def _shortfall(bundle: Bundle, result: PolicyResult) -> str:
    risk = f" (risk {bundle.risk_level})" if bundle.risk_level == "high" else ""
    return f"{bundle.id}: policy not met{risk}: {result.summary()}"
