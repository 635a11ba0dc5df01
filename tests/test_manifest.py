"""Manifests: every field of format 1 checked, and a bad one named with its file and field (exit 3).

The mutations start from manifests `reviewkit generate` wrote, so the checks are proven
not to refuse what reviewkit itself writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reviewkit.bundle.digest import MANIFEST
from reviewkit.bundle.manifest import FIELDS
from reviewkit.bundle.store import load_bundles, read_manifest, stage_bundle, write_bundle
from reviewkit.config import load_settings
from reviewkit.diff import OneOffDefaults
from reviewkit.errors import IntegrityError
from reviewkit.generate.generator import GenerateOptions, generate
from reviewkit.scaffold import init_project

REPO = Path(__file__).resolve().parents[1]
DEMO_BUNDLES = sorted(p for p in (REPO / "bundles").iterdir() if (p / MANIFEST).is_file())
HEX = "0" * 64
AUTHOR = "Test Author <t@example.com>"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a project whose bundles are 0001_initial, 0002 (risk high, a SQLite-only finding) and an --empty 0003."""
    root = tmp_path_factory.mktemp("manifests")
    init_project(root)
    models = root / "models" / "schema.sql"
    models.write_text("CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(255), phone text);\n")
    generate(load_settings(root), GenerateOptions(author=AUTHOR))
    models.write_text("CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(100) NOT NULL);\n")
    generate(load_settings(root), GenerateOptions(author=AUTHOR, name="tighten",
                                                  one_off_defaults=OneOffDefaults.parse(["customers.email=''"])))
    generate(load_settings(root), GenerateOptions(author=AUTHOR, empty=True, name="by_hand"))
    return root


@pytest.fixture
def bundle(tmp_path: Path, generated: Path) -> Path:
    """Return a copy of the generated bundle 0002, free to be mutated."""
    target = tmp_path / "0002_tighten"
    shutil.copytree(generated / "bundles" / "0002_tighten", target)
    return target


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text())


def refused(folder: Path) -> str:
    """Read the manifest, which must be refused; return the message after checking its shape."""
    with pytest.raises(IntegrityError) as caught:
        read_manifest(folder)
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert message.startswith(f"{folder.name}/manifest.json: ") and message.isprintable(), message
    return message.removeprefix(f"{folder.name}/manifest.json: ")


def test_demo_and_generated_manifests_pass(generated):
    bundles = load_bundles(generated / "bundles")
    assert [b.id for b in bundles] == ["0001_initial", "0002_tighten", "0003_by_hand"]
    findings = bundles[1].manifest["risk"]["findings"]
    assert bundles[1].risk_level == "high" and {"dialect": "sqlite"}.items() <= findings[-1].items()  # every shape occurs
    assert bundles[2].manifest["operations"] == [] and bundles[2].manifest["parent"] == "0002_tighten"
    for folder in DEMO_BUNDLES:
        assert read_manifest(folder)["id"] == folder.name


def test_format_1_has_exactly_the_documented_fields(generated):
    assert set(FIELDS) == set(manifest_of(generated / "bundles" / "0001_initial"))


def finding(**changes):
    """Return a valid risk finding with `changes`; a change to None removes the field."""
    base = {"level": "medium", "code": "lock", "message": "locks", "operation": 0}
    return {k: v for k, v in (base | changes).items() if v is not None}


def risk_with(*findings, level="high"):
    return {"level": level, "findings": list(findings)}


