"""Time `reviewkit generate --no-input` as a whole process on a large synthetic schema.

Run from anywhere (standard library only; reviewkit must be installed):

    python benchmarks/bench_generate.py                 # 1000 tables, best of 3
    python benchmarks/bench_generate.py --tables 200 --repeat 5
    python benchmarks/bench_generate.py --profile       # also cProfile steps (a) and (b)

Steps, each timed as one `reviewkit generate --no-input` process (wall clock):

  (a) initial    first bundle, from no bundles at all
  (b) change     one column added to every table, a varchar widened in every tenth
  (c) no-change  models identical to the last bundle: prints "No changes detected"

Every step starts from a prepared project state that is copied into a fresh folder
before each repeat, so the copy is never inside the timing. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.3
MODEL_FILES = 10
CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "postgres"
bundles = "bundles"
dialects = ["postgres", "mysql", "sqlite"]
"""


# pagila as pg_dump wrote it, beside the project (see the corpus README); a PostgreSQL project,
# since its actor_info view and uuidv7() defaults are PostgreSQL's own.
PAGILA = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "pagila" / "pagila-schema.sql"
PAGILA_CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
models_dialect = "postgres"
dialects = ["postgres"]
ignore_unsupported = true
"""


# -- the synthetic schema ---------------------------------------------------------------


def table_name(i: int, width: int) -> str:
    return f"t{i:0{width}d}"


def table_ddl(i: int, width: int, changed: bool) -> str:
    """One table: 10 columns, a unique constraint, a foreign key to the previous table, 2 indexes.

    `changed` is the state of step (b): one more column in every table, and in every
    tenth table `title` widened from varchar(100) to varchar(200).
    """
    name = table_name(i, width)
    parent = table_name(max(i - 1, 0), width)  # table 0 references itself
    title_len = 200 if changed and i % 10 == 0 else 100
    extra = "    extra_score integer,\n" if changed else ""
    return (
        f"CREATE TABLE {name} (\n"
        f"    id bigserial PRIMARY KEY,\n"
        f"    title varchar({title_len}) NOT NULL,\n"
        f"    email varchar(255) NOT NULL,\n"
        f"    code varchar(32),\n"
        f"    quantity integer NOT NULL DEFAULT 0,\n"
        f"    price numeric(10,2),\n"
        f"    active boolean NOT NULL DEFAULT true,\n"
        f"    created_at timestamptz NOT NULL DEFAULT now(),\n"
        f"    notes text,\n"
        f"    parent_id bigint,\n"
        f"{extra}"
        f"    CONSTRAINT {name}_email_key UNIQUE (email),\n"
        f"    CONSTRAINT {name}_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES {parent} (id) ON DELETE SET NULL\n"
        f");\n"
        f"CREATE INDEX {name}_title_idx ON {name} (title);\n"
        f"CREATE INDEX {name}_created_at_active_idx ON {name} (created_at DESC, active);\n"
    )


def write_models(project: Path, tables: int, changed: bool) -> int:
    """Write the schema as up to MODEL_FILES files (a table's parent is declared before it); return how many."""
    models = project / "models"
    if models.exists():
        shutil.rmtree(models)
    models.mkdir(parents=True)
    width = max(4, len(str(tables - 1)))
    per_file = -(-tables // MODEL_FILES)
    files = -(-tables // per_file)
    for f in range(files):
        chunk = range(f * per_file, min((f + 1) * per_file, tables))
        body = "\n".join(table_ddl(i, width, changed) for i in chunk)
        text = f"-- synthetic benchmark schema, part {f + 1}\n\n{body}"
        (models / f"part_{f:02d}.sql").write_text(text, encoding="utf-8")
    return files


# -- running reviewkit ------------------------------------------------------------------


def reviewkit_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m reviewkit`.

    Not a `reviewkit` found on PATH: that may be a version-manager shim that adds its own
    start-up time, or belong to another interpreter.
    """
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "reviewkit", scripts / "reviewkit.exe"):
        if candidate.is_file():
            return [str(candidate)]
    return [sys.executable, "-m", "reviewkit"]


def run_generate(command: list[str], project: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run(
        [*command, "generate", "--no-input"],
        cwd=project, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"reviewkit generate failed in {project} (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return elapsed, result


def check_output(step: str, stdout: str, expected_ops: int | None) -> None:
    """Refuse to report a time for a run that did something else than the step means (-1: any bundle)."""
    if expected_ops == -1:
        if "Wrote bundle" not in stdout:
            raise SystemExit(f"step {step}: expected a bundle, got:\n{stdout}")
        return
    if expected_ops is None:
        if "No changes detected" not in stdout:
            raise SystemExit(f"step {step}: expected 'No changes detected', got:\n{stdout}")
        return
    match = re.search(r"Wrote bundle \S+ \((\d+) operations", stdout)
    if not match or int(match.group(1)) != expected_ops:
        raise SystemExit(f"step {step}: expected a bundle with {expected_ops} operations, got:\n{stdout}")


def time_process(argv: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


# -- the steps --------------------------------------------------------------------------


def prepare_states(root: Path, tables: int, command: list[str]) -> dict[str, Path]:
    """Build the project state each step starts from (untimed; the runs also warm the caches)."""
    states = {}
    a = root / "state_a"
    a.mkdir()
    (a / "reviewkit.toml").write_text(CONFIG, encoding="utf-8")
    (a / "bundles").mkdir()
    write_models(a, tables, changed=False)
    states["a"] = a

    b = root / "state_b"
    shutil.copytree(a, b)
    run_generate(command, b)  # bundle 0001 from the original models
    write_models(b, tables, changed=True)
    states["b"] = b

    c = root / "state_c"
    shutil.copytree(b, c)
    run_generate(command, c)  # bundle 0002: the models are now up to date
    states["c"] = c

    if PAGILA.is_file():
        d = root / "state_d"
        (d / "models").mkdir(parents=True)
        (d / "bundles").mkdir()
        (d / "reviewkit.toml").write_text(PAGILA_CONFIG, encoding="utf-8")
        shutil.copy(PAGILA, d / "models" / "pagila.sql")
        states["d"] = d
    return states


def bench_step(
    step: str, state: Path, root: Path, repeat: int, command: list[str], expected_ops: int | None
) -> list[float]:
    times = []
    for r in range(repeat):
        work = root / f"run_{step}_{r}"
        shutil.copytree(state, work)
        elapsed, result = run_generate(command, work)
        check_output(step, result.stdout, expected_ops)
        times.append(elapsed)
        shutil.rmtree(work)
    return times


# -- profiling (--profile) --------------------------------------------------------------

def profile_step(step: str, state: Path, root: Path, top: int) -> None:
    """Run one generate under cProfile in its own process and print the top functions."""
    import pstats

    work = root / f"profile_{step}"
    shutil.copytree(state, work)
    stats_file = root / f"profile_{step}.prof"
    result = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "reviewkit", "generate", "--no-input"],
        cwd=work, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not stats_file.exists():
        raise SystemExit(f"profiling step ({step}) failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    for key in ("cumulative", "tottime"):
        print(f"\n=== step ({step}) under cProfile: top {top} by {key} ===")
        pstats.Stats(str(stats_file), stream=sys.stdout).strip_dirs().sort_stats(key).print_stats(top)


# -- main -------------------------------------------------------------------------------


def keep_bytecode_under(root: Path) -> None:
    """Let every process started from here on keep the bytecode of what it imports under `root`.

    An installed package has its modules' bytecode; a source tree run with
    PYTHONDONTWRITEBYTECODE=1 (as on some CI machines) compiles every module again in
    every process, a tenth of a second or more of each short command, and more for the
    tool whose modules are not installed (reviewkit, editable) than for one from a wheel
    (Django, Alembic). With this, the first (untimed) run of each command writes it under
    `root` and the timed runs read it there; nothing is written outside `root`.
    """
    os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]


def cpu_check() -> str:
    """Time a fixed loop of pure Python: on a shared machine the same CPU runs it 2-3x slower at times.

    Printed at the start and end of a run, it says how fast this machine was meanwhile, so
    that figures of different runs can be compared (or not).
    """
    start = time.perf_counter()
    sum(range(30_000_000))
    return f"CPU check (sum of 30 million ints) {time.perf_counter() - start:.2f} s"


def bytecode_note() -> str:
    """Say where reviewkit's modules' bytecode comes from in the timed runs."""
    if sys.pycache_prefix:
        return "bytecode: written under the temporary folder by the untimed first run, read by the timed ones"
    spec = importlib.util.find_spec("reviewkit")
    if spec is None or spec.origin is None:
        return "reviewkit not importable here"
    sources = list(Path(spec.origin).parent.rglob("*.py"))
    cached = sum(Path(importlib.util.cache_from_source(str(path))).exists() for path in sources)
    return f"bytecode cached for {cached} of {len(sources)} modules"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=1000, help="tables in the synthetic schema (default 1000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs per step; best and median reported (default 3)")
    parser.add_argument("--target", type=float, default=TARGET_SECONDS,
                        help=f"seconds per step (default {TARGET_SECONDS})")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile steps (a) and (b) and print the top functions")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile (default 25)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects and print where they are")
    args = parser.parse_args()
    if args.tables < 1 or args.repeat < 1:
        parser.error("--tables and --repeat must be at least 1")

    command = reviewkit_command()
    root = Path(tempfile.mkdtemp(prefix="reviewkit-bench-"))
    keep_bytecode_under(root)
    try:
        states = prepare_states(root, args.tables, command)
        files = len(list((states["a"] / "models").glob("*.sql")))
        print(f"reviewkit generate --no-input: {args.tables} tables in {files} model files; "
              f"runs per step: {args.repeat}; CPUs: {os.cpu_count()}; Python {sys.version.split()[0]}; "
              f"{bytecode_note()}")
        steps = [
            ("(a) initial", "a", args.tables),  # one create_table per table (indexes go with it)
            ("(b) change", "b", args.tables + -(-args.tables // 10)),  # add_column per table + alter_column per tenth
            ("(c) no-change", "c", None),
        ]
        if "d" in states:
            steps.append(("(d) pagila initial", "d", -1))  # a real pg_dump: views, enums, domains, partitions
        else:
            print(f"pagila step left out: the public schema corpus is not at {PAGILA.parent.parent}")
        rows = []
        for label, key, expected in steps:
            times = bench_step(key, states[key], root, args.repeat, command, expected)
            best, median = min(times), statistics.median(times)
            status = "OK" if best <= args.target else "SLOW"
            rows.append((label, f"{best:.3f}", f"{median:.3f}", f"{args.target:.1f}", status))

        context = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("import reviewkit.cli", [sys.executable, "-c", "import reviewkit.cli"]),
        ]
        for label, argv in context:
            times = time_process(argv, max(args.repeat, 5))
            rows.append((label, f"{min(times):.3f}", f"{statistics.median(times):.3f}", "-", "context"))

        header = ("step", "best s", "median s", "target s", "status")
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

        def line(r: tuple[str, ...]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

        print()
        print(line(header))
        print("  ".join("-" * w for w in widths))
        for r in rows[: len(steps)]:
            print(line(r))
        print("  ".join("-" * w for w in widths))
        for r in rows[len(steps):]:
            print(line(r))
        print(f"\nstatus: OK when the best run is within the target. Command: {Path(command[0]).name} "
              f"{' '.join(command[1:] + ['generate', '--no-input'])}".replace("  ", " "))

        if args.profile:
            for key in ("a", "b"):
                profile_step(key, states[key], root, args.top)
    finally:
        if args.keep:
            print(f"\nprojects kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
