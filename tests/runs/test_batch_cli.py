"""``codesolve batch``, ``eval`` and ``report`` as a user runs them: child processes, a scripted model
over loopback HTTP, the real sandbox. Includes SIGKILL at random points, then resume."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codesolve.llm import SCRIPTED_KEY_ENV, ScriptedServer
from codesolve.runs.traces import trace_name
from tests.runs.batchkit import (
    OTHER,
    RIGHT,
    batch_args,
    codesolve,
    duplicated_rows,
    run_containers,
    snapshot,
    sum_scenario,
    write_problems,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_problems(tmp_path_factory.mktemp("problems") / "sums.jsonl", 4)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    """One scripted model for the module: a run remembers its endpoint, so a resume must use the same one."""
    with ScriptedServer(sum_scenario(latency_s=0.2)) as srv:
        yield srv


@pytest.fixture(scope="module")
def reference(
    problems: Path, server: ScriptedServer, tmp_path_factory: pytest.TempPathFactory, docker_available: bool
) -> Path:
    """An uninterrupted run, evaluated: what every interrupted-and-resumed run must end up equal to."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    runs = tmp_path_factory.mktemp("runs")
    done = codesolve(*batch_args(problems, server.base_url, runs, "ref", "-k", "4"))
    assert done.returncode == 0, done.stderr
    evaluated = codesolve("eval", str(runs / "ref"))
    assert evaluated.returncode == 0, evaluated.stderr
    return runs / "ref"


def test_batch_records_every_problem_and_resume_repeats_none(
    reference: Path, problems: Path, server: ScriptedServer
) -> None:
    db = sqlite3.connect(reference / "run.sqlite")
    assert db.execute("SELECT COUNT(*), SUM(status = 'done') FROM problems").fetchone() == (4, 4)
    # three candidates each; the wrong one (a - b) debugged once, into the right program
    assert db.execute("SELECT COUNT(*) FROM candidates").fetchone()[0] == 4 * 4
    assert db.execute("SELECT COUNT(*) FROM candidates WHERE round = 1 AND passed = total").fetchone()[0] == 4
    assert len(list((reference / "traces").glob("*.trace.json"))) == 4
    trace = json.loads((reference / "traces" / trace_name("t/sum-000")).read_text())
    assert trace["solution"]["code"].strip() in {RIGHT, OTHER}
    assert [e["phase"] for e in trace["events"] if e["kind"] == "llm"] == ["generate", "debug", "synthesize"]
    before = snapshot(reference / "run.sqlite")
    requests = len(server.chat_requests)
    again = codesolve(*batch_args(problems, server.base_url, reference.parent, "ref", "-k", "4"))
    assert len(server.chat_requests) == requests  # finished problems are not repeated, not even from the cache
    assert again.returncode == 0, again.stderr
    assert "4 already finished" in again.stderr
    assert snapshot(reference / "run.sqlite") == before
    assert duplicated_rows(reference / "run.sqlite") == {}


def test_a_changed_config_is_refused_naming_the_fields(reference: Path, problems: Path, server: ScriptedServer) -> None:
    args = batch_args(problems, server.base_url, reference.parent, "ref", "--selector", "majority", "-n", "5")
    refused = codesolve(*args)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert "engine.n" in line
    assert "engine.selector" in line
    assert "--new-run" in line


