"""`reviewkit baseline` on databases built by hand with psql, mariadb and sqlite3, not by reviewkit.

Each database holds what real schemas have (enums, sequences and identity columns,
comments, views, checks, foreign keys, indexes). The baseline's models must give the
live schema back, `generate` must find nothing to do, `apply --fake` and `drift` must
agree, and every dialect's up.sql must build the same schema on an empty database.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reviewkit.bundle.store import MANIFEST, load_bundles
from reviewkit.config import load_settings
from reviewkit.db.introspect import introspect
from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect
from reviewkit.generate import baseline as baseline_module
from reviewkit.generate import baseline_bundle
from tests.conftest import another_database
from tests.test_runner import cli_url, run

BY_HAND = {
    "postgres": """
CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');
CREATE SEQUENCE author_ids;
CREATE TABLE authors (
  id integer NOT NULL DEFAULT nextval('author_ids'::regclass) PRIMARY KEY,
  name character varying(100) NOT NULL,
  feeling mood DEFAULT 'meh',
  born date CHECK (born > '1800-01-01')
);
ALTER SEQUENCE author_ids OWNED BY authors.id;
CREATE TABLE books (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
  title text NOT NULL,
  price numeric(8,2) NOT NULL DEFAULT 0,
  isbn varchar(20) UNIQUE
);
CREATE INDEX books_title_idx ON books (title);
COMMENT ON TABLE books IS 'what we sell';
COMMENT ON COLUMN books.isbn IS 'ten or thirteen digits';
CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10;
CREATE FUNCTION no_free_books() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.price <= 0 THEN RAISE EXCEPTION 'free book'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER books_not_free BEFORE INSERT ON books FOR EACH ROW EXECUTE FUNCTION no_free_books();
""",
    "mysql": """
CREATE TABLE authors (
  id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name varchar(100) NOT NULL,
  feeling enum('happy','sad','meh') DEFAULT 'meh',
  born date,
  CONSTRAINT authors_born_check CHECK (born > '1800-01-01')
) ENGINE=InnoDB;
CREATE TABLE books (
  id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
  author_id int unsigned NOT NULL,
  title varchar(200) NOT NULL,
  price decimal(8,2) NOT NULL DEFAULT 0,
  isbn varchar(20) COMMENT 'ten or thirteen digits',
  sku uuid,
  UNIQUE KEY books_isbn_key (isbn),
  KEY books_title_idx (title),
  CONSTRAINT books_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE CASCADE
) ENGINE=InnoDB COMMENT='what we sell';
CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10;
""",
    "sqlite": """
