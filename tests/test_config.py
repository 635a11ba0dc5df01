"""Project settings: reviewkit.toml or [tool.reviewkit], databases and ${VAR} expansion.

Every setting is type-checked and every unknown key or section refused (exit 2), in both
file forms, with one line naming the file, the section and the key.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewkit import config
from reviewkit.config import DEFAULT_DATABASE_URL, Policy, Settings, load_settings
from reviewkit.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(path, text):
    path.write_text(text)
    return path


def refusal(folder: Path) -> str:
    """Load the settings in `folder`, which must fail; return the message after checking its shape."""
    with pytest.raises(ConfigError) as caught:
        load_settings(folder)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert message.isprintable() and message.startswith(("reviewkit.toml: ", "pyproject.toml: ")), message
    return message


def as_reviewkit_toml(folder: Path, section: str, body: str) -> str:
    """Write `body` under `[section]` of a reviewkit.toml ("" for the top); return the header as shown."""
    write(folder / "reviewkit.toml", (f"[{section}]\n" if section else "") + body)
    return f"[{section}]"


def as_pyproject(folder: Path, section: str, body: str) -> str:
    """Write `body` under the pyproject.toml table of `section`; return the header as shown."""
    table = "tool.reviewkit" if section == "reviewkit" else f"tool.reviewkit.{section}"
    write(folder / "pyproject.toml", f'[project]\nname = "x"\n[{table}]\n{body}')
    return f"[{table}]"


FORMS = pytest.mark.parametrize("form", [as_reviewkit_toml, as_pyproject], ids=["reviewkit.toml", "pyproject.toml"])


# -- what is accepted ---------------------------------------------------------------------


def test_defaults_and_named_databases(tmp_path, monkeypatch):
    monkeypatch.delenv("REVIEWKIT_DATABASE_URL", raising=False)
    monkeypatch.setenv("PROD_URL", "postgresql://app:pw@db:5432/shop")
    write(tmp_path / "reviewkit.toml", '[reviewkit]\n[databases.prod]\nurl = "${PROD_URL}"\n')
    settings = load_settings(tmp_path)
    assert settings.dialects == ("postgres", "mysql", "sqlite")
    assert settings.database_url(None) == DEFAULT_DATABASE_URL
    assert settings.database_url("prod") == "postgresql://app:pw@db:5432/shop"
    assert settings.database_url("mysql://root@h/x") == "mysql://root@h/x"
    monkeypatch.setenv("REVIEWKIT_DATABASE_URL", "sqlite:///other.db")
    assert settings.database_url(None) == "sqlite:///other.db"


def test_unset_variable_and_unknown_database_are_config_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_URL", raising=False)
    write(tmp_path / "reviewkit.toml", '[reviewkit]\n[databases.prod]\nurl = "${NOPE_URL}"\n')
    settings = load_settings(tmp_path)
    with pytest.raises(ConfigError, match="environment variable NOPE_URL is not set"):
        settings.database_url("prod")
    with pytest.raises(ConfigError, match="no database named 'staging'"):
        settings.database_url("staging")


def test_pyproject_tool_section_and_subfolder_lookup(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.reviewkit]\ndialects = ["sqlite"]\n'
                                       '[tool.reviewkit.policy]\napprovals = 0\n'
                                       '[tool.reviewkit.databases.ci]\nurl = "sqlite:///ci.db"\n')
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    settings = load_settings(sub)
    assert settings.root == tmp_path and settings.dialects == ("sqlite",) and settings.policy.approvals == 0
    assert settings.databases == {"default": DEFAULT_DATABASE_URL, "ci": "sqlite:///ci.db"}


def test_every_setting_given_is_kept_as_written(tmp_path):
    write(tmp_path / "reviewkit.toml", """\
