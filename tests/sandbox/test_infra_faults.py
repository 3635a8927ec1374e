"""Infrastructure faults are SE, never a verdict against the program."""

from __future__ import annotations

import subprocess

import anyio
import pytest

from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, make_sandbox

pytestmark = pytest.mark.anyio


async def test_container_removed_mid_batch_is_se(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    box = await make_sandbox(DockerConfig(pool_size=1, run_id="infra-fault"))
    sleeper = Program.single("python", "import time\ntime.sleep(5)\nprint(1)\n")
    tests = [TestCase(expected="1", name=f"t{i}") for i in range(3)]

    async def pull_the_plug() -> None:
        await anyio.sleep(2.0)
        ids = subprocess.run(
            ["docker", "ps", "-q", "--filter", "label=codesolve.run=infra-fault"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout.split()  # fmt: skip
        assert ids, "the batch's container should be running"
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=True, timeout=30)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(pull_the_plug)
            outcomes = await box.run_tests(sleeper, tests, Limits(cpu_seconds=1, wall_seconds=10))
    finally:
        await box.aclose()
    assert [o.verdict for o in outcomes] == [Verdict.SE] * 3, [(o.verdict, o.message) for o in outcomes]
    assert "container" in outcomes[0].message


async def test_batch_after_a_fault_gets_a_fresh_container(docker_box: object) -> None:
    from sandbox import Sandbox

    assert isinstance(docker_box, Sandbox)
    killer = Program.single("python", "import os, signal\nos.kill(-1, signal.SIGKILL)\n")
    [outcome] = await docker_box.run_tests(killer, [TestCase(expected="x")], Limits(cpu_seconds=1))
    assert outcome.verdict is Verdict.RE
    ok = Program.single("python", "print('x')\n")
    [after] = await docker_box.run_tests(ok, [TestCase(expected="x")], Limits(cpu_seconds=1))
    assert after.verdict is Verdict.AC
