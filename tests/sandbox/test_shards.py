"""Spreading a large batch over idle containers: the plan (properties) and the real thing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, open_sandbox
from sandbox._shards import MIN_TESTS_PER_SHARD, shard_count, split


@given(st.lists(st.integers(), max_size=200), st.integers(min_value=1, max_value=9))
def test_split_keeps_every_item_in_order_in_balanced_runs(items: list[int], parts: int) -> None:
    runs = split(items, parts)
    assert [x for run in runs for x in run] == items
    sizes = [len(run) for run in runs]
    assert max(sizes) - min(sizes) <= 1
    assert len(runs) == (min(parts, len(items)) if items else 1)


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=64), st.booleans())
def test_shards_are_never_too_small_nor_more_than_the_idle_slots(tests: int, idle: int, fail_fast: bool) -> None:
    count = shard_count(tests, idle, fail_fast)
    assert count >= 1
    if count > 1:
        assert not fail_fast
        assert count <= idle
        assert tests // count >= MIN_TESTS_PER_SHARD


LIMITS = Limits(cpu_seconds=1, wall_seconds=2, memory_mb=128)
WHERE = """import sys
n = int(input())
with open('/etc/hostname') as fh:
    print(fh.read().strip(), file=sys.stderr)
print(n * 2 if n != 37 else -1)
"""


@pytest.mark.anyio
async def test_a_large_batch_runs_on_both_containers_and_comes_back_in_order(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    tests = [TestCase(stdin=f"{n}\n", expected=f"{n * 2}\n") for n in range(3 * MIN_TESTS_PER_SHARD)]
    # A pool of its own: the session's may have a slot busy with a background attack.
    async with open_sandbox(DockerConfig(pool_size=2, run_id="pytest-shards")) as box:
        outcomes = await box.run_tests(Program.single("python", WHERE), tests, LIMITS)
    assert [o.name for o in outcomes] == [str(n) for n in range(len(tests))]
    assert [o.verdict for o in outcomes] == [Verdict.WA if n == 37 else Verdict.AC for n in range(len(tests))]
    hosts = {o.stderr.text.strip() for o in outcomes}
    assert len(hosts) == 2, "the session pool has two containers and nothing else ran: both serve a shard"
