"""Ctrl-C for long runs: the first one stops gracefully, the second exits at once.

The first SIGINT (or SIGTERM) sets :attr:`Interrupts.stop`: the run drops
its work in flight, removes its containers and leaves the store consistent.
A second one ends the process immediately (``os._exit``); the reaper removes
whatever containers are left, and the store is still consistent, because
every write is one SQLite transaction.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

EXIT_INTERRUPTED = 130


@dataclass
class Interrupts:
    """Whether (and how often) the user interrupted."""

    stop: anyio.Event = field(default_factory=anyio.Event)
    count: int = 0


async def _watch(state: Interrupts, note: Callable[[str], None]) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _signum in signals:
            state.count += 1
            if state.count > 1:
                os._exit(EXIT_INTERRUPTED)  # the user insists: no cleanup, the reaper will do it
            note("interrupted: finishing cleanly (in-flight problems dropped); Ctrl-C again to exit at once")
            state.stop.set()


@asynccontextmanager
async def graceful_interrupts(note: Callable[[str], None]) -> AsyncIterator[Interrupts]:
    """Watch for Ctrl-C while the body runs (cleanup included)."""
    state = Interrupts()
    async with anyio.create_task_group() as group:
        group.start_soon(_watch, state, note)
        try:
            yield state
        finally:
            group.cancel_scope.cancel()


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of an exception group (task groups wrap a deliberate error such as StoreError)."""
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    return leaf
