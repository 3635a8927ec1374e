"""A run killed with SIGKILL mid-batch leaves containers; the reaper removes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sandbox._docker.containers import LABEL_EXPIRES, LABEL_OWNER, is_stale, reap
from sandbox._docker.engine import connect

ORCHESTRATOR = textwrap.dedent(
    """
    import anyio
    from sandbox import DockerConfig, Limits, Program, TestCase, make_sandbox

    async def main() -> None:
        box = await make_sandbox(DockerConfig(pool_size=1, run_id="{run_id}"))
        sleeper = Program.single("python", "import time\\ntime.sleep(60)\\n")
        await box.run_tests(sleeper, [TestCase()] * 5, Limits(cpu_seconds=1, wall_seconds=30))

    anyio.run(main)
    """
)


def _run_containers(run_id: str) -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=codesolve.run={run_id}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return proc.stdout.split()


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


@pytest.mark.timeout(120)
def test_sigkilled_run_is_reaped(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    run_id = f"reaper{os.getpid()}"
    code = ORCHESTRATOR.format(run_id=run_id)
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        assert _wait_for(lambda: _run_containers(run_id), 60), "the orchestrator never started a container"
        time.sleep(1.5)  # let the exec start: the kill lands mid-batch
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        left = _run_containers(run_id)
        assert left, "SIGKILL should leave the container behind (nothing ran its cleanup)"
        removed = reap(connect(30))
        assert removed >= len(left)
        assert _run_containers(run_id) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        reap(connect(30), run_id=run_id)


def test_stale_rules() -> None:
    now = 1_000_000.0
    fresh = {LABEL_EXPIRES: str(int(now) + 60), LABEL_OWNER: f"{os.uname().nodename}:{os.getpid()}"}
    assert not is_stale(fresh, now)
    assert is_stale({**fresh, LABEL_EXPIRES: str(int(now) - 1)}, now)
    assert is_stale({**fresh, LABEL_EXPIRES: "garbage"}, now)
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert is_stale({**fresh, LABEL_OWNER: f"{os.uname().nodename}:{dead.pid}"}, now)
    assert not is_stale({**fresh, LABEL_OWNER: f"another-host:{dead.pid}"}, now)
