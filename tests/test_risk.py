"""One risk engine: what `generate` writes (REVIEW.md, `-- RISK`, the manifest) is what `lint` says of the same bytes.

Every scenario bundle is linted again from disk, with nothing kept, and must give the
manifest's findings, line for line; a hand edit sealed changes the risk the way lint sees
it; the shortcuts the lint engine takes on large scripts (a statement's table read from
its first words, one parse per shape of statement) agree with sqlglot's own answers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reviewkit.bundle.seal import seal_bundle
from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.lint import LintRequest, bundle_risk, lint_project
from reviewkit.lint.cache import FOLDER
from reviewkit.lint.engine import _parse, _readability, script_statements, table_of
from tests.scenario_support import SCENARIOS, build_scenario
from tests.test_runner import run

SCENARIO_NAMES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir())
ALL = ("postgres", "mysql", "sqlite")
NOT_MYSQL = ("postgres", "sqlite")  # pg_features: expression and partial indexes, which MySQL cannot hold


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every scenario built plain, and shop and views built online too: the project folders by name."""
    built = {}
    for name in SCENARIO_NAMES:
        built[name] = tmp_path_factory.mktemp(name)
        build_scenario(name, built[name], dialects=NOT_MYSQL if name == "pg_features" else ALL)
    for name in ("shop", "views"):
        built[f"{name}-online"] = tmp_path_factory.mktemp(f"{name}-online")
        build_scenario(name, built[f"{name}-online"], online=True)
    return built


def manifest_findings(bundle: Bundle) -> list[tuple]:
    return sorted((f["dialect"], f["line"], f["statement"], f["code"], f["level"], f["message"])
                  for f in bundle.manifest["risk"]["findings"])


def cold_lint(root: Path, bundle: Bundle) -> list[tuple]:
    """Lint the bundle's up scripts from disk with nothing kept from generate."""
    shutil.rmtree(root / FOLDER, ignore_errors=True)
    found = lint_project(load_settings(root), LintRequest((bundle.id,)))
    return sorted((f.file.split("/")[-2], f.line, f.statement, f.rule, f.level, f.message)
                  for f in found if f.file.endswith("/up.sql"))


@pytest.mark.parametrize("name", [*SCENARIO_NAMES, "shop-online", "views-online"])
def test_generate_and_lint_agree_on_every_scenario_bundle(scenarios, name):
    root = scenarios[name]
    for bundle in load_bundles(root / "bundles"):
        assert manifest_findings(bundle) == cold_lint(root, bundle), bundle.id
        levels = [f["level"] for f in bundle.manifest["risk"]["findings"]]
        expected = max(levels, key=("low", "medium", "high").index, default="low")
        assert bundle.risk_level == expected
        review = (bundle.path / "REVIEW.md").read_text()
        for finding in bundle.manifest["risk"]["findings"]:
            script = bundle.script(finding["dialect"], "up").splitlines()
            # The -- RISK comment is in the run of comments right above its statement.
            above = []
            for line in reversed(script[:finding["line"] - 1]):
                if not line.startswith("--"):
                    break
                above.append(line)
            assert f"-- RISK {finding['level']} {finding['code']}: {finding['message']}" in above, (bundle.id, finding)
            operation = f"operation {finding['operation'] + 1}, " if "operation" in finding else ""
            where = f"{operation}{finding['dialect']}/up.sql:{finding['line']}"
            assert f"`{finding['code']}` ({where}): {finding['message']}" in review


def test_lint_after_generate_is_read_from_what_generate_found(scenarios):
    root = scenarios["shop"]
    shutil.rmtree(root / FOLDER, ignore_errors=True)
    assert build_scenario("shop", root / "again")  # a fresh project: generate keeps its findings
    kept = list((root / "again" / FOLDER).glob("*.json"))
    bundles = load_bundles(root / "again" / "bundles")
    assert len(kept) == 2 * 3 * len(bundles)  # up and down, three dialects, each bundle
    cached = lint_project(load_settings(root / "again"), LintRequest(all=True))
    shutil.rmtree(root / "again" / FOLDER)
    assert lint_project(load_settings(root / "again"), LintRequest(all=True)) == cached


