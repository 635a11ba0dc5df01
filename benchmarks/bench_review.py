"""How long `reviewkit review` takes to write the review page of a 1,000-table bundle.

Builds the project of bench_generate.py in a temporary folder (untimed): bundle 1 creates
every table (3,000 statements per dialect, some 70,000 lines of SQL in six scripts),
bundle 2 adds a column to every table and widens a varchar in every tenth. Then times
`reviewkit review N` as a whole process (start-up, reading the bundle and its parent,
hashing its files, highlighting every line, writing the page), and, when Chromium is
installed, how long a headless Chromium takes to load the page and hand back its DOM.

    python benchmarks/bench_review.py              # 1000 tables, 3 runs per measure
    python benchmarks/bench_review.py --tables 200 --repeat 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import CONFIG, reviewkit_command, run_generate, write_models  # noqa: E402 - the same schema

TARGET_SECONDS = 1.0
# The browser's own update checks and time queries go to a closed local port: nothing leaves the machine.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-pings",
                  "--disable-quic", "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")


def build_project(root: Path, tables: int, command: list[str]) -> Path:
    project = root / "project"
    (project / "bundles").mkdir(parents=True)
    (project / "reviewkit.toml").write_text(CONFIG, encoding="utf-8")
    write_models(project, tables, changed=False)
    run_generate(command, project)
    write_models(project, tables, changed=True)
    run_generate(command, project)
    return project


def time_review(command: list[str], project: Path, number: int, repeat: int) -> tuple[list[float], int]:
    """Time `review NUMBER` `repeat` times; return the times and the page's size in bytes."""
    page = project / f"review-{number:04d}.html"
    times = []
    for _ in range(repeat):
        page.unlink(missing_ok=True)
        started = time.perf_counter()
        result = subprocess.run([*command, "review", str(number)], cwd=project, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
        if result.returncode != 0 or not page.is_file():
            raise SystemExit(f"reviewkit review {number} failed (exit {result.returncode}): {result.stderr[-500:]}")
    return times, page.stat().st_size


def time_chromium(page: Path, work: Path, repeat: int) -> list[float] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    times = []
    for run in range(repeat):
        started = time.perf_counter()
        result = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={work / f'profile-{run}'}", "--dump-dom",
                                 page.as_uri()], capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
        times.append(time.perf_counter() - started)
        if result.returncode != 0 or b"<main>" not in result.stdout:
            raise SystemExit(f"chromium could not load {page.name} (exit {result.returncode})")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=1000, help="tables in the synthetic schema (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measure (default 3)")
    parser.add_argument("--target", type=float, default=TARGET_SECONDS, help=f"seconds (default {TARGET_SECONDS})")
    args = parser.parse_args()
    command = reviewkit_command()
    root = Path(tempfile.mkdtemp(prefix="reviewkit-bench-review-"))
    try:
        project = build_project(root, args.tables, command)
        lines = sum(len(p.read_bytes().splitlines()) for p in (project / "bundles").glob("0001_*/*/*.sql"))
        print(f"reviewkit review: {args.tables} tables, bundle 1 holds {lines:,} lines of SQL; runs per measure: {args.repeat}")
        rows = []
        for number, label in ((1, "review 1 (create every table)"), (2, "review 2 (alter every table)")):
            times, size = time_review(command, project, number, args.repeat)
            best = min(times)
            rows.append((f"{label}, {size / 1e6:.1f} MB", f"{best:.3f}", f"{statistics.median(times):.3f}",
                         f"{args.target:.1f}", "OK" if best <= args.target else "SLOW"))
        browser = time_chromium(project / "review-0001.html", root, args.repeat)
        if browser is None:
            print("chromium not found: the browser's load time is left out")
        else:
            rows.append(("chromium --dump-dom of page 1", f"{min(browser):.3f}", f"{statistics.median(browser):.3f}",
                         "-", "context"))
        imports = []
        for _ in range(max(args.repeat, 5)):  # the floor of any command: start-up and the CLI's imports
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import reviewkit.cli"], check=True)
            imports.append(time.perf_counter() - started)
        rows.append(("import reviewkit.cli", f"{min(imports):.3f}", f"{statistics.median(imports):.3f}", "-", "context"))
        header = ("measure", "best s", "median s", "target s", "status")
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        for row in (header, tuple("-" * w for w in widths), *rows):
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        print("\nstatus: OK when the best run is within the target (the whole `reviewkit review` process).")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
