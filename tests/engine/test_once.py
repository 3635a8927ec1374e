"""Single flight per key: identical programs are run once, failures are not remembered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.sstar.once import OnceEach


def run_own_loop(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` on a loop of its own (the suite's session loop may own this thread)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, main).result()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=30))
def test_each_key_is_computed_once_however_many_ask_at_once(keys: list[str]) -> None:
    computed: Counter[str] = Counter()
    results: list[tuple[str, str, bool]] = []

    async def main() -> None:
        once: OnceEach[str, str] = OnceEach()

        async def ask(key: str) -> None:
            async def compute() -> str:
                computed[key] += 1
                await anyio.sleep(0.001)  # others arrive while this one runs
                return key.upper()

            value, ran = await once.get(key, compute)
            results.append((key, value, ran))

        async with anyio.create_task_group() as group:
            for key in keys:
                group.start_soon(ask, key)

    run_own_loop(main)
    assert computed == Counter(set(keys))
    assert all(value == key.upper() for key, value, _ in results)
    assert sum(ran for _, _, ran in results) == len(set(keys))


@pytest.mark.anyio
async def test_a_failed_or_unkept_computation_is_retried_by_the_next_caller() -> None:
    calls: list[str] = []
    once: OnceEach[str, int] = OnceEach(keep=lambda v: v > 0)

    async def failing() -> int:
        calls.append("fail")
        raise RuntimeError("boom")

    async def zero() -> int:
        calls.append("zero")
        return 0

    async def one() -> int:
        calls.append("one")
        return 1

    with pytest.raises(RuntimeError):
        await once.get("k", failing)
    assert await once.get("k", zero) == (0, True)
    assert await once.get("k", one) == (1, True)
    assert await once.get("k", zero) == (1, False)
    assert calls == ["fail", "zero", "one"]
