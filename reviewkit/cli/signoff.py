"""The sign-off commands: `keygen`, `approve`, `verify`, `seal`."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reviewkit.bundle import Bundle, find_bundle, load_bundles
from reviewkit.cli.console import err, out, say, say_lines
from reviewkit.config import Settings, load_settings
from reviewkit.errors import UsageError

if TYPE_CHECKING:  # imported where used: cryptography is not needed by generate or apply's start-up
    from reviewkit.bundle.seal import SealResult
    from reviewkit.signoff.reviewers import Reviewer
    from reviewkit.signoff.verify import BundleReport, VerifyReport

REFUSED = 3
ReviewersOption = Annotated[
    str | None,
    typer.Option("--reviewers", metavar="FILE", help="Trusted reviewers file; replaces the project's (default: REVIEWKIT_REVIEWERS, then the config's)."),
]


# -- keygen -----------------------------------------------------------------------------


def keygen_cmd(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Reviewer name; also the key's file name.")],
    out_dir: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder for NAME and NAME.pub (default: the current one).", show_default=False)] = Path("."),
) -> None:
    """Write a new Ed25519 key pair and print its reviewers.toml entry."""
    from reviewkit.signoff.keys import generate_key_files

    private, public, line = generate_key_files(name, out_dir)
    say(err, f"wrote {private} (private key, mode 0600: keep it secret, never commit it)")
    say(err, f"wrote {public}")
    say(err, "Add this entry to the reviewers file (fill in emails and roles):")
    sys.stdout.write(reviewer_entry(name, line))


def reviewer_entry(name: str, public_line: str) -> str:
    """Return the reviewers.toml entry for a new key."""
    key = name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)
    return f"[reviewers.{key}]\nkeys = [{json.dumps(public_line)}]\nemails = []\nroles = []\n"


# -- approve ----------------------------------------------------------------------------


def approve_cmd(
    bundle: Annotated[str, typer.Argument(metavar="BUNDLE", help="Bundle number, id or path.")],
    key: Annotated[Path, typer.Option("--key", metavar="FILE", help="Your Ed25519 private key (OpenSSH format).")],
    as_name: Annotated[str | None, typer.Option("--as", metavar="NAME", help="Reviewer name, when several share the key.")] = None,
    comment: Annotated[str | None, typer.Option("--comment", metavar="TEXT", help="A note kept in the signed approval.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (needed when not on a terminal).")] = False,
    reviewers: ReviewersOption = None,
) -> None:
    """Sign the bundle's digest and write approvals/<reviewer>.json."""
    interactive = sys.stdin.isatty()
    if not yes and not interactive:
        raise UsageError("approve shows the bundle and asks before it signs; not on a terminal, nobody can confirm: "
                         "pass --yes to approve from a script")
    settings = load_settings()
    found = find_bundle(load_bundles(settings.bundles_dir), bundle)
    from reviewkit.signoff.approvals import approve, evaluate_with
    from reviewkit.signoff.keys import load_private_key
    from reviewkit.signoff.reviewers import load_reviewers, resolve_reviewers_path

    private = load_private_key(key, _passphrase)
    trusted = load_reviewers(resolve_reviewers_path(settings, reviewers))
    confirm = (lambda b, r: _confirm(b, r, settings)) if not yes else (lambda b, r: True)
    written = approve(found, private, trusted, settings.policy, as_name=as_name, comment=comment, confirm=confirm)
    if written is None:
        say(out, "Not approved; nothing written.")
        raise typer.Exit(1)
    record = json.loads(written.read_text(encoding="utf-8"))
    say(out, f"approved {found.id} as {record['reviewer']} ({record['fingerprint']}): wrote {_shown(written)}")
    result = evaluate_with(found, settings.policy, trusted)
    say(out, f"policy {result.summary()}" + ("" if result.met else " (not met yet)"))
    if yes:  # nobody saw the summary: say what the proofs and the lint were
        _print_proofs(found)
        _print_lint(found, settings)


