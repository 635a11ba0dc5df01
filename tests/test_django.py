"""Django models as a model source: read from `_meta`, and built as Django's own `migrate` builds them.

The reader's state is what Django creates on PostgreSQL, names included, with the types
each engine's backend declares (`timestamptz@django`...) and the objects it declares its
own way there (the `django` flavors), so the tables a bundle builds equal those `migrate`
builds on every engine: columns (type as stored, nullability, default, auto-increment),
keys, unique sets, index keys and checks; and a database Django built, once baselined,
shows `drift` nothing, names included (Django's own `django_migrations` is its ledger, as
`reviewkit_ledger` is ours: drift leaves it out where the models are Django's).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from reviewkit.dialects import get_dialect
from reviewkit.dialects.connection import DatabaseURL, connect, parse_url
from reviewkit.errors import ConfigError
from reviewkit.schema.defaults import STATEMENT_MOMENT, normalize_default
from reviewkit.schema.naming import postgres_object_name
from reviewkit.schema.state import Check, Schema
from reviewkit.schema.types import parse_type
from tests.conftest import _fresh_database, another_database
from tests.django_support import PROJECT, DjangoRun, live, shape, unmodelled_properties
from tests.test_runner import cli_url

django = pytest.importorskip("django")

APPS = {"sqlite": ("library", "catalog", "kinds"), "postgres": ("library", "catalog", "kinds"),
        "mysql": ("library", "kinds")}  # MariaDB has no partial or expression indexes (catalog's)


# -- the reader, without a database -------------------------------------------------------


@pytest.fixture(scope="module")
def models():
    from reviewkit.models.django import load_django

    return load_django("mysite.settings", ("library", "catalog", "kinds"), PROJECT)


def test_types_keys_and_names_are_djangos_on_postgres(models):
    book = models.table("library_book")
    assert [(c.name, c.type, c.nullable, c.default) for c in book.columns[:5]] == [
        ("id", "bigint", False, None), ("title", "varchar(200)", False, None),
        ("isbn_code", "varchar(13)", False, None), ("slug", "varchar(80)", False, None),
        ("price", "numeric(8,2)@django", False, "0"),
    ]
    assert book.column("id").identity and book.column("in_print").default == "TRUE"
    assert book.primary_key.name == "library_book_pkey"
    assert [u.name for u in book.uniques] == ["book_author_title_uniq", "library_book_isbn_code_key"]
    assert {c.name: c.expression for c in book.checks} == {"book_price_not_negative": "price >= 0"}
    # A positive integer field's check comes with its type, named as each engine names Django's.
    assert book.column("pages").type == "uinteger@django"
    assert {d: get_dialect(d).compiler.implied_checks(book) for d in ("postgres", "mysql", "sqlite")} == {
        "postgres": [Check("library_book_pages_check", "pages >= 0")], "mysql": [Check("pages", "pages >= 0")],
        "sqlite": [Check("library_book_pages_check", "pages >= 0")]}
    fks = {fk.columns[0]: (fk.name, fk.ref_table, fk.on_delete) for fk in book.foreign_keys}
    assert fks == {  # imprint has db_constraint=False: no key, but its index
        "author_id": ("library_book_author_id_d9a3b67e_fk_library_author_id", "library_author", "NO ACTION"),
        "publisher_id": ("library_book_publisher_id_40a14e76_fk_library_publisher_id", "library_publisher", "NO ACTION"),
    }
    indexes = {ix.name: [(p.expression, p.descending, p.opclass) for p in ix.parts] for ix in book.indexes}
    assert indexes["library_book_slug_c4f98edd"] == [("slug", False, None)]
    assert indexes["library_book_slug_c4f98edd_like"] == [("slug", False, "varchar_pattern_ops")]
    assert indexes["library_book_isbn_code_8804a14a_like"] == [("isbn_code", False, "varchar_pattern_ops")]
    assert indexes["library_book_imprint_id_84c007a5"] == [("imprint_id", False, None)]
    assert indexes["book_title_published_idx"] == [("title", False, None), ("published", True, None)]


def test_many_to_many_comments_and_postgres_only_indexes(models):
    through = models.table("library_book_tags")
    assert [c.name for c in through.columns] == ["id", "book_id", "tag_id"]
    assert [u.name for u in through.uniques] == ["library_book_tags_book_id_tag_id_c3660ce1_uniq"]
    assert models.table("library_loans") is not None  # the explicit through model, db_table kept
    author = models.table("library_author")
    assert author.comment == "People who write books" and author.column("bio").comment == "Written by the author"
    shelf = {ix.name: ix for ix in models.table("catalog_shelf").indexes}
    assert shelf["shelf_live_code_uniq"].unique and shelf["shelf_live_code_uniq"].where == "archived_at IS NULL"
    assert [(p.expression, p.is_column) for p in shelf["shelf_label_lower_idx"].parts] == [("LOWER(label)", False)]
    assert [p.opclass for p in shelf["catalog_shelf_notes_1b4d94ac_like"].parts] == ["text_pattern_ops"]
    sqlite = get_dialect("sqlite").compiler
    assert sqlite.index_form(shelf["catalog_shelf_notes_1b4d94ac_like"]) is None
    assert any("with a pattern operator class (varchar_pattern_ops, text_pattern_ops) are not built" in note
               and "catalog_shelf_notes_1b4d94ac_like" in note for note in sqlite.notes(models))


def test_names_are_djangos_own():
    from django.db.backends.sqlite3.base import DatabaseWrapper
    from django.db.backends.utils import names_digest

    from reviewkit.models import django_names

    assert django_names.names_digest("t", "a", length=8) == names_digest("t", "a", length=8)
    editor = DatabaseWrapper({"NAME": ":memory:", "ENGINE": "django.db.backends.sqlite3", "OPTIONS": {},
                              "TIME_ZONE": None}).schema_editor(collect_sql=True)
    editor.connection.ops.max_name_length = lambda: 63  # PostgreSQL's, which the reader mirrors
    for table, columns, suffix in [("library_book", ["title"], ""), ("t" * 50, ["c" * 40, "d"], "_uniq"),
                                   ("app_model", ["column"], "_fk_" + "x" * 40 + "_id"), ("_x", ["y"], "")]:
        assert django_names.django_index_name(table, columns, suffix) == editor._create_index_name(table, columns, suffix)
    assert postgres_object_name("a" * 40, "b" * 40, "key") == "a" * 29 + "_" + "b" * 29 + "_key"


def test_unknown_app_label(models):
    from reviewkit.models.django import load_django

    with pytest.raises(ConfigError, match="django_apps names 'shop', which INSTALLED_APPS does not install"):
        load_django("mysite.settings", ("library", "shop"), PROJECT)


# -- errors through the command line (each run sets Django up anew) -----------------------


@pytest.fixture
def project(tmp_path: Path) -> DjangoRun:
    return DjangoRun.create(tmp_path, ("library",), ("postgres", "sqlite"))


def _refused(project: DjangoRun) -> str:
    result = project.reviewkit("generate", "--no-input")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
    return result.stderr


def test_settings_that_do_not_import(project):
    (project.root / "mysite" / "settings.py").write_text("import no_such_module\n")
    assert "cannot import the settings module: ModuleNotFoundError: No module named 'no_such_module'" in _refused(project)


def test_app_label_not_installed(project):
    config = project.root / "reviewkit.toml"
    config.write_text(config.read_text().replace('django_apps = ["library"]', 'django_apps = ["library", "shop"]'))
    assert "django_apps names 'shop', which INSTALLED_APPS does not install" in _refused(project)


def test_field_type_without_mapping(project):
    models = project.root / "library" / "models.py"
    point = "\n\nclass Point(models.Field):\n    def db_type(self, connection):\n        return 'point'\n\n"
    models.write_text(models.read_text().replace("from django.db import models\n", "from django.db import models\n" + point)
                      .replace("    born = models.DateField(null=True)\n",
                               "    born = models.DateField(null=True)\n    career = Point(null=True)\n"))
    assert "library.Author.career: Point declares its own db_type(); reviewkit maps Django's built-in field types " \
           "only" in _refused(project)


def test_django_is_imported_only_for_django_models(tmp_path):
    import subprocess

    code = ("import sys; from pathlib import Path; from reviewkit.config import Settings; "
            "from reviewkit.models import load_models; "
            f"root = Path({str(tmp_path)!r}); (root / 'm.sql').write_text('CREATE TABLE t (id integer PRIMARY KEY);'); "
            "load_models(Settings(root=root, config_file=root / 'reviewkit.toml', models=('m.sql',))); "
            "print('django' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


# -- Django's migrate and reviewkit's apply, on each engine -------------------------------


CHANGED_MEMBER = '''
class Member(models.Model):
    full_name = models.CharField(max_length=100)
    card_number = models.CharField(max_length=12, unique=True)
    preferences = models.JSONField(null=True)
    joined = models.DateField(null=True)
    books = models.ManyToManyField(Book, through="Loan", related_name="borrowers")

    class Meta:
        indexes = [models.Index(fields=["joined"], name="member_joined_idx")]
'''


RENAMES = ("--rename", "library_member.name=library_member.full_name",
           "--rename", "library_member.card=library_member.card_number")


def _change_models(run: DjangoRun) -> None:
    """Fields renamed (Member.name -> full_name, the unique card -> card_number), a field added (joined), an index added."""
    path = run.root / "library" / "models.py"
    text = path.read_text()
    start = text.index("class Member(models.Model):")
    end = text.index("class Loan(models.Model):")
    path.write_text(text[:start] + CHANGED_MEMBER.lstrip() + "\n\n" + text[end:])


class Engine:
    """Database A migrated by Django, database B by reviewkit, both from the same models."""

    def __init__(self, tmp: Path, dialect: str, a: DatabaseURL, b: DatabaseURL) -> None:
        self.run = DjangoRun.create(tmp, APPS[dialect], (dialect,))
        self.dialect, self.a, self.b = dialect, a, b
        self.tables: set[str] = set()

    def first_step(self) -> None:
        self.run.django(None, "makemigrations", *self.run.apps)
        self.run.django(self.a, "migrate")
        self._reviewkit("initial")

    def second_step(self) -> None:
        _change_models(self.run)
        # Django asks whether name became full_name, and card card_number: yes.
        self.run.django(None, "makemigrations", "library", input_="y\ny\n")
        self.run.django(self.a, "migrate")
        self._reviewkit("member_changes", *RENAMES)

    def _reviewkit(self, name: str, *extra: str) -> None:
        made = self.run.reviewkit("generate", "--no-input", name, *extra)
        assert made.returncode == 0 and "No changes detected" not in made.stdout, made.stdout + made.stderr
        applied = self.run.reviewkit("apply", "--yes", "--database", cli_url(self.b))
        assert applied.returncode == 0, applied.stdout + applied.stderr

    def shapes(self) -> tuple[dict, dict]:
        """What Django's migrate made and what reviewkit's bundles made: the tables, and what the models cannot
        say of them (Django declares PostgreSQL's keys DEFERRABLE INITIALLY DEFERRED)."""
        made = live(self.b)
        tables = {t.name for t in made.tables} - {"reviewkit_ledger"}
        fk_indexes = self.dialect == "mysql"  # InnoDB indexes a foreign key's columns itself when Django leaves it
        django_made = {**shape(live(self.a), tables, fk_indexes), "properties": unmodelled_properties(self.a, tables)}
        return django_made, {**shape(made, tables, fk_indexes), "properties": unmodelled_properties(self.b, tables)}


def _engine(request, tmp_path_factory, dialect: str) -> Engine:
    tmp = tmp_path_factory.mktemp(f"django_{dialect}")
    if dialect == "sqlite":
        a, b = (parse_url(f"sqlite:///{name}", tmp) for name in ("a.db", "b.db"))
    else:
        server = request.getfixturevalue(f"{dialect}_server")
        makers = [_fresh_database(server), _fresh_database(server)]
        a, b = (next(m) for m in makers)
        for maker in makers:
            request.addfinalizer(lambda m=maker: next(m, None))
    engine = Engine(tmp, dialect, a, b)
    engine.first_step()
    return engine


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def engine(request, tmp_path_factory) -> Engine:
    return _engine(request, tmp_path_factory, request.param)


def test_tables_equal_djangos_migrate(engine):
    django_made, reviewkit_made = engine.shapes()
    assert "library_book_tags" in django_made and "kinds_pointer" in django_made and len(django_made) >= 14
    assert django_made == reviewkit_made


def test_tables_equal_after_a_change(engine):
    engine.second_step()
    django_made, reviewkit_made = engine.shapes()
    member = reviewkit_made["library_member"]
    assert "full_name" in member["columns"] and "joined" in member["columns"]
    assert ((("joined", False),), None) in member["indexes"]
    assert django_made == reviewkit_made


# -- adopting a Django-migrated database: baseline, then nothing to generate ----------------


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def migrated(request, tmp_path_factory) -> tuple[DjangoRun, DatabaseURL]:
    """A database migrated by Django alone, and a fresh copy of the project with no bundle yet."""
    tmp = tmp_path_factory.mktemp(f"django_baseline_{request.param}")
    if request.param == "sqlite":
        url = parse_url("sqlite:///django.db", tmp)
    else:
        maker = _fresh_database(request.getfixturevalue(f"{request.param}_server"))
        url = next(maker)
        request.addfinalizer(lambda: next(maker, None))
    apps = APPS[request.param]
    run = DjangoRun.create(tmp, apps, ("postgres", "mysql", "sqlite") if "catalog" not in apps else ("postgres", "sqlite"))
    run.django(None, "makemigrations", *apps)
    run.django(url, "migrate")
    return run, url


def _drift(run: DjangoRun, url: DatabaseURL) -> list[tuple[str, str, str]]:
    made = run.reviewkit("drift", "--database", cli_url(url), "--json")
    assert made.returncode in (0, 1), made.stdout + made.stderr
    return [(d["object"], d["name"], d["change"], str(d["expected"]), str(d["actual"])) for d in json.loads(made.stdout)["differences"]]




def test_baseline_of_a_django_database_then_no_changes_and_no_drift(migrated):
    run, url = migrated
    made = run.reviewkit("baseline", "--database", cli_url(url))
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Wrote bundle bundles/0001_baseline" in made.stdout and not (run.root / "models" / "baseline.sql").exists()
    assert "left out, as the models do not declare them" in made.stderr and "django_migrations" in made.stderr
    # Types, checks and names are what Django makes on this engine: nothing is spelled otherwise.
    assert "spells" not in made.stderr, made.stderr
    again = run.reviewkit("generate", "--no-input")
    assert again.returncode == 0 and "No changes detected" in again.stdout, again.stdout + again.stderr
    assert run.reviewkit("apply", "--fake", "--yes", "--database", cli_url(url)).returncode == 0
    status = run.reviewkit("status", "--database", cli_url(url), "--check")
    assert status.returncode == 0, status.stdout + status.stderr
    assert _drift(run, url) == []


def test_a_bundle_applied_to_a_django_database_leaves_no_drift(migrated):
    """After the baseline, reviewkit changes the database Django built: its statements find Django's objects."""
    run, url = migrated
    _change_models(run)
    made = run.reviewkit("generate", "--no-input", "member_changes", *RENAMES)
    assert made.returncode == 0, made.stdout + made.stderr
    applied = run.reviewkit("apply", "--yes", "--database", cli_url(url))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _drift(run, url) == []


def test_baseline_refuses_a_database_without_the_models(tmp_path, sqlite_url):
    run = DjangoRun.create(tmp_path, ("library", "catalog"), ("postgres", "sqlite"))
    run.django(None, "makemigrations", "library", "catalog")
    run.django(sqlite_url, "migrate")
    path = run.root / "library" / "models.py"
    path.write_text(path.read_text().replace("    founded = models.SmallIntegerField(null=True)\n",
                                             "    founded = models.SmallIntegerField(null=True)\n"
                                             "    website = models.URLField(null=True)\n"))
    refused = run.reviewkit("baseline", "--database", cli_url(sqlite_url))
    assert refused.returncode == 2 and "does not hold the models" in refused.stderr, refused.stderr
    assert "columns of library_publisher" in refused.stderr and "website" in refused.stderr
    assert not (run.root / "bundles").exists()


def test_baseline_refuses_what_the_models_cannot_say_but_not_djangos_own_keys(tmp_path, postgres_url):
    """Django's keys are DEFERRABLE INITIALLY DEFERRED on PostgreSQL, as the bundle declares them: not refused. A
    table's storage parameter, which no model says, is refused by name; ignore_unsupported warns instead."""
    run = DjangoRun.create(tmp_path, ("library",), ("postgres",))
    run.django(None, "makemigrations", "library")
    run.django(postgres_url, "migrate")
    with connect(postgres_url) as conn:
        conn.execute("ALTER TABLE library_author SET (fillfactor = 70)")
    refused = run.reviewkit("baseline", "--database", cli_url(postgres_url))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert "the models cannot say 1 property of the live schema" in refused.stderr, refused.stderr
    assert "  table library_author: storage fillfactor=70\n" in refused.stderr and "deferrable" not in refused.stderr
    assert not (run.root / "bundles").exists()
    config = run.root / "reviewkit.toml"
    config.write_text(config.read_text().replace("[reviewkit]\n", "[reviewkit]\nignore_unsupported = true\n"))
    made = run.reviewkit("baseline", "--database", cli_url(postgres_url))
    assert made.returncode == 0 and "ignore_unsupported: left out 1 property" in made.stderr, made.stdout + made.stderr


# -- a project whose bundles an earlier reviewkit wrote: one bundle re-declares them -------


def _before_flavors(schema: Schema) -> Schema:
    """Return the state the reader gave before the django flavors: plain types, positive checks of its own."""
    tables = []
    for table in schema.tables:
        columns, checks = [], list(table.checks)
        for column in table.columns:
            portable = parse_type(column.type)
            if portable.kind in ("interval", "inet"):
                continue  # DurationField, GenericIPAddressField: refused before the flavors
            if portable.flavor and portable.kind in ("usmallint", "uinteger", "ubigint"):
                checks.append(Check(postgres_object_name(table.name, column.name, "check"), f"{column.name} >= 0"))
            kind = {"usmallint": "smallint", "uinteger": "integer", "ubigint": "bigint"}.get(portable.kind, portable.kind)
            # Now() was the transaction's moment, and a date field's the day: normalized as a model's CURRENT_TIMESTAMP
            default = normalize_default("CURRENT_TIMESTAMP", column.type, "test") if column.default == STATEMENT_MOMENT \
                else column.default
            columns.append(replace(column, type=str(replace(portable.plain, kind=kind)), default=default))
        plain = lambda objects: tuple(replace(o, flavor=None) for o in objects)  # noqa: E731
        tables.append(replace(table, columns=tuple(columns), checks=tuple(checks), uniques=plain(table.uniques),
                              foreign_keys=plain(table.foreign_keys), indexes=plain(table.indexes)).normalized())
    return Schema(tuple(tables))


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql"])
def test_bundles_of_an_earlier_reviewkit_are_redeclared_in_one_bundle(dialect, models, request, tmp_path):
    from reviewkit.config import load_settings
    from reviewkit.generate.generator import GenerateOptions, generate

    url = another_database(request, dialect, tmp_path)
    run = DjangoRun.create(tmp_path, APPS[dialect], (dialect,))
    earlier = Schema(tuple(t for t in models.tables if t.name.split("_")[0] in APPS[dialect]))
    generate(load_settings(run.root), GenerateOptions(name="earlier", author="test", models=_before_flavors(earlier)))
    assert run.reviewkit("apply", "--yes", "--database", cli_url(url)).returncode == 0
    made = run.reviewkit("generate", "--no-input", "flavors")
    assert made.returncode == 0 and "No changes detected" not in made.stdout, made.stdout + made.stderr
    review = (run.root / "bundles" / "0002_flavors" / "REVIEW.md").read_text()
    assert "Declare foreign key library_book_author_id_d9a3b67e_fk_library_author_id on library_book as Django " \
           "declares it on each engine" in review
    script = (run.root / "bundles" / "0002_flavors" / dialect / "up.sql").read_text()
    if dialect == "postgres":  # the positive fields' checks come again, the keys DEFERRABLE and Now() as Django's
        assert "FOREIGN KEY" not in script and "INDEX" not in script and "ALTER COLUMN" not in script.replace(
            'ALTER COLUMN "recorded_at" SET DEFAULT STATEMENT_TIMESTAMP()', "").replace(
            'ALTER COLUMN "due_on" SET DEFAULT STATEMENT_TIMESTAMP()', "")
        assert ('ALTER TABLE "library_book" ALTER CONSTRAINT "library_book_author_id_d9a3b67e_fk_library_author_id" '
                "DEFERRABLE INITIALLY DEFERRED") in script
        assert 'ALTER TABLE "library_loans" ALTER COLUMN "recorded_at" SET DEFAULT STATEMENT_TIMESTAMP()' in script
    applied = run.reviewkit("apply", "--yes", "--database", cli_url(url))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _drift(run, url) == []
