"""The pool's admission queue: who gets the next free container.

A pool of a few containers serves two kinds of traffic at once: latency-bound batches of
one to three tests (a debugging round's public tests, a distinguishing input, the
engine's critical path) and bulk batches of dozens (survivors on synthesized inputs).
First come, first served let a one-test batch wait behind every bulk batch queued before
it (0.3-0.4 s at a time in ``benchmarks/engine_overhead.py``), so here a small batch (at
most :data:`SMALL` tests) that is waiting goes before any bigger one; among the small, and
among the rest, first come first served (ordering bulk batches by size too put a problem's
27-test batches behind another's 26-test ones, and made the engine slower). A batch that
has waited longer than :data:`PATIENCE_S` goes first whatever its size, so no stream of
small batches can starve a big one.

Before both classes, a batch asked for under :func:`sandbox.urgency.urgent` (a model call waits
on it: a solve whose survivors disagree, before its judge; size matters less than that), read
when a place is handed out, so one raised while it waits moves ahead; the patience rule covers
it too, so urgent work cannot starve ordinary work either.

It is still a queue: a batch waits for a container as long as it takes, never on a timeout.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.lowlevel

from sandbox.urgency import Urgency, current

SMALL = 4
"""A batch of at most this many tests is latency-bound: public tests, a distinguishing input."""
BACKGROUND = 1 << 30
"""The size of work that waits behind every batch: warming a container (a batch that finds no
container starts one itself)."""
PATIENCE_S = 1.0
"""How long a batch waits behind smaller ones that came after it before it goes first."""


@dataclass(eq=False)
class _Waiter:
    size: int
    seq: int
    since: float
    urgency: Urgency
    granted: anyio.Event = field(default_factory=anyio.Event)


class SlotQueue:
    """At most ``total`` holders at once; a freed place goes to the first urgent waiter (small
    ones first), else the first small waiter, else the first waiter, or to the oldest once it
    has waited :data:`PATIENCE_S`."""

    def __init__(self, total: int, patience_s: float = PATIENCE_S) -> None:
        self.total = total
        self.patience_s = patience_s
        self._held = 0
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()

    @property
    def available_tokens(self) -> int:
        """Places free now (as ``anyio.CapacityLimiter`` names it)."""
        return self.total - self._held

    @property
    def waiting(self) -> int:
        """Batches waiting for a place."""
        return len(self._waiting)

    @asynccontextmanager
    async def place(self, size: int) -> AsyncIterator[None]:
        """Hold a place for a batch of ``size`` tests while the block runs."""
        await self.acquire(size)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, size: int) -> None:
        """Wait for a place (see the class docstring for the order)."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self._held < self.total and not self._waiting:
            self._held += 1
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return
        waiter = _Waiter(size, next(self._seq), time.monotonic(), current())
        self._waiting.append(waiter)
        try:
            await waiter.granted.wait()
        except BaseException:
            if waiter.granted.is_set():
                self.release()  # handed a place it will not use: pass it on
            else:
                self._waiting.remove(waiter)
            raise

    def release(self) -> None:
        """Give a place back: straight to the next waiter, if any."""
        if not self._waiting:
            self._held -= 1
            return
        waiter = self._next()
        self._waiting.remove(waiter)
        waiter.granted.set()  # the place passes on: the count of holders is unchanged

    def _next(self) -> _Waiter:
        oldest = min(self._waiting, key=lambda w: w.seq)
        if time.monotonic() - oldest.since >= self.patience_s:
            return oldest
        return min(self._waiting, key=lambda w: (not w.urgency.raised, w.size > SMALL, w.seq))
