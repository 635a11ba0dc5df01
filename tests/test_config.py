"""Project settings: reviewkit.toml or [tool.reviewkit], databases and ${VAR} expansion."""

from __future__ import annotations

import pytest

from reviewkit.config import DEFAULT_DATABASE_URL, load_settings
from reviewkit.errors import ConfigError


def write(path, text):
    path.write_text(text)
    return path


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
                                       '[tool.reviewkit.policy]\napprovals = 0\n')
    sub = tmp_path / "src" / "deep"
    sub.mkdir(parents=True)
    settings = load_settings(sub)
    assert settings.root == tmp_path and settings.dialects == ("sqlite",) and settings.policy.approvals == 0


@pytest.mark.parametrize(("text", "message"), [
    ('[reviewkit]\ndialects = ["oracle"]\n', "unknown dialect 'oracle'"),
    ('[reviewkit]\nmodelz = []\n', "unknown setting 'modelz'"),
    ('[reviewkit\n', "reviewkit.toml"),
    ('[databases.x]\nuri = "y"\n', "[databases.x] needs url"),
])
def test_invalid_settings(tmp_path, text, message):
    write(tmp_path / "reviewkit.toml", text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        load_settings(tmp_path)
