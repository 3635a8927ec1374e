"""Batches: many problems solved at once into a run store, resumable, failures recorded.

:func:`run_batch` pulls problems from a stream (never the whole set), solves
up to ``concurrency`` at once with :func:`codesolve.runs.single.solve_one` (one
engine for every task kind) on one shared sandbox and one model client, so the
global limits are theirs: model calls per endpoint, sandbox slots, Docker API
threads. Each finished problem goes to the store's single writer as one
message. A problem that fails (model error past retries, a budget stop, SE,
a malformed record, an engine crash) is recorded with its reason and the
batch goes on. Setting ``stop`` drops the problems in flight (they stay
``running`` and are redone on resume, cheaply, from the response cache) and
lets the writer finish what is queued.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import anyio.to_thread

from codesolve.llm import LLM
from codesolve.runs.collect import failed_result
from codesolve.runs.lanes import Lane, LocalLane, WorkQueue
from codesolve.runs.records import ProblemResult, ProblemRow
from codesolve.runs.store import RunStore
from codesolve.runs.writer import Session, Started, Writer, open_writer
from codesolve.sstar import EngineConfig
from codesolve.tasks import Item
from sandbox import Sandbox


class Observer(Protocol):
    """Told what the batch does (the progress display)."""

    def started(self, item: Item) -> None:
        """A problem began."""

    def finished(self, row: ProblemRow) -> None:
        """A problem was recorded."""


@dataclass(frozen=True)
class Selection:
    """Which problems of the stream the batch takes."""

    ids: frozenset[str] | None = None
    limit: int | None = None
    retry_failed: bool = False


@dataclass
class Tally:
    """What a batch session did."""

    total: int = 0
    """Problems selected from the stream."""
    skipped: int = 0
    """Already finished in an earlier session."""
    done: int = 0
    failed: int = 0
    interrupted: bool = False
    requeued: int = 0
    """Problems handed back by a lost lane (a dead node) and redone on another."""
    stranded: bool = False
    """Lanes closed with work left (every node gone): the rest waits for a resume."""
    missing_ids: list[str] = field(default_factory=list)


def finished_ids(store: RunStore, retry_failed: bool) -> set[str]:
    """Problems an earlier session finished (``failed`` ones too, unless they are to be retried)."""
    wanted = ("done",) if retry_failed else ("done", "failed")
    with store.read() as db:
        rows = db.execute(f"SELECT id FROM problems WHERE status IN ({','.join('?' * len(wanted))})", wanted).fetchall()
    return {r[0] for r in rows}


def chosen(items: Iterator[Item], which: Selection, tally: Tally) -> Iterator[tuple[int, Item]]:
    """The selected items with their sequence numbers (``--id``, then ``--limit``)."""
    seen: set[str] = set()
    for item in items:
        if which.limit is not None and tally.total >= which.limit:
            return
        if which.ids is not None and item.id not in which.ids:
            continue
        seen.add(item.id)
        tally.total += 1
        yield tally.total - 1, item
    if which.ids is not None:
        tally.missing_ids = sorted(which.ids - seen)


@dataclass
class Batch:
    """One batch session: the store writer, the counts, and where problems are solved.

    Locally, ``llm`` and ``box`` are the shared model client and sandbox; an
    executor that solves elsewhere (a Ray cluster) passes its own lanes to
    :func:`run_batch` instead, and leaves them ``None``.
    """

    store: RunStore
    llm: LLM | None
    box: Sandbox | None
    config: EngineConfig
    observer: Observer
    tally: Tally = field(default_factory=Tally)

    def local_lanes(self, concurrency: int) -> list[Lane]:
        """``concurrency`` lanes on this process's sandbox and model client."""
        if self.llm is None or self.box is None:
            raise ValueError("a batch without a model client and sandbox needs lanes of its own")
        return [LocalLane(self.box, self.llm, self.config)] * concurrency

    async def lane(self, lane: Lane, queue: WorkQueue[tuple[int, Item]], writer: Writer) -> None:
        """Take items until the work is over or the lane closes; a lost item goes back to the queue."""
        while lane.open and (pair := await queue.take()) is not None:
            seq, item = pair
            if item.problem is None:
                result: ProblemResult | None = failed_result(seq, item.source, item.id, "malformed", item.error)
            else:
                await writer.put(Started(item.id, seq, item.source))
                self.observer.started(item)
                result = await lane.solve(seq, item)
            if result is None:
                self.tally.requeued += 1
                await queue.done(pair)
                continue
            await writer.put(result)
            await queue.done()
            if result.problem.status == "done":
                self.tally.done += 1
            else:
                self.tally.failed += 1
            self.observer.finished(result.problem)

    async def feed(
        self, items: Iterator[tuple[int, Item]], queue: WorkQueue[tuple[int, Item]], retry_failed: bool
    ) -> None:
        """Read the stream (in a worker thread: parsing a record is blocking work) and queue what is left."""
        finished = finished_ids(self.store, retry_failed)
        while (pair := await anyio.to_thread.run_sync(next, items, None)) is not None:
            if pair[1].id in finished:
                self.tally.skipped += 1
                continue
            await queue.put(pair)
        await queue.close()


Grow = Callable[[Callable[[Lane], None]], Awaitable[None]]
"""Adds lanes while a batch runs (it is given the function that adds one)."""


async def _grown(scope: anyio.CancelScope, grow: Grow, add: Callable[[Lane], None]) -> None:
    with scope:
        await grow(add)


async def run_batch(
    batch: Batch,
    items: Iterator[Item],
    which: Selection,
    concurrency: int,
    stop: anyio.Event | None = None,
    lanes: Sequence[Lane] | None = None,
    grow: Grow | None = None,
) -> Tally:
    """Solve the selected items into the store on ``lanes`` (default: ``concurrency`` local ones); the tally.

    ``grow``, when given, runs beside the lanes and adds more as they come (nodes
    joining a cluster); it is cancelled once no lane is left. When every lane
    has closed with work left (every node of a cluster died), the rest is not
    run: ``tally.stranded`` says so, and a resume redoes it.
    """
    started = time.time()
    stop = stop or anyio.Event()
    lanes = batch.local_lanes(concurrency) if lanes is None else lanes
    queue = WorkQueue[tuple[int, Item]](max(len(lanes), 1))
    async with open_writer(batch.store) as writer:
        async with anyio.create_task_group() as group:

            async def stopper() -> None:
                await stop.wait()
                batch.tally.interrupted = True
                group.cancel_scope.cancel()

            group.start_soon(stopper)
            group.start_soon(batch.feed, chosen(items, which, batch.tally), queue, which.retry_failed)
            async with anyio.create_task_group() as workers:
                growing = anyio.CancelScope()
                running = 0

                async def work(lane: Lane) -> None:
                    nonlocal running
                    try:
                        await batch.lane(lane, queue, writer)
                    finally:
                        running -= 1
                        if running == 0:  # nothing left to add lanes to
                            growing.cancel()

                def add(lane: Lane) -> None:
                    nonlocal running
                    running += 1
                    workers.start_soon(work, lane)

                for lane in lanes:
                    add(lane)
                if grow is not None and lanes:
                    workers.start_soon(_grown, growing, grow, add)
            batch.tally.stranded = queue.waiting > 0 or not queue.closed
            group.cancel_scope.cancel()  # the stopper is no longer needed, nor the feed when no lane is left
        await writer.put(Session("batch", started, time.time()))
    return batch.tally