# Each: the field changed, its new value (None with `delete` removes it), what the message says.
WRONG = [
    ("format", "1", 'format must be the number 1, not the string "1"'),
    ("format", True, "format must be the number 1, not true"),
    ("format", 1.0, "format must be the number 1, not 1.0"),
    ("format", 2, "format 2 is not supported (this reviewkit reads format 1)"),
    ("id", 12, "id must be a bundle id like 0002_add_email, not 12"),
    ("id", "0002_Tighten", 'id must be a bundle id like 0002_add_email, not the string "0002_Tighten"'),
    ("id", "2_tighten", "id must be a bundle id"),
    ("id", "0002_tighten\n", "id must be a bundle id"),
    ("id", "0003_other", "id '0003_other' does not match its folder '0002_tighten'"),
    ("parent", ["x"], "parent must be null or a bundle id like 0001_initial, not an array"),
    ("parent", 1, "parent must be null or a bundle id like 0001_initial, not 1"),
    ("parent", "../0001_initial", "parent must be null or a bundle id"),
    ("created_at", 12, "created_at must be a UTC time like 2026-11-25T17:30:00Z, not 12"),
    ("created_at", "2026-11-25 17:30:00", "created_at must be a UTC time"),
    ("created_at", "2026-11-25T17:30:00+02:00", "created_at must be a UTC time"),
    ("created_at", "2026-02-30T17:30:00Z", "created_at must be a UTC time"),
    ("created_at", "yesterday", 'not the string "yesterday"'),
    ("author", "", 'author must be a non-empty string (Name <email>, email or name), not the string ""'),
    ("author", "   ", "author must be a non-empty string"),
    ("author", None, "author must be a non-empty string (Name <email>, email or name), not null"),
    ("author", {"name": "x"}, "author must be a non-empty string (Name <email>, email or name), not an object"),
    ("generator", None, "generator must be a string (the reviewkit version), not null"),
    ("generator", 1, "generator must be a string"),
    ("dialects", [], "dialects must be a non-empty array of dialect names (postgres, mysql, sqlite), not an array"),
    ("dialects", "postgres", 'dialects must be a non-empty array of dialect names (postgres, mysql, sqlite), not the string "postgres"'),
    ("dialects", ["postgres", "oracle", "sqlite"], 'dialects[1] must be a dialect name (postgres, mysql, sqlite), not the string "oracle"'),
    ("dialects", ["postgres", 1], "dialects[1] must be a dialect name (postgres, mysql, sqlite), not 1"),
    ("dialects", ["postgres", ["mysql"]], "dialects[1] must be a dialect name (postgres, mysql, sqlite), not an array"),
    ("dialects", ["postgres", "mysql", "postgres"], 'dialects[2] repeats "postgres"'),
    # Fewer dialects than files would be fine (the extra files are just listed), but a finding names mysql.
    ("dialects", ["sqlite", "postgres"], 'risk.findings[2].dialect "mysql" is not one of the bundle\'s dialects (sqlite, postgres)'),
    ("dialects", ["postgres"], 'risk.findings[2].dialect "mysql" is not one of the bundle\'s dialects (postgres)'),
    ("operations", {}, "operations must be an array of operations, not an object"),
    ("operations", [1], "operations[0] must be an object with op and table, not 1"),
    ("operations", [{"op": "drop_column"}], "operations[0].table must be a string, not missing"),
    ("operations", [{"op": 1, "table": "t"}], "operations[0].op must be a string, not 1"),
    ("risk", "high", 'risk must be an object with exactly level and findings, not the string "high"'),
    ("risk", {"level": "high"}, 'risk must be an object with exactly level and findings, not the fields "level"'),
    ("risk", {"level": "high", "findings": [], "note": 1}, 'not the fields "findings", "level", "note"'),
    ("risk", risk_with(level="critical"), 'risk.level must be one of low, medium, high, not the string "critical"'),
    ("risk", risk_with(level=None), "risk.level must be one of low, medium, high, not null"),
    ("risk", {"level": "low", "findings": "none"}, 'risk.findings must be an array, not the string "none"'),
    ("risk", risk_with(1), "risk.findings[0] must be an object with level, code and message, not 1"),
    ("risk", risk_with(finding(level="severe")), 'risk.findings[0].level must be one of low, medium, high, not the string "severe"'),
    ("risk", risk_with(finding(), finding(code=None)), "risk.findings[1].code must be a string, not missing"),
    ("risk", risk_with(finding(message=["x"])), "risk.findings[0].message must be a string, not an array"),
    ("risk", risk_with(finding(operation=-1)), "risk.findings[0].operation must be an operation's index (0, 1, ...), not -1"),
    ("risk", risk_with(finding(operation="1")), 'risk.findings[0].operation must be an operation\'s index (0, 1, ...), not the string "1"'),
    ("risk", risk_with(finding(operation=True)), "risk.findings[0].operation must be an operation's index (0, 1, ...), not true"),
    ("risk", risk_with(finding(operation=0.0)), "risk.findings[0].operation must be an operation's index (0, 1, ...), not 0.0"),
    ("risk", risk_with(finding(operation=2)), "risk.findings[0].operation 2 is past the last of its 2 operations"),
    ("risk", risk_with(finding(dialect=3)), "risk.findings[0].dialect must be a dialect name, not 3"),
    ("risk", risk_with(finding(dialect="oracle")), 'risk.findings[0].dialect "oracle" is not one of the bundle\'s dialects (postgres, mysql, sqlite)'),
    ("risk", risk_with(finding(hint="x")), 'risk.findings[0] has an unknown field "hint" (known: allowed, code, dialect, help, level, line, message, operation, statement, table)'),
    ("risk", risk_with(finding(level="high"), level="low"), "risk.level 'low' is below its highest finding's level 'high'"),
    ("files", [], "files must be an object mapping paths to sha256 hex digests, not an array"),
    ("files", {"../../etc/passwd": HEX}, 'files["../../etc/passwd"] leaves the bundle folder'),
    ("files", {"/etc/passwd": HEX}, 'files["/etc/passwd"] leaves the bundle folder'),
    ("files", {"~root/x": HEX}, "leaves the bundle folder"),
    ("files", {"a\\..\\..\\x": HEX}, "leaves the bundle folder"),
    ("files", {"": HEX}, 'files[""] leaves the bundle folder'),
    ("files", {"REVIEW.md": 1}, 'files["REVIEW.md"] must be a sha256 (64 lowercase hex digits), not 1'),
    ("files", {"REVIEW.md": "A" * 64}, "must be a sha256 (64 lowercase hex digits)"),
    ("files", {"REVIEW.md": "0" * 63}, "must be a sha256 (64 lowercase hex digits)"),
    ("files", {"schema.json": HEX}, "dialects lists postgres but files has no postgres/up.sql"),
    ("digest", 1, "digest must be a sha256 (64 lowercase hex digits), not 1"),
    ("digest", "F" * 64, "digest must be a sha256"),
    ("digest", None, "digest must be a sha256 (64 lowercase hex digits), not null"),
]


