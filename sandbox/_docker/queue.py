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

Beside its ordinary places the pool may keep **express** places (``DockerConfig.express``):
containers only small batches may use, and only once every ordinary place is taken. Ordering
alone cannot stop a one-test batch that a model call waits on from waiting for a running bulk
batch to end (no batch is pre-empted); an express place is free for it at once. Bulk batches
never take one, so the express lane does not become one more bulk container.

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
    express: bool = False
    """Whether the place it was granted is an express one."""
    express_only: bool = False
    """It waits for an express place only (warming the express container)."""

    def may_take(self, express: bool) -> bool:
        """Whether a freed place of this kind may go to this waiter."""
        return self.size <= SMALL or self.express_only if express else not self.express_only


class SlotQueue:
    """At most ``total`` ordinary holders and ``express`` express ones (small batches only, once
    the ordinary places are taken) at once; a freed ordinary place goes to the first urgent
    waiter (small ones first), else the first small waiter, else the first waiter, or to the
    oldest once it has waited :data:`PATIENCE_S`; a freed express place to the first small
    waiter by the same rule."""

    def __init__(self, total: int, patience_s: float = PATIENCE_S, express: int = 0) -> None:
        self.total = total
        self.express = express
        self.patience_s = patience_s
        self._held = 0
        self._held_express = 0
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()

    @property
    def available_tokens(self) -> int:
        """Ordinary places free now (as ``anyio.CapacityLimiter`` names it)."""
        return self.total - self._held

    @property
    def waiting(self) -> int:
        """Batches waiting for a place."""
        return len(self._waiting)

    @property
    def holders(self) -> tuple[int, int]:
        """Places held now: ordinary, express."""
        return self._held, self._held_express

    @asynccontextmanager
    async def place(self, size: int) -> AsyncIterator[bool]:
        """Hold a place for a batch of ``size`` tests while the block runs; the block gets
        whether it is an express one."""
        express = await self.acquire(size)
        try:
            yield express
        finally:
            self.release(express)

    @asynccontextmanager
    async def express_place(self) -> AsyncIterator[None]:
        """Hold an express place, behind every small batch (to warm an express container)."""
        if not self.express:
            raise ValueError("this queue has no express places")
        await anyio.lowlevel.checkpoint_if_cancelled()
        await self._wait(_Waiter(BACKGROUND, next(self._seq), time.monotonic(), current(), express_only=True))
        try:
            yield
        finally:
            self.release(express=True)

    async def acquire(self, size: int) -> bool:
        """Wait for a place (see the class docstring for the order); whether it is an express one."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self._held < self.total and not any(w.may_take(False) for w in self._waiting):
            self._held += 1
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return False
        if size <= SMALL and self._held_express < self.express:
            # (As in _wait: nobody who may take it is waiting.)
            self._held_express += 1
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return True
        return await self._wait(_Waiter(size, next(self._seq), time.monotonic(), current()))

    async def _wait(self, waiter: _Waiter) -> bool:
        # (No waiter that may take an express place waits while one is free: none is ahead of us.)
        if waiter.express_only and self._held_express < self.express:
            self._held_express += 1
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return True
        self._waiting.append(waiter)
        try:
            await waiter.granted.wait()
        except BaseException:
            if waiter.granted.is_set():
                self.release(waiter.express)  # handed a place it will not use: pass it on
            else:
                self._waiting.remove(waiter)
            raise
        return waiter.express

    def release(self, express: bool = False) -> None:
        """Give a place back: straight to the next waiter that may take it, if any."""
        waiter = self._next(express)
        if waiter is None:
            if express:
                self._held_express -= 1
            else:
                self._held -= 1
            return
        self._waiting.remove(waiter)
        waiter.express = express
        waiter.granted.set()  # the place passes on: the count of holders is unchanged

    def _next(self, express: bool) -> _Waiter | None:
        waiting = [w for w in self._waiting if w.may_take(express)]
        if not waiting:
            return None
        oldest = min(waiting, key=lambda w: w.seq)
        if time.monotonic() - oldest.since >= self.patience_s:
            return oldest
        return min(waiting, key=lambda w: (not w.urgency.raised, w.size > SMALL, w.seq))