[reviewkit]
models = "sqlalchemy:shop.models:Base.metadata"
models_dialect = "mysql"
bundles = "migrations"
dialects = ["sqlite", "postgres"]
reviewers = "ops/reviewers.toml"
ignore_unsupported = true
[databases.default]
url = "sqlite:///other.sqlite3"
[policy]
approvals = 0
high_risk_approvals = 3
self_approval = true
required_roles = ["dba", "security"]
""")
    settings = load_settings(tmp_path)
    assert settings.models == ("sqlalchemy:shop.models:Base.metadata",)
    assert (settings.models_dialect, settings.bundles, settings.reviewers) == ("mysql", "migrations", "ops/reviewers.toml")
    assert settings.dialects == ("sqlite", "postgres")
    assert settings.ignore_unsupported is True
    assert settings.databases == {"default": "sqlite:///other.sqlite3"}
    assert settings.policy == Policy(approvals=0, high_risk_approvals=3, self_approval=True, required_roles=("dba", "security"))


def test_prove_servers_and_required_proofs(tmp_path, monkeypatch):
    """[prove] names a server per engine; REVIEWKIT_PROVE_<D>_URL wins over it, as REVIEWKIT_DATABASE_URL does."""
    monkeypatch.delenv("REVIEWKIT_PROVE_POSTGRES_URL", raising=False)
    monkeypatch.delenv("REVIEWKIT_PROVE_MYSQL_URL", raising=False)
    monkeypatch.setenv("PROVE_PG", "postgresql://ci@pg:5432/postgres")
    write(tmp_path / "reviewkit.toml", '[prove]\npostgres = "${PROVE_PG}"\n[policy]\nrequire_proof = ["postgres", "sqlite"]\n')
    settings = load_settings(tmp_path)
    assert settings.policy.require_proof == ("postgres", "sqlite")
    assert settings.prove == {"postgres": "${PROVE_PG}"}  # expanded when used, as [databases] are
    assert settings.prove_server("postgres") == "postgresql://ci@pg:5432/postgres"
    assert settings.prove_server("mysql") is None
    monkeypatch.setenv("REVIEWKIT_PROVE_POSTGRES_URL", "postgresql://other@h/x")
    monkeypatch.setenv("REVIEWKIT_PROVE_MYSQL_URL", "mysql://root@h/")
    assert settings.prove_server("postgres") == "postgresql://other@h/x"
    assert settings.prove_server("mysql") == "mysql://root@h/"
    monkeypatch.delenv("REVIEWKIT_PROVE_POSTGRES_URL")
    monkeypatch.delenv("PROVE_PG")
    with pytest.raises(ConfigError, match=r"\[prove\] postgres: environment variable PROVE_PG is not set"):
        settings.prove_server("postgres")


def test_prove_table_in_pyproject(tmp_path):
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.reviewkit.prove]\nmysql = "mysql://root@db/"\n'
                                       '[tool.reviewkit.policy]\nrequire_proof = ["mysql"]\n')
    settings = load_settings(tmp_path)
    assert settings.prove == {"mysql": "mysql://root@db/"} and settings.policy.require_proof == ("mysql",)


def test_generate_section_in_both_forms(tmp_path):
    """[generate] online and lock_timeout: off and 5s unless written, kept as written when they are."""
    write(tmp_path / "reviewkit.toml", "[reviewkit]\n")
    assert load_settings(tmp_path).generate == config.GenerateSettings(online=False, lock_timeout="5s")
    write(tmp_path / "reviewkit.toml", '[generate]\nonline = true\nlock_timeout = "500ms"\n')
    assert load_settings(tmp_path).generate == config.GenerateSettings(online=True, lock_timeout="500ms")
    other = tmp_path / "other"
    other.mkdir()
    write(other / "pyproject.toml", '[project]\nname = "x"\n[tool.reviewkit.generate]\nlock_timeout = "1min"\n')
    assert load_settings(other).generate == config.GenerateSettings(online=False, lock_timeout="1min")


def test_a_pyproject_without_tool_reviewkit_is_passed_over(tmp_path):
    write(tmp_path / "reviewkit.toml", "[policy]\napprovals = 2\n")
    inner = tmp_path / "pkg"
    inner.mkdir()
    write(inner / "pyproject.toml", 'tool = "reviewkit"\n')  # not a table: not a reviewkit config
    assert load_settings(inner).policy.approvals == 2


def test_the_checks_cover_exactly_the_settings_fields():
    """A new Settings or Policy field without a check would be unreachable from the file."""
    settings_fields = {f.name for f in dataclasses.fields(Settings)} - {"root", "config_file", "databases", "fleets", "policy", "prove", "lint",
                                                                       "generate"}
    assert set(config._MAIN) == settings_fields
    assert set(config._POLICY) == {f.name for f in dataclasses.fields(Policy)}
    assert set(config._LINT) == {f.name for f in dataclasses.fields(config.LintSettings)}
    assert set(config._GENERATE) == {f.name for f in dataclasses.fields(config.GenerateSettings)}
    assert set(config._PROVE) == {"postgres", "mysql"}  # the engines on a server; SQLite's scratch database is a file


# -- wrong types, in both file forms ----------------------------------------------------------

WRONG = [
    # section, setting, TOML value, what the message says after "[section] setting"
    ("lint", "fail_on", '"severe"', 'must be one of low, medium, high, not the string "severe"'),
    ("generate", "online", '"true"', 'must be true or false, not the string "true"'),
    ("generate", "online", "1", "must be true or false, not 1"),
    ("generate", "lock_timeout", "5", 'must be a duration like "5s", "500ms" or "1min" (a whole number > 0 and ms, s or min), not 5'),
    ("generate", "lock_timeout", '"0s"', 'must be a duration like "5s", "500ms" or "1min" (a whole number > 0 and ms, s or min), not the string "0s"'),
    ("generate", "lock_timeout", '"5 s"', 'must be a duration like "5s", "500ms" or "1min" (a whole number > 0 and ms, s or min), not the string "5 s"'),
    ("generate", "lock_timeout", '"5h"', 'must be a duration like "5s", "500ms" or "1min" (a whole number > 0 and ms, s or min), not the string "5h"'),
    ("lint", "small_table_rows", '"many"', 'must be a whole number >= 0, not the string "many"'),
    ("lint", "disable", '"pg-truncate"', 'must be a list of strings (e.g. ["pg-index-without-concurrently"]), not the string "pg-truncate"'),
    ("reviewkit", "models", "3", "must be a list of strings (e.g. [\"models/*.sql\"]), not 3"),
    ("reviewkit", "models", '""', 'must be a non-empty string, not the string ""'),
    ("reviewkit", "models", '["models/*.sql", 7]', "[1] must be a non-empty string, not 7"),
    ("reviewkit", "models", "{ a = 1 }", "must be a list of strings"),
    ("reviewkit", "models_dialect", "1", "must be a dialect name (postgres, mysql, sqlite), not 1"),
    ("reviewkit", "models_dialect", '"oracle"', "names an unknown dialect 'oracle'"),
    ("reviewkit", "models_dialect", '"postgresql"', "did you mean 'postgres'?"),
    ("reviewkit", "bundles", "true", "must be a non-empty string, not true"),
    ("reviewkit", "bundles", '["bundles"]', "must be a non-empty string, not a list"),
    ("reviewkit", "bundles", "1979-05-27", "must be a non-empty string, not the date/time 1979-05-27"),
    ("reviewkit", "dialects", '"sqlite"', 'must list at least one dialect (e.g. ["postgres", "mysql", "sqlite"]), not the string "sqlite"'),
    ("reviewkit", "dialects", "[]", "must list at least one dialect"),
    ("reviewkit", "dialects", '["sqlite", 1]', "[1] must be a dialect name"),
    ("reviewkit", "dialects", '["oracle"]', "[0] names an unknown dialect 'oracle' (known: postgres, mysql, sqlite)"),
    ("reviewkit", "dialects", '["sqlite", "mysql", "sqlite"]', "[2] names 'sqlite' twice"),
    ("reviewkit", "reviewers", "0", "must be a non-empty string, not 0"),
    ("reviewkit", "reviewers", '"  "', "must be a non-empty string"),
    ("reviewkit", "ignore_unsupported", '"true"', 'must be true or false, not the string "true"'),
    ("reviewkit", "ignore_unsupported", "1", "must be true or false, not 1"),
    ("policy", "approvals", '"one"', 'must be a whole number >= 0, not the string "one"'),
    ("policy", "approvals", "0.5", "must be a whole number >= 0, not 0.5"),
    ("policy", "approvals", "-1", "must be a whole number >= 0, not -1"),
    ("policy", "approvals", "true", "must be a whole number >= 0, not true"),
    ("policy", "approvals", "nan", "not nan"),
    ("policy", "high_risk_approvals", "2.0", "must be a whole number >= 0, not 2.0"),
    ("policy", "high_risk_approvals", "[2]", "must be a whole number >= 0, not a list"),
    ("policy", "self_approval", '"false"', 'must be true or false, not the string "false"'),
    ("policy", "self_approval", "0", "must be true or false, not 0"),
    ("policy", "self_approval", '"true"', 'must be true or false, not the string "true"'),
    ("policy", "required_roles", '"dba"', 'must be a list of strings (e.g. ["dba"]), not the string "dba"'),
    ("policy", "required_roles", '["dba", ""]', '[1] must be a non-empty string, not the string ""'),
    ("policy", "required_roles", "[1]", "[0] must be a non-empty string, not 1"),
    ("policy", "require_proof", '"mysql"', 'must be a list of dialect names (e.g. ["postgres", "mysql"]), not the string "mysql"'),
    ("policy", "require_proof", '["oracle"]', "[0] names an unknown dialect 'oracle' (known: postgres, mysql, sqlite)"),
    ("policy", "require_proof", '["mysql", "mysql"]', "[1] names 'mysql' twice"),
    ("policy", "require_proof", "[true]", "[0] must be a dialect name"),
    ("prove", "mysql", "3306", "must be a non-empty string, not 3306"),
    ("prove", "postgres", '""', "must be a non-empty string"),
    ("databases.prod", "url", "5432", "must be a non-empty string, not 5432"),
    ("databases.prod", "url", '""', "must be a non-empty string"),
]


@FORMS
@pytest.mark.parametrize(("section", "key", "value", "expected"), WRONG, ids=[f"{w[1]}={w[2]}" for w in WRONG])
def test_a_setting_of_the_wrong_type_is_refused_naming_file_section_and_key(tmp_path, form, section, key, value, expected):
    header = form(tmp_path, section, f"{key} = {value}\n")
    message = refusal(tmp_path)
    file = "pyproject.toml" if form is as_pyproject else "reviewkit.toml"
    assert message.startswith(f"{file}: {header} {key}"), message
    assert expected in message


def test_a_huge_whole_number_is_a_whole_number(tmp_path):
    """TOML integers are 64-bit; a policy nobody can meet is the author's choice, not a type error."""
    write(tmp_path / "reviewkit.toml", "[policy]\napprovals = 9223372036854775807\n")
    assert load_settings(tmp_path).policy.approvals == 2**63 - 1


