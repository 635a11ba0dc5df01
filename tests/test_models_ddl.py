"""The DDL model reader on files as teams have them: dumps with noise, objects reviewkit
does not model, mistakes. Every problem of a run is reported at once, with file, line and
the source text; noise is skipped with one warning; nothing from sqlglot reaches the user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reviewkit.errors import ModelError
from reviewkit.models.ddl import load_ddl_files
from reviewkit.models.kinds import MODEL, NOISE, UNSUPPORTED, classify


def load(tmp_path: Path, text: str | bytes, dialect: str = "postgres", ignore_unsupported: bool = False):
    """Load one model file; return (schema, warnings)."""
    path = tmp_path / "models" / "schema.sql"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    warnings: list[str] = []
    schema = load_ddl_files([path], dialect, tmp_path, ignore_unsupported, warnings.append)
    return schema, warnings


def refusal(tmp_path: Path, text: str | bytes, dialect: str = "postgres", ignore_unsupported: bool = False) -> str:
    with pytest.raises(ModelError) as caught:
        load(tmp_path, text, dialect, ignore_unsupported)
    return str(caught.value)


# -- what each statement is ---------------------------------------------------------------

@pytest.mark.parametrize(("sql", "role", "label"), [
    ("CREATE TABLE t (id int)", MODEL, "CREATE TABLE"),
    ("create unique index i on t (a)", MODEL, "CREATE INDEX"),
    ("ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id)", MODEL, "ALTER TABLE"),
    ("SET statement_timeout = 0", NOISE, "SET"),
    ("SELECT pg_catalog.set_config('search_path', '', false)", NOISE, "SELECT"),
    ("ALTER TABLE public.actor OWNER TO postgres", NOISE, "ALTER ... OWNER TO"),
    ("ALTER FUNCTION public.f(integer) OWNER TO postgres", NOISE, "ALTER ... OWNER TO"),
    ("GRANT ALL ON SCHEMA public TO PUBLIC", NOISE, "GRANT"),
    ("REVOKE ALL ON SCHEMA public FROM PUBLIC", NOISE, "REVOKE"),
    ("\\connect chinook", NOISE, "\\connect"),
    ("USE `Chinook`", NOISE, "USE"),
    ("CREATE DATABASE chinook", NOISE, "CREATE DATABASE"),
    ("DROP DATABASE IF EXISTS chinook", NOISE, "DROP DATABASE IF EXISTS"),
    ("DROP TABLE IF EXISTS [Album]", NOISE, "DROP TABLE IF EXISTS"),
    ("BEGIN TRANSACTION", NOISE, "BEGIN"),
    ("COMMIT", NOISE, "COMMIT"),
    ("ANALYZE", NOISE, "ANALYZE"),
    ("INSERT INTO t VALUES (1)", NOISE, "INSERT"),
    ("COPY public.actor (actor_id) FROM stdin", NOISE, "COPY"),
    ("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", NOISE, "MySQL /*!...*/ version comment"),
    ("CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA pg_catalog", NOISE, "CREATE EXTENSION"),
    ("COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL'", NOISE, "COMMENT ON EXTENSION"),
    ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", UNSUPPORTED, "CREATE FUNCTION"),
    ("CREATE OR REPLACE PROCEDURAL LANGUAGE plpgsql", UNSUPPORTED, "CREATE LANGUAGE"),
    ("CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW EXECUTE PROCEDURE f()", UNSUPPORTED, "CREATE TRIGGER"),
    ("CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING", UNSUPPORTED, "CREATE RULE"),
    ("CREATE POLICY p ON t USING (true)", UNSUPPORTED, "CREATE POLICY"),
    ("CREATE DEFINER=CURRENT_USER SQL SECURITY INVOKER VIEW v AS SELECT 1", MODEL, "CREATE VIEW"),
    ("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW `v` AS select 1", MODEL, "CREATE VIEW"),
    ("CREATE OR REPLACE VIEW v AS SELECT 1", MODEL, "CREATE VIEW"),
    ("CREATE MATERIALIZED VIEW v AS SELECT 1", UNSUPPORTED, "CREATE MATERIALIZED VIEW"),
    ("CREATE RECURSIVE VIEW v (n) AS SELECT 1", UNSUPPORTED, "CREATE RECURSIVE VIEW"),
    ("DROP VIEW IF EXISTS v", NOISE, "DROP VIEW IF EXISTS"),
    ("CREATE TABLE p1 (x int) INHERITS (p)", UNSUPPORTED, "CREATE TABLE ... INHERITS (table inheritance)"),
    ("CREATE TABLE p (x int) PARTITION BY RANGE (x)", UNSUPPORTED, "CREATE TABLE ... PARTITION (partitioning)"),
    ("CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (2)", UNSUPPORTED, "CREATE TABLE ... PARTITION (partitioning)"),
    ("ALTER TABLE ONLY p ATTACH PARTITION p1 FOR VALUES FROM (1) TO (2)", UNSUPPORTED, "ALTER ... ATTACH PARTITION (partitioning)"),
    ("DROP TABLE t", UNSUPPORTED, "DROP TABLE"),
])
def test_each_statement_is_sorted_by_its_leading_words(sql, role, label):
    assert classify(sql) == (kind := classify(sql)) and (kind.role, kind.label) == (role, label)


# -- noise and unsupported statements -------------------------------------------------------

PG_DUMP = """\
--
-- PostgreSQL database dump
--
\\restrict AbCdEf
SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE EXTENSION IF NOT EXISTS plpgsql WITH SCHEMA pg_catalog;
CREATE FUNCTION public.last_updated() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    NEW.last_update = CURRENT_TIMESTAMP;
    RETURN NEW;
