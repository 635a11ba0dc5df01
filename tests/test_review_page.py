"""`reviewkit review`: the static HTML page a DBA reviews a bundle in, read as a parser and a browser read it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewkit.review.highlight import highlight_lines
from tests.browser_support import parse_dom, read_png, run_chromium, script_lines

SECTIONS = ("summary", "schema", "findings", "sql", "approvals", "proofs", "digest")
HOSTILE = '<script>alert("x")</script> & co'
# Bundle 2 drops a column (high), adds one with a hostile comment, and indexes an existing table (medium).
CHANGED = f"""\
CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(255) NOT NULL, note text);
COMMENT ON COLUMN customers.note IS '{HOSTILE}';
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id));
CREATE INDEX orders_customer_idx ON orders (customer_id);
"""
SIGNED_NOTE = "<img src=x onerror=alert(1)> looks fine"


@pytest.fixture
def reviewed(project):
    """Bundle 2 of the sign-off project: approved by alice (with a hostile comment) and bob, proven on SQLite."""
    (project.root / "models" / "schema.sql").write_text(CHANGED)
    project.ok("generate", "--no-input", "review_me")
    project.approve("2", "alice", "--comment", SIGNED_NOTE)
    project.approve("2", "bob")
    project.ok("prove", "2", "--dialect", "sqlite")
    return project


def page_of(project, ref: str = "2") -> tuple[str, Path]:
    result = project.ok("review", ref)
    path = project.root / f"review-{int(ref):04d}.html"
    assert result.stdout.strip() == f"wrote {path.name}"
    return path.read_text(encoding="utf-8"), path


def check_every_statement(dom, bundle) -> None:
    """Every line of every script of every dialect is in the page, in order, under its own line anchor."""
    pres = {pre.attrs["data-file"]: pre for pre in dom.find_all("pre", "sql")}
    expected = {f"{d}/{x}.sql" for d in bundle.manifest["dialects"] for x in ("up", "down")}
    assert set(pres) == expected
    for rel, pre in pres.items():
        text = (bundle.path / rel).read_text(encoding="utf-8")
        anchor = rel.replace("/", "-").removesuffix(".sql")
        assert script_lines(pre) == [(f"{anchor}-L{n}", line) for n, line in enumerate(text.splitlines(), start=1)]


def check_findings_link_their_lines(dom, bundle) -> None:
    """Each finding of the manifest is a row linking to the line it names, and that line is its statement's."""
    ids = dom.by_id()
    findings = bundle.manifest["risk"]["findings"]
    assert findings
    for number, finding in enumerate(findings, start=1):
        row = ids[f"finding-{number}"]
        assert finding["code"] in row.text()
        link = next(a for a in row.find_all("a") if a.attrs["href"].startswith(f"#{finding['dialect']}-up-L"))
        assert link.attrs["href"] == f"#{finding['dialect']}-up-L{finding['line']}"
        line = ids[link.attrs["href"][1:]].text()
        script = (bundle.path / finding["dialect"] / "up.sql").read_text().splitlines()
        assert line == script[finding["line"] - 1]
    index = next(i for i, f in enumerate(findings, start=1) if f["code"] == "pg-index-without-concurrently")
    assert ids[f"postgres-up-L{findings[index - 1]['line']}"].text().startswith('CREATE INDEX "orders_customer_idx"')