@pytest.mark.parametrize(("name", "value", "expected"), WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)])
def test_each_field_wrong_is_refused_naming_the_field(bundle, name, value, expected):
    manifest = manifest_of(bundle)
    manifest[name] = value
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    if expected is None:
        assert read_manifest(bundle)[name] == value
    else:
        assert expected in refused(bundle)


@pytest.mark.parametrize("name", FIELDS)
def test_each_field_missing_is_refused(bundle, name):
    manifest = manifest_of(bundle)
    del manifest[name]
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    assert refused(bundle) == f"missing field {name!r}"


@pytest.mark.parametrize("extra", ["baselined", "digest ", "Format", "replaced"])  # `replaces` is a squash's (test_squash)
def test_an_unknown_top_level_field_is_refused(bundle, extra):
    manifest = manifest_of(bundle) | {extra: True}
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    assert refused(bundle).startswith(f"unknown field {json.dumps(extra)} (format 1 has exactly: format, id, parent,")


@pytest.mark.parametrize("value", [False, "yes", 1, None])
def test_baseline_is_true_or_absent(bundle, value):
    manifest = manifest_of(bundle) | {"baseline": value}
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    assert refused(bundle).startswith("baseline must be true when present")


@pytest.mark.parametrize("value", [False, "true", 1, None, {}])
def test_online_is_true_or_absent(bundle, value):
    manifest = manifest_of(bundle) | {"online": value}
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    assert refused(bundle).startswith("online must be true when present")


def test_online_true_is_read(bundle):
    manifest = manifest_of(bundle) | {"online": True}
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    assert read_manifest(bundle)["online"] is True


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "not valid JSON (Expecting value: line 1 column 1 (char 0))"),
    (b"{not json", "not valid JSON (Expecting property name enclosed in double quotes"),
    (b'{"format": 1, "id": "caf\xe9"}', "not UTF-8 text (byte 0xe9 at offset 24)"),
    (b'{"format": ' + b"1" * 5000 + b"}", "not valid JSON (Exceeds the limit (4300 digits) for integer string conversion"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON (arrays or objects nested too deeply)"),
    (b'{"format": 1, "format": 1}', 'not valid JSON (the key "format" appears twice in one object)'),
    (b'{"format": NaN}', "not valid JSON (NaN is not a JSON number)"),
    (b"[]", "not a JSON object but an array"),
    (b"null", "not a JSON object but null"),
], ids=["empty", "syntax", "latin-1", "huge-integer", "deep-nesting", "duplicate-key", "nan", "array", "null"])
def test_a_manifest_that_does_not_parse_is_named(bundle, data, expected):
    (bundle / MANIFEST).write_bytes(data)
    assert refused(bundle).startswith(expected)


