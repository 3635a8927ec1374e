"""CPU work on a model's reply: on the event loop when the reply is small, in a worker thread when not.

Parsing endpoint text is linear and a reply is capped, but a large one (megabytes: many choices,
or a hostile reply) still takes long enough that a deadline or Ctrl-C must not wait for it: that
runs in a worker thread, abandoned on cancellation. A small one (nearly every reply) is parsed
where it is awaited: the hop to a worker and back costs more than the parse, and on a busy loop
much more. Measured on ``benchmarks/engine_overhead.py``: a generation reply's eight candidates
took 0.6-8.6 ms to extract through a worker (the worker waits for the interpreter lock while the
loop runs other solves' steps), 0.0-0.3 ms here; that wait sits between the reply and the
candidates' public tests, on the engine's critical path.

Only work that neither reads files nor waits for a lock a worker may hold (such as
:mod:`codesolve.tasks.pyparse`'s) may run here: it would stall every solve of the process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio.lowlevel
import anyio.to_thread

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

INLINE_CHARS = 32 * 1024
"""Text up to this many characters is parsed on the event loop (a linear scan of it: well under a
millisecond)."""


async def scan(size: int, work: Callable[[*Ts], T], *args: *Ts) -> T:
    """``work(*args)``, a linear scan of ``size`` characters of reply text: here when ``size`` is at
    most :data:`INLINE_CHARS`, else in a worker thread (abandoned if cancelled)."""
    if size <= INLINE_CHARS:
        await anyio.lowlevel.checkpoint_if_cancelled()
        return work(*args)
    return await anyio.to_thread.run_sync(work, *args, abandon_on_cancel=True)
