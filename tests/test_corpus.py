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
MODELS = CHINOOK


@pytest.fixture(scope="module", params=MODELS, ids=[m.id for m in MODELS])
def corpus_project(request, tmp_path_factory):
    model = request.param
    warnings: list[str] = []
    bundles = build_corpus_project(model, tmp_path_factory.mktemp(model.id), warnings)
    return model, bundles, warnings


def test_corpus_file_loads_as_it_is_published(corpus_project):
    model, bundles, warnings = corpus_project
    assert [b.number for b in bundles] == [1, 2]
    # The data and script noise are skipped, and said so in one line per run.
    assert warnings and all(w.startswith("skipped ") for w in warnings), warnings
    assert "INSERT" in warnings[0]
    second = [op["op"] for op in bundles[1].manifest["operations"]]
    assert {"add_column", "alter_column", "add_index", "drop_index", "rename_column"} <= set(second), second


def test_corpus_bundles_round_trip_with_rows(engine_db, corpus_project):
    model, bundles, _ = corpus_project

    def load_rows(conn, schema, seed):
        if conn.dialect == model.dialect:
            assert load_corpus_data(conn, model) > 0
        else:
            insert_sample_rows(conn, schema, seed)

    walk_bundles(engine_db, bundles, assert_schema, load_rows)