def test_the_page_holds_every_section_statement_finding_approval_proof_and_the_digest(reviewed):
    html, _ = page_of(reviewed)
    dom = parse_dom(html)
    bundle = reviewed.bundle("2")
    ids = dom.by_id()
    assert all(section in ids for section in SECTIONS)
    toc = dom.find_all("nav", "toc")[0]
    assert {a.attrs["href"] for a in toc.find_all("a")} >= {f"#{s}" for s in SECTIONS}
    check_every_statement(dom, bundle)
    check_findings_link_their_lines(dom, bundle)
    summary = ids["summary"].text()
    assert "Drop column customers.phone and its data" in summary and "0001_initial" in summary
    assert "Rolling back (down.sql) loses data" in summary
    # Each operation links to its `-- N.` comment in every dialect's up script.
    op_links = [a.attrs["href"] for a in ids["summary"].find_all("a") if a.attrs["href"].startswith("#sqlite-up-L")]
    script = (bundle.path / "sqlite" / "up.sql").read_text().splitlines()
    assert [script[int(h.rsplit("L", 1)[1]) - 1][:5] for h in op_links] == ["-- 1.", "-- 2.", "-- 3."]
    schema = ids["schema"]
    customers = next(d for d in schema.find_all("details", "table") if "customers" in d.find_all("summary")[0].text())
    rows = {tr.find_all("td")[1].text(): tr for tr in customers.find_all("tr") if tr.find_all("td")}
    assert rows["phone"].attrs["class"] == "dropped" and [td.text() for td in rows["phone"].find_all("td")[2:]] == ["text NULL", ""]
    assert rows["note"].attrs["class"] == "added" and [td.text() for td in rows["note"].find_all("td")[2:]] == [
        "", f"text NULL comment '{HOSTILE}'"]
    assert rows["email"].attrs["class"] == "same"
    approvals = ids["approvals"].text()
    assert "alice" in approvals and "bob" in approvals and "2/2 (alice, bob)" in approvals and "met" in approvals
    assert approvals.count("valid") == 2
    proofs = {tr.find_all("td")[0].text(): tr.find_all("td")[1].text() for tr in ids["proofs"].find_all("tr")[1:]}
    assert proofs == {"postgres": "none", "mysql": "none", "sqlite": "proven"}
    assert bundle.digest in ids["digest"].text() and "intact" in ids["digest"].text()
    assert "risk high" in dom.find_all("header")[0].text()


def test_text_from_the_files_is_escaped_never_markup(reviewed):
    html, _ = page_of(reviewed)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    dom = parse_dom(html)
    assert not dom.find_all("script") and not dom.find_all("img")
    ids = dom.by_id()
    assert HOSTILE in ids["schema"].text()  # the column's comment, shown as text
    assert SIGNED_NOTE in ids["approvals"].text()  # alice's comment
    assert any(HOSTILE in line for _, line in script_lines(ids["postgres-up"].find_all("pre")[0]))


def test_the_page_allows_no_script_and_loads_nothing(reviewed):
    dom = parse_dom(page_of(reviewed)[0])
    policy = next(m.attrs["content"] for m in dom.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'" and directives["style-src"].startswith("'sha256-")
    assert "script-src" not in directives  # default-src 'none' covers it: no script at all
    assert not [n for n in dom.walk() if n.tag in ("link", "script", "img", "iframe", "object", "embed")]


def test_a_tampered_file_and_a_stale_approval_are_shown(reviewed):
    bundle = reviewed.bundle("2")
    up = bundle.path / "mysql" / "up.sql"
    up.write_text(up.read_text() + "-- edited by hand\n")
    ids = parse_dom(page_of(reviewed)[0]).by_id()
    assert "2/mysql/up.sql: changed since the bundle was sealed" in ids["digest"].text().replace(bundle.id, "2")
    assert "integrity problems" in ids["digest"].text() or "do not match" in ids["digest"].text()
    reviewed.ok("seal", "2")
    ids = parse_dom(page_of(reviewed)[0]).by_id()
    assert ids["approvals"].text().count("stale") >= 2 and "not met" in ids["approvals"].text()
    assert "-- edited by hand" in ids["mysql-up"].text()


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "REVIEWKIT_REVIEWERS"}
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=folder, capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL)


def test_the_default_file_is_review_nnnn_in_the_current_folder_never_in_the_bundle(project):
    bundle = project.bundle("1")
    before = sorted(p.relative_to(bundle.path) for p in bundle.path.rglob("*"))
    sub = project.root / "reports"
    sub.mkdir()
    result = run_in(sub, "review", "0001_initial")
    assert result.returncode == 0, result.stderr
    assert (sub / "review-0001.html").is_file() and not (project.root / "review-0001.html").exists()
    inside = run_in(bundle.path, "review", "1")  # the current folder is the bundle: refused, nothing written
    assert inside.returncode == 2 and "(the current folder) is inside bundle 0001_initial" in inside.stderr
    assert "never written into a bundle" in inside.stderr
    assert len(inside.stderr.strip().splitlines()) == 1
    refused = project.run("review", "1", "--html", str(bundle.path / "approvals" / "page.html"))
    assert refused.returncode == 2 and "(--html) is inside bundle 0001_initial" in refused.stderr
    assert sorted(p.relative_to(bundle.path) for p in bundle.path.rglob("*")) == before
    chosen = project.ok("review", str(bundle.path), "--html", str(project.root / "page.html"))
    assert chosen.stdout.strip() == "wrote page.html" and (project.root / "page.html").stat().st_size > 1000


