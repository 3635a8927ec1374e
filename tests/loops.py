"""Running a coroutine on an event loop of its own, from a synchronous test (a hypothesis property)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import anyio


def run_own_loop(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` on a loop of its own (the suite's session loop may own this thread)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, main).result()
