"""Time `reviewkit generate` from Django models against Django's own `makemigrations`, in one run.

    python benchmarks/bench_django.py                  # 1000 models, best of 3
    python benchmarks/bench_django.py --tables 200 --repeat 5

The models are bench_generate.py's synthetic schema written as Django models: per model
10 fields (an indexed CharField, a unique EmailField, a DecimalField, db_defaults, a
DateTimeField with db_default=Now(), a nullable ForeignKey to the previous model) and a
two-column Meta.indexes entry. Both tools make the first step from nothing: Django writes
its initial migration (`makemigrations`), reviewkit its first bundle with the SQL of three
engines (`generate --no-input`). Each run is one process, timed by wall clock, in a fresh
copy of the project. Django and reviewkit must be installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import cpu_check, keep_bytecode_under  # noqa: E402

TARGET_SPEEDUP = 15.0
SETTINGS = """\
SECRET_KEY = "bench"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = ["bench"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
"""
CONFIG = """\
[reviewkit]
models = "django:benchsite.settings"
dialects = ["postgres", "mysql", "sqlite"]
"""


def model_source(i: int, width: int) -> str:
    name, parent = f"T{i:0{width}d}", f"T{max(i - 1, 0):0{width}d}"
    target = '"self"' if i == 0 else f'"{parent}"'
    return (
        f"class {name}(models.Model):\n"
        f"    title = models.CharField(max_length=100, db_index=True)\n"
        f"    email = models.EmailField(max_length=255, unique=True)\n"
        f"    code = models.CharField(max_length=32, null=True)\n"
        f"    quantity = models.IntegerField(db_default=0)\n"
        f"    price = models.DecimalField(max_digits=10, decimal_places=2, null=True)\n"
        f"    active = models.BooleanField(db_default=True)\n"
        f"    created_at = models.DateTimeField(db_default=Now())\n"
        f"    notes = models.TextField(null=True)\n"
        f"    parent = models.ForeignKey({target}, on_delete=models.SET_NULL, null=True, related_name='+')\n\n"
        f"    class Meta:\n"
        f"        indexes = [models.Index(fields=['-created_at', 'active'], name='{name.lower()}_created_idx')]\n"
    )


def write_project(root: Path, tables: int) -> None:
    width = max(4, len(str(tables - 1)))
    (root / "benchsite").mkdir(parents=True)
    (root / "benchsite" / "__init__.py").write_text("")
    (root / "benchsite" / "settings.py").write_text(SETTINGS)
    (root / "bench").mkdir()
    (root / "bench" / "__init__.py").write_text("")
    body = "\n\n".join(model_source(i, width) for i in range(tables))
    (root / "bench" / "models.py").write_text(
        "from django.db import models\nfrom django.db.models.functions import Now\n\n\n" + body)
    (root / "reviewkit.toml").write_text(CONFIG)


def timed(argv: list[str], template: Path, scratch: Path, repeat: int, done: str) -> float:
    """Return the best wall-clock time of `argv`, each run in a fresh copy of `template`, after one untimed run.

    The untimed run writes the bytecode of the tool's own modules (`keep_bytecode_under`);
    the models module, in a new folder each run, is compiled by every run of either tool,
    as after an edit.
    """
    best = float("inf")
    env = dict(os.environ)
    for n in range(repeat + 1):
        work = scratch / f"run{n}_{argv[-1].replace('-', '')}"
        shutil.copytree(template, work)
        start = time.perf_counter()
        result = subprocess.run(argv, cwd=work, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        if result.returncode != 0 or done not in result.stdout:
            raise SystemExit(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
        if n:
            best = min(best, elapsed)
        shutil.rmtree(work)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        keep_bytecode_under(Path(tmp))
        template = Path(tmp) / "template"
        write_project(template, args.tables)
        django_time = timed([sys.executable, "-m", "django", "makemigrations", "bench", "--settings=benchsite.settings",
                             "--no-input"], template, Path(tmp), args.repeat, "Create model")
        reviewkit_time = timed([sys.executable, "-m", "reviewkit", "generate", "--no-input"], template, Path(tmp),
                               args.repeat, "Wrote bundle")
        # A Django project runs on one engine: its bundle needs only that dialect's SQL.
        one = Path(tmp) / "one_dialect"
        shutil.copytree(template, one)
        (one / "reviewkit.toml").write_text(CONFIG.replace('["postgres", "mysql", "sqlite"]', '["postgres"]'))
        one_time = timed([sys.executable, "-m", "reviewkit", "generate", "--no-input"], one, Path(tmp), args.repeat,
                         "Wrote bundle")
    speedup = django_time / reviewkit_time
    print(f"{args.tables} Django models, best of {args.repeat}, one process each; at the end: {cpu_check()}")
    print(f"{'step':<44} {'seconds':>8}")
    print(f"{'django makemigrations (initial)':<44} {django_time:>8.2f}")
    print(f"{'reviewkit generate (initial, 3 dialects)':<44} {reviewkit_time:>8.2f}")
    print(f"{'speed-up':<44} {speedup:>7.1f}x  (target >= {TARGET_SPEEDUP:.0f}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})")
    print(f"{'reviewkit generate (initial, postgres only)':<44} {one_time:>8.2f}")
    print(f"{'speed-up, one dialect (context)':<44} {django_time / one_time:>7.1f}x")


if __name__ == "__main__":
    main()