CREATE TABLE authors (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name varchar(100) NOT NULL,
  feeling text DEFAULT 'meh' CHECK (feeling IN ('happy', 'sad', 'meh')),
  born date
);
CREATE TABLE books (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
  title text NOT NULL,
  price numeric(8,2) NOT NULL DEFAULT 0,
  isbn varchar(20) UNIQUE
);
CREATE INDEX books_title_idx ON books (title);
CREATE VIEW cheap_books AS SELECT id, title FROM books WHERE price < 10;
""",
}
CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "{models_dialect}"
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""


def build_by_hand(url: DatabaseURL, script: str, errors_allowed: bool = False) -> None:
    """Run `script` with the engine's own command-line client, as a DBA builds a database.

    `errors_allowed`: a published script that stops nowhere on an error, as its users run it
    (the corpus); every error is still shown when the test fails.
    """
    if url.dialect == "postgres":
        argv = ["psql", "-X", "-q", "-v", f"ON_ERROR_STOP={0 if errors_allowed else 1}", url.raw]
    elif url.dialect == "mysql":
        argv = ["mariadb", "-h", url.host, "-P", str(url.port), "-u", url.user, url.database]
    else:
        argv = ["sqlite3", *([] if errors_allowed else ["-bail"]), url.path]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"the {argv[0]} client is not installed")
    result = subprocess.run(argv, input=script, capture_output=True, text=True)
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line.upper()]
    assert result.returncode == 0 and not errors, result.stderr


def project(tmp_path: Path, models_dialect: str) -> Path:
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "reviewkit.toml").write_text(CONFIG.replace("{models_dialect}", models_dialect))
    return root


def live(url: DatabaseURL):
    with connect(url) as conn:
        return introspect(conn)


@pytest.mark.parametrize("models_dialect", ["own", "postgres"])
def test_baseline_then_fake_then_nothing_to_generate_and_no_drift(tmp_path, engine_url, models_dialect):
    script = BY_HAND[engine_url.dialect]
    if engine_url.dialect == "mysql" and models_dialect == "postgres":
        # PostgreSQL has no unsigned integers, and its uuid is MySQL's CHAR(36), not MariaDB's UUID: see the next test
        script = script.replace("int unsigned", "int").replace("sku uuid", "sku char(36)")
    build_by_hand(engine_url, script)
    root = project(tmp_path, engine_url.dialect if models_dialect == "own" else models_dialect)
    db = cli_url(engine_url)
    made = run(root, "baseline", "--database", db)
    assert made.returncode == 0, made.stderr
    assert (root / "models" / "baseline.sql").exists() and "Next: approve it" in made.stdout
    if engine_url.dialect == "postgres":  # what is not modelled is named, never left out in silence
        assert "left out, as reviewkit does not model them" in made.stderr and "1 function, 1 trigger" in made.stderr
    bundle = load_bundles(root / "bundles")[0]
    assert bundle.id == "0001_baseline" and bundle.manifest["baseline"] is True
    assert "Baseline" in (bundle.path / "REVIEW.md").read_text()
    again = run(root, "generate", "--no-input")
    assert again.returncode == 0 and "No changes detected" in again.stdout, again.stdout + again.stderr
    assert run(root, "apply", "--fake", "--yes", "--database", db).returncode == 0
    drift = run(root, "drift", "--database", db, "--json")
    assert drift.returncode == 0 and json.loads(drift.stdout)["differences"] == [], drift.stdout
    assert run(root, "verify").returncode == 0


def test_mysql_unsigned_cannot_be_written_as_postgres_models(tmp_path, mysql_url):
    build_by_hand(mysql_url, BY_HAND["mysql"])
    root = project(tmp_path, "postgres")
    refused = run(root, "baseline", "--database", cli_url(mysql_url))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "column authors.id changed: type uinteger -> bigint" in refused.stderr
    assert "column books.sku changed: type uuid -> char(36)" in refused.stderr  # MariaDB's own UUID type
    assert 'models_dialect = "mysql" writes the models in the database\'s own dialect' in refused.stderr
    assert not (root / "models" / "baseline.sql").exists() and not (root / "bundles").exists()


def test_every_dialects_up_sql_builds_the_live_schema(tmp_path, request, engine_url):
    """Baseline a hand-built database, then build its bundle on an empty database of every engine."""
    build_by_hand(engine_url, BY_HAND[engine_url.dialect])
    root = project(tmp_path, engine_url.dialect)
    assert run(root, "baseline", "--database", cli_url(engine_url)).returncode == 0
    bundle = load_bundles(root / "bundles")[0]
    original = live(engine_url)
    for engine in ("sqlite", "postgres", "mysql"):
        target = another_database(request, engine, tmp_path)
        applied = run(root, "apply", "--yes", "--database", cli_url(target))
        assert applied.returncode == 0, f"{engine}: {applied.stderr}"
        built = live(target)
        expected = get_dialect(engine).compiler.stored_form(bundle.schema())
        assert built.ignoring_column_order() == expected.ignoring_column_order(), engine
        if engine == engine_url.dialect:
            assert built.ignoring_column_order() == original.ignoring_column_order()


def test_refused_with_bundles_already_there(tmp_path, sqlite_url):
    build_by_hand(sqlite_url, BY_HAND["sqlite"])
    root = project(tmp_path, "sqlite")
    (root / "models" / "schema.sql").write_text("CREATE TABLE t (id integer PRIMARY KEY);\n")
    assert run(root, "generate", "--no-input").returncode == 0
    result = run(root, "baseline", "--database", cli_url(sqlite_url))
    assert result.returncode == 2 and "has 1 bundle already" in result.stderr
    assert not (root / "models" / "baseline.sql").exists()


def test_models_that_would_not_give_the_schema_back_write_nothing(tmp_path, sqlite_url):
    build_by_hand(sqlite_url, BY_HAND["sqlite"])
    root = project(tmp_path, "sqlite")
    (root / "models" / "extra.sql").write_text("CREATE TABLE extra (id integer PRIMARY KEY);\n")
    result = run(root, "baseline", "--database", cli_url(sqlite_url))
    assert result.returncode == 2 and "table extra" in result.stderr and "Traceback" not in result.stderr
    assert not (root / "models" / "baseline.sql").exists() and not (root / "bundles").exists()


def test_models_out_must_be_read_by_the_models_setting(tmp_path, sqlite_url):
    build_by_hand(sqlite_url, BY_HAND["sqlite"])
    root = project(tmp_path, "sqlite")
    result = run(root, "baseline", "--database", cli_url(sqlite_url), "--models-out", "elsewhere/schema.sql")
    assert result.returncode == 2 and "is not matched by models" in result.stderr
    assert not (root / "elsewhere" / "schema.sql").exists()
    named = run(root, "baseline", "--database", cli_url(sqlite_url), "legacy", "--models-out", "models/legacy.sql")
    assert named.returncode == 0, named.stderr
    assert load_bundles(root / "bundles")[0].id == "0001_legacy" and (root / "models" / "legacy.sql").exists()


def test_missing_database_file_and_unmapped_types(tmp_path, postgres_url):
    root = project(tmp_path, "postgres")
    missing = run(root, "baseline", "--database", "sqlite:///nowhere.sqlite3")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    build_by_hand(postgres_url, "CREATE TABLE places (id integer PRIMARY KEY, spot point, area circle);")
    refused = run(root, "baseline", "--database", cli_url(postgres_url))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "places.spot has type point" in refused.stderr and "places.area has type circle" in refused.stderr
    assert not (root / "models" / "baseline.sql").exists()


UNSAYABLE = {
    "postgres": """