def test_eval_is_idempotent_and_report_writes_every_format(reference: Path, tmp_path: Path) -> None:
    before = snapshot(reference / "run.sqlite")
    again = codesolve("eval", str(reference))
    assert again.returncode == 0
    assert "0 problems" in again.stderr
    assert "4 already evaluated" in again.stderr
    assert snapshot(reference / "run.sqlite") == before
    out = codesolve(
        "report", str(reference), "--html", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.jsonl"),
        "--markdown", str(tmp_path / "r.md"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "pass@1" in out.stdout
    assert "100.0%" in out.stdout
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == [f"t/sum-{i:03d}" for i in range(4)]
    assert all(r["hidden_verdict"] == "AC" and r["candidates"] == 3 for r in records)
    # the selected program is complete: it runs as it is and answers the hidden test
    ran = subprocess.run([sys.executable, "-c", records[3]["program"]], input="3 1000\n", capture_output=True,
                         text=True, timeout=30, check=True)  # fmt: skip
    assert ran.stdout == "1003\n"
    assert "| pass@1 | 100.0% |" in (tmp_path / "r.md").read_text()
    page = (tmp_path / "r.html").read_text()
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page


def _kill_at_random(args: list[str], seed: int) -> float:
    rng = random.Random(seed)
    delay = rng.uniform(1.5, 4.5)
    env = {**os.environ, SCRIPTED_KEY_ENV: "test-key"}
    proc = subprocess.Popen([sys.executable, "-m", "codesolve.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return delay


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_then_resume_equals_an_uninterrupted_run(
    seed: int, reference: Path, problems: Path, server: ScriptedServer, tmp_path: Path
) -> None:
    name = f"killed-{seed}"
    args = batch_args(problems, server.base_url, tmp_path, name, "-k", "3")
    _kill_at_random(args, seed)
    resumed = codesolve(*args)
    assert resumed.returncode == 0, resumed.stderr
    ours, ref = snapshot(tmp_path / name / "run.sqlite"), snapshot(reference / "run.sqlite")
    ours["problems"] = [row[:2] + row[3:] for row in ours["problems"]]  # the source names the same file
    ref["problems"] = [row[:2] + row[3:] for row in ref["problems"]]
    assert ours == ref
    assert duplicated_rows(tmp_path / name / "run.sqlite") == {}
    assert run_containers(name) == []  # the resumed run's reaper removed the killed run's containers


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, problems: Path) -> None:
    missing = codesolve("batch", str(tmp_path / "nope.jsonl"), "--model", "m", "--runs-dir", str(tmp_path))
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "nope.jsonl" in missing.stderr
    assert "no such file" in missing.stderr
    bad_run = codesolve("batch", str(problems), "--model", "m", "--run", "../escape", "--runs-dir", str(tmp_path))
    assert bad_run.returncode == 2
    assert "--run" in bad_run.stderr
    no_run = codesolve("eval", str(tmp_path / "no-such-run"))
    assert no_run.returncode == 2
    assert "no run there" in no_run.stderr
    unknown = tmp_path / "odd.jsonl"
    unknown.write_text('{"what": 1}\n')
    odd = codesolve("batch", str(unknown), "--model", "m", "--runs-dir", str(tmp_path))
    assert odd.returncode == 2
    assert "cannot tell the format" in odd.stderr


def test_an_endpoint_that_never_answers_stops_the_batch_in_one_line(problems: Path, tmp_path: Path) -> None:
    with ScriptedServer() as gone:
        dead = gone.base_url  # the port is free again once the server closed
    started = time.monotonic()
    run = codesolve(*batch_args(problems, dead, tmp_path, "dead"))
    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.strip().splitlines()  # where the run lives is said once the model answers
    assert line.startswith("codesolve: error: cannot reach " + dead), run.stderr
    assert time.monotonic() - started < 60
    # No problem is marked failed for it: a resume against a live endpoint redoes them all.
    db = sqlite3.connect(tmp_path / "dead" / "run.sqlite")
    assert db.execute("SELECT COUNT(*) FROM problems WHERE status IN ('done', 'failed')").fetchone()[0] == 0


def test_a_missing_key_is_one_line_and_makes_no_run(problems: Path, tmp_path: Path) -> None:
    args = batch_args(problems, "http://127.0.0.1:9/v1", tmp_path, "nokey")
    args[args.index("--api-key-env") + 1] = "CODESOLVE_TEST_NO_SUCH_KEY"
    run = codesolve(*args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "codesolve: error: environment variable CODESOLVE_TEST_NO_SUCH_KEY is not set (API key for model scripted)"
    ]
    assert not (tmp_path / "nokey").exists()


@pytest.fixture(scope="module")
def slow_server() -> Iterator[ScriptedServer]:
    """A slower model, so that a batch is surely in flight when it is interrupted."""
    with ScriptedServer(sum_scenario(latency_s=1.0)) as srv:
        yield srv


def _interrupt(args: list[str], signals: int, db_path: Path) -> tuple[int, float]:
    """Start a batch, wait until a problem is in flight (the Ctrl-C handler is in place by then), interrupt it."""
    env = {**os.environ, SCRIPTED_KEY_ENV: "test-key"}
    proc = subprocess.Popen([sys.executable, "-m", "codesolve.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists():
            with contextlib.suppress(sqlite3.Error), sqlite3.connect(db_path) as db:
                if db.execute("SELECT 1 FROM problems WHERE status = 'running'").fetchone():
                    break
        time.sleep(0.1)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    sent = time.monotonic()
    for _ in range(signals):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    code = proc.wait(timeout=120)
    return code, time.monotonic() - sent


def test_first_ctrl_c_stops_cleanly_and_the_run_resumes_to_the_same_results(
    reference: Path, problems: Path, slow_server: ScriptedServer, tmp_path: Path
) -> None:
    args = batch_args(problems, slow_server.base_url, tmp_path, "ctrl-c", "-k", "2")
    code, _ = _interrupt(args, 1, tmp_path / "ctrl-c" / "run.sqlite")
    assert code == 130
    assert run_containers("ctrl-c") == []  # removed on the way out, not left to the reaper
    db = sqlite3.connect(tmp_path / "ctrl-c" / "run.sqlite")
    rows = db.execute("SELECT status, COUNT(*) FROM problems GROUP BY status").fetchall()
    assert {s for s, _ in rows} <= {"running", "done"}
    assert dict(rows).get("running", 0) > 0  # in flight when interrupted: dropped, to be redone
    # a finished problem has all its rows: candidates for every one that is done
    done = db.execute("SELECT COUNT(*) FROM problems WHERE status = 'done'").fetchone()[0]
    assert db.execute("SELECT COUNT(DISTINCT problem) FROM candidates").fetchone()[0] == done
    resumed = codesolve(*args)
    assert resumed.returncode == 0, resumed.stderr
    ours, ref = snapshot(tmp_path / "ctrl-c" / "run.sqlite"), snapshot(reference / "run.sqlite")
    assert ours["candidates"] == ref["candidates"]
    assert ours["selections"] == ref["selections"]


def test_a_second_ctrl_c_exits_at_once(problems: Path, slow_server: ScriptedServer, tmp_path: Path) -> None:
    args = batch_args(problems, slow_server.base_url, tmp_path, "twice", "-k", "2")
    code, took = _interrupt(args, 2, tmp_path / "twice" / "run.sqlite")
    assert code == 130
    assert took < 3.0
    subprocess.run([sys.executable, "-m", "codesolve.cli", "sandbox", "cleanup"], capture_output=True, timeout=120,
                   check=False)  # fmt: skip  # the reaper's job: containers of a dead owner
    assert run_containers("twice") == []
