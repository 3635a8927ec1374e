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

An urgent batch that finds every container held may also take one from a bulk batch running
there: the queue asks that batch to *yield* (:meth:`SlotQueue.arm` says how), its agent stops it
after the test running, and the rest of it comes back to the queue with the place in line it had
(its :class:`Ticket`). A bulk batch pays a batch boundary (~5-10 ms of one container for a Python
program; a compiled one compiles again if its rest lands on a container that has not compiled
it) only when it is actually in the way of a model call, unlike cutting every bulk batch into
fixed pieces, which made the engine slower. One bulk batch is asked per urgent waiter (also when
the waiter's urgency is raised while it waits), and only one that goes after the waiter in line
(an ordinary bulk batch; an urgent bulk one for an urgent small one); a batch first queued
:data:`PATIENCE_S` ago or more is never asked, so none yields for ever. A batch asked is not
un-asked when its waiter is served elsewhere first or cancelled: it yields all the same.

Ordinary small batches (every problem's public tests) ask nobody: they were plentiful enough in
a 100-problem batch to make bulk batches yield 119 times, and the batch took ~9% longer
(``benchmarks/batch_throughput.py``); they still go first when a place frees.

It is still a queue: a batch waits for a container as long as it takes, never on a timeout.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable
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


@dataclass(frozen=True)
class Ticket:
    """A batch's place in line: kept by the rest of a batch that yielded, so it queues again
    where it was first, not behind everything that came since."""

    seq: int
    since: float


@dataclass(eq=False)
class Holder:
    """A batch holding (or waiting for) a place."""

    size: int
    urgency: Urgency
    ticket: Ticket
    on_yield: Callable[[], bool] | None = None
    """Asks the running batch to stop after its current test, and says whether the word went out
    (set by :meth:`SlotQueue.arm`)."""
    asked: bool = False
    """Asked to yield already (once is enough: it ends soon)."""

    @property
    def rank(self) -> tuple[bool, bool]:
        """Its class in line, first first: urgent, then small."""
        return (not self.urgency.raised, self.size > SMALL)


@dataclass(eq=False)
class _Waiter:
    holder: Holder
    granted: anyio.Event = field(default_factory=anyio.Event)


class SlotQueue:
    """At most ``total`` holders at once; a freed place goes to the first urgent waiter (small
    ones first), else the first small waiter, else the first waiter, or to the oldest once it
    has waited :data:`PATIENCE_S`. An urgent waiter may have a bulk holder yield its place."""

    def __init__(self, total: int, patience_s: float = PATIENCE_S) -> None:
        self.total = total
        self.patience_s = patience_s
        self._held: set[Holder] = set()
        self._free = total
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self.yields = 0
        """Batches asked to yield so far."""

    @property
    def available_tokens(self) -> int:
        """Places free now (as ``anyio.CapacityLimiter`` names it)."""
        return self._free

    @property
    def waiting(self) -> int:
        """Batches waiting for a place."""
        return len(self._waiting)

    def ticket(self) -> Ticket:
        """A place in line from now (a batch's, kept by its rest if it yields)."""
        return Ticket(next(self._seq), time.monotonic())

    @asynccontextmanager
    async def place(self, size: int, ticket: Ticket | None = None) -> AsyncIterator[Holder]:
        """Hold a place for a batch of ``size`` tests while the block runs (in line at ``ticket``:
        the rest of a batch that yielded)."""
        holder = await self.acquire(size, ticket)
        try:
            yield holder
        finally:
            self.release(holder)

    async def acquire(self, size: int, ticket: Ticket | None = None) -> Holder:
        """Wait for a place (see the class docstring for the order)."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        holder = Holder(size, current(), ticket or self.ticket())
        if self._free and not self._waiting:
            self._free -= 1
            self._held.add(holder)
            await anyio.lowlevel.cancel_shielded_checkpoint()
            return holder
        waiter = _Waiter(holder)
        self._waiting.append(waiter)
        holder.urgency.watch(self._make_room)  # (raised while it waits: it may need room then)
        self._make_room()
        try:
            await waiter.granted.wait()
        except BaseException:
            if waiter.granted.is_set():
                self.release(holder)  # handed a place it will not use: pass it on
            else:
                self._waiting.remove(waiter)
            raise
        return holder

    def release(self, holder: Holder) -> None:
        """Give a place back: straight to the next waiter, if any."""
        self._held.discard(holder)
        if not self._waiting:
            self._free += 1
            return
        waiter = self._next()
        self._waiting.remove(waiter)
        self._held.add(waiter.holder)
        waiter.granted.set()  # the place passes on: the count of holders is unchanged
        self._make_room()  # (a waiter the place did not go to may still need one)

    def arm(self, holder: Holder, on_yield: Callable[[], bool] | None) -> None:
        """The holder's batch is running and ``on_yield`` asks it to stop early (``None``: it can
        no longer be asked, it is ending); it may be asked at once if a waiter needs its place."""
        holder.on_yield = on_yield
        if on_yield is not None:
            self._make_room()

    def _make_room(self) -> None:
        # One bulk holder asked per urgent waiter that no asked holder covers yet (the places
        # freed go to the first in line: those are the covered ones).
        needy = sorted(
            (w.holder for w in self._waiting if w.holder.urgency.raised), key=lambda h: (h.rank, h.ticket.seq)
        )
        covered = sum(1 for h in self._held if h.asked)
        for waiter in needy[covered:]:
            victim = self._victim(waiter)
            if victim is not None and victim.on_yield is not None and victim.on_yield():
                victim.asked = True
                self.yields += 1

    def _victim(self, waiter: Holder) -> Holder | None:
        now = time.monotonic()
        candidates = [
            h
            for h in self._held
            if h.on_yield is not None
            and not h.asked
            and h.size > SMALL
            and waiter.rank < h.rank
            and now - h.ticket.since < self.patience_s
        ]
        return max(candidates, key=lambda h: (h.size, h.ticket.seq), default=None)

    def _next(self) -> _Waiter:
        oldest = min(self._waiting, key=lambda w: w.holder.ticket.seq)
        if time.monotonic() - oldest.holder.ticket.since >= self.patience_s:
            return oldest
        return min(self._waiting, key=lambda w: (w.holder.rank, w.holder.ticket.seq))
