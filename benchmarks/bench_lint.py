"""How long `reviewkit lint` takes on large bundles, and what it finds next to Squawk.

Builds the 1,000-table project of bench_generate.py in a temporary folder, generates
bundle 1 (3,000 statements per dialect: every table with its indexes and keys) and
bundle 2 (about 1,100 ALTER statements: a column added to every table, a varchar widened
in every tenth), then times each `reviewkit lint` as a whole process: cold (no kept
findings) and cached (the same bytes linted before). When `squawk` (pip package
`squawk-cli`) is on PATH, it lints the same postgres/up.sql files in the same run, and
every Squawk finding is matched with reviewkit's findings on the same statement.

    python benchmarks/bench_lint.py              # 3 runs per measure
    python benchmarks/bench_lint.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import reviewkit_command, write_models  # noqa: E402 - the same synthetic schema

COLD_TARGET = 1.5  # seconds: lint of 3,000 statements, nothing kept
CACHED_TARGET = 0.2  # seconds: the same bytes linted before

# Squawk's rules, by what they are about, and reviewkit's rules that find the same problem.
SQUAWK_RULES = {
    "require-concurrent-index-creation": ("locking", {"pg-index-without-concurrently"}),
    "require-concurrent-index-deletion": ("locking", {"pg-drop-index-without-concurrently"}),
    "constraint-missing-not-valid": ("locking", {"pg-constraint-without-not-valid"}),
    "adding-foreign-key-constraint": ("locking", {"pg-constraint-without-not-valid"}),
    "adding-not-nullable-field": ("locking", {"pg-set-not-null"}),
    "changing-column-type": ("locking", {"pg-type-change-rewrite", "pg-type-change"}),
    "disallowed-unique-constraint": ("locking", {"pg-unique-without-index"}),
    "adding-primary-key-constraint": ("locking", {"pg-unique-without-index"}),
    "adding-field-with-default": ("locking", {"pg-volatile-default"}),
    "require-lock-timeout": ("locking", {"pg-no-lock-timeout"}),
    "ban-concurrent-index-creation-in-transaction": ("locking", {"pg-concurrently-in-transaction"}),
    "transaction-nesting": ("locking", {"pg-concurrently-in-transaction"}),
    "renaming-column": ("destructive", {"pg-rename"}),
    "renaming-table": ("destructive", {"pg-rename"}),
    "ban-drop-column": ("destructive", {"pg-drop"}),
    "ban-drop-table": ("destructive", {"pg-drop"}),
    "ban-truncate-cascade": ("destructive", {"pg-truncate"}),
    "prefer-text-field": ("style", {"pg-prefer-text"}),
    "prefer-bigint-over-int": ("style", {"pg-prefer-bigint-key"}),
    "prefer-big-int": ("style", {"pg-prefer-bigint-key"}),
    "prefer-identity": ("style", {"pg-prefer-identity"}),
    "prefer-timestamptz": ("style", {"pg-prefer-timestamptz"}),
    "prefer-robust-stmts": ("style", set()),  # IF NOT EXISTS everywhere: reviewkit's ledger makes reruns safe
    "require-statement-timeout": ("style", set()),
    "ban-drop-default": ("style", set()),
}


def run(argv: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started, result


def timed(argv: list[str], cwd: Path, repeat: int, before_each=None) -> list[float]:
    times = []
    for _ in range(repeat):
        if before_each:
            before_each()
        elapsed, result = run(argv, cwd)
        if result.returncode not in (0, 1) or (argv[-1] == "json" and not result.stdout.startswith(("{", "["))):
            raise SystemExit(f"{' '.join(argv)} failed (exit {result.returncode}): {result.stderr[-500:]}")
        times.append(elapsed)
    return times


def build_project(root: Path, command: list[str]) -> None:
    (root / "reviewkit.toml").write_text('[reviewkit]\nmodels = ["models/*.sql"]\ndialects = ["postgres", "mysql", "sqlite"]\n')
    for changed, name in ((False, "tables"), (True, "alter")):
        write_models(root, 1000, changed)
        _, result = run([*command, "generate", "--no-input", name], root)
        if result.returncode != 0:
            raise SystemExit(f"generate failed: {result.stderr}")


def statement_of_line(script: Path) -> list[int]:
    """Return, for each line of a script (1-based, index 0 unused), the number of the statement it is in."""
    from reviewkit.dialects.splitter import split_statements

    text = script.read_text(encoding="utf-8")
    starts = [s.line for s in split_statements(text, "postgres")]
    numbers, current = [0], 0
    for line in range(1, text.count("\n") + 2):
        while current < len(starts) and starts[current] <= line:
            current += 1
        numbers.append(current)
    return numbers


def compare(root: Path, command: list[str], bundle: str) -> list[tuple[str, str, int, int, int]]:
    """Match each Squawk finding with reviewkit's findings on the same statement of the same file."""
    script = next((root / "bundles").glob(f"000{bundle}_*")) / "postgres" / "up.sql"
    squawk = json.loads(subprocess.run(["squawk", "--reporter", "json", str(script)], capture_output=True, text=True).stdout or "[]")
    _, result = run([*command, "lint", bundle, "--dialect", "postgres", "--format", "json"], root)
    ours = [f for f in json.loads(result.stdout)["findings"] if f["file"].endswith("postgres/up.sql")]
    by_statement: dict[int, set[str]] = {}
    for finding in ours:
        by_statement.setdefault(finding["statement"], set()).add(finding["rule"])
    numbers = statement_of_line(script)
    created = _tables_created(script)
    rows = []
    for rule, count in sorted(Counter(f["rule_name"] for f in squawk).items()):
        kind, ours_rules = SQUAWK_RULES.get(rule, ("unknown", set()))
        matched = new_table = 0
        for finding in (f for f in squawk if f["rule_name"] == rule):
            statement = numbers[min(finding["line"] + 1, len(numbers) - 1)]  # Squawk counts lines from 0
            if by_statement.get(statement, set()) & ours_rules:
                matched += 1
            elif created.get(statement):
                new_table += 1
        rows.append((rule, kind, count, matched, new_table))
    return rows