def _print_proofs(bundle: Bundle) -> None:
    """Print each dialect's proof state on one line, then a line for each that is not a fresh pass."""
    from reviewkit.bundle.proofs import proof_states, proof_summary

    states = proof_states(bundle)
    say(out, f"proofs   {proof_summary(states)}")
    for state in states:
        if state.detail:
            say(out, f"  {state.dialect} {state.state}: {state.detail}")


_SHOWN_FINDINGS = 10


def _print_lint(bundle: Bundle, settings: Settings) -> None:
    """Print the lint of the bytes being signed: counts by level, then the medium and high findings."""
    from reviewkit.lint import LintRequest, lint_project
    from reviewkit.lint.findings import summary

    findings = lint_project(settings, LintRequest((bundle.id,)))
    counts = summary(findings)
    say(out, "lint     " + ", ".join(f"{n} {level}" for level, n in counts.items()) + f" (reviewkit lint {bundle.number})")
    serious = [f for f in findings if f.allowed is None and f.level in ("medium", "high")]
    for finding in serious[:_SHOWN_FINDINGS]:
        say(out, f"  {finding.level:<6} {finding.file}:{finding.line} {finding.rule}: {finding.message}")
    if len(serious) > _SHOWN_FINDINGS:
        say(out, f"  ... and {len(serious) - _SHOWN_FINDINGS} more")


def _passphrase(path: Path) -> str | None:
    """Return the key's passphrase: REVIEWKIT_KEY_PASSPHRASE, else asked on a terminal, else None."""
    from reviewkit.signoff.keys import PASSPHRASE_ENV

    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV]
    if sys.stdin.isatty():
        return getpass.getpass(f"Passphrase for {path}: ")
    return None


def _confirm(bundle: Bundle, reviewer: Reviewer, settings: Settings) -> bool:
    m = bundle.manifest
    say(out, f"bundle   {bundle.id}", "bold")
    say(out, f"author   {m['author']}, created {m['created_at']}")
    count = len(m["operations"])
    say(out, f"changes  {count} operation{'s' if count != 1 else ''}; dialects {', '.join(m['dialects'])}")
    for op in m["operations"][:20]:
        say(out, f"  {_operation_line(op)}")
    if count > 20:
        say(out, f"  ... and {count - 20} more (REVIEW.md lists them all)")
    say(out, f"risk     {bundle.risk_level}", "bold red" if bundle.risk_level == "high" else None)
    say(out, f"digest   {bundle.digest}")
    _print_proofs(bundle)
    _print_lint(bundle, settings)
    say(out, f"signer   {reviewer.name} ({', '.join(reviewer.roles) or 'no roles'})")
    say(out, f"Read the SQL first: reviewkit show {bundle.number} [--dialect D] [--down]")
    return typer.confirm(f"Approve {bundle.id} as {reviewer.name}?", default=False)


def _operation_line(op: dict) -> str:
    target = op.get("table", "")
    detail = op.get("column") or op.get("index") or op.get("constraint") or op.get("new_name")
    return f"{op.get('op', '?')} {target}" + (f".{detail}" if detail and "column" in op else f" {detail}" if detail else "")


def _shown(path: Path) -> str:
    cwd = Path.cwd()
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)


# -- verify -----------------------------------------------------------------------------


