"""A running bulk batch yields its container to an urgent one (the real Docker engine).

The queue's choices are tested without containers (test_queue_yield.py); here the agent's side:
an urgent batch has the one running stop between two tests, the rest runs as a batch of its own
with every outcome in its place, an ordinary small batch waits its turn, a token that comes too
late is skipped, and nothing a program prints can cut a batch short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from sandbox import DockerConfig, Limits, Program, TestCase, TestOutcome, Verdict, open_sandbox, urgent
from sandbox._docker.backend import DockerSandbox

LIMITS = Limits(cpu_seconds=2, wall_seconds=4, memory_mb=128)
# ~15 ms a test: a 60-test batch holds its container for about a second.
BUSY = (
    "import sys, time\n"
    "n = int(sys.stdin.read())\n"
    "t = time.monotonic()\n"
    "while time.monotonic() - t < 0.015:\n"
    "    pass\n"
    "print(n * 2)\n"
)
QUICK = Program.single("python", "print(int(input()) + 1)\n")


@pytest.fixture
async def one_container(anyio_backend: str, docker_available: bool) -> AsyncIterator[DockerSandbox]:
    """A pool of one container: a second batch has to wait for it, or have the first yield."""
    async with open_sandbox(DockerConfig(pool_size=1, run_id="pytest-yield")) as box:
        assert isinstance(box, DockerSandbox)
        await box.warm(LIMITS)
        yield box


def doubling(count: int) -> list[TestCase]:
    return [TestCase(stdin=f"{n}\n", expected=f"{2 * n}\n") for n in range(count)]


async def bulk_then_quick(box: DockerSandbox, is_urgent: bool) -> tuple[list[str], list[TestOutcome]]:
    """A 60-test bulk batch, and 0.3 s later (it is running by then) a one-test batch: which
    finished first, and the bulk batch's outcomes."""
    finished: list[str] = []
    bulk: list[TestOutcome] = []

    async def run_bulk() -> None:
        bulk.extend(await box.run_tests(Program.single("python", BUSY), doubling(60), LIMITS))
        finished.append("bulk")

    async def run_quick() -> None:
        await anyio.sleep(0.3)
        with urgent(is_urgent):
            [outcome] = await box.run_tests(QUICK, [TestCase(stdin="1\n", expected="2\n")], LIMITS)
        assert outcome.verdict is Verdict.AC, outcome
        finished.append("quick")

    async with anyio.create_task_group() as group:
        group.start_soon(run_bulk)
        group.start_soon(run_quick)
    return finished, bulk


@pytest.mark.anyio
async def test_an_urgent_batch_is_served_before_the_bulk_batch_running_ends(one_container: DockerSandbox) -> None:
    finished, bulk = await bulk_then_quick(one_container, True)
    assert finished == ["quick", "bulk"]
    assert one_container.slots.yields == 1
    # Every outcome of the bulk batch, in its place, as if it had never stopped.
    assert [o.name for o in bulk] == [str(n) for n in range(60)]
    assert all(o.verdict is Verdict.AC for o in bulk), bulk
    assert [o.stdout.text for o in bulk] == [f"{2 * n}\n" for n in range(60)]


@pytest.mark.anyio
async def test_an_ordinary_small_batch_waits_for_the_bulk_batch_running(one_container: DockerSandbox) -> None:
    finished, bulk = await bulk_then_quick(one_container, False)
    assert finished == ["bulk", "quick"]
    assert one_container.slots.yields == 0
    assert all(o.verdict is Verdict.AC for o in bulk), bulk


@pytest.mark.anyio
async def test_a_bulk_batch_never_yields_to_another_bulk_batch(one_container: DockerSandbox) -> None:
    finished: list[str] = []

    async def run(name: str, delay: float) -> None:
        await anyio.sleep(delay)
        outcomes = await one_container.run_tests(Program.single("python", BUSY), doubling(20), LIMITS)
        assert all(o.verdict is Verdict.AC for o in outcomes)
        finished.append(name)

    async with anyio.create_task_group() as group:
        group.start_soon(run, "first", 0.0)
        group.start_soon(run, "second", 0.1)
    assert finished == ["first", "second"]
    assert one_container.slots.yields == 0


@pytest.mark.anyio
async def test_a_token_that_comes_after_its_batch_ended_is_skipped(one_container: DockerSandbox) -> None:
    [outcome] = await one_container.run_tests(QUICK, [TestCase(stdin="1\n", expected="2\n")], LIMITS)
    assert outcome.verdict is Verdict.AC
    [slot] = [slot for idle in one_container._idle.values() for slot in idle]
    assert slot.agent is not None
    slot.agent.ask_yield()  # as if it had been sent just as the batch ended
    slot.agent.ask_yield()
    outcomes = await one_container.run_tests(Program.single("python", BUSY), doubling(12), LIMITS)
    assert [o.verdict for o in outcomes] == [Verdict.AC] * 12, outcomes
    # The same container served it (a broken channel would have cost it).
    assert [slot] == [s for idle in one_container._idle.values() for s in idle]


# Prints what the driver says when it yields, with every nonce it could guess, and a YIELD token.
FAKE_YIELD = (
    "import json, sys\n"
    "n = int(sys.stdin.read())\n"
    "for nonce in ['', '0', 'x' * 32]:\n"
    "    print(json.dumps({'event': 'yielded', 'nonce': nonce}))\n"
    "sys.stdout.flush()\n"
    "sys.stdout.buffer.write(b'\\xff' * 8)\n"
    "print()\n"
    "print(n * 2)\n"
)


@pytest.mark.anyio
async def test_a_program_cannot_make_its_batch_stop_early(one_container: DockerSandbox) -> None:
    tests = [TestCase(stdin=f"{n}\n") for n in range(10)]
    outcomes = await one_container.run_tests(Program.single("python", FAKE_YIELD), tests, LIMITS)
    assert [o.name for o in outcomes] == [str(n) for n in range(10)]
    assert all(o.verdict is Verdict.AC for o in outcomes), outcomes
    assert all(o.stdout.text.endswith(f"\n{2 * n}\n") for n, o in enumerate(outcomes)), outcomes
    assert one_container.slots.yields == 0