CREATE TABLE parents (id integer PRIMARY KEY);
CREATE TABLE kids (id integer PRIMARY KEY, parent_id integer REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
CREATE UNLOGGED TABLE scratch (id integer PRIMARY KEY) WITH (fillfactor = 70);
CREATE TABLE words (id integer PRIMARY KEY, word text COLLATE "ucs_basic", bytes text COLLATE "C", other text);
CREATE TABLE pairs (a integer, b integer, PRIMARY KEY (a, b));
CREATE TABLE links (id integer PRIMARY KEY, a integer, b integer, FOREIGN KEY (a, b) REFERENCES pairs MATCH FULL);
CREATE TABLE orphans (id integer PRIMARY KEY, a integer, b integer, FOREIGN KEY (a, b) REFERENCES pairs ON DELETE SET NULL (b));
CREATE TABLE secrets (id integer PRIMARY KEY);
ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE VIEW guarded WITH (security_barrier) AS SELECT a, b FROM pairs WHERE a > 0 WITH CHECK OPTION;
CREATE TABLE codes (id integer PRIMARY KEY, code integer, CONSTRAINT codes_code_key UNIQUE NULLS NOT DISTINCT (code));
CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5) PRIMARY KEY, n integer,
  m bigserial);
ALTER TABLE tickets ADD CONSTRAINT tickets_n_check CHECK (n > 0) NOT VALID;
""",
    "mysql": """
CREATE TABLE scratch (id int PRIMARY KEY) ENGINE=MyISAM;
CREATE TABLE packed (id int PRIMARY KEY) ROW_FORMAT=COMPRESSED;
CREATE TABLE words (id int PRIMARY KEY, word varchar(20) COLLATE utf8mb4_unicode_ci, bytes varchar(20) COLLATE utf8mb4_bin,
  other varchar(20)) COLLATE utf8mb4_general_ci;
CREATE TABLE notes (id int PRIMARY KEY, body text, code varchar(20), hidden int INVISIBLE,
  KEY notes_body (body(255)), UNIQUE KEY notes_code (code(4)));
""",
    "sqlite": """
