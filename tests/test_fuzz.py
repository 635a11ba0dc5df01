"""Fuzzing the files users and reviewers edit by hand: config, manifests, approvals, reviewers.

Together the tests generate about 4,000 documents (valid-looking structures with wrong
types, unknown keys, odd nesting, huge numbers, broken bytes) and read them as reviewkit
does. The only outcomes allowed: success, with every value of the type the code expects
(and, for the config, every setting written arriving unchanged), or a ReviewkitError whose
message is one line naming the file. Any other exception fails.

The runs are derandomized (the same examples every time) and take about 25 s together;
`REVIEWKIT_FUZZ_EXAMPLES=20000` sets every test's count for a long sweep.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewkit.bundle.digest import MANIFEST, compute_digest, verify_files
from reviewkit.bundle.store import Bundle, read_manifest
from reviewkit.config import Policy, load_settings
from reviewkit.dialects import dialect_names
from reviewkit.diff import OneOffDefaults
from reviewkit.errors import ConfigError, IntegrityError, ReviewkitError
from reviewkit.generate.generator import GenerateOptions, generate
from reviewkit.scaffold import init_project
from reviewkit.signoff.approvals import approval_message, check_approvals, evaluate_with, sign_approval
from reviewkit.signoff.keys import generate_key_files, load_private_key, public_line
from reviewkit.signoff.reviewers import load_reviewers

DIALECTS = dialect_names()
STATUSES = {"valid", "stale", "unknown key", "bad signature", "wrong bundle", "self-approval", "duplicate key", "malformed"}


def fuzz(examples: int):
    """Return the hypothesis settings of a fuzz test: `examples` runs, or REVIEWKIT_FUZZ_EXAMPLES."""
    count = int(os.environ.get("REVIEWKIT_FUZZ_EXAMPLES") or examples)
    return settings(max_examples=count, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def assert_one_line_naming(error: ReviewkitError, *names: str) -> None:
    text = str(error)
    assert text.isprintable() and text.startswith(tuple(f"{n}: " for n in names)), repr(text)


# -- TOML, rendered by hand so that any structure (and any wrong type) can be written ----------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_string(text: str) -> str:
    """Return `text` as a TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else "\\" + c if c in '"\\' else c for c in text)
    return f'"{escaped}"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return value.isoformat()  # dates and datetimes


KNOWN = {
    "reviewkit": ("models", "models_dialect", "bundles", "dialects", "reviewers", "ignore_unsupported"),
    "policy": ("approvals", "high_risk_approvals", "self_approval", "required_roles", "require_proof"),
    "databases.NAME": ("url",),
    "prove": ("postgres", "mysql"),
    "generate": ("online", "lock_timeout"),
}
GOOD = {
    "models": st.one_of(st.just("models/*.sql"), st.lists(st.sampled_from(["models/*.sql", "more.sql"]), max_size=2)),
    "models_dialect": st.sampled_from(DIALECTS),
    "bundles": st.sampled_from(["bundles", "db/bundles"]),
    "dialects": st.lists(st.sampled_from(DIALECTS), min_size=1, max_size=3, unique=True),
    "reviewers": st.just("reviewers.toml"),
    "ignore_unsupported": st.booleans(),
    "approvals": st.integers(0, 3),
    "high_risk_approvals": st.integers(0, 3),
    "self_approval": st.booleans(),
    "required_roles": st.lists(st.sampled_from(["dba", "security"]), max_size=2),
    "require_proof": st.lists(st.sampled_from(DIALECTS), max_size=2, unique=True),
    "postgres": st.sampled_from(["postgresql://ci@pg/postgres", "${PG_URL}"]),
    "mysql": st.just("mysql://root@db/"),
    "url": st.sampled_from(["sqlite:///x.db", "${PROD_URL}"]),
    "online": st.booleans(),
    "lock_timeout": st.sampled_from(["5s", "500ms", "2min"]),
}
TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["false", "true", "0", "1", "dba", "postgres", "oracle", "", " ", "models/*.sql"]),
    st.dates(),
    st.datetimes(),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=2),
    max_leaves=4,
)
ALL_KEYS = sorted({k for keys in KNOWN.values() for k in keys})
KEYS = st.one_of(
    st.sampled_from(ALL_KEYS),
    st.sampled_from(ALL_KEYS).map(lambda k: k[:-1]),  # a letter short
    st.sampled_from(ALL_KEYS).map(lambda k: k.upper()),
    st.text(max_size=10),
)
KNOWN_SECTIONS = st.sampled_from(["reviewkit", "policy", "databases.default", "databases.prod", "prove", "generate"])
ODD_SECTIONS = st.one_of(
    st.sampled_from(["databases", "polcy", "policies", "reviewkit.policy", "policy.extra", "databases.prod.replica", "Policy"]),
    st.text(min_size=1, max_size=8),
)


