"""The fault-injection project and its databases: 94 tables in four bundles, the first with rows.

Bundle 1 (base) holds four tables that get 18,000 rows; bundles 2-4 (216 to 221 statements
per engine) add three families of 30 tables with foreign keys, unique keys and indexes,
indexes on the rows, columns on tables that exist, and a foreign key that SQLite rebuilds a
table with rows for. Each trial's database starts as bundle 1 and its rows: a copy of a
template (PostgreSQL's `CREATE DATABASE ... TEMPLATE`, a copied SQLite file), or on
MariaDB, which has no templates, the bundle applied and the rows inserted again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from reviewkit.bundle.store import Bundle, load_bundles
from reviewkit.config import load_settings
from reviewkit.db.runner import ApplyOptions, apply
from reviewkit.dialects.connection import DatabaseURL, connect, create_database, drop_database, parse_url
from reviewkit.dialects.splitter import split_statements

CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 0
high_risk_approvals = 0
"""

SEEDED = {"customers": 3000, "products": 2000, "orders": 5000, "order_lines": 8000}


# -- the project: a base bundle with rows, then three bundles of a few hundred statements ----


def _base_models() -> str:
    return """\
CREATE TABLE customers (id bigserial PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL,
  city varchar(60), created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE products (id bigserial PRIMARY KEY, title varchar(200) NOT NULL, sku varchar(40) NOT NULL,
  price numeric(10,2) NOT NULL DEFAULT 0);
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id),
  placed_at timestamptz NOT NULL DEFAULT now(), note text);
CREATE TABLE order_lines (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id),
  product_id bigint NOT NULL, quantity integer NOT NULL DEFAULT 1);
"""


def _family(prefix: str, count: int, parent: str, extra: bool = False) -> str:
    """`count` tables, each with a foreign key to the one before it (the first to `parent`), a unique key and indexes.

    `extra`: every third table has two more columns and an index on one (ALTERs of tables that exist).
    """
    tables = []
    for i in range(count):
        name = f"{prefix}_{i:02d}"
        up = f"{prefix}_{i - 1:02d}" if i else parent
        extra_here = extra and i % 3 == 0
        more = ",\n  rank integer, label varchar(80)" if extra_here else ""
        tables.append(
            f"CREATE TABLE {name} (id bigserial PRIMARY KEY, title varchar(100) NOT NULL, code varchar(32) NOT NULL,\n"
            f"  amount numeric(10,2), active boolean NOT NULL DEFAULT true, up_id bigint REFERENCES {up} (id){more},\n"
            f"  CONSTRAINT {name}_code_key UNIQUE (code));\n"
            f"CREATE INDEX {name}_title_idx ON {name} (title);\n"
            + (f"CREATE INDEX {name}_rank_idx ON {name} (rank, active);\n" if extra_here else ""))
    return "".join(tables)


def project_models(step: int) -> str:
    """The models after step 1 (base), 2 (a catalog), 3 (accounts, indexes on the rows) and 4 (links)."""
    models = _base_models()
    if step >= 2:
        models += _family("cat", 30, "products", extra=step >= 4)
    if step >= 3:
        models += _family("acc", 30, "customers")
        models += ("CREATE UNIQUE INDEX customers_email_key ON customers (email);\n"
                   "CREATE INDEX orders_placed_at_idx ON orders (placed_at, customer_id);\n"
                   "CREATE INDEX order_lines_product_idx ON order_lines (product_id, quantity);\n"
                   "CREATE INDEX products_sku_idx ON products (sku);\n")
    if step >= 4:
        models += _family("link", 30, "acc_29")
        models = models.replace("product_id bigint NOT NULL,", "product_id bigint NOT NULL REFERENCES products (id),")
        models = models.replace("placed_at timestamptz NOT NULL DEFAULT now(), note text",
                                "placed_at timestamptz NOT NULL DEFAULT now(), note text, channel varchar(20)")
    return models


def build_project(root: Path) -> Path:
    """Write the models step by step and generate a bundle each time with the real `reviewkit generate`."""
    project = root / "fault_project"
    (project / "models").mkdir(parents=True)
    (project / "bundles").mkdir()
    (project / "reviewkit.toml").write_text(CONFIG)
    for step, name in enumerate(("base", "catalog", "accounts", "links"), 1):
        (project / "models" / "schema.sql").write_text(project_models(step))
        made = cli(project, "generate", "--no-input", name)
        if made.returncode != 0:
            raise AssertionError(f"generate {name}: {made.stdout}{made.stderr}")
    return project