def test_a_bundle_that_is_not_there_or_a_folder_that_is_not_there_exits_2(project):
    missing = project.run("review", "9")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: no bundle matches '9' (latest is 0001_initial)"
    assert "Traceback" not in missing.stderr and not list(project.root.glob("review-*.html"))
    nowhere = project.run("review", "1", "--html", "no/such/folder/page.html")
    assert nowhere.returncode == 2 and "does not exist" in nowhere.stderr and "Traceback" not in nowhere.stderr


def test_without_a_reviewers_file_the_approvals_are_shown_unchecked(reviewed):
    (reviewed.root / "reviewers.toml").unlink()
    ids = parse_dom(page_of(reviewed)[0]).by_id()
    text = ids["approvals"].text()
    assert "not checked" in text and "reviewers file not found" in text and text.count("unchecked") == 2


# -- highlighting -------------------------------------------------------------------------------


def test_highlighting_keeps_every_character_and_colours_what_it_should():
    sql = ("-- it's a comment: CREATE\nCREATE TABLE \"order\" (\"select\" INTEGER NOT NULL DEFAULT 42);\n"
           "INSERT INTO t VALUES ('a''b <c>', 'two\nlines');\n/* block\ncomment */ DROP TABLE x;\n")
    lines = highlight_lines(sql)
    assert len(lines) == sql.count("\n")
    texts = [parse_dom(line).text() for line in lines]
    assert texts == sql.splitlines()
    assert lines[0] == "<span class=c>-- it's a comment: CREATE</span>"
    assert lines[1] == '<b>CREATE TABLE</b> "order" ("select" <i>INTEGER</i> <b>NOT NULL DEFAULT</b> <span class=n>42</span>);'
    assert "<span class=s>'a''b &lt;c&gt;'</span>" in lines[2] and lines[2].endswith("<span class=s>'two</span>")
    assert lines[3] == "<span class=s>lines'</span>);"  # a string over two lines: each line's part coloured
    assert lines[4] == "<span class=c>/* block</span>" and lines[5].startswith("<span class=c>comment */</span> <b>DROP")


def test_an_unclosed_quote_stays_plain_text():
    lines = highlight_lines("SELECT 'never closed\nFROM x;\n")
    assert [parse_dom(line).text() for line in lines] == ["SELECT 'never closed", "FROM x;"]
    assert lines[1] == "<b>FROM</b> x;"


# -- in a real browser --------------------------------------------------------------------------


def test_chromium_shows_every_section_and_statement_draws_the_page_and_fetches_nothing(reviewed, tmp_path):
    _, page = page_of(reviewed)
    bundle = reviewed.bundle("2")
    dumped = run_chromium(page, tmp_path, "--dump-dom")
    assert dumped.page_requests == []
    dom = parse_dom(dumped.output)
    assert all(section in dom.by_id() for section in SECTIONS)
    check_every_statement(dom, bundle)
    check_findings_link_their_lines(dom, bundle)
    assert HOSTILE in dom.by_id()["schema"].text() and not dom.find_all("script")
    shot = tmp_path / "page.png"
    drawn = run_chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=900,700")
    assert drawn.page_requests == []
    picture = read_png(shot)
    assert (picture.width, picture.height) == (900, 700)
    assert picture.colours >= 20, picture  # text, badges, header: a blank page has one or two colours
    assert picture.background_share < 0.9, picture


def test_the_request_check_sees_a_request_and_the_policy_blocks_it(reviewed, tmp_path):
    """The checks above can fail: a page that fetches is caught, and ours would not fetch even if it tried."""
    _, page = page_of(reviewed)
    probe = '<img src="http://127.0.0.1:9/probe.png">'
    loose = tmp_path / "loose.html"
    loose.write_text(f"<!DOCTYPE html><html><body><p>x</p>{probe}</body></html>")
    assert run_chromium(loose, tmp_path, "--dump-dom").page_requests == ["http://127.0.0.1:9/probe.png"]
    injected = tmp_path / "injected.html"  # as if a file's text had reached the page unescaped
    injected.write_text(page.read_text().replace("<main>", f"<main>{probe}", 1))
    assert run_chromium(injected, tmp_path, "--dump-dom").page_requests == []
    blank = tmp_path / "blank.png"
    (tmp_path / "blank.html").write_text("<!DOCTYPE html><html><body></body></html>")
    run_chromium(tmp_path / "blank.html", tmp_path, f"--screenshot={blank}", "--window-size=300,200")
    assert read_png(blank).colours <= 2