def mostly(draw: st.DrawFn, common: st.SearchStrategy, rare: st.SearchStrategy, odds: int) -> Any:
    """Draw from `common` `odds` times in `odds + 1`, else from `rare`: most documents get past the first check."""
    return draw(rare) if draw(st.integers(0, odds)) == odds else draw(common)


@st.composite
def section_names(draw: st.DrawFn) -> str:
    return mostly(draw, KNOWN_SECTIONS, ODD_SECTIONS, 8)


@st.composite
def setting(draw: st.DrawFn, section: str | None = None) -> tuple[str, Any]:
    """Draw a key of `section` (mostly its own) and a value (for a known key, mostly of the right type)."""
    kind = "databases.NAME" if section and section.startswith("databases.") and section.count(".") == 1 else section
    key = mostly(draw, st.sampled_from(KNOWN[kind]), KEYS, 6) if kind in KNOWN else draw(KEYS)
    value = mostly(draw, GOOD[key], TOML_VALUES, 2) if key in GOOD else draw(TOML_VALUES)
    return key, value


def section_body(section: str | None) -> st.SearchStrategy[list[tuple[str, Any]]]:
    return st.lists(setting(section), max_size=3, unique_by=lambda kv: kv[0])


@st.composite
def config_documents(draw: st.DrawFn) -> tuple[str, str, list[tuple[str | None, list[tuple[str, Any]]]]]:
    """Draw (file name, TOML text, the sections written) as reviewkit.toml or pyproject.toml."""
    pyproject = draw(st.booleans())
    sections: list[tuple[str | None, list]] = []
    if pyproject or draw(st.integers(0, 9)) == 0:  # settings above any table: refused in reviewkit.toml
        sections.append((None, draw(section_body("reviewkit" if pyproject else None))))
    names = draw(st.lists(section_names(), max_size=3, unique=True))
    sections += [(name, draw(section_body(name))) for name in names if not (pyproject and name == "reviewkit")]
    if pyproject:  # [tool.reviewkit] holds the top-level settings and the other tables
        sections = [(f"tool.reviewkit.{name}" if name else "tool.reviewkit", body) for name, body in sections]
    lines = ['[project]\nname = "demo"'] if pyproject else []
    for name, body in sections:
        if name is not None:
            lines.append("[" + ".".join(toml_key(part) for part in name.split(".")) + "]")
        lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in body]
    return ("pyproject.toml" if pyproject else "reviewkit.toml"), "\n".join(lines) + "\n", sections


def assert_well_typed(found: Any) -> None:
    """Check that settings read from a file hold exactly the types the rest of reviewkit expects."""
    policy = found.policy
    for count in (policy.approvals, policy.high_risk_approvals):
        assert type(count) is int and count >= 0
    assert type(policy.self_approval) is bool
    assert isinstance(policy.required_roles, tuple) and all(type(r) is str and r.strip() for r in policy.required_roles)
    assert isinstance(policy.require_proof, tuple) and set(policy.require_proof) <= set(found.dialects)
    assert set(found.prove) <= set(DIALECTS) and all(type(url) is str and url.strip() for url in found.prove.values())
    assert isinstance(found.models, tuple) and all(type(m) is str and m.strip() for m in found.models)
    assert found.models_dialect in DIALECTS
    assert found.dialects and set(found.dialects) <= set(DIALECTS) and len(set(found.dialects)) == len(found.dialects)
    assert type(found.bundles) is str and type(found.reviewers) is str
    assert type(found.ignore_unsupported) is bool
    assert all(type(url) is str and url for url in found.databases.values())
    assert type(found.generate.online) is bool
    assert type(found.generate.lock_timeout) is str and re.fullmatch(r"[1-9][0-9]*(ms|s|min)", found.generate.lock_timeout)


