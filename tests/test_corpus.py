"""Public sample schemas as models, proven on the three engines.

Each corpus file is used as a project's models exactly as published (dump noise and data
included): generate, then up/down/up on PostgreSQL, MariaDB and SQLite with the live
schema read back equal to `schema.json`; then a realistic second change (a NOT NULL
column with a default, a varchar widened, an index replaced, a column renamed) with rows
loaded before it, still there after it. On the engine of the file's own dialect the rows
are the corpus's own sample data.
"""

from __future__ import annotations

import pytest

from reviewkit.errors import UnsupportedType
from tests.corpus_support import Change, CorpusModel, build_corpus_project, load_corpus_data
from tests.scenario_support import insert_sample_rows, walk_bundles
from tests.test_engines import assert_schema

CHINOOK = [
    CorpusModel("chinook/Chinook_PostgreSql.sql", "postgres", Change(
        edits=(
            ("    title VARCHAR(160) NOT NULL,", "    title VARCHAR(160) NOT NULL,\n    rating INT NOT NULL DEFAULT 0,"),
            ("    name VARCHAR(120),\n    CONSTRAINT artist_pkey", "    name VARCHAR(200),\n    CONSTRAINT artist_pkey"),
            ("CREATE INDEX album_artist_id_idx ON album (artist_id);",
             "CREATE INDEX album_artist_id_title_idx ON album (artist_id, title);"),
            ("    composer VARCHAR(220),", "    songwriter VARCHAR(220),"),
        ),
        renames=("track.composer=track.songwriter",),
    )),
    CorpusModel("chinook/Chinook_MySql.sql", "mysql", Change(
        edits=(
            ("    `Title` NVARCHAR(160) NOT NULL,", "    `Title` NVARCHAR(160) NOT NULL,\n    `Rating` INT NOT NULL DEFAULT 0,"),
            ("    `Name` NVARCHAR(120),\n    CONSTRAINT `PK_Artist`", "    `Name` NVARCHAR(200),\n    CONSTRAINT `PK_Artist`"),
            ("CREATE INDEX `IFK_AlbumArtistId` ON `Album` (`ArtistId`);",
             "CREATE INDEX `IFK_AlbumArtistTitle` ON `Album` (`ArtistId`, `Title`);"),
            ("    `Composer` NVARCHAR(220),", "    `Songwriter` NVARCHAR(220),"),
        ),
        renames=("Track.Composer=Track.Songwriter",),
    )),
    CorpusModel("chinook/Chinook_Sqlite.sql", "sqlite", Change(
        edits=(
            ("    [Title] NVARCHAR(160)  NOT NULL,", "    [Title] NVARCHAR(160)  NOT NULL,\n    [Rating] INTEGER NOT NULL DEFAULT 0,"),
            ("    [Name] NVARCHAR(120),\n    CONSTRAINT [PK_Artist]", "    [Name] NVARCHAR(200),\n    CONSTRAINT [PK_Artist]"),
            ("CREATE INDEX [IFK_AlbumArtistId] ON [Album] ([ArtistId]);",
             "CREATE INDEX [IFK_AlbumArtistTitle] ON [Album] ([ArtistId], [Title]);"),
            ("    [Composer] NVARCHAR(220),", "    [Songwriter] NVARCHAR(220),"),
        ),
        renames=("Track.Composer=Track.Songwriter",),
    )),
]
IGNORE_UNSUPPORTED = {"ignore_unsupported": "true"}  # the full files: functions, triggers, rules, partitions