def test_a_lone_surrogate_is_refused_before_any_digest_meets_it(bundle):
    text = (bundle / MANIFEST).read_text().replace('"author": "Test Author', '"author": "Test \\ud800Author')
    (bundle / MANIFEST).write_text(text)
    assert refused(bundle) == "a string holds a lone surrogate escape (\\ud800 to \\udfff), which is not text"


def test_a_missing_manifest_is_named(bundle):
    (bundle / MANIFEST).unlink()
    assert refused(bundle) == "missing"


def test_write_bundle_refuses_a_manifest_it_could_not_read_back(tmp_path, generated):
    manifest = manifest_of(generated / "bundles" / "0001_initial") | {"id": "0004_blank", "author": "  "}
    files = {rel: (generated / "bundles" / "0001_initial" / rel).read_bytes() for rel in manifest["files"]}
    with pytest.raises(IntegrityError, match=r"0004_blank/manifest.json: author must be a non-empty string"):
        write_bundle(tmp_path, "0004_blank", files, manifest)
    assert list(tmp_path.iterdir()) == []


def test_a_staged_bundle_is_in_place_once_committed_and_gone_once_discarded(tmp_path, generated):
    manifest = manifest_of(generated / "bundles" / "0001_initial")
    files = {rel: (generated / "bundles" / "0001_initial" / rel).read_bytes() for rel in manifest["files"]}
    bundles = tmp_path / "bundles"
    staged = stage_bundle(bundles, "0001_initial", files, manifest)
    assert load_bundles(bundles) == []  # beside its place, not a bundle of the project yet
    staged.discard()
    assert not bundles.exists()  # as it was: the folder made for it is gone too
    committed = stage_bundle(bundles, "0001_initial", files, manifest).commit()
    assert [b.id for b in load_bundles(bundles)] == ["0001_initial"] and committed.digest == manifest["digest"]


# -- through the command line ---------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """Return a copy of the demo project: its config, reviewers, models and two signed bundles."""
    for name in ("reviewkit.toml", "reviewers.toml"):
        shutil.copy(REPO / name, tmp_path / name)
    for name in ("models", "bundles"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def set_field(project: Path, name: str, value: object) -> None:
    path = project / "bundles" / "0002_add_phone_and_shipping" / MANIFEST
    path.write_text(json.dumps(json.loads(path.read_text()) | {name: value}))


@pytest.mark.parametrize(("command", "name", "value", "expected"), [
    ("verify", "risk", "high", 'risk must be an object with exactly level and findings, not the string "high"'),
    ("status", "parent", ["x"], "parent must be null or a bundle id like 0001_initial, not an array"),
    ("status", "created_at", 12, "created_at must be a UTC time like 2026-11-25T17:30:00Z, not 12"),
    ("apply", "files", {"../../reviewkit.toml": HEX}, 'files["../../reviewkit.toml"] leaves the bundle folder'),
])
def test_commands_exit_3_naming_manifest_and_field(demo, command, name, value, expected):
    set_field(demo, name, value)
    result = run(demo, command)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr == f"error: 0002_add_phone_and_shipping/manifest.json: {expected}\n"
    assert not (demo / "reviewkit.sqlite3").exists()  # apply refused before it touched the database


def test_a_huge_integer_in_a_manifest_is_named_not_a_traceback(demo):
    path = demo / "bundles" / "0001_initial" / MANIFEST
    path.write_text(path.read_text().replace('"format": 1', '"format": ' + "9" * 5000))
    result = run(demo, "verify")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: 0001_initial/manifest.json: not valid JSON (Exceeds the limit (4300 digits)")


def run(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWKIT_")} | {"PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL)
