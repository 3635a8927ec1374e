"""A run of hanging tests keeps its report: the alarms add up to the run's budget, not past its CPU limit."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from codesolve.tasks.repo.testrun import read_run, run_pytest
from sandbox import Capture, ExecResult, Limits, Sandbox

pytestmark = pytest.mark.anyio

LOOPING = "def test_{n}():\n    while True:\n        pass\n\n\n"


def looping_repo(root: Path, hanging: int) -> Path:
    (root / "tests").mkdir(parents=True)
    body = "".join(LOOPING.format(n=f"hang_{i}") for i in range(hanging))
    (root / "tests" / "test_a.py").write_text(body + "def test_quick():\n    assert 1 + 1 == 2\n")
    return root


async def test_hanging_tests_cannot_add_up_past_the_cpu_limit(tmp_path: Path, docker_box: Sandbox) -> None:
    # Six tests that each hang past their 20 s alarm: 120 s in all, against a run of 8 CPU-s.
    # Before the budget the run was killed at its limit with no report, and no test had a result.
    repo = looping_repo(tmp_path / "r", hanging=6)
    run = await run_pytest(docker_box, repo, ["tests/test_a.py"], limits=Limits(cpu_seconds=8), test_timeout_s=20)
    assert run.infra_error == "", run.output_tail
    assert run.distrust == "", run.output_tail
    assert run.exit_code == 1
    hanging = [f"tests/test_a.py::test_hang_{i}" for i in range(6)]
    assert all(not run.passed(t) and "TestTimeout" in run.results[t].message for t in hanging)
    assert run.passed("tests/test_a.py::test_quick")  # the floor still lets a quick test pass


def test_a_run_killed_by_a_limit_is_a_verdict_not_an_infrastructure_error() -> None:
    killed = ExecResult(None, Capture(), Capture(), 9.0, signal=int(signal.SIGXCPU))
    run = read_run(killed, "r.xml")
    assert run.infra_error == ""
    assert run.distrust == "the test run was killed by signal 24 (SIGXCPU: its CPU time limit)"
    assert not run.passed("tests/test_a.py::test_quick")
    lost = read_run(ExecResult(None, Capture(), Capture(), 9.0), "r.xml")
    assert lost.infra_error == "the sandbox returned no exit status"  # no signal: the sandbox, not the code
