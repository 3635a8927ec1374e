"""A run killed with SIGKILL mid-batch leaves containers; the reaper removes them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import docker
import docker.errors
import pytest

from sandbox._docker.containers import LABEL, LABEL_EXPIRES, LABEL_OWNER, LABEL_RUN, is_stale, owner, reap
from sandbox._docker.engine import connect
from sandbox.image.recipe import image_tag

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


def _run_of_containers(client: Any, count: int, run_id: str) -> list[Any]:
    """Created (never started) containers of one run, owned by this live process and not
    expired: reaped here by their run id. (Expired ones would be anybody's to remove: another
    test's sandbox, starting meanwhile in a parallel worker, reaps stale containers first, and
    the counts asserted here would be off.)"""
    labels = {LABEL: "1", LABEL_RUN: run_id, LABEL_EXPIRES: str(int(time.time()) + 3600), LABEL_OWNER: owner()}
    return [client.containers.create(image_tag(), ["true"], labels=labels) for _ in range(count)]


class _RemovingApi(docker.APIClient):  # type: ignore[misc]
    """The real API client, but the first container listing is followed at once by a real
    removal of one listed container: the interleaving that crashed the start-up reaper."""

    victims: list[str]

    def containers(self, *args: Any, **kwargs: Any) -> Any:
        listed = super().containers(*args, **kwargs)
        while self.victims:
            self.remove_container(self.victims.pop(), force=True)
        return listed


@pytest.mark.timeout(120)
def test_container_removed_between_list_and_inspect_counts_as_reaped(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    run_id = f"vanish{os.getpid()}"
    client = connect(30)
    made = _run_of_containers(client, 3, run_id)
    try:
        racing = docker.DockerClient.__new__(docker.DockerClient)
        racing.api = _RemovingApi(**docker.utils.kwargs_from_env(), timeout=30)
        racing.api.victims = [made[1].id]
        removed = reap(racing, run_id=run_id)
        assert removed == 2, "the vanished container is neither an error nor counted twice"
        assert _run_containers(run_id) == []
    finally:
        reap(client, run_id=run_id)


@pytest.mark.timeout(180)
def test_reaper_races_concurrent_removals(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    run_id = f"race{os.getpid()}"
    client = connect(30)
    try:
        for _ in range(3):
            made = _run_of_containers(client, 6, run_id)
            errors: list[BaseException] = []

            def remove_all(targets: list[Any] = made, errors: list[BaseException] = errors) -> None:
                for container in targets:
                    try:
                        container.remove(force=True)
                    except docker.errors.NotFound:
                        pass
                    except BaseException as exc:  # recorded, then asserted on
                        errors.append(exc)

            remover = threading.Thread(target=remove_all)
            remover.start()
            reap(connect(30), run_id=run_id)  # raises nothing, whatever vanishes meanwhile
            remover.join(60)
            assert not [e for e in errors if "already in progress" not in str(e)]
            reap(client, run_id=run_id)
            assert _run_containers(run_id) == []
    finally:
        reap(client, run_id=run_id)
