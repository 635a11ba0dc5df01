"""The approval gate `apply` and `status` pass each bundle through: its policy, evaluated once.

`apply` refuses a bundle the gate does not let through and records the approvals that
counted in the ledger; `status` shows the gate's summary. A project whose policy needs
no approval at all (a development database) gets a gate that reads no reviewers file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reviewkit.bundle.store import Bundle
from reviewkit.config import Policy, Settings
from reviewkit.errors import IntegrityError

if TYPE_CHECKING:  # cryptography is imported only when some bundle needs a signature checked
    from reviewkit.bundle.verify_cache import VerifyCache
    from reviewkit.signoff.approvals import PolicyResult
    from reviewkit.signoff.reviewers import Reviewers


class OpenGate:
    """No sign-off required: every bundle passes, no approval is read."""

    def check(self, bundle: Bundle) -> None:
        return None

    def approvals(self, bundle: Bundle) -> list[dict[str, str]]:
        return []

    def summary(self, bundle: Bundle) -> str | None:
        return None

    def problems(self, bundle: Bundle) -> list[str]:
        return []

    def flags(self, bundle: Bundle) -> list[str]:
        return []


class PolicyGate:
    """The policy of [policy], checked against the trusted reviewers file."""

    def __init__(self, policy: Policy, reviewers_path: Path, cache: VerifyCache | None = None) -> None:
        self.policy = policy
        self.reviewers_path = reviewers_path
        self.cache = cache  # signatures verified by an earlier run
        self._reviewers: Reviewers | None = None  # read once for all bundles, and only if one needs it
        self._results: dict[str, PolicyResult] = {}

    def result(self, bundle: Bundle) -> PolicyResult:
        from reviewkit.signoff.approvals import evaluate_with, needs_reviewers
        from reviewkit.signoff.reviewers import load_reviewers

        if bundle.id not in self._results:
            if self._reviewers is None and needs_reviewers(bundle, self.policy):
                self._reviewers = load_reviewers(self.reviewers_path)
            # apply has verified the bundle's files before it asks, and status shows their
            # problems as flags: hashing every file again here would read it twice.
            self._results[bundle.id] = evaluate_with(bundle, self.policy, self._reviewers, file_problems=[], cache=self.cache)
        return self._results[bundle.id]

    def problems(self, bundle: Bundle) -> list[str]:
        """Return why the bundle does not pass: each names the bundle and the file or the shortfall.

        The one judgement `apply` refuses on, `verify` reports and `status --check` fails on.
        """
        return self.result(bundle).problems

    def flags(self, bundle: Bundle) -> list[str]:
        """Return the problems of the bundle's approval files (malformed, forged): `status` flags them."""
        return self.result(bundle).flags

    def check(self, bundle: Bundle) -> None:
        """Refuse (exit 3) a bundle whose approvals do not meet the policy."""
        problems = self.problems(bundle)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise IntegrityError(problems[0] + more)

    def approvals(self, bundle: Bundle) -> list[dict[str, str]]:
        """Return the approvals that counted, as the ledger records them."""
        return [{"reviewer": c.reviewer, "fingerprint": c.fingerprint} for c in self.result(bundle).counted]

    def summary(self, bundle: Bundle) -> str | None:
        return self.result(bundle).summary()


ApprovalGate = OpenGate | PolicyGate


def approval_gate(settings: Settings, reviewers: str | None, cache: VerifyCache | None = None) -> ApprovalGate:
    """Return the gate for the project's policy; `reviewers` is `--reviewers`, if given; `cache` recalls signatures."""
    policy = settings.policy
    if policy.approvals == 0 and policy.high_risk_approvals == 0 and not policy.required_roles:
        return OpenGate()
    from reviewkit.signoff.reviewers import resolve_reviewers_path

    return PolicyGate(policy, resolve_reviewers_path(settings, reviewers), cache)
