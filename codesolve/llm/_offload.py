"""CPU work on a model's reply: where it is awaited when the reply is small, in a worker thread when not.

Parsing endpoint text is linear and a reply is capped, but a large one (megabytes: many choices,
or a hostile reply) still takes long enough that a deadline or Ctrl-C must not wait for it: that
runs in a worker thread, abandoned on cancellation. A small one (nearly every reply) is parsed
where it is awaited: the hop to a worker and back costs more than the parse, and on a busy loop
much more. Measured on ``benchmarks/engine_overhead.py``: a generation reply's eight candidates
took 0.6-8.6 ms to extract through a worker (the worker waits for the interpreter lock while the
loop runs other solves' steps), 0.0-0.3 ms here; that wait sits between the reply and the
candidates' public tests, on the engine's critical path. The client parses a reply's body the
same way (a 32 KiB body: ~0.4 ms of a hop on a busy machine, more than its parse).

Only work that neither reads files nor waits for a lock a worker may hold (such as
:mod:`codesolve.tasks.pyparse`'s) may run here: it would stall every solve of the process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio.to_thread

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

INLINE_REPLY_SIZE = 32 * 1024
"""Reply text (or a body's bytes) up to this size is parsed where it is awaited (a linear scan of
it: well under a millisecond)."""


async def parse_reply(size: int, work: Callable[[*Ts], T], *args: *Ts) -> T:
    """``work(*args)``, a linear pass over ``size`` characters (or bytes) of a model's reply: called
    here when ``size`` is at most :data:`INLINE_REPLY_SIZE` (exactly as a plain call), else in a
    worker thread, abandoned if the caller is cancelled."""
    if size <= INLINE_REPLY_SIZE:
        return work(*args)
    return await anyio.to_thread.run_sync(work, *args, abandon_on_cancel=True)