END $$;
ALTER FUNCTION public.last_updated() OWNER TO postgres;
CREATE TABLE public.actor (
    actor_id integer NOT NULL,
    first_name text NOT NULL
);
ALTER TABLE public.actor OWNER TO postgres;
COPY public.actor (actor_id, first_name) FROM stdin;
1\tPENELOPE
2\tNICK; DROP TABLE x;
\\.
ALTER TABLE ONLY public.actor
    ADD CONSTRAINT actor_pkey PRIMARY KEY (actor_id);
CREATE TRIGGER last_updated BEFORE UPDATE ON public.actor FOR EACH ROW EXECUTE FUNCTION public.last_updated();
GRANT ALL ON SCHEMA public TO PUBLIC;
\\unrestrict AbCdEf
"""


def test_a_pg_dump_loads_with_its_noise_skipped_and_counted_once(tmp_path):
    schema, warnings = load(tmp_path, PG_DUMP, ignore_unsupported=True)
    actor = schema.table("actor")
    assert actor.column_names() == ("actor_id", "first_name") and actor.primary_key.columns == ("actor_id",)
    assert warnings[0] == ("skipped 9 statements that are not schema: 2 ALTER ... OWNER TO, 1 COPY, "
                           "1 CREATE EXTENSION, 1 GRANT, 1 SELECT, 1 SET, 1 \\restrict, 1 \\unrestrict")
    assert warnings[1] == ("ignore_unsupported: skipped 2 statements reviewkit does not model: "
                           "1 CREATE FUNCTION (first at models/schema.sql:8), 1 CREATE TRIGGER (first at models/schema.sql:27)")


def test_unsupported_statements_are_errors_naming_file_line_kind_and_source(tmp_path):
    message = refusal(tmp_path, PG_DUMP)
    assert message.splitlines() == [
        "2 problems in the models:",
        "models/schema.sql:8: CREATE FUNCTION is not part of the schema reviewkit models",
        "    CREATE FUNCTION public.last_updated() RETURNS trigger",
        "models/schema.sql:27: CREATE TRIGGER is not part of the schema reviewkit models",
        "    CREATE TRIGGER last_updated BEFORE UPDATE ON public.actor FOR EACH ROW EXECUTE FUNCTION public.la...",
        "Ignore_unsupported = true in [reviewkit] skips such statements with a warning",
    ]


def test_one_unsupported_statement_is_two_lines_with_the_remedy(tmp_path):
    message = refusal(tmp_path, "CREATE TABLE t (id int PRIMARY KEY);\nCREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING;")
    assert message.splitlines() == [
        "models/schema.sql:2: CREATE RULE is not part of the schema reviewkit models "
        "(ignore_unsupported = true in [reviewkit] skips such statements with a warning)",
        "    CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING",
    ]


def test_a_mysql_script_with_delimiters_and_version_comments(tmp_path):
    text = """\
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0;
DROP SCHEMA IF EXISTS shop;
CREATE SCHEMA shop;
USE shop;
CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)) ENGINE=InnoDB;
DELIMITER //
CREATE PROCEDURE p()
BEGIN
  SELECT 1; SELECT 2;
