"""`reviewkit apply` stopped at random points, on the three engines, and what must hold afterwards.

A project of 94 tables in four bundles (the base, with a few thousand rows, then 216 to 221
statements in three bundles) is applied by a child process that is stopped at a seeded
random point: SIGKILL, SIGINT (Ctrl-C), or the server ending its connection
(`pg_terminate_backend`, MariaDB `KILL`). After each stop the ledger must agree with
itself and the live schema, `status --json` with the ledger, a new runner must get the
lock within a second of the killed session's end, and the documented recovery (`apply`,
or `apply --resume` where status shows a half-applied bundle) must reach the head with no
hand step. How the moment is chosen: tests/fault_stops.py; what is checked: tests/fault_checks.py.

12 stop points per engine run always (1 to 5 s each; MariaDB's three at a time), under 3 minutes
for the file on 2 busy cores; `REVIEWKIT_FAULT_POINTS=N` runs N per engine.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from pathlib import Path

import pytest

from reviewkit.config import load_settings
from reviewkit.db import runner
from reviewkit.db.ledger import verify_chain
from tests.fault_support import (
    STOPS,
    Databases,
    build_project,
    calibrate,
    describe,
    draw_points,
    load_project_bundles,
    run_trials,
)
from tests.test_faults import _project
from tests.test_runner import STEP2, bundles_of, cli_url, edit_script, ledger, live_matches, run

POINTS = int(os.environ.get("REVIEWKIT_FAULT_POINTS", "12"))
SEED = 20240611


@pytest.fixture(scope="module")
def fault_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("faults"))


def _server(request: pytest.FixtureRequest, engine: str):
    return None if engine == "sqlite" else request.getfixturevalue(f"{engine}_server")


@pytest.mark.parametrize("engine", ["sqlite", "postgres", "mysql"])
def test_apply_stopped_at_random_points_is_recovered_without_a_hand_step(engine, request, fault_project, tmp_path):
    bundles = load_project_bundles(fault_project)
    databases = Databases(engine, fault_project, _server(request, engine), tmp_path)
    prefix = f"rk_fi_{secrets.token_hex(3)}"
    try:
        windows = calibrate(databases, f"{prefix}_calibration", bundles)
        points = draw_points(random.Random(f"{SEED}-{engine}"), engine, bundles, windows, POINTS, STOPS[engine])
        outcomes = run_trials(databases, bundles, points, prefix)
    finally:
        databases.drop_all()
    report = "\n".join(describe(index, outcome) for index, outcome in enumerate(outcomes))
    mid = sum(outcome.stopped.mid_bundle for outcome in outcomes)
    how = ", ".join(f"{key} {seconds:.3f} s" for key, seconds in windows.items()) or "stops drawn by statement"
    print(f"\n{engine}: {how}; {mid}/{POINTS} stops landed mid-bundle\n{report}")
    failures = [f"point {index} ({outcome.stopped.point.describe()}): {problem}"
                for index, outcome in enumerate(outcomes) for problem in outcome.problems()]
    assert not failures, "\n".join(failures) + "\n" + report
    # A stop between bundles proves less: most must land inside one.
    assert mid >= POINTS * 0.6, f"only {mid} of {POINTS} stops landed mid-bundle:\n{report}"


def test_a_run_stopped_after_its_last_statement_is_recorded_by_resume(tmp_path, mysql_url, monkeypatch):
    """The runner advances its row after each statement, then marks it applied: a stop between the two.

    It was read as "interrupted at statement 3 of 2" and `apply --resume` refused ("2 were
    already done"): only a hand edit of the ledger got past it. The stop is made certain
    here (Ctrl-C raised as the applied row is written) instead of raced for.
    """
    project = _project(tmp_path)
    db = cli_url(mysql_url)
    assert run(project, "generate", "--no-input").returncode == 0
    assert run(project, "apply", "--database", db).returncode == 0
    (project / "models" / "schema.sql").write_text(STEP2)
    assert run(project, "generate", "--no-input").returncode == 0
    real_update = runner.update_row

    def stopped_before_applied(conn, row):
        if row.status == "applied":
            raise KeyboardInterrupt
        real_update(conn, row)

    monkeypatch.setattr(runner, "update_row", stopped_before_applied)
    with pytest.raises(KeyboardInterrupt):
        runner.apply(load_settings(project), db, runner.ApplyOptions())
    monkeypatch.undo()
    second = bundles_of(project)[-1].id
    row = ledger(mysql_url)[-1]
    assert (row.bundle_id, row.status, row.statements_done, row.statements_total) == (second, "running", 2, 2)
    assert live_matches(mysql_url, bundles_of(project)[-1])  # every statement ran

    status = json.loads(run(project, "status", "--json", "--database", db).stdout)["bundles"][1]
    assert status["state"] == "failed"
    assert status["detail"] == ("interrupted after its last statement (statements 1-2 committed), before it was "
                                "recorded as applied; `apply --resume` records it"), status["detail"]
    assert status["explanation"][0] == (f"{second} (up) stopped after its last statement, before it was recorded as "
                                        "applied: statements 1-2 took effect, each committed on its own")
    refused = run(project, "apply", "--database", db)
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.strip() == (f"error: {second} was stopped after its last statement (2 of 2 committed) before "
                                      "it was recorded as applied; run `reviewkit apply --resume` to record it")
    resumed = run(project, "apply", "--resume", "--lock-timeout", "1", "--database", db)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Applied 1 bundle: 0 statements" in resumed.stdout, resumed.stdout
    assert [(r.status, r.statements_done) for r in ledger(mysql_url) if r.bundle_id == second] == \
        [("running", 2), ("applied", 2)]
    assert verify_chain(ledger(mysql_url)) == [] and live_matches(mysql_url, bundles_of(project)[-1])


def test_resume_still_refuses_a_bundle_resealed_with_fewer_statements_than_were_done(tmp_path, mysql_url):
    project = _project(tmp_path)
    db = cli_url(mysql_url)
    assert run(project, "generate", "--no-input").returncode == 0
    assert run(project, "generate", "--empty", "data").returncode == 0
    edit_script(project, 2, "mysql", lambda text: text + "CREATE TABLE kept (id int);\nSELECT * FROM no_such_table;\n")
    assert run(project, "apply", "--database", db).returncode == 1
    edit_script(project, 2, "mysql", lambda text: text.replace("SELECT * FROM no_such_table;\n", ""))
    refused = run(project, "apply", "--resume", "--database", db)
    assert refused.returncode == 2
    assert "--resume: 0002_data now has 1 statement, but 1 were already done" in refused.stderr, refused.stderr
