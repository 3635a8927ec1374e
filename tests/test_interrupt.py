"""Ctrl-C on a real ``codesolve solve`` process, in each phase, and hostile replies end to end.

The first SIGINT stops promptly, keeps what was computed (the trace is
written) and exits 130 with ``codesolve: interrupted``; a second one exits 130
at once. In every case no container of the process is left (``docker ps -a``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from codesolve.llm import SCRIPTED_KEY_ENV, Rule, Scenario, ScriptedServer
from tests.cli_process import CliProcess, containers_of
from tests.test_cli import EXAMPLES

pytestmark = pytest.mark.timeout(180)

LOOP = "```python\nwhile True:\n    pass\n```"


def _solve(server: ScriptedServer, out: Path, problem: str, *extra: str) -> CliProcess:
    args = [
        "solve", str(EXAMPLES / "examples.yaml"), "--id", problem, "--model", "scripted",
        "--base-url", server.base_url, "--api-key-env", SCRIPTED_KEY_ENV, "-n", "2", "--out", str(out),
        "--timeout", "60", "--max-retries", "0", "--sandbox", "docker", *extra,
    ]  # fmt: skip
    return CliProcess(args, {SCRIPTED_KEY_ENV: "dummy"})


@pytest.fixture
def slow_model() -> Iterator[ScriptedServer]:
    with ScriptedServer(Scenario(rules=[Rule(content=LOOP, latency_s=60)])) as server:
        yield server


def _wait_for_request(server: ScriptedServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not server.chat_requests:
        assert time.monotonic() < deadline, "no model request arrived"
        time.sleep(0.05)


def _assert_interrupted(code: int, err: str) -> None:
    assert code == 130, err
    assert err.rstrip().splitlines()[-1] == "codesolve: interrupted", err
    assert "Traceback" not in err, err
    assert "ExceptionGroup" not in err, err


def _no_containers(owner: str) -> None:
    # Removal of a container the engine is still creating can lag a moment behind the exit.
    deadline = time.monotonic() + 10
    while containers_of(owner) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert containers_of(owner) == []


def test_first_ctrl_c_during_the_model_call_keeps_the_trace(slow_model: ScriptedServer, tmp_path: Path) -> None:
    proc = _solve(slow_model, tmp_path, "examples/sum-of-pairs")
    _wait_for_request(slow_model)
    time.sleep(1.0)  # containers are warming meanwhile
    sent = time.monotonic()
    proc.interrupt()
    code, err = proc.finish(60)
    stopped_in = time.monotonic() - sent
    _assert_interrupted(code, err)
    assert stopped_in < 20, stopped_in
    [trace] = tmp_path.glob("*.trace.json")
    assert json.loads(trace.read_text())["solution"]["stopped_by"]["kind"] == "interrupted"
    _no_containers(proc.owner)


def test_second_ctrl_c_exits_at_once(slow_model: ScriptedServer, tmp_path: Path) -> None:
    proc = _solve(slow_model, tmp_path, "examples/sum-of-pairs")
    _wait_for_request(slow_model)
    time.sleep(1.0)
    proc.interrupt()
    time.sleep(0.2)
    proc.interrupt()
    code, err = proc.finish(60)
    _assert_interrupted(code, err)
    _no_containers(proc.owner)


def test_first_ctrl_c_while_programs_run_in_the_sandbox(tmp_path: Path) -> None:
    with ScriptedServer(Scenario(rules=[Rule(content=LOOP)])) as server:
        proc = _solve(server, tmp_path, "examples/sum-of-pairs", "--rounds", "5")
        proc.wait_for("generated 2 candidates", 90)
        sent = time.monotonic()
        proc.interrupt()
        code, err = proc.finish(60)
    _assert_interrupted(code, err)
    assert time.monotonic() - sent < 20
    assert list(tmp_path.glob("*.trace.json"))
    _no_containers(proc.owner)


@pytest.mark.parametrize(
    "rule",
    [Rule(content="```x\n" + "``` y\n" * 70_000), Rule(content="```x\n" + "``` y\n" * 1000, repeat=17_000)],
    ids=["400KB fence bomb", "100MB streamed fence bomb"],
)
def test_a_hostile_reply_ends_in_one_line_within_the_deadlines_and_512mb(rule: Rule, tmp_path: Path) -> None:
    with ScriptedServer(Scenario(rules=[rule])) as server:
        started = time.monotonic()
        proc = _solve(server, tmp_path, "examples/sum-of-pairs", "--budget-seconds", "5")
        code, err = proc.finish(60)
    elapsed = time.monotonic() - started
    assert elapsed < 30, (elapsed, err)  # process start and sandbox warm-up included
    assert code == 2, err
    assert err.strip().splitlines()[-1].startswith("codesolve: error: "), err
    assert "cap" in err, err
    assert "Traceback" not in err
    assert 0 < proc.peak_rss_mb < 512, proc.peak_rss_mb  # (0: never sampled, so nothing measured)
    _no_containers(proc.owner)


def test_first_ctrl_c_stops_judge_too(tmp_path: Path) -> None:
    program = tmp_path / "spin.py"
    program.write_text("while True:\n    pass\n")
    proc = CliProcess(
        ["judge", str(EXAMPLES / "examples.yaml"), "--program", str(program), "--id", "examples/sum-of-pairs",
         "--sandbox", "docker"]
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not containers_of(proc.owner):  # the sandbox is up: the programs are about to run
        assert time.monotonic() < deadline, "no container appeared"
        time.sleep(0.2)
    sent = time.monotonic()
    proc.interrupt()
    code, err = proc.finish(60)
    _assert_interrupted(code, err)
    assert time.monotonic() - sent < 20
    _no_containers(proc.owner)
