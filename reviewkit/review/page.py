"""The review page as one HTML document: header, table of contents, then each section.

Everything taken from the bundle's files is escaped where it is written into the page;
the sections' modules do the same for theirs.
"""

from __future__ import annotations

from html import escape

from reviewkit.review import ReviewData
from reviewkit.review.schema_section import schema_section
from reviewkit.review.sql_section import LEVELS, findings_section, sql_section
from reviewkit.review.summary import summary_section
from reviewkit.review.theme import CSS, content_security_policy

# The sections, in the page's order: (anchor, title).
SECTIONS = (
    ("summary", "Summary"),
    ("schema", "Schema change"),
    ("findings", "Lint findings"),
    ("sql", "SQL"),
    ("approvals", "Approvals"),
    ("proofs", "Proofs"),
    ("digest", "Digest and files"),
)
_GOOD_APPROVALS = ("valid",)
_GOOD_PROOFS = ("proven",)


def render_page(data: ReviewData) -> str:
    """Return the whole page."""
    bundle_id = escape(data.bundle.id)
    body = [
        header(data),
        '<div class="layout">',
        toc(data),
        "<main>",
        summary_section(data),
        schema_section(data),
        findings_section(data),
        sql_section(data),
        approvals_section(data),
        proofs_section(data),
        digest_section(data),
        "</main></div>",
        f"<footer>Written by {escape(data.generator)} at {escape(data.written_at)} with <code>reviewkit review</code>: "
        "a static page that runs no script and loads nothing.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Review of bundle {bundle_id}</title>\n<style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body) + "\n</body></html>\n"
    )


def header(data: ReviewData) -> str:
    """Return the bar at the top: the bundle, and chips for risk, approvals, proofs and integrity."""
    level = data.manifest["risk"]["level"]
    sign_off = data.sign_off
    approvals = ("ok" if sign_off.met else "bad") if sign_off.met is not None else "warn"
    approved = "policy met" if sign_off.met else "policy not met" if sign_off.met is False else "not checked"
    proven = sum(1 for p in data.proofs if p.state in _GOOD_PROOFS)
    proofs = "ok" if data.proofs and proven == len(data.proofs) else "warn"
    intact = "bad" if data.file_problems else "ok"
    chips = [
        f'<a class="chip {escape(level)}" href="#findings">risk {escape(level)}</a>',
        f'<a class="chip {approvals}" href="#approvals">approvals: {approved}</a>',
        f'<a class="chip {proofs}" href="#proofs">proofs {proven}/{len(data.proofs)}</a>',
        f'<a class="chip {intact}" href="#digest">'
        + ("files match the digest" if not data.file_problems else f"{len(data.file_problems)} integrity problems") + "</a>",
    ]
    return (f'<header class="top"><h1><span class="kit">reviewkit review</span>{escape(data.bundle.id)}</h1>'
            f'<div class="chips">{"".join(chips)}</div></header>')


def toc(data: ReviewData) -> str:
    """Return the table of contents: the sections, each script, and the counts that matter."""
    counts = {
        "schema": f"{len(data.change.tables):,} tables",
        "findings": ", ".join(f"{n} {level}" for level in LEVELS
                              if (n := sum(1 for f in data.findings if f.get("level") == level))),
        "approvals": str(len(data.sign_off.approvals)),
    }
    items = []
    for anchor, title in SECTIONS:
        count = f' <span class="cnt">{escape(counts[anchor])}</span>' if counts.get(anchor) else ""
        sub = ""
        if anchor == "sql":
            sub = "<ol>" + "".join(f'<li><a href="#{escape(s.anchor)}">{escape(s.file)}</a></li>' for s in data.scripts) + "</ol>"
        items.append(f'<li><a href="#{anchor}">{title}</a>{count}{sub}</li>')
    return f'<nav class="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def approvals_section(data: ReviewData) -> str:
    sign_off = data.sign_off
    verdict = ("met" if sign_off.met else "not met") if sign_off.met is not None else "not checked"
    badge = ("ok" if sign_off.met else "bad") if sign_off.met is not None else "warn"
    out = ['<section class="card" id="approvals"><h2>Approvals</h2>',
           f'<p>Policy <span class="badge {badge}">{verdict}</span> <span class="mono">{escape(sign_off.summary)}</span></p>']
    if not sign_off.approvals:
        out.append('<p class="lead">No approval yet: <code>reviewkit approve</code> signs the digest.</p>')
    else:
        out.append("<table><thead><tr><th>reviewer</th><th>status</th><th>signed at</th><th>key</th><th>comment</th></tr>"
                   "</thead><tbody>")
        for a in sign_off.approvals:
            state = "ok" if a.status in _GOOD_APPROVALS else "warn" if a.status in ("stale", "unchecked") else "bad"
            detail = f'<br><span class="help">{escape(a.detail)}</span>' if a.detail else ""
            out.append(f'<tr><td><strong>{escape(a.reviewer or "?")}</strong><br><span class="help mono">{escape(a.file)}</span></td>'
                       f'<td><span class="badge {state}">{escape(a.status)}</span>{detail}</td>'
                       f'<td class="mono">{escape(a.signed_at or "")}</td><td class="mono">{escape(a.fingerprint or "")}</td>'
                       f"<td>{escape(a.comment or '')}</td></tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def proofs_section(data: ReviewData) -> str:
    out = ['<section class="card" id="proofs"><h2>Proofs</h2>',
           '<p class="lead"><code>reviewkit prove</code> replays the bundle up, down and up again on a scratch database '
           "of each engine and compares the schema read back with <code>schema.json</code>.</p>",
           "<table><thead><tr><th>dialect</th><th>state</th><th>server</th><th>at</th><th>detail</th></tr></thead><tbody>"]
    for proof in data.proofs:
        state = "ok" if proof.state in _GOOD_PROOFS else "bad" if proof.state in ("failed", "invalid") else "warn"
        out.append(f'<tr><td>{escape(proof.dialect)}</td><td><span class="badge {state}">{escape(proof.state)}</span></td>'
                   f'<td>{escape(proof.server_version or "")}</td><td class="mono">{escape(proof.at or "")}</td>'
                   f"<td>{escape(proof.detail)}</td></tr>")
    out.append("</tbody></table></section>")
    return "\n".join(out)


def digest_section(data: ReviewData) -> str:
    m = data.manifest
    out = ['<section class="card" id="digest"><h2>Digest and files</h2>',
           "<p>Reviewers sign this digest: a sha256 over the manifest, which lists every file's sha256.</p>",
           f'<code class="digest">{escape(m["digest"])}</code>']
    if data.file_problems:
        items = "".join(f"<li>{escape(p)}</li>" for p in data.file_problems)
        out.append(f'<div class="problems"><strong>The files on disk do not match the manifest</strong>: '
                   f"approvals of this digest do not cover what is shown.<ul>{items}</ul></div>")
    else:
        out.append('<p><span class="badge ok">intact</span> Every file matches its sha256, and the digest its manifest.</p>')
    scripts = {s.file: s.anchor for s in data.scripts}
    rows = []
    for rel, sha in sorted(m["files"].items()):
        name = f'<a href="#{escape(scripts[rel])}">{escape(rel)}</a>' if rel in scripts else escape(rel)
        rows.append(f'<tr><td class="mono">{name}</td><td class="mono">{escape(sha)}</td></tr>')
    out.append("<table><thead><tr><th>file</th><th>sha256</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    out.append("</section>")
    return "\n".join(out)
