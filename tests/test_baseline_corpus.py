"""`reviewkit baseline` on the public sample databases, loaded as their users load them.

Each corpus file (as the corpus tests adapt it, see tests/test_corpus.py) is run with the
engine's own client (psql, mariadb, sqlite3) into a fresh database, data included. The
baseline's models must give that schema back: `generate` finds nothing to do, `apply
--fake` and `drift` agree, and the bundle's up.sql builds the same schema on an empty
database of the same engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from reviewkit.db.introspect import introspect
from reviewkit.dialects.connection import connect
from tests.conftest import another_database
from tests.corpus_support import CorpusModel, corpus_file
from tests.test_baseline import build_by_hand
from tests.test_corpus import CHINOOK, PAGILA, SAKILA
from tests.test_runner import cli_url, run

# The scripts make and enter a database of their own; here they run in the one the test made.
_OWN_DATABASE = re.compile(r"^\s*(?:DROP DATABASE|CREATE DATABASE|CREATE SCHEMA sakila|USE |\\c ).*$",
                           re.IGNORECASE | re.MULTILINE)
# pagila is a PostgreSQL 18 dump: what PostgreSQL 15 (the test server) cannot load is taken out, each for its reason.
_PAGILA_ON_15 = (
    (r"\) VIRTUAL", ") STORED", "virtual generated columns came with PostgreSQL 18"),
    (r"CREATE EXTENSION IF NOT EXISTS vector[^;]*;|COMMENT ON EXTENSION vector[^;]*;", "",
     "the pgvector extension is not installed on the test server"),
    (r"CREATE TABLE public\.film_embedding \(.*?\);|ALTER TABLE ONLY public\.film_embedding[^;]*;"
     r"|CREATE INDEX film_embedding[^;]*;|ALTER TABLE public\.film_embedding[^;]*;"
     r"|CREATE TRIGGER \w+ [^;]* ON public\.film_embedding [^;]*;", "", "film_embedding holds a pgvector column"),
)


def _loadable(model: CorpusModel) -> str:
    if model.id != "pagila-schema":
        # sakila's MySQL views name their tables sakila.film: the database the script would have made.
        return _OWN_DATABASE.sub("", model.source_text()).replace("sakila.", "")
    # PostgreSQL runs all of pagila's views: only the PostgreSQL 18 parts are taken out.
    text = corpus_file(model.file).read_text(encoding="utf-8")
    for old, new, _reason in (*model.adapt[:1], *_PAGILA_ON_15):
        text, count = re.subn(old, new, text, flags=re.DOTALL)
        assert count, f"pagila: nothing to take out for {old!r}"
    return text


# Views whose query sqlglot's neutral form cannot hold (GROUP_CONCAT ... SEPARATOR, and the
# STRING_AGG PostgreSQL shows for sakila's group_concat aggregate): with ignore_unsupported,
# baseline leaves them out, saying so, and drift reports them as not managed.
LEFT_OUT = {"postgres-sakila-schema": ["actor_info"], "mysql-sakila-schema": ["actor_info"]}

# Projects that target their database's engine only: pagila's views aggregate as only
# PostgreSQL can (jsonb_object_agg); MySQL sakila names indexes per table (idx_fk_film_id on
# two tables), which PostgreSQL and SQLite cannot hold (see the test below).
ONE_ENGINE = {"pagila-schema": ["postgres"], "mysql-sakila-schema": ["mysql"]}

# What each database has that reviewkit does not model, which baseline must name.
NOT_MODELLED = {
    "pagila-schema": ("function", "partition or inheriting table", "trigger"),
    "postgres-sakila-schema": ("function", "partition or inheriting table", "rule", "trigger"),
    "mysql-sakila-schema": ("function", "procedure", "trigger"),
    "sqlite-sakila-schema": ("trigger",),
}

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "{dialect}"
dialects = {dialects}

{extra}
[policy]
approvals = 0
high_risk_approvals = 0
"""


@pytest.mark.parametrize("model", [*CHINOOK, *SAKILA, *PAGILA], ids=lambda m: m.id)
def test_corpus_database_baselines_and_rebuilds(tmp_path, request, model):
    url = request.getfixturevalue(f"{model.dialect}_url")
    build_by_hand(url, _loadable(model), errors_allowed=True)
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    dialects = ONE_ENGINE.get(model.id, ["postgres", "mysql", "sqlite"])
    left_out = LEFT_OUT.get(model.id, [])
    extra = "ignore_unsupported = true\n" if left_out else ""
    (root / "reviewkit.toml").write_text(CONFIG.format(dialect=model.dialect, dialects=json.dumps(dialects), extra=extra))
    db = cli_url(url)
    made = run(root, "baseline", "--database", db)
    assert made.returncode == 0, made.stderr
    for view in left_out:
        assert f"view {view}: sqlglot's neutral form cannot hold" in made.stderr, made.stderr
    for kind in NOT_MODELLED.get(model.id, ()):  # said, never left out in silence
        assert re.search(rf"left out, as reviewkit does not model them .*\d+ {kind}", made.stderr), made.stderr
    again = run(root, "generate", "--no-input")
    assert "No changes detected" in again.stdout, again.stdout + again.stderr
    assert run(root, "apply", "--fake", "--yes", "--database", db).returncode == 0
    drift = run(root, "drift", "--database", db, "--json")
    found = [(d["object"], d["name"], d["change"]) for d in json.loads(drift.stdout)["differences"]]
    assert found == [("view", view, "added") for view in left_out], drift.stdout
    assert drift.returncode == (1 if left_out else 0)
    empty = another_database(request, model.dialect, tmp_path)
    built = run(root, "apply", "--yes", "--database", cli_url(empty))
    assert built.returncode == 0, built.stderr
    with connect(url) as original, connect(empty) as rebuilt:
        live = introspect(original)
        live = replace(live, views=tuple(v for v in live.views if v.name not in left_out))
        assert introspect(rebuilt).ignoring_column_order() == live.ignoring_column_order()
