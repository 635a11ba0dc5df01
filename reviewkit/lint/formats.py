"""`lint`'s findings in the four forms its readers take: a terminal, JSON, GitHub and GitLab CI."""

from __future__ import annotations

import hashlib
import json

from reviewkit.lint.findings import Finding, summary

_GITHUB_COMMAND = {"high": "error", "medium": "warning", "low": "notice"}
_GITLAB_SEVERITY = {"high": "critical", "medium": "major", "low": "minor"}


def as_text(findings: list[Finding]) -> str:
    """`path:line: level rule: message`, then the safer form; allowed findings with their reason."""
    lines = []
    for f in findings:
        level = f"allowed ({f.level})" if f.allowed is not None else f.level
        lines.append(f"{f.file}:{f.line}: {level} {f.rule}: {f.message}")
        lines.append(f"    allowed: {f.allowed}" if f.allowed is not None else f"    help: {f.help}")
    counts = summary(findings)
    lines.append(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: "
                 + ", ".join(f"{n} {level}" for level, n in counts.items()))
    return "\n".join(lines) + "\n"


def as_json(findings: list[Finding]) -> str:
    """One finding per line: readable, and written by json's C encoder (`indent=` would force the slow one)."""
    lines = ",\n".join(f"    {_compact(f.to_dict())}" for f in findings)
    body = f"[\n{lines}\n  ]" if findings else "[]"
    return f'{{\n  "findings": {body},\n  "summary": {_compact(summary(findings))}\n}}\n'


_compact = json.JSONEncoder(separators=(", ", ": ")).encode


def as_github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: each finding annotates its line of the pull request."""
    lines = []
    for f in findings:
        if f.allowed is not None:
            continue
        message = _escape_data(f"{f.message}. {f.help}")
        lines.append(f"::{_GITHUB_COMMAND[f.level]} file={_escape_property(f.file)},line={f.line},"
                     f"title={_escape_property(f.rule)}::{message}")
    return "\n".join(lines) + ("\n" if lines else "")


def as_gitlab(findings: list[Finding]) -> str:
    """A GitLab Code Quality report: a JSON array, one issue per finding, fingerprinted stably."""
    issues = []
    for f in findings:
        if f.allowed is not None:
            continue
        fingerprint = hashlib.sha256(f"{f.rule}\0{f.file}\0{f.statement}\0{f.message}".encode()).hexdigest()
        issues.append({
            "description": f"{f.message}. {f.help}",
            "check_name": f.rule,
            "fingerprint": fingerprint,
            "severity": _GITLAB_SEVERITY[f.level],
            "location": {"path": f.file, "lines": {"begin": f.line}},
        })
    return json.dumps(issues, indent=2) + "\n"


FORMATS = {"text": as_text, "json": as_json, "github": as_github, "gitlab": as_gitlab}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