END //
DELIMITER ;
LOCK TABLES `t` WRITE;
INSERT INTO `t` VALUES (1),(2);
UNLOCK TABLES;
"""
    schema, warnings = load(tmp_path, text, "mysql", ignore_unsupported=True)
    assert schema.table("t").column("id").identity
    assert warnings == [
        "skipped 8 statements that are not schema: 1 CREATE SCHEMA, 1 DROP SCHEMA IF EXISTS, 1 INSERT, "
        "1 LOCK TABLES, 1 MySQL /*!...*/ version comment, 1 SET, 1 UNLOCK TABLES, 1 USE",
        "left out or read as the engine does, clauses of the models' dialect no other engine has: 1 ENGINE=",
        "ignore_unsupported: skipped 1 statement reviewkit does not model: 1 CREATE PROCEDURE (first at models/schema.sql:8)",
    ]


# -- every problem at once, each with its source ------------------------------------------

def test_every_problem_of_a_run_is_reported_at_once_in_file_order(tmp_path):
    text = """\
CREATE TABLE a (
    id int PRIMARY KEY,
    name varchar(20) NOT NULL,,
    x int
);
CREATE TABLE b (
    id int PRIMARY KEY,
    shape point
);
CREATE TABLE c (id int PRIMARY KEY, a_id int REFERENCES nowhere);
CREATE INDEX ON b USING gist (id) WITH (fillfactor = 70);
CREATE TABLE d (id int PRIMARY KEY
"""
    lines = refusal(tmp_path, text).splitlines()
    assert lines[0] == "5 problems in the models:"
    assert lines[1:3] == ["models/schema.sql:3: a comma with nothing after it (`,,` or `,)`)", "    CREATE TABLE a ("]
    assert lines[3] == "models/schema.sql:8: column b.shape: type POINT has no portable mapping (see the README's table of portable types)"
    assert lines[4] == "    shape point"
    assert lines[5] == "models/schema.sql:10: foreign key on c references unknown table nowhere"
    assert lines[7] == "models/schema.sql:11: index on b: WITH (storage parameters) is not supported"
    assert lines[9].startswith("models/schema.sql:12: does not parse")
    assert lines[10] == "    CREATE TABLE d (id int PRIMARY KEY"


@pytest.mark.parametrize("text", ["CREATE TABLE t (id int PRIMARY KEY, x int,);", "CREATE TABLE t (id int,, x int);"])
def test_a_stray_comma_is_refused(tmp_path, text):
    assert "a comma with nothing after it" in refusal(tmp_path, text)


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path):
    text = "CREATE TABLE t (\n  id int PRIMARY KEY,\n  name varchar(10) DEFAULT 'caf\xe9'\n);".encode("latin-1")
    assert refusal(tmp_path, text) == "models/schema.sql:3: the file is not UTF-8 (byte 0xe9); save it as UTF-8"


def test_a_byte_order_mark_is_not_sql(tmp_path):
    schema, _ = load(tmp_path, "\ufeffCREATE TABLE t (id int PRIMARY KEY);".encode())
    assert schema.table("t") is not None


@pytest.mark.parametrize(("text", "expected"), [
    ("CREATE TABLE t (id int PRIMARY KEY, parent int) INHERITS (p);", "CREATE TABLE ... INHERITS (table inheritance)"),
    ("CREATE TABLE t (id int, at date) PARTITION BY RANGE (at);", "CREATE TABLE ... PARTITION (partitioning)"),
    ("CREATE TABLE t (id int PRIMARY KEY, v text);\nCREATE INDEX ON t (v) WITH (fillfactor = 70);", "WITH (storage"),
    ("CREATE TABLE t (id int PRIMARY KEY, d date DEFAULT nextval('nowhere'));", "no CREATE SEQUENCE nowhere"),
    ("CREATE TABLE t (id int PRIMARY KEY, v mood);", "type mood is neither a built-in type"),
    ("CREATE SEQUENCE s INCREMENT BY 2;\nCREATE TABLE t (id int DEFAULT nextval('s') PRIMARY KEY);", "INCREMENT 2"),
])
def test_what_would_change_meaning_is_refused_not_dropped(tmp_path, text, expected):
    assert expected in refusal(tmp_path, text)


def test_index_methods_include_and_operator_classes_are_kept(tmp_path):
    schema, _ = load(tmp_path, """
CREATE TABLE t (id int PRIMARY KEY, v text, doc tsvector);
CREATE INDEX t_doc_idx ON t USING gin (doc);
CREATE INDEX t_v_idx ON t USING btree (v text_pattern_ops) INCLUDE (id);
""")
    doc, v = sorted(schema.table("t").indexes, key=lambda ix: ix.name)
    assert (doc.method, doc.include) == ("gin", ())
    assert (v.method, v.include, v.parts[0].opclass) == (None, ("id",), "text_pattern_ops")


def test_mysql_binary_and_collations_are_read_not_crashed_on(tmp_path):
    schema, warnings = load(tmp_path, "CREATE TABLE t (id INT PRIMARY KEY, password VARCHAR(40) BINARY, "
                                      "name VARCHAR(9) COLLATE utf8mb4_general_ci) DEFAULT CHARSET=utf8mb4;", "mysql")
    table = schema.table("t")
    assert (table.column("password").collation, table.column("name").collation) == ("binary", None)
    assert warnings == ["left out or read as the engine does, clauses of the models' dialect no other engine has: "
                        "1 COLLATE utf8mb4_general_ci, 1 DEFAULT CHARSET="]


def test_mysql_key_prefixes_a_bundle_writes_are_the_column_and_others_are_refused(tmp_path):
    """InnoDB keys a text column only by a prefix: the 255 characters a bundle writes (inside CREATE TABLE and in
    CREATE INDEX, where sqlglot reads `body(255)` as a call) are the column's own key; any other prefix is refused,
    not read as an expression."""
    schema, _ = load(tmp_path, "CREATE TABLE t (id INT PRIMARY KEY, body TEXT, doc JSON, KEY t_body (body(255)));\n"
                               "CREATE INDEX t_doc ON t (`doc`(255), id DESC);", "mysql")
    indexes = {ix.name: [(p.expression, p.is_column, p.descending) for p in ix.parts] for ix in schema.table("t").indexes}
    assert indexes == {"t_body": [("body", True, False)], "t_doc": [("doc", True, False), ("id", True, True)]}
    for text in ("CREATE TABLE t (id INT PRIMARY KEY, code VARCHAR(20), KEY t_code (code(5)));",
                 "CREATE TABLE t (id INT PRIMARY KEY, body TEXT);\nCREATE INDEX t_body ON t (body(100));"):
        assert "a prefix length" in refusal(tmp_path, text, "mysql")


def test_the_cli_prints_nothing_from_the_libraries_underneath(tmp_path):
    (tmp_path / "reviewkit.toml").write_text('[reviewkit]\nmodels = ["models/*.sql"]\n')
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "schema.sql").write_text(
        "CREATE TABLE t (id int PRIMARY KEY);\nALTER FUNCTION f(integer) SECURITY DEFINER;\nCREATE TABLE u (x point);\n"
    )
    result = subprocess.run([sys.executable, "-m", "reviewkit", "generate", "--no-input"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: 2 problems in the models:",
        "models/schema.sql:2: ALTER FUNCTION is not part of the schema reviewkit models",
        "    ALTER FUNCTION f(integer) SECURITY DEFINER",
        "models/schema.sql:3: column u.x: type POINT has no portable mapping (see the README's table of portable types)",
        "    CREATE TABLE u (x point)",
        "Ignore_unsupported = true in [reviewkit] skips such statements with a warning",
    ]


# -- the objects around tables --------------------------------------------------------------

def test_enum_types_domains_sequences_and_comments_become_columns(tmp_path):
    schema, _ = load(tmp_path, """
CREATE TYPE public.mood AS ENUM ('sad', 'ok');
ALTER TYPE public.mood ADD VALUE 'happy';
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN public."bıgınt" AS bigint;
CREATE DOMAIN year AS integer DEFAULT 2000 NOT NULL CONSTRAINT year_check CHECK (((VALUE >= 1901) AND (VALUE <= 2155)));
CREATE SEQUENCE public.person_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1;
CREATE TABLE public.person (
    id integer DEFAULT nextval('public.person_id_seq'::regclass) NOT NULL,
    feeling public.mood DEFAULT 'ok'::public.mood,
    big public."bıgınt",
    born public.year,
    other_id integer NOT NULL
);
ALTER SEQUENCE public.person_id_seq OWNED BY public.person.id;
ALTER TABLE ONLY public.person ADD CONSTRAINT person_pkey PRIMARY KEY (id);
COMMENT ON TABLE public.person IS 'People';
COMMENT ON COLUMN public.person.big IS 'A big number';
COMMENT ON COLUMN public.person.big IS NULL;
COMMENT ON COLUMN public.person.born IS 'The year';
""")
    person = schema.table("person")
    assert person.column("id").identity and person.column("id").default is None
    assert person.column("feeling").type == "enum mood('sad','meh','ok','happy')"
    assert person.column("feeling").default == "'ok'"
    assert (person.column("big").type, person.column("big").comment) == ("bigint", None)
    born = person.column("born")
    assert (born.type, born.nullable, born.default, born.comment) == ("integer", False, "2000", "The year")
    assert [(c.name, c.expression) for c in person.checks] == [("person_born_check", "born >= 1901 AND born <= 2155")]
    assert person.comment == "People"


def test_identity_added_by_alter_table_as_pg_dump_writes_it(tmp_path):
    schema, _ = load(tmp_path, """
CREATE TABLE t (id integer NOT NULL, name text);
ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME t_id_seq START WITH 1 INCREMENT BY 1 NO MINVALUE NO MAXVALUE CACHE 1
);
ALTER TABLE ONLY t ADD CONSTRAINT t_pkey PRIMARY KEY (id);
""")
    assert schema.table("t").column("id").identity and schema.table("t").column("id").identity_always


@pytest.mark.parametrize(("declared", "always"), [
    ("bigint GENERATED ALWAYS AS IDENTITY", True),
    ("bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1)", False),
    ("bigserial", False),
])
def test_identity_always_or_by_default(tmp_path, declared, always):
    """ALWAYS refuses a value an INSERT gives: kept apart from BY DEFAULT and serial, which take one."""
    schema, _ = load(tmp_path, f"CREATE TABLE t (id {declared} PRIMARY KEY, name text);")
    column = schema.table("t").column("id")
    assert (column.identity, column.identity_always, column.nullable) == (True, always, False)


@pytest.mark.parametrize(("text", "expected"), [
    ("CREATE SEQUENCE s;\nCREATE TABLE a (id int DEFAULT nextval('s') PRIMARY KEY);\n"
     "CREATE TABLE b (id int DEFAULT nextval('s') PRIMARY KEY);", "sequence s feeds both a.id and b.id"),
    ("CREATE TYPE t AS (a int);", "only enum types (AS ENUM) are modelled"),
    ("CREATE TYPE m AS ENUM ('a', 'a');", "enum type m needs distinct values"),
    ("ALTER TYPE nowhere ADD VALUE 'x';", "no enum type nowhere is declared before it"),
    ("CREATE TABLE t (id int PRIMARY KEY);\nCOMMENT ON COLUMN t.nope IS 'x';", "table t has no column nope"),
    ("CREATE TABLE t (id int PRIMARY KEY, at date ON UPDATE CURRENT_DATE);", "only ON UPDATE CURRENT_TIMESTAMP"),
    ("CREATE TABLE t (id int PRIMARY KEY, a int, UNIQUE NULLS NOT DISTINCT (a));", "UNIQUE NULLS NOT DISTINCT is not supported"),
    ("CREATE TABLE t (id int PRIMARY KEY) ENGINE=MyISAM;", "table t: ENGINE=MyISAM is not supported"),
    ("CREATE TABLE t (id int PRIMARY KEY, a int UNIQUE NULLS NOT DISTINCT);", "t.a: UNIQUE NULLS NOT DISTINCT is not supported"),
])
def test_objects_that_cannot_be_held_are_refused(tmp_path, text, expected):
    dialect = "mysql" if "ON UPDATE" in text or "ENGINE" in text else "postgres"
    assert expected in refusal(tmp_path, text, dialect)


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_a_key_not_deferrable_is_read_as_every_key_and_one_checked_at_commit_is_refused(tmp_path, dialect):
    """NOT DEFERRABLE, which sqlglot does not read, is what every key is; a 'NOT DEFERRABLE' in a string stays."""
    schema, _ = load(tmp_path, "CREATE TABLE p (id int PRIMARY KEY);\n"
                               "CREATE TABLE c (id int PRIMARY KEY, a int REFERENCES p (id) NOT DEFERRABLE, b int, "
                               "note varchar(40) DEFAULT 'not  deferrable', CONSTRAINT c_b FOREIGN KEY (b) REFERENCES p (id) "
                               "ON DELETE CASCADE not deferrable initially immediate);", dialect)
    table = schema.table("c")
    assert [(fk.columns, fk.on_delete) for fk in table.foreign_keys] == [(("a",), "NO ACTION"), (("b",), "CASCADE")]
    assert table.column("note").default == "'not  deferrable'"
    refused = refusal(tmp_path, "CREATE TABLE p (id int PRIMARY KEY);\n"
                                "CREATE TABLE c (id int PRIMARY KEY, a int REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
                      dialect)
    assert "models/schema.sql:2: column c.a: foreign key to p: DEFERRABLE is not supported" in refused


def test_sqlite_without_rowid_is_refused_naming_the_table(tmp_path):
    refused = refusal(tmp_path, 'CREATE TABLE "a b" (code text PRIMARY KEY, name text) STRICT, WITHOUT ROWID;', "sqlite")
    assert 'models/schema.sql:1: table "a b": WITHOUT ROWID is not supported' in refused


def test_mysql_columns_keep_what_they_say(tmp_path):
    schema, _ = load(tmp_path, """
