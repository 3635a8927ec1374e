"""``codesolve swe``, ``demo swe`` and ``eval`` as processes: outputs in the harness format, bad input as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from codesolve.runs.swe_report import PREDICTIONS, RESULTS, read_jsonl
from tests.swe.swekit import INSTANCES, REPOS, ROOT


def codesolve(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesolve.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
        check=False, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["swe", "missing.jsonl", "--repos", ".", "--gold"], "missing.jsonl"),
        (["swe", str(INSTANCES), "--repos", "nowhere", "--gold"], "--repos nowhere: not a directory"),
        (["swe", str(INSTANCES), "--repos", str(REPOS)], "--model NAME, --gold or --empty"),
        (["swe", str(INSTANCES), "--repos", str(REPOS), "--gold", "--id", "nope-1"], "no instance nope-1"),
        (["swe", str(INSTANCES), "--repos", str(REPOS), "--gold", "--model", "m"], "cannot be combined"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    done = codesolve(*args, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert says in done.stderr
    assert not (tmp_path / PREDICTIONS).exists()


@pytest.mark.docker
def test_demo_swe_writes_predictions_and_eval_grades_them(tmp_path: Path) -> None:
    done = codesolve("demo", "swe", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SCRIPTED stand-in" in done.stderr
    predictions = read_jsonl(tmp_path / PREDICTIONS)
    assert [set(p) for p in predictions] == [{"instance_id", "model_name_or_path", "model_patch"}] * 3
    assert all(str(p["model_patch"]).startswith("diff --git a/") for p in predictions)
    assert len(list((tmp_path / "traces").glob("mini__*.trace.json"))) == 3  # every prompt, reply and run
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["resolved_instances"] == 3
    (tmp_path / RESULTS).unlink()
    graded = codesolve("eval", ".", cwd=tmp_path)
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert "graded 0 instances (3 already graded" in graded.stderr  # the store had the grades
    assert "resolved 3, unresolved 0, infrastructure error 0" in graded.stdout
    assert len(read_jsonl(tmp_path / RESULTS)) == 3  # exported again
    shown = codesolve("report", ".", cwd=tmp_path, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert [line.split()[:2] for line in shown.stdout.splitlines()[1:4]] == [
        ["mini__intervals-1", "resolved"],
        ["mini__textkit-1", "resolved"],
        ["mini__durations-1", "resolved"],
    ]  # in run order


@pytest.mark.docker
def test_eval_grades_what_a_no_grade_run_left(tmp_path: Path) -> None:
    made = codesolve("swe", str(INSTANCES), "--repos", str(REPOS), "--gold", "--no-grade", "--id", "mini__textkit-1",
                     "--out", "run", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    assert [p["instance_id"] for p in read_jsonl(tmp_path / "run" / PREDICTIONS)] == ["mini__textkit-1"]
    assert read_jsonl(tmp_path / "run" / RESULTS) == []
    graded = codesolve("eval", "run", cwd=tmp_path)
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert "mini__textkit-1: selected resolved" in graded.stderr
    assert "resolved 1, unresolved 0, infrastructure error 0" in graded.stdout


def test_a_missing_key_is_one_line_and_makes_no_run(tmp_path: Path) -> None:
    done = codesolve(
        "swe", str(INSTANCES), "--repos", str(REPOS), "--model", "m", "--api-key-env", "CODESOLVE_TEST_NO_SUCH_KEY",
        "--out", "run", "--id", "mini__textkit-1", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "codesolve: error: environment variable CODESOLVE_TEST_NO_SUCH_KEY is not set (API key for model m)"
    ]
    assert not (tmp_path / "run").exists()


@pytest.mark.docker
def test_a_dead_endpoint_is_one_line_and_nothing_is_stored(tmp_path: Path) -> None:
    done = codesolve(
        "swe", str(INSTANCES), "--repos", str(REPOS), "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
        "--api-key-env", "PATH", "--max-retries", "0", "--timeout", "5", "--out", "run", "--id", "mini__textkit-1",
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "codesolve: error: cannot reach http://127.0.0.1:9/v1 (model m): connection failed: Connection refused"
    ]
    assert not (tmp_path / "run" / PREDICTIONS).exists()