def test_a_finding_link_opens_its_folded_script_in_the_browser(reviewed, tmp_path):
    """Scripts fold when long; following a link to a line opens the script that holds it."""
    _, page = page_of(reviewed)
    folded = tmp_path / "folded.html"
    folded.write_text(page.read_text().replace('<details class="sql" id="postgres-up" open>', '<details class="sql" id="postgres-up">'))
    findings = json.loads((reviewed.bundle("2").path / "manifest.json").read_text())["risk"]["findings"]
    line = next(f["line"] for f in findings if f["dialect"] == "postgres")
    dom = parse_dom(run_chromium(folded, tmp_path, "--dump-dom", fragment=f"postgres-up-L{line}").output)
    assert "open" in dom.by_id()["postgres-up"].attrs
    unfollowed = parse_dom(run_chromium(folded, tmp_path, "--dump-dom").output)
    assert "open" not in unfollowed.by_id()["postgres-up"].attrs


# -- the schema change ---------------------------------------------------------------------------


def test_the_schema_change_pairs_renames_and_shows_each_side():
    from reviewkit.review.schema_change import schema_change
    from reviewkit.schema.state import Column, Index, IndexPart, Schema, Table, View

    books = Table("books", (Column("id", "bigint", False), Column("title", "varchar(100)"), Column("isbn", "text")),
                  indexes=(Index("books_title_idx", (IndexPart("title"),)),))
    reviews = Table("reviews", (Column("id", "bigint", False),))
    before = Schema((books, reviews), (View("titles", "SELECT title FROM books"),))
    after = Schema((
        Table("book_reviews", (Column("id", "bigint", False),)),
        Table("books", (Column("id", "bigint", False), Column("title", "varchar(200)", False), Column("code", "text")),
              comment="every book"),
    ))
    operations = [{"op": "rename_table", "table": "reviews", "new_name": "book_reviews"},
                  {"op": "rename_column", "table": "books", "column": "isbn", "new_name": "code"}]
    change = schema_change(before, after, operations)
    assert [(t.name, t.change, t.old_name) for t in change.tables] == [
        ("book_reviews", "renamed", "reviews"), ("books", "changed", None)]
    assert [(row.name, row.change) for row in change.tables[0].rows] == [("id", "same")]
    rows = {(row.kind, row.name): row for row in change.tables[1].rows}
    assert rows["column", "title"].change == "changed"
    assert (rows["column", "title"].before, rows["column", "title"].after) == ("varchar(100) NULL", "varchar(200) NOT NULL")
    assert rows["column", "code"].old_name == "isbn" and rows["column", "code"].change == "renamed"
    assert rows["index", "books_title_idx"].change == "dropped" and rows["comment", ""].after == "every book"
    assert change.tables[1].tally() == "1 column changed, 1 column renamed, 1 comment added, 1 index dropped"
    assert [(v.name, v.change) for v in change.views] == [("titles", "dropped")]
    assert change.unchanged_tables == 0


def test_review_md_becomes_paragraphs_and_lists_escaped():
    from reviewkit.review.summary import render_lines, review_sections

    text = ("# Bundle 0003_x\n\n- Author: a\n\nHand-written: read\nevery `<statement>`.\n\n## Operations\n\n"
            "1. Add **column** t.<b>\n2. Drop t\n\n## Risk findings\n\n- **high** gone\n")
    sections = review_sections(text)
    assert [heading for heading, _ in sections] == ["", "Operations"]  # the findings: the page lists its own
    assert render_lines(sections[0][1], {}) == "<p>Hand-written: read every <code>&lt;statement&gt;</code>.</p>"
    assert render_lines(sections[1][1], {2: "<a>sql</a>"}) == (
        '<ol class="ops">\n<li value="1">Add <strong>column</strong> t.&lt;b&gt;</li>\n'
        '<li value="2">Drop t<a>sql</a></li>\n</ol>')