SAKILA = [
    CorpusModel("sakila/postgres-sakila-schema.sql", "postgres", Change(
        edits=(
            ("    actor_id integer DEFAULT nextval('actor_actor_id_seq'::regclass) NOT NULL,\n",
             "    actor_id integer DEFAULT nextval('actor_actor_id_seq'::regclass) NOT NULL,\n"
             "    nickname character varying(20) DEFAULT 'none' NOT NULL,\n"),
            ("    name character varying(25) NOT NULL,", "    name character varying(40) NOT NULL,"),
            ("CREATE INDEX idx_actor_last_name ON actor USING btree (last_name);",
             "CREATE INDEX idx_actor_full_name ON actor USING btree (last_name, first_name);"),
            ("    phone character varying(20) NOT NULL,", "    phone_number character varying(20) NOT NULL,"),
        ),
        renames=("address.phone=address.phone_number",),
        everywhere=(("a.phone, city.city", "a.phone_number AS phone, city.city"),),
    ), IGNORE_UNSUPPORTED, adapt=(
        (r"ON UPDATE CASCADE ON DELETE SET NULL;", "ON UPDATE CASCADE ON DELETE RESTRICT;",
         "payment.rental_id is NOT NULL: MySQL refuses SET NULL on it (see the test of the file as published)"),
    )),
    CorpusModel("sakila/mysql-sakila-schema.sql", "mysql", Change(
        edits=(
            ("  actor_id INT UNSIGNED NOT NULL AUTO_INCREMENT,\n",
             "  actor_id INT UNSIGNED NOT NULL AUTO_INCREMENT,\n  nickname VARCHAR(20) NOT NULL DEFAULT 'none',\n"),
            ("  name VARCHAR(25) NOT NULL,", "  name VARCHAR(40) NOT NULL,"),
            ("  KEY idx_actor_last_name (last_name)", "  KEY idx_actor_full_name (last_name, first_name)"),
            ("  phone VARCHAR(20) NOT NULL,", "  phone_number VARCHAR(20) NOT NULL,"),
        ),
        renames=("address.phone=address.phone_number",),
        everywhere=(("a.phone AS phone", "a.phone_number AS phone"),),
    ), IGNORE_UNSUPPORTED, adapt=(
        (r"GROUP BY s\.store_id\nORDER BY", "GROUP BY s.store_id, cy.country, c.city, m.first_name, m.last_name\nORDER BY",
         "sales_by_store selects columns it does not group by, which MySQL allows and PostgreSQL refuses"),
    )),
    CorpusModel("sakila/sqlite-sakila-schema.sql", "sqlite", Change(
        edits=(
            ("  actor_id INTEGER NOT NULL ,\n", "  actor_id INTEGER NOT NULL ,\n  nickname VARCHAR(20) DEFAULT 'none' NOT NULL,\n"),
            ("  name VARCHAR(25) NOT NULL,", "  name VARCHAR(40) NOT NULL,"),
            ("CREATE  INDEX idx_actor_last_name ON actor(last_name)",
             "CREATE  INDEX idx_actor_full_name ON actor(last_name, first_name)"),
            ("  phone VARCHAR(20) NOT NULL,", "  phone_number VARCHAR(20) NOT NULL,"),
        ),
        renames=("address.phone=address.phone_number",),
        everywhere=(("a.phone AS phone", "a.phone_number AS phone"),),
    ), IGNORE_UNSUPPORTED, adapt=(
        (r"cu\.active=1", "cu.active='1'", "customer_list compares the CHAR(1) column active with the number 1, "
         "which SQLite and MySQL convert and PostgreSQL refuses"),
    )),
]
PAGILA = [
    CorpusModel("pagila/pagila-schema.sql", "postgres", Change(
        edits=(
            ("    actor_id integer DEFAULT nextval('public.actor_actor_id_seq'::regclass) NOT NULL,\n",
             "    actor_id integer DEFAULT nextval('public.actor_actor_id_seq'::regclass) NOT NULL,\n"
             "    nickname text DEFAULT 'none' NOT NULL,\n"),
            ("    rental_duration smallint DEFAULT 3 NOT NULL,", "    rental_duration integer DEFAULT 3 NOT NULL,"),
            ("CREATE INDEX idx_actor_last_name ON public.actor USING btree (last_name);",
             "CREATE INDEX idx_actor_full_name ON public.actor USING btree (last_name, first_name);"),
            ("    phone text NOT NULL,", "    phone_number text NOT NULL,"),
        ),
        renames=("address.phone=address.phone_number",),
        everywhere=(("    a.phone,\n", "    a.phone_number AS phone,\n"),),
    ), IGNORE_UNSUPPORTED, adapt=(
        (r" DEFAULT uuidv7\(\)", "", "uuidv7() is PostgreSQL 18's; the test servers are older and MySQL has none"),
        (r"CREATE VIEW public\.actor_info AS.*?;\n", "",
         "actor_info aggregates with jsonb_object_agg and array_agg, which only PostgreSQL has: "
         "reviewkit refuses it for SQLite by name (see the test of the file as published)"),
    )),
]
MODELS = CHINOOK + SAKILA + PAGILA


@pytest.fixture(scope="module", params=MODELS, ids=[m.id for m in MODELS])
def corpus_project(request, tmp_path_factory):
    model = request.param
    warnings: list[str] = []
    bundles = build_corpus_project(model, tmp_path_factory.mktemp(model.id), warnings)
    return model, bundles, warnings


def test_corpus_file_loads_as_it_is_published(corpus_project):
    model, bundles, warnings = corpus_project
    assert [b.number for b in bundles] == [1, 2]
    # The data and script noise are skipped, and said so in one line per kind of skip.
    assert warnings, "what was skipped or left out is said"
    if model in CHINOOK:
        assert "INSERT" in warnings[0] and len(set(warnings)) == 1, warnings  # the same line for both runs
    second = [op["op"] for op in bundles[1].manifest["operations"]]
    assert {"add_column", "alter_column", "add_index", "drop_index", "rename_column"} <= set(second), second


def test_corpus_bundles_round_trip_with_rows(engine_db, corpus_project):
    model, bundles, _ = corpus_project

    def load_rows(conn, schema, seed):
        # On the engine of its own dialect a file with sample data brings its own rows.
        if conn.dialect != model.dialect or not load_corpus_data(conn, model):
            insert_sample_rows(conn, schema, seed)

    walk_bundles(engine_db, bundles, assert_schema, load_rows)


def test_sakila_as_published_is_refused_for_mysql_naming_the_foreign_key(tmp_path):
    """PostgreSQL's sakila declares ON DELETE SET NULL on a NOT NULL column: MariaDB would refuse it at apply."""
    model = CorpusModel(SAKILA[0].file, "postgres", SAKILA[0].change, IGNORE_UNSUPPORTED)
    with pytest.raises(UnsupportedType) as refused:
        build_corpus_project(model, tmp_path)
    assert str(refused.value) == ("foreign key payment_rental_id_fkey on payment: MySQL/MariaDB refuses "
                                  "ON DELETE SET NULL on the NOT NULL column rental_id")


def test_pagila_as_published_is_refused_for_sqlite_naming_the_view(tmp_path):
    """pagila's actor_info uses PostgreSQL's own aggregates: SQLite is named, at generate, not at apply."""
    model = CorpusModel(PAGILA[0].file, "postgres", PAGILA[0].change, IGNORE_UNSUPPORTED, adapt=PAGILA[0].adapt[:1])
    with pytest.raises(UnsupportedType, match=r"^view actor_info: SQLite cannot run its query"):
        build_corpus_project(model, tmp_path)