CREATE TABLE typed (id integer PRIMARY KEY, name text) STRICT;
CREATE TABLE clustered (code text PRIMARY KEY, name text) WITHOUT ROWID;
CREATE TABLE plain (id integer PRIMARY KEY);
CREATE TABLE names (id integer PRIMARY KEY, name text COLLATE NOCASE, code text COLLATE BINARY);
CREATE TABLE kids (id integer PRIMARY KEY, a integer REFERENCES plain (id) DEFERRABLE INITIALLY DEFERRED, b integer,
  c integer REFERENCES plain (id) DEFERRABLE INITIALLY IMMEDIATE, d integer REFERENCES plain (id) DEFERRABLE,
  e integer, FOREIGN KEY (b) REFERENCES plain (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT kids_e_plain FOREIGN KEY (e) REFERENCES plain (id) NOT DEFERRABLE INITIALLY DEFERRED);
""",
}
SAID = {
    "postgres": [
        ("constraint", "codes.codes_code_key", "nulls", "not distinct"),
        ("constraint", "kids.kids_parent_id_fkey", "deferrable", "initially deferred"),
        ("constraint", "links.links_a_b_fkey", "match", "full"),
        ("constraint", "orphans.orphans_a_b_fkey", "on delete", "set null (b)"),  # PostgreSQL 15+
        ("table", "secrets", "row security", "enabled"),
        ("view", "guarded", "options", "security_barrier=true"),  # its check option is modelled
        ("table", "scratch", "persistence", "unlogged"),
        ("table", "scratch", "storage", "fillfactor=70"),
        ("column", "words.word", "collation", "ucs_basic"),  # COLLATE "C" compares bytes: the models say that
        ("column", "tickets.id", "sequence", "start with 100, increment by 5"),  # bigserial's plain counter is not
        ("constraint", "tickets.tickets_n_check", "validated", "not valid"),
    ],
    "mysql": [
        ("table", "packed", "options", "row_format=COMPRESSED"),
        ("table", "scratch", "engine", "MyISAM"),
        ("column", "words.word", "collation", "utf8mb4_unicode_ci"),  # utf8mb4_bin compares bytes: the models say that
        ("column", "notes.hidden", "visibility", "invisible"),
        ("index", "notes.notes_code", "prefix", "code(4)"),  # body(255) is the prefix a bundle gives a text column
    ],
    "sqlite": [
        ("table", "clustered", "storage", "without rowid"),
        ("table", "typed", "typing", "strict"),
        ("column", "names.name", "collation", "NOCASE"),  # BINARY is SQLite's default, and the models' binary
        # SQLite defers only DEFERRABLE INITIALLY DEFERRED; NOT DEFERRABLE, which sqlglot cannot read, is read too
        ("constraint", "kids.kids_a_fkey", "deferrable", "initially deferred"),
        ("constraint", "kids.kids_b_fkey", "deferrable", "initially deferred"),
    ],
}


def test_what_the_models_cannot_say_is_refused_or_left_out_and_then_drift(tmp_path, engine_url):
    """PostgreSQL: a DEFERRABLE key, MATCH FULL, NULLS NOT DISTINCT, an UNLOGGED table, storage parameters, a
    collation other than "C", a sequence other than a plain counter, a check NOT VALID. MariaDB: another engine than InnoDB, table options, a column collated otherwise
    than its table, an INVISIBLE column, a key prefix. SQLite: STRICT and WITHOUT ROWID, COLLATE NOCASE, a key
    checked at commit. The models cannot say them, so baseline refuses, naming
    each; with ignore_unsupported it warns and writes the models without them, and drift reports each as a
    change of the live database."""
    engine, said = engine_url.dialect, SAID[engine_url.dialect]
    build_by_hand(engine_url, UNSAYABLE[engine])
    root = project(tmp_path, engine)
    (root / "reviewkit.toml").write_text(CONFIG.replace("{models_dialect}", engine)
                                         .replace('["postgres", "mysql", "sqlite"]', f'["{engine}"]'))
    refused = run(root, "baseline", "--database", cli_url(engine_url))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"the models cannot say {len(said)} properties of the live schema" in refused.stderr, refused.stderr
    for kind, name, key, value in said:
        assert f"  {kind} {name}: {key} {value}\n" in refused.stderr, refused.stderr
    assert not (root / "models" / "baseline.sql").exists() and not (root / "bundles").exists()

    config = root / "reviewkit.toml"
    config.write_text(config.read_text().replace("[reviewkit]\n", "[reviewkit]\nignore_unsupported = true\n"))
    made = run(root, "baseline", "--database", cli_url(engine_url))
    assert made.returncode == 0, made.stderr
    assert f"warning: ignore_unsupported: left out {len(said)} properties the models cannot say" in made.stderr
    assert run(root, "apply", "--fake", "--yes", "--database", cli_url(engine_url)).returncode == 0
    drift = run(root, "drift", "--database", cli_url(engine_url), "--json")
    assert drift.returncode == 1, drift.stderr
    found = [(d["object"], d["name"], d["change"], d["expected"], d["actual"]) for d in json.loads(drift.stdout)["differences"]]
    expected = [(kind, name, "changed", {key: None}, {key: value}) for kind, name, key, value in said]
    assert sorted(found, key=str) == sorted(expected, key=str)
    kind, name, key, value = said[0]
    words = run(root, "drift", "--database", cli_url(engine_url))
    assert f"{kind} {name} changed: {key} none -> {value}" in words.stdout, words.stdout
    models = (root / "models" / "baseline.sql").read_text()
    if engine == "postgres":
        assert '"bytes" TEXT COLLATE "C",' in models
    elif engine == "mysql":
        assert "`bytes` VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" in models


def test_mysql_index_names_repeated_across_tables(tmp_path, mysql_url):
    """MySQL names indexes per table: kept in a MySQL-only project, refused with the reason otherwise."""
    build_by_hand(mysql_url, "CREATE TABLE a (id int PRIMARY KEY, x int, KEY idx_x (x));\n"
                             "CREATE TABLE b (id int PRIMARY KEY, x int, KEY idx_x (x));\n")
    root = project(tmp_path, "mysql")
    refused = run(root, "baseline", "--database", cli_url(mysql_url))
    assert refused.returncode == 2 and "index b.idx_x missing" in refused.stderr, refused.stderr
    assert "MySQL/MariaDB names indexes per table" in refused.stderr
    config = root / "reviewkit.toml"
    config.write_text(config.read_text().replace('dialects = ["postgres", "mysql", "sqlite"]', 'dialects = ["mysql"]'))
    made = run(root, "baseline", "--database", cli_url(mysql_url))
    assert made.returncode == 0, made.stderr
    assert run(root, "apply", "--fake", "--yes", "--database", cli_url(mysql_url)).returncode == 0
    assert run(root, "drift", "--database", cli_url(mysql_url)).returncode == 0
    indexes = {t.name: [ix.name for ix in t.indexes] for t in load_bundles(root / "bundles")[0].schema().tables}
    assert indexes == {"a": ["idx_x"], "b": ["idx_x"]}


def test_one_process_or_two_write_the_same_baseline(tmp_path, sqlite_url, monkeypatch):
    """Read back in a forked child while the bundle is planned, or one after the other: the same files."""
    build_by_hand(sqlite_url, BY_HAND["sqlite"])
    written = {}
    for forked in (False, True):
        monkeypatch.setattr(baseline_bundle, "fork_helps", lambda forked=forked: forked)
        root = project(tmp_path / f"forked_{forked}", "sqlite")
        bundle, models = baseline_module.baseline(load_settings(root), cli_url(sqlite_url), author="dev")
        files = {str(p.relative_to(bundle.path)): p.read_bytes() for p in bundle.path.rglob("*") if p.is_file()}
        manifest = json.loads(files.pop(MANIFEST))
        del manifest["created_at"], manifest["digest"]
        written[forked] = (files, manifest, models.read_text().split("\n", 1)[1])  # the first line says when
    assert written[False] == written[True]


@pytest.mark.parametrize("forked", [False, True])
def test_a_dialect_that_cannot_hold_the_live_schema_refuses_it_either_way(tmp_path, sqlite_url, monkeypatch, forked):
    """Forked, the child that reads the models back checks every dialect (the planning beside it does not):
    its refusal reaches the user as the one-process way's does, and nothing is written."""
    from reviewkit.errors import UnsupportedType

    monkeypatch.setattr(baseline_bundle, "fork_helps", lambda: forked)
    build_by_hand(sqlite_url, "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"
                              "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id BIGINT REFERENCES a (id));\n")
    root = project(tmp_path, "sqlite")
    (root / "models").rmdir()  # the folder baseline makes for its model file goes too
    with pytest.raises(UnsupportedType, match=r"MySQL/MariaDB refuses a foreign key from a_id \(bigint\) to a\.id"):
        baseline_module.baseline(load_settings(root), cli_url(sqlite_url), author="dev")
    # What the planning linted may stay in the local cache (.reviewkit/, which git ignores): it is keyed by the scripts' bytes.
    assert {p.name for p in root.iterdir()} - {".reviewkit"} == {"reviewkit.toml"}


@pytest.mark.parametrize("forked", [False, True])
def test_the_models_error_comes_before_the_bundles(monkeypatch, forked):
    """The models are read back beside the planning: their error is reported first, as when read first."""
    from contextlib import nullcontext

    from reviewkit.errors import ModelError, UnsupportedType
    from reviewkit.forked import ForkedCall
    from reviewkit.generate import generator
    from reviewkit.schema.state import Schema

    class NoDifference:
        def differences(self, models):
            return []

        def refuse(self, differences):
            assert differences == []

    def refuse_the_bundle(settings, options):
        raise UnsupportedType("the bundle: type point has no faithful mapping")

    def models_that_do_not_read(settings=None, written=None):
        raise ModelError("models/baseline.sql:3: does not parse")

    def models_that_read(settings=None, written=None):
        return baseline_bundle._ReadBack(["skipped 1 GRANT"], None)

    def write_checked(read_back, warn):
        monkeypatch.setattr(baseline_bundle, "_read_back", read_back)  # what the one-process way calls
        with ForkedCall(read_back) if forked else nullcontext() as reader:
            baseline_bundle._write_checked(None, generator.GenerateOptions(), NoDifference(), Schema(), reader, warn)

    monkeypatch.setattr(generator, "plan_bundle", refuse_the_bundle)
    with pytest.raises(ModelError, match="does not parse"):
        write_checked(models_that_do_not_read, None)
    warned = []
    with pytest.raises(UnsupportedType, match="the bundle"):
        write_checked(models_that_read, warned.append)
    assert warned == ["skipped 1 GRANT"]
