"""Urgent batches go first on a busy Docker pool; the local backend accepts the context and ignores it."""

from __future__ import annotations

import time

import anyio
import pytest

from sandbox import DockerConfig, Limits, Program, Sandbox, TestCase, Verdict, open_sandbox, urgent

pytestmark = pytest.mark.anyio

LIMITS = Limits(cpu_seconds=5, memory_mb=128)
SLOW = "import time\ntime.sleep(1.0)\nprint('slow')\n"


async def test_an_urgent_batch_overtakes_an_ordinary_one_waiting_for_the_only_container(
    docker_available: bool,
) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    ended: dict[str, float] = {}
    # (No express container: the ordinary one is the only one, so the order is the queue's.)
    async with open_sandbox(DockerConfig(pool_size=1, express=0, run_id="pytest-urgent")) as box:
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


async def test_a_small_batch_runs_in_the_express_container_while_bulk_ones_hold_and_wait(
    docker_available: bool,
) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    ended: dict[str, float] = {}
    bulk = [TestCase(expected="slow")] + [TestCase(expected="slow") for _ in range(4)]  # 5 tests: bulk

    async def run(box: Sandbox, name: str, program: Program, tests: list[TestCase]) -> None:
        outcomes = await box.run_tests(program, tests, LIMITS)
        assert all(o.verdict is Verdict.AC for o in outcomes), outcomes
        ended[name] = time.monotonic()

    async with open_sandbox(DockerConfig(pool_size=1, express=1, run_id="pytest-express")) as box:
        await box.warm(LIMITS)
        quick = Program.single("python", "print('quick')")
        slowish = Program.single("python", "import time\ntime.sleep(0.2)\nprint('slow')\n")
        async with anyio.create_task_group() as group:
            group.start_soon(run, box, "bulk 1", slowish, bulk)  # about a second in the ordinary container
            await anyio.sleep(0.3)
            group.start_soon(run, box, "bulk 2", slowish, bulk)  # waits: bulk never takes the express one
            await anyio.sleep(0.1)
            group.start_soon(run, box, "small", quick, [TestCase(expected="quick")])
    assert ended["small"] < ended["bulk 1"] < ended["bulk 2"], ended
    # Bulk 2 waited for bulk 1's container: they did not run side by side.
    assert ended["bulk 2"] - ended["bulk 1"] > 0.8


async def test_the_local_backend_runs_urgent_batches_like_any_other(local_box: Sandbox) -> None:
    with urgent():
        [outcome] = await local_box.run_tests(Program.single("python", "print(2)"), [TestCase(expected="2")], LIMITS)
    assert outcome.verdict is Verdict.AC