def verify_cmd(
    bundle: Annotated[str | None, typer.Argument(metavar="BUNDLE", help="Bundle number, id or path (default: every bundle).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    reviewers: ReviewersOption = None,
    database: Annotated[str | None, typer.Option("--database", metavar="DB", help="Also check this database's ledger: hash chain and digests.")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Read and check every file and signature again, trusting nothing kept in "
                           ".reviewkit/verify.json by earlier runs (also: REVIEWKIT_NO_CACHE=1).")] = False,
) -> None:
    """Check checksums, digest, signatures and policy. Bundle by bundle, with proofs; exit 3 on any problem."""
    settings = load_settings()
    from reviewkit.signoff.verify import verify_bundles

    ledger = None
    if database is not None:
        from reviewkit.db.status import database_ledger_problems

        ledger = partial(database_ledger_problems, settings, database)
    render_verify(verify_bundles(settings, bundle, reviewers, use_cache=not no_cache, also=ledger), json_output)


def render_verify(report: VerifyReport, json_output: bool) -> None:
    """Print the report (text or JSON); exit 3 when anything does not hold."""
    if json_output:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        if not report.bundles:
            say(out, "No bundles yet: run `reviewkit generate`.")
        say_lines(out, [line for bundle_report in report.bundles for line in _bundle_lines(bundle_report)])
        say(out, f"reviewers file: {report.reviewers_file}", "dim")
    problems = report.all_problems()
    for problem in problems:
        say(err, f"problem: {problem}")
    if problems:
        say(err, f"verify: {len(problems)} problem{'s' if len(problems) > 1 else ''}; refused")
        raise typer.Exit(REFUSED)


def _bundle_lines(report: BundleReport) -> list[tuple[str, str | None]]:
    """Return the lines `verify` prints for one bundle, each with its style."""
    b, p = report.bundle, report.policy
    verdict = "ok" if report.ok else "REFUSED"
    lines: list[tuple[str, str | None]] = [
        (f"{b.id}  risk {b.risk_level}  digest {b.digest[:12]}  {verdict}", "bold" if report.ok else "bold red")]
    count = len(p.file_problems)
    files = f"{count} problem{'s' if count > 1 else ''}" if count else "all match"
    lines.append((f"  files     {len(b.manifest['files'])} listed, {files}", None))
    for check in p.checks:
        lines.append((f"  approval  {check.reviewer or check.file.rsplit('/', 1)[-1]}  {check.status}  {check.fingerprint or ''}".rstrip(), None))
    for proof in report.proofs:
        lines.append((f"  proof     {proof.line()}", None))
    enough = len(p.counted) >= p.needed and not p.missing_roles
    verdict = "met" if p.met else "not met (see the problems below)" if enough else "not met"
    lines.append((f"  policy    {p.summary()}  {verdict}", None))
    return lines


# -- seal -------------------------------------------------------------------------------


def seal_cmd(bundle: Annotated[str, typer.Argument(metavar="BUNDLE", help="Bundle number, id or path.")]) -> None:
    """Re-seal a hand-edited bundle: checksums and digest. Every file is listed again; approvals become stale."""
    settings = load_settings()
    found = find_bundle(load_bundles(settings.bundles_dir), bundle)
    from reviewkit.bundle.seal import seal_bundle
    from reviewkit.lint import bundle_risk

    render_seal(seal_bundle(found, lambda sealed: bundle_risk(settings, sealed)))


def render_seal(result: SealResult) -> None:
    """Print what sealing changed and which approvals are now stale."""
    b = result.bundle
    if result.unchanged:
        say(out, f"{b.id}: nothing changed; digest {b.digest}")
    else:
        for label, paths in (("added", result.added), ("removed", result.removed), ("changed", result.changed)):
            for path in paths:
                say(out, f"  {label:<8} {path}")
        say(out, f"sealed {b.id}: digest {result.old_digest[:12]} -> {b.digest}")
        if result.old_risk and result.old_risk != b.risk_level:
            say(out, f"risk     {result.old_risk} -> {b.risk_level} (what lint finds in the up scripts now)",
                "bold red" if b.risk_level == "high" else None)
    for stale in result.stale:
        say(out, f"stale    {b.id}/{stale}: signed another digest; the reviewer must approve again")
    for stale in result.stale_proofs:
        say(out, f"stale    {b.id}/{stale}: proved another digest; run `reviewkit prove {b.number}` again")
    if not result.stale:
        say(out, "no approvals to renew" if not result.unchanged else "approvals unaffected")