def _tables_created(script: Path) -> dict[int, bool]:
    """Return, per statement number, whether it works on a table the same script creates before it."""
    import re

    from reviewkit.dialects.splitter import split_statements
    from reviewkit.lint.engine import _parse, table_of

    made, found = set(), {}
    for number, statement in enumerate(split_statements(script.read_text(encoding="utf-8"), "postgres"), 1):
        created = re.match(r'\s*CREATE TABLE\s+"?([^"\s(]+)', statement.sql, re.IGNORECASE)
        if created:
            made.add(created.group(1))
        found[number] = bool(created) or table_of(_parse(statement.sql, "postgres")) in made
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    command = reviewkit_command()
    root = Path(tempfile.mkdtemp(prefix="reviewkit-lint-bench-"))
    try:
        build_project(root, command)
        cache = root / ".reviewkit"
        forget = lambda: shutil.rmtree(cache, ignore_errors=True)  # noqa: E731
        measures = []
        for bundle, label in (("1", "bundle 1 (3,000 statements)"), ("2", "bundle 2 (1,100 ALTERs)")):
            argv = [*command, "lint", bundle, "--dialect", "postgres", "--format", "json"]
            cold = timed(argv, root, args.repeat, forget)
            cached = timed(argv, root, args.repeat)
            measures.append((f"reviewkit lint {label}, postgres, cold", cold, COLD_TARGET))
            measures.append((f"reviewkit lint {label}, postgres, cached", cached, CACHED_TARGET))
            every = timed([*command, "lint", bundle, "--format", "json"], root, args.repeat, forget)
            measures.append((f"reviewkit lint {label}, 3 dialects, cold", every, None))
            if shutil.which("squawk"):
                script = next((root / "bundles").glob(f"000{bundle}_*")) / "postgres" / "up.sql"
                measures.append((f"squawk --reporter json {label}", timed(["squawk", "--reporter", "json", str(script)], root, args.repeat), None))
        print(f"reviewkit lint, whole process; runs per measure: {args.repeat}; Python {sys.version.split()[0]}\n")
        print(f"{'measure':58} {'best s':>7} {'median s':>9} {'target':>7}  status")
        for label, times, target in measures:
            status = ("OK" if min(times) <= target else "SLOW") if target else "context"
            print(f"{label:58} {min(times):7.3f} {statistics.median(times):9.3f} {target or '-':>7}  {status}")
        if not shutil.which("squawk"):
            print("\nsquawk is not on PATH (pip install squawk-cli): no comparison of findings")
            return
        for bundle in ("1", "2"):
            print(f"\nSquawk's findings on bundle {bundle}'s postgres/up.sql, and reviewkit's on the same statement:")
            print(f"{'squawk rule':44} {'kind':12} {'squawk':>7} {'reviewkit':>10} {'new table':>10}")
            missed = 0
            for rule, kind, count, matched, new_table in compare(root, command, bundle):
                print(f"{rule:44} {kind:12} {count:7} {matched:10} {new_table:10}")
                if kind in ("locking", "destructive"):
                    missed += count - matched - new_table
            print(f"locking and destructive findings of Squawk that reviewkit does not make: {missed}"
                  f" ({'OK' if missed == 0 else 'MISSED'}); 'new table': on a table the same script creates,"
                  " which nobody else uses yet")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