def assert_settings_hold(found: Any, sections: list) -> None:
    """Check that every setting the document wrote arrived, unchanged: nothing ignored or coerced."""
    for name, body in sections:
        section = (name or "").removeprefix("tool.reviewkit").removeprefix(".") or "reviewkit"
        for key, value in body:
            expected = tuple(value) if isinstance(value, list) else value
            if section == "policy":
                assert getattr(found.policy, key) == expected
            elif section == "prove":
                assert found.prove[key] == value
            elif section == "generate":
                assert getattr(found.generate, key) == value
            elif section == "reviewkit":
                assert getattr(found, key) == (expected if key != "models" or isinstance(value, list) else (value,))
            elif section == "databases":  # [databases] prod = { url = "..." }
                assert found.databases[key] == value["url"]
            else:
                assert section.startswith("databases.") and found.databases[section.split(".", 1)[1]] == value


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def fresh_folder(root: Path, name: str) -> Path:
    """Return an empty folder under `root`: each example gets one, so files of the last do not leak in."""
    folder = root / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder


@fuzz(1000)
@given(document=config_documents())
def test_config_documents_load_or_name_the_problem(scratch, document):
    name, text, sections = document
    folder = fresh_folder(scratch, "config")
    (folder / name).write_text(text, encoding="utf-8")
    try:
        found = load_settings(folder)
    except ConfigError as error:
        assert_one_line_naming(error, name)
        return
    assert_well_typed(found)
    assert_settings_hold(found, sections)


@st.composite
def damaged(draw: st.DrawFn, documents: st.SearchStrategy[bytes]) -> bytes:
    """Draw a document and damage its bytes: a byte changed, a slice cut, a huge number or deep nesting put in."""
    data = draw(documents)
    at = draw(st.integers(0, len(data)))
    damage = draw(st.sampled_from(["byte", "cut", "digits", "nesting", "none"]))
    if damage == "byte":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
    if damage == "cut":
        return data[:at] + data[at + draw(st.integers(1, 20)):]
    if damage == "digits":
        return data[:at] + b"9" * draw(st.sampled_from([4299, 4301, 10_000])) + data[at:]
    if damage == "nesting":
        return data[:at] + b"[" * draw(st.sampled_from([100, 5000, 100_000])) + data[at:]
    return data


@fuzz(400)
@given(document=config_documents(), data=st.data())
def test_damaged_config_bytes_load_or_name_the_file(scratch, document, data):
    name, text, _ = document
    folder = fresh_folder(scratch, "config-bytes")
    (folder / name).write_bytes(data.draw(damaged(st.just(text.encode()))))
    try:
        assert_well_typed(load_settings(folder))
    except ConfigError as error:
        if str(error).startswith("no reviewkit.toml found in "):  # the damage took [tool.reviewkit] away
            assert name == "pyproject.toml"
        else:
            assert_one_line_naming(error, name)


