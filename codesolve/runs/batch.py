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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import anyio.to_thread
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from codesolve.errors import LLMError, UsageError
from codesolve.llm import LLM
from codesolve.runs.collect import crash_result, failed_result, solved_result
from codesolve.runs.records import ProblemResult, ProblemRow
from codesolve.runs.single import solve_one
from codesolve.runs.store import RunStore, Session, Started, Writer, open_writer
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
    missing_ids: list[str] = field(default_factory=list)


def finished_ids(store: RunStore, retry_failed: bool) -> set[str]:
    """Problems an earlier session finished (``failed`` ones too, unless they are to be retried)."""
    wanted = ("done",) if retry_failed else ("done", "failed")
    with store.read() as db:
        rows = db.execute(f"SELECT id FROM problems WHERE status IN ({','.join('?' * len(wanted))})", wanted).fetchall()
    return {r[0] for r in rows}


def chosen(items: Iterator[Item], which: Selection, tally: Tally) -> Iterator[tuple[int, Item]]:
    """The selected items with their sequence numbers (``--ids``, then ``--limit``)."""
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
    """One batch session: the shared model client and sandbox, the store writer, the counts."""

    store: RunStore
    llm: LLM
    box: Sandbox
    config: EngineConfig
    observer: Observer
    tally: Tally = field(default_factory=Tally)

    async def solve(self, seq: int, item: Item, writer: Writer) -> ProblemResult:
        """Solve one item; every failure becomes a recorded reason, never an exception."""
        problem = item.problem
        if problem is None:
            return failed_result(seq, item.source, item.id, "malformed", item.error)
        await writer.put(Started(item.id, seq, item.source))
        self.observer.started(item)
        started = time.monotonic()
        problem_json = problem.model_dump_json()
        try:
            result = await solve_one(problem, self.box, self.llm, self.config)
        except UsageError as exc:  # e.g. a kind of task the engine does not take yet
            return failed_result(seq, item.source, item.id, "unsupported", str(exc), problem_json)
        except Exception as exc:  # a crash inside the engine must not end the batch
            return crash_result(seq, item.source, item.id, problem_json, exc, time.monotonic() - started)
        stopped = result.solution.stopped_by
        if stopped is not None and stopped.kind == "model" and not self.llm.reached:
            # The endpoint has never answered (wrong URL, bad key, unknown model): every problem
            # would fail the same way. Stop here, in one line; problems in flight are redone on resume.
            raise LLMError(stopped.detail)
        return solved_result(seq, item.source, problem_json, result)

    async def worker(self, receive: MemoryObjectReceiveStream[tuple[int, Item]], writer: Writer) -> None:
        """Take items until the stream ends."""
        async with receive:
            async for seq, item in receive:
                result = await self.solve(seq, item, writer)
                await writer.put(result)
                if result.problem.status == "done":
                    self.tally.done += 1
                else:
                    self.tally.failed += 1
                self.observer.finished(result.problem)

    async def feed(
        self, items: Iterator[tuple[int, Item]], send: MemoryObjectSendStream[tuple[int, Item]], retry_failed: bool
    ) -> None:
        """Read the stream (in a worker thread: parsing a record is blocking work) and hand out what is left."""
        finished = finished_ids(self.store, retry_failed)
        async with send:
            while (pair := await anyio.to_thread.run_sync(next, items, None)) is not None:
                if pair[1].id in finished:
                    self.tally.skipped += 1
                    continue
                await send.send(pair)


async def run_batch(
    batch: Batch, items: Iterator[Item], which: Selection, concurrency: int, stop: anyio.Event | None = None
) -> Tally:
    """Solve the selected items into the store, ``concurrency`` at a time; returns the tally."""
    started = time.time()
    stop = stop or anyio.Event()
    async with open_writer(batch.store) as writer:
        async with anyio.create_task_group() as group:

            async def stopper() -> None:
                await stop.wait()
                batch.tally.interrupted = True
                group.cancel_scope.cancel()

            send, receive = anyio.create_memory_object_stream[tuple[int, Item]](0)
            group.start_soon(stopper)
            async with anyio.create_task_group() as workers:
                workers.start_soon(batch.feed, chosen(items, which, batch.tally), send, which.retry_failed)
                for _ in range(concurrency):
                    workers.start_soon(batch.worker, receive.clone(), writer)
                receive.close()
            group.cancel_scope.cancel()  # the stopper is no longer needed
        await writer.put(Session("batch", started, time.time()))
    return batch.tally