def cli(project: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run `python -m reviewkit ARGS` in the project, as a CI job would."""
    return subprocess.run([sys.executable, "-m", "reviewkit", *args], cwd=project, capture_output=True, text=True,
                          env=child_env(), timeout=timeout, stdin=subprocess.DEVNULL)


def child_env() -> dict[str, str]:
    """The environment of reviewkit child processes: an author and actor, no database URL from outside."""
    env = {**os.environ, "REVIEWKIT_AUTHOR": "dev", "REVIEWKIT_ACTOR": "fault-runner"}
    env.pop("REVIEWKIT_DATABASE_URL", None)
    return env


def cli_url(url: DatabaseURL) -> str:
    return f"sqlite:///{url.path}" if url.dialect == "sqlite" else url.raw


def statements_of(bundle: Bundle, dialect: str) -> list:
    return split_statements(bundle.script(dialect, "up"), dialect)


# -- databases: the base bundle and its rows, made once per engine and copied per trial -------


def _seed(url: DatabaseURL) -> None:
    """A few thousand rows in the base tables, the same on every engine (the values are plain SQL)."""
    numbers = {"postgres": "generate_series(1, {n}) AS s(n)", "mysql": "(SELECT seq AS n FROM seq_1_to_{n}) AS s"}
    with connect(url) as conn:
        if url.dialect == "sqlite":
            conn.execute("CREATE TEMP TABLE s (n integer)")
            conn.execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10000) "
                         "INSERT INTO s SELECT n FROM r")
            source = "s WHERE n <= {n}"
        else:
            source = numbers[url.dialect]
        rows = [("customers (id, name, email, city)", "n, 'customer ' || n, 'c' || n || '@example.org', 'city'"),
                ("products (id, title, sku, price)", "n, 'product ' || n, 'sku-' || n, n % 100"),
                ("orders (id, customer_id, note)", "n, 1 + n % 3000, 'note ' || n"),
                ("order_lines (id, order_id, product_id, quantity)", "n, 1 + n % 5000, 1 + n % 2000, 1 + n % 7")]
        for (target, values), count in zip(rows, SEEDED.values(), strict=True):
            if url.dialect == "mysql":  # || is OR on MariaDB unless PIPES_AS_CONCAT
                values = re.sub(r"'([^']*)' \|\| n \|\| '([^']*)'", r"CONCAT('\1', n, '\2')", values)
                values = re.sub(r"'([^']*)' \|\| n", r"CONCAT('\1', n)", values)
            conn.execute(f"INSERT INTO {target} SELECT {values} FROM {source.format(n=count)}")


def _apply_base(project: Path, url: DatabaseURL) -> None:
    """Apply bundle 1 in-process (the runner itself, not a child: it is not under test here)."""
    apply(load_settings(project), cli_url(url), ApplyOptions(target="1", actor="fault-setup"))


@dataclass
class Databases:
    """Fresh databases of one engine, each holding the base bundle and its rows."""

    engine: str
    project: Path
    server: DatabaseURL | None  # None for SQLite
    folder: Path
    made: list[DatabaseURL] = field(default_factory=list)
    template: DatabaseURL | None = None

    def fresh(self, name: str) -> DatabaseURL:
        if self.engine == "sqlite":
            if self.template is None:
                self.template = parse_url("sqlite:///template.sqlite3", self.folder)
                _apply_base(self.project, self.template)
                _seed(self.template)
            url = parse_url(f"sqlite:///{name}.sqlite3", self.folder)
            shutil.copyfile(self.template.path, url.path)
            return url
        if self.engine == "postgres":
            if self.template is None:  # CREATE DATABASE ... TEMPLATE copies it in a moment
                self.template = self._create(f"{name}_tpl")
                _apply_base(self.project, self.template)
                _seed(self.template)
            with connect(self.server) as conn:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template.database}"')
            url = self.server.with_database(name)
            self.made.append(url)
            return url
        url = self._create(name)  # MariaDB has no templates: the base bundle again, and its rows
        _apply_base(self.project, url)
        _seed(url)
        return url

    def _create(self, name: str) -> DatabaseURL:
        url = create_database(self.server, name)
        self.made.append(url)
        return url

    def drop(self, url: DatabaseURL) -> None:
        if self.engine == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(url.path + suffix).unlink(missing_ok=True)
            return
        drop_database(self.server, url.database)
        self.made = [u for u in self.made if u.database != url.database]

    def drop_all(self) -> None:
        for url in list(self.made):
            self.drop(url)


def load_project_bundles(project: Path) -> list[Bundle]:
    return load_bundles(project / "bundles")
