"""The review page's style sheet, inline in the page, and the policy that lets it load nothing else.

The Content-Security-Policy allows exactly this style sheet (by its hash) and nothing
more: no script, no image, no font, no frame, no form target, so whatever a bundle's
files hold, the page neither runs code nor reaches the network.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root{--fg:#1d2430;--muted:#5d6879;--line:#dde2ea;--bg:#f5f7fa;--card:#fff;--code:#fbfcfd;
--high:#c62828;--high-bg:#fdecea;--medium:#b26a00;--medium-bg:#fff4e0;--low:#2f6db5;--low-bg:#e8f1fb;
--added:#1b7f3b;--added-bg:#e7f6ec;--dropped:#c62828;--dropped-bg:#fdecea;--changed:#b26a00;--changed-bg:#fff4e0;
--renamed:#6b3fb3;--renamed-bg:#f1ebfb;--ok:#1b7f3b;--ok-bg:#e7f6ec}
*{box-sizing:border-box}
html{scroll-padding-top:4.5rem}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;
color:var(--fg);background:var(--bg)}
code,pre,.mono{font-family:ui-monospace,"SF Mono","Cascadia Mono","DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
a{color:#1f5fa8;text-decoration:none}a:hover{text-decoration:underline}
header.top{position:sticky;top:0;z-index:5;display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;
padding:.7rem 1.5rem;background:#1d2430;color:#fff;box-shadow:0 1px 4px rgba(0,0,0,.25)}
header.top h1{font-size:1.15rem;margin:0;font-weight:600}
header.top .kit{color:#aab4c3;font-weight:400;margin-right:.3rem}
header.top .chips{display:flex;flex-wrap:wrap;gap:.4rem;margin-left:auto}
.chip{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;
background:#e9edf3;color:var(--fg)}
.chip.high,.badge.high{background:var(--high-bg);color:var(--high)}
.chip.medium,.badge.medium{background:var(--medium-bg);color:var(--medium)}
.chip.low,.badge.low{background:var(--low-bg);color:var(--low)}
.chip.ok,.badge.ok{background:var(--ok-bg);color:var(--ok)}
.chip.bad,.badge.bad{background:var(--high-bg);color:var(--high)}
.chip.warn,.badge.warn{background:var(--medium-bg);color:var(--medium)}
.badge{display:inline-block;min-width:4.2em;text-align:center;padding:0 .45rem;border-radius:4px;font-size:11.5px;
font-weight:700;text-transform:uppercase;letter-spacing:.02em;background:#e9edf3;color:var(--muted)}
.badge.added{background:var(--added-bg);color:var(--added)}.badge.dropped{background:var(--dropped-bg);color:var(--dropped)}
.badge.changed{background:var(--changed-bg);color:var(--changed)}.badge.renamed{background:var(--renamed-bg);color:var(--renamed)}
.layout{display:grid;grid-template-columns:15rem minmax(0,1fr);gap:1.5rem;max-width:1500px;margin:0 auto;padding:1.2rem 1.5rem}
nav.toc{position:sticky;top:4.2rem;align-self:start;max-height:calc(100vh - 5rem);overflow:auto;font-size:13px}
nav.toc h2{font-size:11px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:0 0 .4rem}
nav.toc ol{list-style:none;margin:0;padding:0}nav.toc ol ol{padding-left:.9rem}
nav.toc li{margin:.15rem 0}nav.toc .cnt{color:var(--muted);font-size:12px}
main{min-width:0}
section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.25rem;margin-bottom:1.2rem}
section.card>h2{font-size:1.1rem;margin:0 0 .75rem;padding-bottom:.45rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1rem 0 .5rem}
p.lead{color:var(--muted);margin:.2rem 0 .8rem}
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.3rem 1.2rem;margin:0 0 .5rem}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.3rem .55rem;border-bottom:1px solid var(--line)}
th{font-size:12px;color:var(--muted);font-weight:600;background:#f8f9fb}
td.mono,td code{overflow-wrap:anywhere}
table.diff{table-layout:fixed}table.diff th:nth-child(1){width:7.5rem}table.diff th:nth-child(2){width:22%}
table.diff td:nth-child(n+2){font-family:ui-monospace,"SF Mono","Cascadia Mono","DejaVu Sans Mono",Menlo,Consolas,monospace;
font-size:12.5px;overflow-wrap:anywhere}table.diff td:empty::before{content:"—";color:#a0a8b5}
table.diff tr.added td:nth-child(4){background:var(--added-bg)}
table.diff tr.dropped td:nth-child(3){background:var(--dropped-bg);text-decoration:line-through}
table.diff tr.changed td:nth-child(n+3){background:var(--changed-bg)}table.diff tr.changed td:nth-child(4){font-weight:600}
table.diff tr.renamed td:nth-child(2){background:var(--renamed-bg)}table.diff tr.same td{color:var(--muted)}
details{margin:.35rem 0}
details>summary{cursor:pointer;padding:.35rem .5rem;border-radius:6px;list-style-position:inside}
details>summary:hover{background:#f0f3f7}
details.table{border:1px solid var(--line);border-radius:6px}details.table[open]>summary{border-bottom:1px solid var(--line);
border-radius:6px 6px 0 0;background:#f8f9fb}
details.table>table{margin:0}
.counts{color:var(--muted);font-size:12px;margin-left:.4rem}
ul.chips{list-style:none;padding:0;margin:.3rem 0;display:flex;flex-wrap:wrap;gap:.3rem}
ul.chips a{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:12px;background:#eef1f5}
ul.chips a.added{background:var(--added-bg);color:var(--added)}ul.chips a.dropped{background:var(--dropped-bg);color:var(--dropped)}
ul.chips a.changed{background:var(--changed-bg);color:var(--changed)}ul.chips a.renamed{background:var(--renamed-bg);color:var(--renamed)}
ol.ops{margin:.3rem 0;padding-left:2.2rem}ol.ops li{margin:.1rem 0}
.sqlrefs{font-size:12px;margin-left:.5rem;color:var(--muted)}.sqlrefs a{margin-left:.3rem}
.md ul{margin:.3rem 0 .6rem;padding-left:1.3rem}
details.sql{border:1px solid var(--line);border-radius:6px;margin:.6rem 0}
details.sql>summary{font-weight:600;background:#f8f9fb}details.sql[open]>summary{border-bottom:1px solid var(--line);border-radius:6px 6px 0 0}
pre.sql{margin:0;padding:.4rem 0;overflow-x:auto;background:var(--code);counter-reset:ln;line-height:1.45}
pre.sql>span{display:inline-block;min-width:100%;padding-right:1rem;counter-increment:ln;white-space:pre}
pre.sql>span::before{content:counter(ln);display:inline-block;width:4.2em;padding-right:.9em;margin-right:.6em;
text-align:right;color:#a0a8b5;border-right:1px solid var(--line)}
pre.sql>span:target{background:#fff3b0}pre.sql>span:hover{background:#f1f4f8}
pre.sql>.hit-low{box-shadow:inset 3px 0 var(--low)}pre.sql>.hit-medium{box-shadow:inset 3px 0 var(--medium);background:#fffaf0}
pre.sql>.hit-high{box-shadow:inset 3px 0 var(--high);background:#fff6f5}
pre.sql>span.note{counter-increment:none;min-width:0;padding-right:0}pre.sql>span.note::before{content:none}
pre.sql .note{display:block;white-space:normal;margin:.15rem 0 .15rem 5.6em;padding:.25rem .6rem;border-radius:4px;
font:12.5px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;user-select:none}
pre.sql .note.low{background:var(--low-bg)}pre.sql .note.medium{background:var(--medium-bg)}pre.sql .note.high{background:var(--high-bg)}
pre.sql b{color:#0b4fa6;font-weight:600}pre.sql i{color:#00796b;font-style:normal}pre.sql .s{color:#a3367c}
pre.sql .c{color:#6b7685;font-style:italic}pre.sql .n{color:#b35c00}
table.findings td.where,table.findings td.rule{white-space:nowrap}
tr.finding:target td{background:#fff3b0}
.help{color:var(--muted)}.allowed{color:var(--ok)}
.problems{background:var(--high-bg);border:1px solid #f5c2bd;border-radius:6px;padding:.5rem .9rem;margin:.5rem 0;color:var(--high)}
.problems ul{margin:.2rem 0;padding-left:1.2rem}
.digest{font-size:13px;background:#f3f5f8;border:1px solid var(--line);border-radius:6px;padding:.4rem .7rem;
overflow-wrap:anywhere;display:block}
footer{color:var(--muted);font-size:12px;text-align:center;padding:0 1rem 1.5rem}
@media (max-width:900px){.layout{grid-template-columns:1fr}nav.toc{position:static;max-height:none}}
@media print{header.top,nav.toc{position:static}.layout{display:block}details{display:block}}
""".strip()


def content_security_policy() -> str:
    """Return the page's policy: its own style sheet, and nothing else from anywhere."""
    digest = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; font-src 'none'; "
            "connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'")
