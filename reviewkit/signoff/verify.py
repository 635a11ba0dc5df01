"""`reviewkit verify`: checksums, digest, signatures and policy, bundle by bundle; and proofs.

Proofs are evidence, not part of the policy: a bundle without a fresh proof verifies
(`approve` is where `[policy] require_proof` refuses), but a proof file that is not a
proof (`invalid`) is a problem, like a malformed approval: someone wrote it by hand.

The report is plain data: callers may append problems of their own (the ledger's, for
`verify --database`) to a bundle's `problems` or to the report's, before rendering it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from reviewkit.bundle.judging import judge_beside
from reviewkit.bundle.proofs import ProofState, proof_states
from reviewkit.bundle.store import Bundle, find_bundle, load_bundles, replaced_problems
from reviewkit.bundle.verify_cache import VerifyCache, open_cache
from reviewkit.config import Settings
from reviewkit.signoff.approvals import PolicyResult, evaluate_with, needs_reviewers
from reviewkit.signoff.reviewers import Reviewers, load_reviewers, resolve_reviewers_path


@dataclass
class BundleReport:
    bundle: Bundle
    policy: PolicyResult
    problems: list[str] = field(default_factory=list)  # the policy's, then any a caller appends
    proofs: list[ProofState] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        b, p = self.bundle, self.policy
        return {
            "id": b.id,
            "risk": b.risk_level,
            "digest": b.digest,
            "digest_computed": b.computed_digest,
            "files": len(b.manifest["files"]),
            "approvals": [
                {"file": c.file, "reviewer": c.reviewer, "fingerprint": c.fingerprint, "status": c.status, "detail": c.detail}
                for c in p.checks
            ],
            "policy": {
                "met": p.met,
                "needed": p.needed,
                "counted": [c.to_dict() for c in p.counted],
                "missing_roles": p.missing_roles,
                "summary": p.summary(),
            },
            "proofs": [proof.to_dict() for proof in self.proofs],
            "ok": self.ok,
            "problems": self.problems,
        }


@dataclass
class VerifyReport:
    reviewers_file: Path
    bundles: list[BundleReport]
    problems: list[str] = field(default_factory=list)  # problems of no single bundle
    chain: list[Bundle] = field(default_factory=list)  # every bundle, in order, also when one was verified

    @property
    def ok(self) -> bool:
        return not self.problems and all(b.ok for b in self.bundles)

    def all_problems(self) -> list[str]:
        return [p for b in self.bundles for p in b.problems] + self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reviewers_file": str(self.reviewers_file),
            "bundles": [b.to_dict() for b in self.bundles],
            "problems": self.all_problems(),
        }


def verify_bundles(settings: Settings, ref: str | None = None, reviewers: str | None = None, use_cache: bool = True,
                   also: Callable[[list[Bundle]], list[str]] | None = None) -> VerifyReport:
    """Verify the bundle `ref` (all bundles when None) against the reviewers file and the policy.

    `use_cache` False (`--no-cache`) reads and checks everything again, keeping what it finds.
    `also` finds problems of no single bundle, given the whole chain (a database's ledger,
    for `verify --database`): it runs while the bundles are judged (`judge_beside`).
    """
    cache = open_cache(settings.root, settings.bundles_dir)
    with cache.distrusted() if not use_cache else nullcontext():
        chain = bundles = load_bundles(settings.bundles_dir, cache)
        if ref is not None:
            bundles = [find_bundle(chain, ref)]
        path = resolve_reviewers_path(settings, reviewers)
        trusted = load_reviewers(path) if any(needs_reviewers(b, settings.policy) for b in bundles) else None
        judged = partial(_verdict, settings=settings, reviewers=trusted, cache=cache)
        verdicts, problems = judge_beside(bundles, judged, cache, partial(also or (lambda _: []), chain))
        report = VerifyReport(path, [BundleReport(b, *verdict) for b, verdict in zip(bundles, verdicts, strict=True)],
                              problems, chain)
    cache.save(complete=ref is None)
    return report


def _verdict(bundle: Bundle, settings: Settings, reviewers: Reviewers | None,
             cache: VerifyCache | None = None) -> tuple[PolicyResult, list[str], list[ProofState]]:
    """Return what a BundleReport says of `bundle` beside the bundle itself: the policy, the problems, the proofs.

    Its files, its approvals and the policy; the bundle is left out, as a forked child sends this back.
    """
    policy = evaluate_with(bundle, settings.policy, reviewers, cache=cache)
    proofs = proof_states(bundle, cache)
    invalid = [f"{proof.file}: not a valid proof: {proof.detail}" for proof in proofs if proof.state == "invalid"]
    # A squash: the replaced bundles still here must be the ones its `replaces` names.
    return policy, list(policy.problems) + invalid + replaced_problems(bundle, cache), proofs