# -- unknown and misspelled names ---------------------------------------------------------------

SETTINGS = [("reviewkit", k) for k in config._MAIN] + [("policy", k) for k in config._POLICY] + [("databases.prod", "url")] + \
    [("prove", k) for k in config._PROVE]


def misspell(name: str) -> str:
    """Return `name` with one letter dropped, as a hurried typist writes it."""
    middle = len(name) // 2
    return name[:middle] + name[middle + 1:]


@FORMS
@pytest.mark.parametrize(("section", "key"), SETTINGS, ids=[k for _, k in SETTINGS])
def test_a_misspelled_setting_is_refused_with_the_name_meant(tmp_path, form, section, key):
    header = form(tmp_path, section, f"{misspell(key)} = 1\n")
    message = refusal(tmp_path)
    assert f"{header} unknown setting {misspell(key)!r} (did you mean {key!r}?)" in message


@pytest.mark.parametrize(("text", "expected"), [
    ("[polcy]\napprovals = 1\n", "reviewkit.toml: unknown section [polcy] (known: reviewkit, databases, fleets, policy, prove, lint, generate)"),
    ("[policies]\napprovals = 1\n", "reviewkit.toml: unknown section [policies] (known: reviewkit, databases, fleets, policy, prove, lint, generate)"),
    ("[reviewkt]\nbundles = 'b'\n", "reviewkit.toml: unknown section [reviewkt] (known: reviewkit, databases, fleets, policy, prove, lint, generate)"),
    ("[database.prod]\nurl = 'x'\n", "reviewkit.toml: unknown section [database] (known: reviewkit, databases, fleets, policy, prove, lint, generate)"),
    ("[reviewkit.policy]\napprovals = 1\n", "reviewkit.toml: unknown section [reviewkit.policy] (did you mean [policy]?)"),
    ("[policy.roles]\ndba = 1\n", "reviewkit.toml: unknown section [policy.roles] ([policy] has no subsections)"),
    ("[databases.prod.replica]\nurl = 'x'\n", "reviewkit.toml: unknown section [databases.prod.replica] ([databases.prod] has no subsections)"),
    ('["po\\nlicy"]\napprovals = 1\n', 'reviewkit.toml: unknown section ["po\\nlicy"] (known: reviewkit, databases, fleets, policy, prove, lint, generate)'),
    ("approvals = 1\n", "reviewkit.toml: setting 'approvals' is outside any section (it belongs in [policy])"),
    ("colour = 'red'\n", "reviewkit.toml: setting 'colour' is outside any section (sections: reviewkit, databases, fleets, policy, prove, lint, generate)"),
    ("policy = 1\n", "reviewkit.toml: policy must be a section [policy], not 1"),
    ("[reviewkit]\napprovals = 2\n", "reviewkit.toml: [reviewkit] unknown setting 'approvals' (it belongs in [policy])"),
    ("[reviewkit]\ncolour = 2\n", "reviewkit.toml: [reviewkit] unknown setting 'colour' (known: models, models_dialect, bundles, dialects, reviewers, ignore_unsupported, django_apps)"),
    ("[policy]\napproval = 2\n", "reviewkit.toml: [policy] unknown setting 'approval' (did you mean 'approvals'?)"),
    ("[databases]\nurl = 'sqlite:///x'\n", "reviewkit.toml: [databases] url must be a table [databases.url] with url = \"...\", not the string \"sqlite:///x\""),
    ("[databases.x]\nuri = 'y'\n", "reviewkit.toml: [databases.x] unknown setting 'uri' (did you mean 'url'?)"),
    ("[databases.x]\n", 'reviewkit.toml: [databases.x] needs url = "..."'),
    ("[prove]\nsqlite = 'x'\n", "reviewkit.toml: [prove] unknown setting 'sqlite' (SQLite needs no server: prove uses a temporary file; known: postgres, mysql)"),
    ("[prove]\nurl = 'x'\n", "reviewkit.toml: [prove] unknown setting 'url' (it belongs in [databases.NAME])"),
    ("[prove.mysql]\nurl = 'x'\n", "reviewkit.toml: [prove] mysql must be a non-empty string, not a table"),
    ("[prove]\nrequire_proof = ['mysql']\n", "reviewkit.toml: [prove] unknown setting 'require_proof' (it belongs in [policy])"),
    ("mysql = 'mysql://h/'\n", "reviewkit.toml: setting 'mysql' is outside any section (it belongs in [prove])"),
    ("[reviewkit]\ndialects = ['postgres', 'sqlite']\n[policy]\nrequire_proof = ['sqlite', 'mysql']\n",
     "reviewkit.toml: [policy] require_proof[1] names 'mysql', which [reviewkit] dialects does not list (postgres, sqlite)"),
])
def test_unknown_sections_and_settings_of_reviewkit_toml(tmp_path, text, expected):
    write(tmp_path / "reviewkit.toml", text)
    assert refusal(tmp_path) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("[tool.reviewkit.polcy]\napprovals = 1\n", "pyproject.toml: unknown section [tool.reviewkit.polcy] (did you mean [tool.reviewkit.policy]?)"),
    ("[tool.reviewkit.settings]\nx = 1\n", "pyproject.toml: unknown section [tool.reviewkit.settings] (known: databases, fleets, policy, prove, lint, generate)"),
    ("[tool.reviewkit.databse.prod]\nurl = 'x'\n", "pyproject.toml: unknown section [tool.reviewkit.databse] (did you mean [tool.reviewkit.databases]?)"),
    ("[tool.reviewkit.reviewkit]\nbundles = 'b'\n", "pyproject.toml: unknown section [tool.reviewkit.reviewkit] (known: databases, fleets, policy, prove, lint, generate)"),
    ("[tool.reviewkit]\naprovals = 1\n", "pyproject.toml: [tool.reviewkit] unknown setting 'aprovals' (did you mean 'approvals' in [tool.reviewkit.policy]?)"),
    ("[tool.reviewkit]\napprovals = 1\n", "pyproject.toml: [tool.reviewkit] unknown setting 'approvals' (it belongs in [tool.reviewkit.policy])"),
    ("[tool.reviewkit]\npolicy = 1\n", "pyproject.toml: [tool.reviewkit] policy must be a table [tool.reviewkit.policy], not 1"),
    ("[tool.reviewkit]\ndatabases = 'sqlite:///x'\n", "pyproject.toml: [tool.reviewkit] databases must be a table [tool.reviewkit.databases]"),
    ("[tool]\nreviewkit = 1\n", "pyproject.toml: tool.reviewkit must be a table [tool.reviewkit], not 1"),
    ("[tool.reviewkit.databases]\nprod = 'x'\n", "pyproject.toml: [tool.reviewkit.databases] prod must be a table [tool.reviewkit.databases.prod]"),
])
def test_unknown_sections_and_settings_of_pyproject(tmp_path, text, expected):
    write(tmp_path / "pyproject.toml", text)
    assert refusal(tmp_path).startswith(expected)


