"""What the driver serves to every node: the global model limits and the run's response cache.

Both are Ray actors pinned to the driver's node, so they live as long as the
batch and die with it, never with a worker node. The classes are plain
Python: :mod:`codesolve.runs.cluster.executor` makes them actors with
``ray.remote``, so this module imports no Ray and is tested without it.

:class:`LimiterService` keeps one :class:`~codesolve.llm.RateWindow` per
endpoint; every request on every node holds one of its leases while on the
wire (:class:`RemoteGate`). A lease is granted by a call that waits at most a
few seconds, so no remote call is ever unbounded; the node asks again.
:class:`CacheService` owns the run's ``cache.sqlite`` (only the driver's
machine opens it); nodes read and write it through :class:`RemoteCache`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio

from codesolve.errors import LLMUnreachable
from codesolve.llm import CachedSample, RateWindow, ResponseCache

_T = TypeVar("_T")

ASK_S = 5.0
"""Longest a lease request waits in the limiter before the node asks again."""
CALL_S = 60.0
"""Deadline of one call to a driver service (far above its work: a miss means the driver is gone)."""


def normal_priority() -> None:
    """Run every thread of this process at niceness 0, as the driver and a local batch do.

    Ray starts its workers at niceness 15 (``RAY_worker_niceness``): on a machine with other
    work, the limiter and cache that every model request of the cluster waits on, and each
    node's engine, were starved behind it. Lowering niceness needs privilege (root, or
    CAP_SYS_NICE); without it the actor keeps Ray's niceness.
    """
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: the calling thread only
        threads = [0]
    for tid in threads:  # niceness is per thread on Linux
        try:
            os.setpriority(os.PRIO_PROCESS, tid, 0)
        except OSError:
            return


@dataclass(frozen=True)
class Limits:
    """Per endpoint, across the whole cluster."""

    concurrency: int
    rpm: int | None = None
    tpm: int | None = None


class LimiterService:
    """Leases on each endpoint for the whole cluster."""

    def __init__(self, limits: Limits) -> None:
        """Every endpoint gets ``limits``."""
        normal_priority()
        self.limits = limits
        self.windows: dict[str, RateWindow] = {}
        self.changed: anyio.Event | None = None  # made on first use: an actor's __init__ runs outside its loop
        self.peak: dict[str, int] = {}

    def _window(self, endpoint: str) -> RateWindow:
        if endpoint not in self.windows:
            lim = self.limits
            self.windows[endpoint] = RateWindow(lim.concurrency, lim.rpm, lim.tpm)
        return self.windows[endpoint]

    def _changed(self) -> None:
        if self.changed is not None:
            self.changed.set()
        self.changed = anyio.Event()

    async def acquire(self, endpoint: str, holder: str, wait_s: float = ASK_S) -> int | None:
        """A lease id, or ``None`` when none came free within ``wait_s`` (ask again)."""
        window = self._window(endpoint)
        deadline = time.monotonic() + wait_s
        while (lease := window.take(time.monotonic(), holder)) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self.changed is None:
                self.changed = anyio.Event()
            with anyio.move_on_after(min(left, window.wait_s(time.monotonic()))):
                await self.changed.wait()
        self.peak[endpoint] = max(self.peak.get(endpoint, 0), len(window.in_flight))
        return lease

    async def release(self, endpoint: str, lease: int, tokens: int) -> None:
        """End a lease."""
        self._window(endpoint).give_back(lease, tokens, time.monotonic())
        self._changed()

    async def drop_holder(self, holder: str) -> int:
        """Take back the leases of a node that died (it will never release them)."""
        dropped = sum(window.drop_holder(holder) for window in self.windows.values())
        self._changed()
        return dropped

    async def in_use(self) -> dict[str, tuple[int, int]]:
        """Leases in flight and the limit, per endpoint (for the progress display)."""
        return {name: (len(w.in_flight), w.concurrency) for name, w in self.windows.items()}

    async def peaks(self) -> dict[str, int]:
        """Most leases ever in flight at once, per endpoint."""
        return dict(self.peak)


class CacheService:
    """The run's response cache, opened on the driver's machine only."""

    def __init__(self, path: Path) -> None:
        """Serve ``path``."""
        normal_priority()
        self.cache = ResponseCache(path)

    async def get_many(self, keys: Sequence[str], max_chars: int | None = None) -> dict[str, CachedSample]:
        """See :meth:`ResponseCache.get_many`."""
        return await self.cache.get_many(keys, max_chars)

    async def put_many(self, items: Sequence[tuple[str, CachedSample]], replace: bool = False) -> None:
        """See :meth:`ResponseCache.put_many`."""
        await self.cache.put_many(items, replace)

    async def close(self) -> None:
        """Close the file."""
        self.cache.close()


async def _call(ref: Awaitable[_T], what: str) -> _T:
    try:
        with anyio.fail_after(CALL_S):
            return await ref
    except TimeoutError:
        raise LLMUnreachable(f"the batch driver's {what} did not answer within {CALL_S:.0f}s") from None


class RemoteGate:
    """A node's side of the :class:`LimiterService` (implements :class:`codesolve.llm.Gate`)."""

    def __init__(self, service: Any, holder: str) -> None:
        """``service`` is the limiter actor's handle; ``holder`` names this node."""
        self.service = service
        self.holder = holder

    async def enter(self, endpoint: str) -> int:
        """Wait for a lease, asking again every :data:`ASK_S`."""
        while True:
            lease = await _call(self.service.acquire.remote(endpoint, self.holder), "model limiter")
            if lease is not None:
                return int(lease)

    async def leave(self, endpoint: str, lease: int, tokens: int) -> None:
        """Give the lease back."""
        await _call(self.service.release.remote(endpoint, lease, tokens), "model limiter")


class RemoteCache:
    """A node's side of the :class:`CacheService` (implements :class:`codesolve.llm.SampleCache`)."""

    def __init__(self, service: Any) -> None:
        """``service`` is the cache actor's handle."""
        self.service = service

    async def get_many(self, keys: Sequence[str], max_chars: int | None = None) -> dict[str, CachedSample]:
        """Look up on the driver."""
        found: dict[str, CachedSample] = await _call(self.service.get_many.remote(list(keys), max_chars), "cache")
        return found

    async def put_many(self, items: Sequence[tuple[str, CachedSample]], replace: bool = False) -> None:
        """Store on the driver."""
        await _call(self.service.put_many.remote(list(items), replace), "cache")

    def close(self) -> None:
        """Nothing to close here: the driver owns the file."""