# -- JSON: mutations of what reviewkit writes ------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**1000),
    st.floats(allow_nan=False, allow_infinity=False),  # json.dumps would write NaN, which is no JSON: tested once elsewhere
    st.text(max_size=12), st.sampled_from(["", "high", "low", "0001_initial", "postgres", "0" * 64, "2026-11-25T17:30:00Z"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """Return a deep copy of `original` with one to three nodes replaced, retyped, removed or added to."""
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        document = _mutate_once(draw, document)
    return document


def _mutate_once(draw: st.DrawFn, document: Any) -> Any:
    """Walk down a random path (at least one step; four in five go one further) and change what is there."""
    parent, key, node = None, None, document
    while isinstance(node, dict | list) and node and (parent is None or draw(st.integers(0, 4)) > 0):
        parent, key = node, draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        node = node[key]
    action = draw(st.sampled_from(["replace", "replace", "retype", "retype", "delete", "add"]))
    if action == "add" and isinstance(node, dict):
        node[draw(st.text(max_size=8) | st.sampled_from(["baseline", "online", "dialect", "hint", "op", "table"]))] = draw(JSON_VALUES)
    elif action == "add" and isinstance(node, list):
        node.append(draw(JSON_VALUES | st.sampled_from([copy.deepcopy(n) for n in node] or [None])))
    elif parent is None:  # an empty document: the whole of it replaced
        return draw(JSON_VALUES)
    elif action == "delete":
        del parent[key]
    else:
        parent[key] = draw(JSON_VALUES) if action == "replace" else _retyped(draw, node)
    return document


def _retyped(draw: st.DrawFn, value: Any) -> Any:
    """Return `value` in another JSON type, the way a hand edit gets it wrong: "1" for 1, [x] for x."""
    return draw(st.sampled_from([
        json.dumps(value), [value], {"value": value}, None, True,
        len(value) if isinstance(value, str | list | dict) else 10**400, str(value).upper(),
    ]))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a generated project: bundle 0001 and 0002_tighten (risk high, a SQLite-only finding), approved by alice."""
    root = tmp_path_factory.mktemp("fuzz-project")
    init_project(root)
    models = root / "models" / "schema.sql"
    models.write_text("CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(255), phone text);\n")
    generate(load_settings(root), GenerateOptions(author="Dana <dana@example.com>"))
    models.write_text("CREATE TABLE customers (id bigserial PRIMARY KEY, email varchar(100) NOT NULL);\n")
    tightened = GenerateOptions(author="Dana <dana@example.com>", name="tighten",
                                one_off_defaults=OneOffDefaults.parse(["customers.email=''"]))
    bundle = generate(load_settings(root), tightened)
    keys = root.parent / "keys"
    generate_key_files("alice", keys)
    key = load_private_key(keys / "alice", lambda path: None)
    (root / "reviewers.toml").write_text(f'[reviewers.alice]\nkeys = ["{public_line(key)}"]\nroles = ["dba"]\n')
    record = sign_approval(bundle, key, "alice", "looks fine")
    (bundle.path / "approvals" / "alice.json").write_text(json.dumps(record))
    return root


def bundle_copy(scratch: Path, project: Path, name: str) -> Path:
    """Return a copy of bundle 0002_tighten under `scratch`, made once: examples rewrite only its JSON files."""
    target = scratch / name / "0002_tighten"
    if not target.is_dir():
        shutil.copytree(project / "bundles" / "0002_tighten", target)
    return target


def original_manifest(project: Path) -> dict[str, Any]:
    return json.loads((project / "bundles" / "0002_tighten" / MANIFEST).read_text())


def assert_manifest_usable(folder: Path, manifest: dict[str, Any]) -> None:
    """Check that what read_manifest let through is safe for everything that reads it next."""
    bundle = Bundle(folder, manifest)
    assert bundle.number == 2 and bundle.risk_level in ("low", "medium", "high")
    assert type(bundle.online) is bool
    compute_digest(manifest)
    assert all(problem.isprintable() for problem in verify_files(bundle.path, bundle.manifest))
    evaluate_with(bundle, Policy(), None)


@fuzz(1000)
@given(data=st.data())
def test_mutated_manifests_read_or_name_file_and_field(scratch, project, data):
    manifest = data.draw(mutated(original_manifest(project)))
    folder = bundle_copy(scratch, project, "manifest")
    (folder / MANIFEST).write_text(json.dumps(manifest))
    try:
        found = read_manifest(folder)
    except IntegrityError as error:
        assert_one_line_naming(error, f"{folder.name}/{MANIFEST}")
        return
    assert_manifest_usable(folder, found)


@fuzz(400)
@given(data=st.data())
def test_damaged_manifest_bytes_read_or_name_the_file(scratch, project, data):
    text = json.dumps(original_manifest(project), indent=data.draw(st.sampled_from([None, 2])))
    folder = bundle_copy(scratch, project, "manifest-bytes")
    (folder / MANIFEST).write_bytes(data.draw(damaged(st.just(text.encode()))))
    try:
        found = read_manifest(folder)
    except IntegrityError as error:
        assert_one_line_naming(error, f"{folder.name}/{MANIFEST}")
        return
    assert_manifest_usable(folder, found)


# -- approval files and the reviewers file -----------------------------------------------------


def approval_of(project: Path) -> dict[str, Any]:
    return json.loads((project / "bundles" / "0002_tighten" / "approvals" / "alice.json").read_text())


def assert_approvals_checked(folder: Path, project: Path) -> None:
    """Check the approval as verify does: every outcome is a status with a one-line reason."""
    bundle = Bundle(folder, read_manifest(folder))
    reviewers = load_reviewers(project / "reviewers.toml")
    policy = load_settings(project).policy
    for check in check_approvals(bundle, reviewers, policy):
        assert check.status in STATUSES
        assert check.line().isprintable() and check.line().startswith(f"{folder.name}/approvals/"), check.line()
    evaluate_with(bundle, policy, reviewers)


@fuzz(700)
@given(data=st.data(), resign=st.booleans())
def test_mutated_approval_files_get_a_status_never_an_exception(scratch, project, data, resign):
    folder = bundle_copy(scratch, project, "approval")
    path = folder / "approvals" / "alice.json"
    record = data.draw(mutated(approval_of(project)))
    if resign and isinstance(record, dict):  # a valid signature over bad fields reaches the later checks
        key = load_private_key(project.parent / "keys" / "alice", lambda p: None)
        record["signature"] = base64.b64encode(key.sign(approval_message(record))).decode()
    path.write_text(json.dumps(record))
    assert_approvals_checked(folder, project)


@fuzz(300)
@given(data=st.data())
def test_damaged_approval_bytes_get_a_status_never_an_exception(scratch, project, data):
    folder = bundle_copy(scratch, project, "approval-bytes")
    path = folder / "approvals" / "alice.json"
    path.write_bytes(data.draw(damaged(st.just(json.dumps(approval_of(project)).encode()))))
    assert_approvals_checked(folder, project)


KEY_LINE = public_line(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "fuzz")
REVIEWER_VALUES = st.one_of(
    TOML_VALUES,
    st.lists(st.sampled_from([KEY_LINE, KEY_LINE[:40], "ssh-rsa AAAAB3NzaC1yc2E a", "not a key", ""]), max_size=2),
)


@st.composite
def reviewers_documents(draw: st.DrawFn) -> str:
    entries = draw(st.dictionaries(st.text(max_size=8) | st.sampled_from(["alice", "bob.r", "-x"]),
                                   st.dictionaries(st.sampled_from(["keys", "emails", "roles", "key", "role"]), REVIEWER_VALUES, max_size=3),
                                   max_size=3))
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in draw(st.lists(setting(), max_size=1))]
    for name, fields in entries.items():
        lines.append(f"[reviewers.{toml_key(name)}]")
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in fields.items()]
    return "\n".join(lines) + "\n"


@fuzz(300)
@given(data=st.data())
def test_reviewers_files_load_or_name_the_file(scratch, data):
    path = fresh_folder(scratch, "reviewers") / "reviewers.toml"
    path.write_bytes(data.draw(damaged(reviewers_documents().map(str.encode))))
    try:
        reviewers = load_reviewers(path)
    except ConfigError as error:
        text = str(error)  # keys.py's parse errors may quote a key's odd characters: one line is the promise
        assert text.startswith(("reviewers.toml: ", f"{path}: ")) and len(text.splitlines()) == 1, repr(text)
        return
    for reviewer in reviewers.by_name.values():
        assert reviewer.keys and all(type(e) is str for e in reviewer.emails + reviewer.roles)