CREATE TABLE film (
  film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT,
  rating ENUM('G','PG') DEFAULT 'G',
  features SET('a','b c') DEFAULT NULL,
  released YEAR,
  note TEXT COMMENT 'free text',
  last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  h DECIMAL(4,2) AS (film_id / 60.0) PERSISTENT,
  PRIMARY KEY (film_id),
  KEY idx_rating (rating),
  FULLTEXT KEY idx_note (note)
) ENGINE=InnoDB COMMENT='Films';
""", "mysql")
    film = schema.table("film")
    assert [c.type for c in film.columns[:4]] == [
        "usmallint", "enum film_rating('G','PG')", "set('a','b c')", "year"]
    assert film.column("note").comment == "free text" and film.comment == "Films"
    assert film.column("last_update").on_update == "CURRENT_TIMESTAMP"
    assert (film.column("h").generated, film.column("h").stored) == ("film_id / 60.0", True)
    assert {ix.name: ix.method for ix in film.indexes} == {"idx_rating": None, "idx_note": "fulltext"}


def test_mysql_times_without_a_precision_keep_whole_seconds(tmp_path):
    schema, _ = load(tmp_path, "CREATE TABLE t (id INT PRIMARY KEY, a DATETIME, b DATETIME(3), c TIME, d TIMESTAMP NULL);",
                     "mysql")
    assert [c.type for c in schema.table("t").columns[1:]] == ["timestamp(0)", "timestamp(3)", "time(0)", "timestamptz(0)"]
    pg, _ = load(tmp_path, "CREATE TABLE t (id int PRIMARY KEY, a timestamp, c time);")
    assert [c.type for c in pg.table("t").columns[1:]] == ["timestamp", "time"]  # PostgreSQL's microseconds


def test_index_names_repeat_across_tables_only_when_every_target_names_them_per_table(tmp_path):
    ddl = "CREATE TABLE a (id INT PRIMARY KEY, x INT, KEY idx_x (x));\nCREATE TABLE b (id INT PRIMARY KEY, x INT, KEY idx_x (x));"
    path = tmp_path / "models" / "schema.sql"
    path.parent.mkdir()
    path.write_text(ddl)
    mysql_only = load_ddl_files([path], "mysql", tmp_path, targets=("mysql",))
    assert [ix.name for t in mysql_only.tables for ix in t.indexes] == ["idx_x", "idx_x"]
    everywhere = load_ddl_files([path], "mysql", tmp_path, targets=("postgres", "mysql"))
    assert [ix.name for t in everywhere.tables for ix in t.indexes] == ["idx_x", "b_idx_x"]


# Plain CREATE INDEX statements, as baseline writes them, are read from their words; the
# others are parsed by sqlglot. Both readings must give the same schema, warnings and errors.
PLAIN_INDEXES = """
CREATE TABLE "t" ("a" integer NOT NULL, "b""q" text, "C" text, CONSTRAINT "t_pkey" PRIMARY KEY ("a"));
CREATE TABLE "u" ("a" integer);
CREATE INDEX "t_a" ON "t" ("a");
CREATE UNIQUE INDEX "t_bq" ON "t" ("b""q" DESC, "a");
CREATE INDEX "Mixed Case" ON "t" ("C" DESC, "b""q", "a" DESC);
CREATE INDEX "u_a" ON "u" ("a");
create index "t_lower" on "t" ("a");
CREATE INDEX "t_asc" ON "t" ("a" ASC);
CREATE INDEX "t_tight" ON "t"("a");
CREATE INDEX "t_nulls" ON "t" ("a" DESC NULLS FIRST);
"""
PLAIN_INDEX_MISTAKES = """
CREATE TABLE "t" ("a" integer);
CREATE INDEX "t_a" ON "t" ("a");
CREATE INDEX "t_a" ON "t" ("a" DESC);
CREATE INDEX "x_a" ON "x" ("a");
CREATE INDEX "t_b" ON "t" ("b");
"""
PLAIN_INDEX_LEFT_OUT = """
CREATE TABLE "p" ("a" integer) PARTITION BY RANGE ("a");
CREATE TABLE "p1" PARTITION OF "p" FOR VALUES FROM (1) TO (2);
CREATE INDEX "p1_a" ON "p1" ("a");
CREATE INDEX "p_a" ON "p" ("a");
"""


@pytest.mark.parametrize(("text", "dialect", "ignore_unsupported"), [
    (PLAIN_INDEXES, "postgres", False), (PLAIN_INDEXES, "sqlite", False),
    (PLAIN_INDEXES.replace('""', "``").replace('"', "`"), "mysql", False),
    (PLAIN_INDEX_MISTAKES, "postgres", False), (PLAIN_INDEX_LEFT_OUT, "postgres", True),
], ids=["postgres", "sqlite", "mysql", "mistakes", "left-out"])
def test_plain_indexes_read_from_their_words_as_sqlglot_reads_them(tmp_path, monkeypatch, text, dialect, ignore_unsupported):
    from reviewkit.models import ddl_index_text, ddl_tables

    def read(folder: str):
        (tmp_path / folder).mkdir()
        try:
            return load(tmp_path / folder, text, dialect, ignore_unsupported)
        except ModelError as error:
            return str(error)

    read_plain = []

    def create_plain_index(context, stmt):
        read_plain.append(stmt.line)
        ddl_index_text.create_plain_index(context, stmt)

    monkeypatch.setitem(ddl_tables._TEXT_HANDLERS, "CREATE INDEX", create_plain_index)
    from_words = read("words")
    assert read_plain  # the plain ones were read from their words
    monkeypatch.setattr(ddl_index_text, "is_plain_index", lambda sql, dialect: False)
    assert from_words == read("sqlglot")
