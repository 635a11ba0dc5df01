"""The package keeps its shape: engine knowledge stays in the engine's package, and every
registered engine provides the whole dialect interface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name

from reviewkit.dialects import dialect_names, get_dialect, url_schemes
from reviewkit.dialects.compiler import Compiler
from reviewkit.dialects.driver import Driver

PACKAGE = Path(__file__).resolve().parent.parent / "reviewkit"
DIALECTS = PACKAGE / "dialects"


def _engine_words() -> set[str]:
    """Every name that means one engine: dialect names and URL schemes."""
    return set(dialect_names()) | {scheme.split("+")[0] for scheme in url_schemes()}


def _literal_strings(node: ast.AST) -> list[str]:
    """The string constants a comparison operand holds, directly or in a tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for element in node.elts for s in _literal_strings(element)]
    return []


def dialect_branches(source: str, words: set[str]) -> list[tuple[int, str]]:
    """Return (line, what) for every comparison with, dict keyed by, or match case on an engine's name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            names = {s for operand in operands for s in _literal_strings(operand)} & words
            if names:
                found.append((node.lineno, f"comparison with {sorted(names)}"))
        elif isinstance(node, ast.Dict):
            names = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)} & words
            if names:
                found.append((node.lineno, f"dict keyed by {sorted(names)}"))
        elif isinstance(node, ast.match_case):
            names = set(_literal_strings(getattr(node.pattern, "value", ast.Constant(None)))) & words
            if names:
                found.append((node.pattern.lineno, f"match case {sorted(names)}"))
    return found


def test_no_dialect_branch_outside_the_dialect_packages():
    words = _engine_words()
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(DIALECTS):
            continue
        for line, what in dialect_branches(path.read_text(encoding="utf-8"), words):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {what}")
    assert offenders == [], "engine knowledge outside reviewkit/dialects/:\n" + "\n".join(offenders)


def test_the_branch_finder_finds_branches():
    """The check above can fail: each form of a dialect branch is found."""
    words = {"mysql", "sqlite"}
    source = (
        'if dialect == "mysql": pass\n'
        'if name in ("sqlite", "x"): pass\n'
        'RULES = {"mysql": 1}\n'
        'match d:\n    case "sqlite": pass\n'
        'plain = "mysql"\n'  # a name as a value is not a branch
    )
    assert [line for line, _ in dialect_branches(source, words)] == [1, 2, 3, 5]


@pytest.mark.parametrize("name", dialect_names())
def test_every_dialect_provides_the_whole_interface(name):
    dialect = get_dialect(name)
    assert dialect.name == name and dialect.title and dialect.url_schemes
    assert isinstance(dialect.compiler, Compiler) and type(dialect.compiler) is not Compiler
    assert isinstance(dialect.driver, Driver) and type(dialect.driver) is not Driver
    assert callable(dialect.introspection.read_tables) and callable(dialect.introspection.read_views)
    assert get_lexer_by_name(dialect.lexer)  # `show` highlights with it
    assert dialect.file_based or dialect.default_port
    # The package is self-contained: its parts live inside it.
    package = f"reviewkit.dialects.{name}"
    for part in (type(dialect.compiler), type(dialect.driver)):
        assert part.__module__.startswith(package), part
    assert dialect.introspection.__name__.startswith(package)


def test_every_part_of_an_engine_is_loaded_only_when_used():
    """`verify` and `--help` must not pay for sqlglot or a driver: the registry imports neither."""
    import subprocess
    import sys

    code = "import sys; from reviewkit.dialects import dialect_names; dialect_names(); " \
           "print(sorted(m for m in sys.modules if m.startswith(('sqlglot', 'psycopg', 'pymysql'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
