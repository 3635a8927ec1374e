"""Urgent batches go first on a busy Docker pool; the local backend accepts the context and ignores it."""

from __future__ import annotations

import time

import anyio
import pytest

from sandbox import DockerConfig, Limits, Program, Sandbox, TestCase, Verdict, open_sandbox, urgent
from sandbox.urgency import ORDINARY, Urgency

pytestmark = pytest.mark.anyio

LIMITS = Limits(cpu_seconds=5, memory_mb=128)
SLOW = "import time\ntime.sleep(1.0)\nprint('slow')\n"


async def test_an_urgent_batch_overtakes_an_ordinary_one_waiting_for_the_only_container(
    docker_available: bool,
) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    ended: dict[str, float] = {}
    async with open_sandbox(DockerConfig(pool_size=1, run_id="pytest-urgent")) as box:
        await box.warm(LIMITS)

        async def run(name: str, source: str) -> None:
            [outcome] = await box.run_tests(Program.single("python", source), [TestCase(expected=name)], LIMITS)
            assert outcome.verdict is Verdict.AC, outcome
            ended[name] = time.monotonic()

        async def urgent_run(name: str) -> None:
            with urgent():
                await run(name, f"print({name!r})")

        async with anyio.create_task_group() as group:
            group.start_soon(run, "slow", SLOW)  # holds the only container for a second
            await anyio.sleep(0.3)
            group.start_soon(run, "plain", "print('plain')")
            await anyio.sleep(0.1)
            group.start_soon(urgent_run, "hurry")  # asked for last, served first
    assert ended["slow"] < ended["hurry"] < ended["plain"], ended


async def test_the_local_backend_runs_urgent_batches_like_any_other(local_box: Sandbox) -> None:
    with urgent():
        [outcome] = await local_box.run_tests(Program.single("python", "print(2)"), [TestCase(expected="2")], LIMITS)
    assert outcome.verdict is Verdict.AC


def test_a_watcher_is_told_once_when_the_flag_is_raised_and_the_ordinary_flag_keeps_none() -> None:
    told: list[str] = []
    flag = Urgency()
    flag.watch(lambda: told.append("a"))
    flag.watch(lambda: told.append("b"))
    flag.raise_now()
    flag.raise_now()
    assert sorted(told) == ["a", "b"]
    flag.watch(lambda: told.append("late"))  # raised already: nothing to wait for
    assert "late" not in told
    ORDINARY.watch(lambda: told.append("never"))
    assert not ORDINARY._watchers
