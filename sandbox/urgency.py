"""Urgency: which waiting batches a pool serves first when a caller is blocked on them.

A pool of a few containers serves several callers at once. Some of their batches unblock a
step that waits on them now (a solve whose next model call needs these results: the judge of
survivors that disagree); others only finish work nobody is blocked on yet. A caller marks
the first kind by running them inside ``with urgent():``. The Docker pool's admission queue
(:mod:`sandbox._docker.queue`) lets an urgent batch go before the other waiting batches of
its size class; its rule that a batch waiting longer than a second goes first stays, so no
stream of urgent work starves the rest.

It is a context (a :class:`contextvars.ContextVar`), not a parameter: tasks started inside
the block inherit it (anyio task groups copy the context), layers between the caller and the
sandbox (tasks, wrappers) pass it on untouched, and the :class:`sandbox.Sandbox` protocol does
not change. The local backend has no queue: every batch runs at once, and it ignores it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_URGENT: ContextVar[bool] = ContextVar("sandbox_urgent", default=False)


@contextmanager
def urgent(flag: bool = True) -> Iterator[None]:
    """Run the block's batches as urgent (``flag`` False: as ordinary, e.g. inside an urgent block)."""
    token = _URGENT.set(flag)
    try:
        yield
    finally:
        _URGENT.reset(token)


def is_urgent() -> bool:
    """Whether batches asked for in the current context are urgent."""
    return _URGENT.get()
