"""Where a batch's problems are solved: lanes, and the queue they take work from.

A *lane* solves one problem at a time. The local executor gives the batch
``concurrency`` lanes in this process; the Ray executor gives each node of a
cluster its own lanes. A lane whose node died hands its problem back
(``None``): the problem goes back to the front of the :class:`WorkQueue` and
another lane redoes it. The queue is finished when the stream is read, no
problem is waiting and none is out on a lane (one out may still come back).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import anyio

from codesolve.errors import LLMError, UsageError
from codesolve.llm import LLM
from codesolve.runs.collect import crash_result, failed_result, solved_result
from codesolve.runs.records import ProblemResult
from codesolve.runs.single import solve_one
from codesolve.sstar import EngineConfig
from codesolve.tasks import Item
from sandbox import Sandbox

_T = TypeVar("_T")


class Lane(Protocol):
    """One problem at a time, somewhere."""

    @property
    def open(self) -> bool:
        """False once the lane takes no more work (its node died, or cannot reach Docker)."""
        ...

    async def solve(self, seq: int, item: Item) -> ProblemResult | None:
        """The problem's result; ``None`` when the lane was lost with it (it is then redone elsewhere)."""
        ...


async def solve_item(seq: int, item: Item, box: Sandbox, llm: LLM, config: EngineConfig) -> ProblemResult:
    """Solve one well-formed item; every failure becomes a recorded reason, never an exception.

    Except one: LLMError when the endpoint has never answered (wrong URL, bad key, unknown
    model), since every problem would fail the same way; the batch stops in one line.
    """
    problem = item.problem
    assert problem is not None  # malformed items are recorded by the batch, never sent to a lane
    started = anyio.current_time()
    problem_json = problem.model_dump_json()
    try:
        result = await solve_one(problem, box, llm, config)
    except UsageError as exc:  # e.g. a kind of task the engine does not take yet
        return failed_result(seq, item.source, item.id, "unsupported", str(exc), problem_json)
    except Exception as exc:  # a crash inside the engine must not end the batch
        return crash_result(seq, item.source, item.id, problem_json, exc, anyio.current_time() - started)
    stopped = result.solution.stopped_by
    if stopped is not None and stopped.kind == "model" and not llm.reached:
        raise LLMError(stopped.detail)  # problems in flight stay running and are redone on resume
    return solved_result(seq, item.source, problem_json, result)


@dataclass(frozen=True)
class LocalLane:
    """A lane in this process: the shared sandbox and model client."""

    box: Sandbox
    llm: LLM
    config: EngineConfig
    open: bool = True

    async def solve(self, seq: int, item: Item) -> ProblemResult | None:
        """Solve it here."""
        return await solve_item(seq, item, self.box, self.llm, self.config)


class WorkQueue(Generic[_T]):
    """A bounded queue that items can be put back into, and that knows when the work is over."""

    def __init__(self, bound: int) -> None:
        """At most ``bound`` items wait (the stream is read no further ahead)."""
        self._bound = max(bound, 1)
        self._items: deque[_T] = deque()
        self._out = 0
        self._closed = False
        self._changed = anyio.Condition()

    async def put(self, item: _T) -> None:
        """Add an item from the stream, waiting while the queue is full."""
        async with self._changed:
            while len(self._items) >= self._bound:
                await self._changed.wait()
            self._items.append(item)
            self._changed.notify_all()

    async def close(self) -> None:
        """The stream is read: no more :meth:`put`."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def take(self) -> _T | None:
        """The next item, or ``None`` when all the work is over."""
        async with self._changed:
            while not self._items:
                if self._closed and self._out == 0:
                    return None
                await self._changed.wait()
            self._out += 1
            item = self._items.popleft()
            self._changed.notify_all()
            return item

    async def done(self, item: _T | None = None) -> None:
        """A taken item is finished; or, with ``item``, handed back to be redone first."""
        async with self._changed:
            self._out -= 1
            if item is not None:
                self._items.appendleft(item)
            self._changed.notify_all()

    @property
    def closed(self) -> bool:
        """The whole stream was read."""
        return self._closed

    @property
    def waiting(self) -> int:
        """Items queued, not yet taken."""
        return len(self._items)
