"""Does reviewkit's own cost stay flat as the work grows? `generate` on 1,000 to 10,000 tables, `status`, `verify` and `apply` over 5,000 bundles.

Run from anywhere (standard library, plus reviewkit and its dependencies):

    python benchmarks/bench_scale.py                          # 1000 and 10000 tables, 5000 bundles
    python benchmarks/bench_scale.py --tables 1000,5000 --bundles 1000
    python benchmarks/bench_scale.py --skip bundles           # generate only (also: --skip generate)
    python benchmarks/bench_scale.py --skip generate --apply-sizes 500,1000,2000   # apply's cost per bundle by size

`status` and `verify` are timed cold (no `.reviewkit/verify.json`, as in a fresh checkout)
and cached (the verification cache an earlier run left).

Every measure is one whole `python -m reviewkit ...` process, timed by wall clock, with its
peak resident memory (the child's own `ru_maxrss`, from `os.wait4`: the largest single
process). `generate` writes dialects in forked children, so each generate step runs once
more, untimed, while the memory of the whole process tree is sampled every 50 ms (the sum
of each process's proportional set size, PSS, which splits a page shared by several
processes among them): the "tree MB" column, which the 1 GB target is judged on. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_generate import CONFIG as GENERATE_CONFIG  # noqa: E402
from bench_generate import bytecode_note, cpu_check, keep_bytecode_under, write_models  # noqa: E402

GENERATE_TARGET = (10_000, 12.0, 1024)  # tables, seconds, MB: the goal for the largest schema
STATUS_TARGET = 1.0  # seconds, each of status and verify over --bundles bundles, cached
STATUS_URL = "sqlite:///status.sqlite3"
CACHE = Path(".reviewkit") / "verify.json"
RACY_SECONDS = 2.0  # the cache keeps nothing about a file changed more recently (reviewkit.bundle.verify_cache)
REVIEWER = "bench-dba"
BUNDLES_CONFIG = """\
[reviewkit]
models = ["models/*.sql"]
dialects = ["postgres", "mysql", "sqlite"]

