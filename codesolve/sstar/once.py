"""Keyed single flight: an async computation runs once per key, however many ask at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import anyio

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class OnceEach(Generic[K, V]):
    """Results by key; callers of a key that is being computed wait for that computation.

    A computation that fails (or is cancelled) stores nothing: the next caller
    of its key computes it again. ``keep`` decides which results are remembered
    (an infrastructure fault, say, should be retried rather than shared).
    """

    def __init__(self, keep: Callable[[V], bool] = lambda _value: True) -> None:
        self._done: dict[K, V] = {}
        self._running: dict[K, anyio.Event] = {}
        self._keep = keep

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """The value for ``key`` and whether this call computed it (False: it was shared)."""
        while key not in self._done and key in self._running:
            await self._running[key].wait()
        if key in self._done:
            return self._done[key], False
        event = self._running[key] = anyio.Event()
        try:
            value = await compute()
            if self._keep(value):
                self._done[key] = value
            return value, True
        finally:
            del self._running[key]
            event.set()