PROJECT = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 1
high_risk_approvals = 2
"""


def test_a_hand_edit_sealed_takes_the_risk_lint_finds(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    assert run(root, "init").returncode == 0  # one approval, two for a high-risk bundle
    (root / "models" / "schema.sql").write_text("CREATE TABLE books (id bigint PRIMARY KEY, notes text);\n")
    assert run(root, "generate", "--no-input", "books").returncode == 0
    assert run(root, "generate", "--empty", "cleanup").returncode == 0
    bundle = load_bundles(root / "bundles")[1]
    assert bundle.risk_level == "low" and bundle.manifest["risk"]["findings"] == []
    for dialect in ("postgres", "mysql", "sqlite"):
        path = bundle.script_path(dialect, "up")
        path.write_text(path.read_text() + "\n-- 1. drop what nobody reads\nDROP TABLE books;\n")
    sealed = run(root, "seal", "2")
    assert sealed.returncode == 0, sealed.stderr
    assert "risk     low -> high" in sealed.stdout
    bundle = load_bundles(root / "bundles")[1]
    assert bundle.risk_level == "high"
    codes = {(f["dialect"], f["code"]) for f in bundle.manifest["risk"]["findings"]}
    assert codes == {("postgres", "pg-drop"), ("postgres", "pg-no-lock-timeout"), ("mysql", "mysql-drop"), ("sqlite", "sqlite-drop")}
    assert all("operation" not in f for f in bundle.manifest["risk"]["findings"])  # no operation: hand-written
    verified = run(root, "verify", "2")  # and it now needs two approvals
    assert verified.returncode == 3 and "risk high" in verified.stdout + verified.stderr, verified.stdout + verified.stderr
    status = json.loads(run(root, "status", "--json").stdout)["bundles"][1]
    assert status["risk"] == "high"


def test_an_allowance_is_shown_but_the_risk_still_counts(tmp_path):
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(PROJECT.replace('"mysql", "sqlite"', '"sqlite"').replace(', "sqlite"]', "]"))
    (root / "models" / "schema.sql").write_text("CREATE TABLE books (id bigint PRIMARY KEY, notes text);\n")
    assert run(root, "generate", "--no-input", "books").returncode == 0
    (root / "models" / "schema.sql").write_text("CREATE TABLE books (id bigint PRIMARY KEY);\n")
    assert run(root, "generate", "--no-input", "drop_notes").returncode == 0
    bundle = load_bundles(root / "bundles")[1]
    path = bundle.script_path("postgres", "up")
    path.write_text(path.read_text().replace('\nALTER TABLE "books" DROP COLUMN',
                                             '\n-- reviewkit: allow pg-drop -- notes moved to the archive\nALTER TABLE "books" DROP COLUMN'))
    seal_bundle(bundle, lambda b: bundle_risk(load_settings(root), b))
    bundle = load_bundles(root / "bundles")[1]
    drop = next(f for f in bundle.manifest["risk"]["findings"] if f["code"] == "pg-drop")
    assert drop["allowed"] == "notes moved to the archive" and bundle.risk_level == "high"
    assert run(root, "lint").returncode == 0  # allowed: lint does not fail on it


# -- the engine's shortcuts, checked against sqlglot on every scenario statement --------------


def test_readability_by_shape_and_table_from_words_agree_with_sqlglot(scenarios):
    checked = 0
    for root in scenarios.values():
        for bundle in load_bundles(root / "bundles"):
            for dialect in bundle.manifest["dialects"]:
                for direction in ("up", "down"):
                    for statement in script_statements(bundle.script(dialect, direction), dialect):
                        node = _parse(statement.sql, dialect)
                        assert statement.readable == _readability(node), statement.sql
                        words = statement.table
                        tree = table_of(node)
                        # The words may know better where sqlglot gives up (MySQL's CREATE INDEX ... USING BTREE).
                        assert words == tree or tree is None, (statement.sql, words, tree)
                        checked += 1
    assert checked > 1000


def test_numbered_operations_name_the_comment_above_a_line_only():
    from reviewkit.lint.risk import NumberedOperations

    script = ("SET lock_timeout = '5s';\n"          # line 1: above every numbered comment
              "-- 1. Create table a\n"             # line 2
              "CREATE TABLE a (id INT);\n"         # line 3
              "-- 2. Create index on a\n"          # line 4
              "CREATE INDEX i ON a (id);\n"        # line 5
              "-- 7. Not an operation of this bundle\n"  # line 6
              "SELECT 1;\n")                       # line 7
    numbered = NumberedOperations(script)
    assert numbered.above(1) is None and numbered.above(2) is None  # a comment's own line is not below it
    assert numbered.above(3) == (1, "Create table a")
    assert numbered.above(5) == (2, "Create index on a")
    assert [numbered.index_above(line, 2) for line in (1, 3, 5, 7)] == [None, 0, 1, None]
    assert NumberedOperations("").above(10) is None