[policy]
approvals = 1
high_risk_approvals = 1
"""


# -- running one process ----------------------------------------------------------------


def run_measured(argv: list[str], cwd: Path, what: str) -> tuple[float, float, str]:
    """Run `argv`; return (wall seconds, peak RSS in MB, stdout). Stop the benchmark if it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=child_env())
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise SystemExit(f"{what} failed in {cwd} (exit {child.returncode}):\n{stdout[-2000:]}{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, stdout  # Linux reports kilobytes


def tree_peak_mb(argv: list[str], cwd: Path, what: str) -> float | None:
    """Run `argv` once (untimed); return the peak PSS of it and its descendants, in MB (None without /proc)."""
    if not Path("/proc/self/smaps_rollup").exists():
        return None
    child = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=child_env())
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], sum(_pss_kb(pid) for pid in _tree(child.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"{what} failed in {cwd} (exit {child.returncode}):\n{stderr.decode()[-2000:]}")
    return peak[0] / 1024


def _tree(pid: int) -> list[int]:
    """Return `pid` and every process descended from it (forked from its main thread, as reviewkit forks)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            pending += [int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            pass  # it ended meanwhile
    return found


_PSS = re.compile(r"^Pss:\s+(\d+) kB", re.MULTILINE)


def _pss_kb(pid: int) -> int:
    try:
        match = _PSS.search(Path(f"/proc/{pid}/smaps_rollup").read_text())
    except OSError:
        return 0  # ended meanwhile
    return int(match.group(1)) if match else 0


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REVIEWKIT_DATABASE_URL", None)  # it would point status at another database
    env.pop("REVIEWKIT_NO_CACHE", None)  # the cold runs remove the cache themselves
    env.setdefault("REVIEWKIT_AUTHOR", "bench")
    return env


def reviewkit(*args: str) -> list[str]:
    """`python -m reviewkit`: the reviewkit this interpreter imports (PYTHONPATH counts), not a script on PATH."""
    return [sys.executable, "-m", "reviewkit", *args]


def best_and_peak(argv: list[str], cwd_for_run, repeat: int, what: str, check) -> tuple[list[float], float]:
    times, peak = [], 0.0
    for r in range(repeat):
        cwd = cwd_for_run(r)
        elapsed, rss, stdout = run_measured(argv, cwd, what)
        check(stdout)
        times.append(elapsed)
        peak = max(peak, rss)
    return times, peak


# -- generate at several sizes ------------------------------------------------------------


def generate_rows(root: Path, sizes: list[int], repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for tables in sizes:
        base = root / f"gen_{tables}"
        initial = base / "initial"
        (initial / "bundles").mkdir(parents=True)
        (initial / "reviewkit.toml").write_text(GENERATE_CONFIG, encoding="utf-8")
        write_models(initial, tables, changed=False)
        change = base / "change"
        shutil.copytree(initial, change)
        run_measured(reviewkit("generate", "--no-input"), change, "preparing step (b)")  # bundle 0001, untimed
        write_models(change, tables, changed=True)
        steps = [("(a) initial", initial, f"({tables} operations"),
                 ("(b) change", change, f"({tables + -(-tables // 10)} operations")]
        for label, state, expected in steps:
            rows.append(generate_row(base, label, state, tables, expected, repeat))
        shutil.rmtree(base, ignore_errors=True)
    return rows


def generate_row(base: Path, label: str, state: Path, tables: int, expected: str, repeat: int) -> tuple[str, ...]:
    """Time one step: each run in a fresh copy of the step's starting state (the copy is not timed)."""
    def fresh_copy(r: int) -> Path:
        work = base / f"run_{label[1]}_{r}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(state, work)
        return work

    def check(stdout: str) -> None:
        if expected not in stdout:
            raise SystemExit(f"generate {label} at {tables} tables: expected {expected!r}, got:\n{stdout[:1000]}")

    times, peak = best_and_peak(reviewkit("generate", "--no-input"), fresh_copy, repeat, f"generate {label}", check)
    tree = tree_peak_mb(reviewkit("generate", "--no-input"), fresh_copy(repeat), f"generate {label} (memory run)")
    best = min(times)
    status = "-"
    if tables == GENERATE_TARGET[0]:
        held = tree if tree is not None else peak
        status = "OK" if best <= GENERATE_TARGET[1] and held <= GENERATE_TARGET[2] else "SLOW"
    return (f"generate {label}", f"{tables} tables", f"{best:.2f}", f"{statistics.median(times):.2f}",
            f"{best / tables * 1000:.2f}", f"{peak:.0f}", "-" if tree is None else f"{tree:.0f}", status)


# -- status and verify over many bundles --------------------------------------------------


def build_bundles_project(root: Path, count: int) -> tuple[Path, float]:
    """`count` small bundles, each approved: a column added, then dropped, then added again...

    Generated in-process from models built in code (no DDL to parse), so that 5,000 bundles
    take a minute, not 5,000 processes. The schema stays one small table, so each bundle's
    files stay small too: what is measured is the cost per bundle.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from reviewkit.bundle.store import Bundle, read_manifest
    from reviewkit.config import load_settings
    from reviewkit.generate import GenerateOptions
    from reviewkit.generate.generator import plan_bundle_on
    from reviewkit.schema.state import Column, PrimaryKey, Schema, Table
    from reviewkit.signoff.approvals import sign_approval, write_approval
    from reviewkit.signoff.keys import public_line

    project = root / "bundles_project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "README").write_text("models are given in code by the benchmark\n")
    (project / "reviewkit.toml").write_text(BUNDLES_CONFIG, encoding="utf-8")
    key = Ed25519PrivateKey.generate()
    (project / "reviewers.toml").write_text(
        f'[reviewers.{REVIEWER}]\nkeys = ["{public_line(key, REVIEWER)}"]\nroles = ["dba"]\n', encoding="utf-8")
    settings = load_settings(project)
    base = [Column("id", "bigint", nullable=False, identity=True), Column("name", "text", nullable=False)]
    start = time.perf_counter()
    parent = None
    for i in range(count):
        columns = base + ([Column("extra", "integer")] if i % 2 == 0 else [])
        models = Schema((Table("items", tuple(columns), PrimaryKey("items_pkey", ("id",))),))
        # After the bundle just written, not after the last of all bundles read again: that made the build quadratic.
        planned = plan_bundle_on(settings, parent, GenerateOptions(author="bench", models=models))
        if planned is None:
            raise SystemExit(f"building bundle {i + 1}: generate found nothing to do")
        written = planned.write(settings)
        parent = Bundle(written.path, read_manifest(written.path))
        write_approval(parent, sign_approval(parent, key, REVIEWER, None))
    return project, time.perf_counter() - start


def bundle_rows(root: Path, count: int, repeat: int) -> tuple[list[tuple[str, ...]], str]:
    project, built = build_bundles_project(root, count)
    applied, applied_rss = timed_apply(project, count, STATUS_URL)
    _, _, stdout = run_measured(reviewkit("status", "--database", STATUS_URL, "--json"), project, "status --json")
    report = json.loads(stdout)
    if [b["state"] for b in report["bundles"]] != ["applied"] * count or report["needs_attention"]:
        raise SystemExit(f"status --json: expected {count} applied bundles and nothing flagged")
    settle(project / "bundles")
    last = f"{count:04d}_"
    measures = [
        ("status", reviewkit("status")),
        ("status --database", reviewkit("status", "--database", STATUS_URL)),
        ("verify", reviewkit("verify")),
        ("verify --database", reviewkit("verify", "--database", STATUS_URL)),
    ]
    rows = [("apply (SQLite, one process)", f"{count} bundles", f"{applied:.2f}", "-", f"{applied / count * 1000:.2f}",
             f"{applied_rss:.0f}", "-", "-")]
    for label, argv in measures:
        def check(stdout: str, label: str = label) -> None:
            if last not in stdout:
                raise SystemExit(f"{label}: the last bundle ({last}...) is not in its output:\n{stdout[-1000:]}")

        def without_cache(r: int) -> Path:
            (project / CACHE).unlink(missing_ok=True)  # a fresh checkout: nothing kept
            return project

        for how, cwd_for_run, target in (("cold", without_cache, None), ("cached", lambda r: project, STATUS_TARGET)):
            if how == "cached":
                run_measured(argv, project, label)  # keeps what a cached run starts from
            times, peak = best_and_peak(argv, cwd_for_run, repeat, f"{label} ({how})", check)
            best = min(times)
            verdict = "-" if target is None else "OK" if best <= target else "SLOW"
            rows.append((f"{label} ({how})", f"{count} bundles", f"{best:.2f}", f"{statistics.median(times):.2f}",
                         f"{best / count * 1000:.2f}", f"{peak:.0f}", "-", verdict))
    note = (f"{count} bundles built in-process in {built:.0f} s; each bundle has one approval, checked against "
            "[policy] approvals = 1; cold: no .reviewkit/verify.json (a fresh checkout), cached: the one the "
            "run before left")
    return rows, note


def timed_apply(project: Path, count: int, url: str) -> tuple[float, float]:
    """Apply every bundle of `project` to the SQLite database `url` in one process; return (seconds, peak MB)."""
    elapsed, rss, stdout = run_measured(reviewkit("apply", "--database", url, "--yes"), project, "apply")
    if f"Applied {count} bundle" not in stdout:
        raise SystemExit(f"apply of {count} bundles said:\n{stdout[-1000:]}")
    return elapsed, rss


def apply_rows(root: Path, sizes: list[int]) -> list[tuple[str, ...]]:
    """Time `apply` of the first N bundles of one history, for each N: a flat cost per bundle means linear."""
    project, _ = build_bundles_project(root / "apply_source", max(sizes))
    rows = []
    for size in sorted(sizes):
        copy = root / f"apply_{size}"
        shutil.copytree(project, copy, ignore=shutil.ignore_patterns("bundles", ".reviewkit", "*.sqlite3"))
        for folder in sorted((project / "bundles").iterdir())[:size]:
            shutil.copytree(folder, copy / "bundles" / folder.name)
        elapsed, rss = timed_apply(copy, size, "sqlite:///scaling.sqlite3")
        rows.append(("apply (SQLite, one process)", f"{size} bundles", f"{elapsed:.2f}", "-",
                     f"{elapsed / size * 1000:.2f}", f"{rss:.0f}", "-", "-"))
        shutil.rmtree(copy, ignore_errors=True)
    return rows


def settle(folder: Path) -> None:
    """Wait until nothing under `folder` changed within the cache's racy window: a project as people have it."""
    newest = max(p.lstat().st_ctime for p in [folder, *folder.rglob("*")])
    time.sleep(max(0.0, newest + RACY_SECONDS + 0.1 - time.time()))


# -- main -----------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("measure", "size", "best s", "median s", "s per 1000", "peak RSS MB", "tree MB", "status")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(r: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default="1000,10000", help="schema sizes for generate, comma-separated (default 1000,10000)")
    parser.add_argument("--bundles", type=int, default=5000, help="bundles for status and verify (default 5000)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per measure; best and median reported (default 2)")
    parser.add_argument("--skip", action="append", default=[], choices=["generate", "bundles"], help="leave a part out")
    parser.add_argument("--apply-sizes", default="", metavar="N,N",
                        help="also time apply of the first N bundles of one history, for each N (e.g. 500,1000,2000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects and print where they are")
    args = parser.parse_args()
    sizes = [int(s) for s in args.tables.split(",") if s.strip()]
    apply_sizes = [int(s) for s in args.apply_sizes.split(",") if s.strip()]
    if args.repeat < 1 or args.bundles < 1 or any(s < 1 for s in sizes + apply_sizes):
        parser.error("--tables, --bundles, --apply-sizes and --repeat must be at least 1")

    root = Path(tempfile.mkdtemp(prefix="reviewkit-scale-"))
    keep_bytecode_under(root)
    print(f"python -m reviewkit; runs per measure: {args.repeat}; CPUs: {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}; Python {sys.version.split()[0]}; {bytecode_note()}; {cpu_check()}")
    rows: list[tuple[str, ...]] = []
    notes = []
    try:
        if "generate" not in args.skip:
            rows += generate_rows(root, sizes, args.repeat)
        if "bundles" not in args.skip:
            more, note = bundle_rows(root, args.bundles, args.repeat)
            rows += more
            notes.append(note)
        if apply_sizes:
            rows += apply_rows(root, apply_sizes)
        print()
        print_table(rows)
        tables, seconds, megabytes = GENERATE_TARGET
        print(f"\ntargets: generate at {tables} tables under {seconds:.0f} s and {megabytes} MB (the tree's peak PSS); "
              f"status and verify under {STATUS_TARGET:.0f} s each, cached. 's per 1000': seconds per 1,000 tables "
              "(or bundles); flat from the smallest size to the largest means linear cost.")
        for note in notes:
            print(note)
        print(f"at the end: {cpu_check()}")
    finally:
        if args.keep:
            print(f"\nprojects kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
