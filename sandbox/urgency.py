"""Urgency: which waiting batches a pool serves first when a caller is blocked on them.

A pool of a few containers serves several callers at once. Some of their batches unblock a
step that waits on them (a solve whose next model call needs these results: the judge of
survivors that disagree); others only finish work after which nothing more waits. A caller
marks the first kind by running them inside ``with urgent():``. The Docker pool's admission
queue (:mod:`sandbox._docker.queue`) lets an urgent batch go before every ordinary waiting
batch; its rule that a batch waiting longer than a second goes first stays, so no stream of
urgent work starves the rest.

A caller that learns only while its batches wait that they are urgent (survivors found to
disagree half-way through their runs) passes an :class:`Urgency` and raises it: batches
already waiting move ahead at the next free place.

It is a context (a :class:`contextvars.ContextVar`), not a parameter: tasks started inside
the block inherit it (anyio task groups copy the context), layers between the caller and the
sandbox (tasks, wrappers) pass it on untouched, and the :class:`sandbox.Sandbox` protocol does
not change. The local backend ignores it: its batches take a plain capacity limiter's places
in arrival order (it is for trusted code and tests, not for a shared pool).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Urgency:
    """A flag for the batches of one block: urgent once raised (raising it is for good)."""

    def __init__(self, raised: bool = False) -> None:
        self._raised = raised
        self._watchers: set[Callable[[], None]] = set()

    @property
    def raised(self) -> bool:
        """Whether the batches are urgent now."""
        return self._raised

    def raise_now(self) -> None:
        """Make the batches urgent, waiting ones included (whoever watches it is told)."""
        if self._raised:
            return
        self._raised = True
        watchers, self._watchers = self._watchers, set()
        for watcher in watchers:
            watcher()

    def watch(self, watcher: Callable[[], None]) -> None:
        """Call ``watcher`` once, when the flag is raised (a queue holding its batches: once per
        queue, however many batches wait). :data:`ORDINARY` is never raised: it keeps no watcher
        (it lives as long as the process, and would keep every queue that ever waited)."""
        if not self._raised and self is not ORDINARY:
            self._watchers.add(watcher)


ORDINARY = Urgency()
"""The urgency outside any ``urgent`` block (never raised)."""

_CURRENT: ContextVar[Urgency] = ContextVar("sandbox_urgency", default=ORDINARY)


@contextmanager
def urgent(flag: bool | Urgency = True) -> Iterator[None]:
    """Run the block's batches as urgent (``False``: as ordinary; an :class:`Urgency`: as it says,
    now and while they wait)."""
    token = _CURRENT.set(flag if isinstance(flag, Urgency) else Urgency(flag))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current() -> Urgency:
    """The urgency of batches asked for in the current context."""
    return _CURRENT.get()


def is_urgent() -> bool:
    """Whether batches asked for in the current context are urgent now."""
    return _CURRENT.get().raised