# -- the file itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reviewkit.toml", "pyproject.toml"])
@pytest.mark.parametrize(("data", "expected"), [
    (b"[reviewkit\n", "Expected ']'"),
    (b"[policy]\napprovals = " + b"9" * 5000 + b"\n", "not valid TOML (Exceeds the limit (4300 digits)"),
    (b"x = " + b"[" * 20000 + b"\n", "not valid TOML (arrays or tables nested too deeply)"),
    (b"[policy]\n# caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 14)"),
], ids=["syntax", "huge-integer", "deep-nesting", "latin-1"])
def test_a_file_that_does_not_parse_is_named(tmp_path, name, data, expected):
    (tmp_path / name).write_bytes(data)
    message = refusal(tmp_path)
    assert message.startswith(f"{name}: ") and expected in message


# -- through the command line -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ('[policy]\nself_approval = "false"\n', 'reviewkit.toml: [policy] self_approval must be true or false, not the string "false"'),
    ("[polcy]\napprovals = 1\n", "reviewkit.toml: unknown section [polcy] (known: reviewkit, databases, fleets, policy, prove, lint, generate)"),
    ("[policy]\napprovals = -1\n", "reviewkit.toml: [policy] approvals must be a whole number >= 0, not -1"),
    ("[policy]\napprovals = " + "1" * 5000 + "\n", "reviewkit.toml: not valid TOML (Exceeds the limit (4300 digits)"),
])
def test_status_exits_2_with_one_line_naming_the_setting(tmp_path, text, expected):
    write(tmp_path / "reviewkit.toml", text)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "reviewkit", "status"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {expected}") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
