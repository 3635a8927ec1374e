"""Store headroom: how many finished problems per second the driver's single store writer absorbs.

On a cluster every result comes back to the driver as the store's record in
JSON; the driver parses it (``ProblemResult.model_validate_json``, as a Ray
lane does) and its one writer applies it in one transaction. This feeds the
writer as fast as it takes results, for problems shaped like an S* solve with N
candidates (N candidates x 2 rounds of code, N + 10 executions, 2N + 10 trace
events of ~1.5 KB each, as the engine records), and prints results per second.
Goal: >= 200/s, so that the store is not the bottleneck below hundreds of nodes.

Side by side in one run, on the same results:

- *before*: the writer as it was (events sent as JSON rows and compressed one
  by one by the writer, a row each; the trace file rebuilt from the store in
  the result's turn), re-created here on the same schema;
- *now*: events packed where the problem was solved (one blob), trace files
  rendered when the writer is idle and at its close. Printed: the rate until
  the last result is committed, and the rate with every trace file written.

    .venv/bin/python benchmarks/store_headroom.py [--count 400] [-n 8 64]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from codesolve import __version__
from codesolve.runs.records import (
    CandidateRound,
    Execution,
    ProblemResult,
    ProblemRow,
    RunConfig,
    Selection,
    UsageRow,
    pack_events,
)
from codesolve.runs.store import RunStore, connect, pack
from codesolve.runs.traces import write_trace
from codesolve.runs.writer import _write_problem, open_writer
from codesolve.sstar import EngineConfig, TraceEvent

CODE = "import sys\n" + "\n".join(f"x{i} = sum(map(int, sys.stdin.readline().split()))  # step {i}" for i in range(12))


def shaped(i: int, n: int) -> tuple[str, list[TraceEvent]]:
    """One problem's result (JSON, as a node sends it, events packed) with ``n`` candidates, and its events."""
    pid = f"bench/{i:05d}"
    candidates = [
        CandidateRound(problem=pid, index=c, round=r, key=f"{c:012x}", code=CODE, passed=2, total=3,
                       verdicts=["AC", "AC", "WA"])
        for c in range(n) for r in range(2)
    ]  # fmt: skip
    executions = [
        Execution(problem=pid, seq=s, phase="public", candidate=f"{s:012x}", passed=3, total=3, verdicts=["AC"] * 3)
        for s in range(n + 10)
    ]
    events = [
        TraceEvent(at=float(s), kind="llm" if s % 2 else "exec", phase="generate",
                   data={"prompt": "Read two integers. " * 40, "completion": CODE, "verdicts": ["AC"] * 3})
        for s in range(2 * n + 10)
    ]  # fmt: skip
    selection = Selection(problem=pid, candidate_key="0" * 12, candidate_index=0, code=CODE, selector="sstar",
                          why="one behaviour cluster", survivors=n, clusters=1)  # fmt: skip
    usage = [UsageRow(problem=pid, role="generator", phase="generate", calls=1, samples=n, prompt_tokens=900)]
    row = ProblemRow(id=pid, seq=i, source=f"bench.jsonl: line {i + 1}", status="done", wall_s=3.0, tokens=9000)
    result = ProblemResult(problem=row, problem_json='{"statement": "' + "Read two integers. " * 100 + '"}',
                           candidates=candidates, executions=executions, selection=selection, usage=usage,
                           events=pack_events(events))  # fmt: skip
    return result.model_dump_json(), events


class OldEvent(BaseModel):
    """A trace event as the writer used to get it: one JSON row."""

    seq: int
    at: float
    kind: str
    phase: str
    candidate: str | None = None
    data: dict[str, Any]


class OldReply(BaseModel):
    """A node's reply as it used to be: the rows, and the events as rows."""

    result: ProblemResult
    events: list[OldEvent]


def old_reply(reply: str, events: list[TraceEvent]) -> str:
    """The same result in the old shape (events as JSON rows)."""
    result = json.loads(reply)
    result.pop("events")
    rows = [{"seq": s, **e.model_dump(mode="json")} for s, e in enumerate(events)]
    return json.dumps({"result": result, "events": rows})


def old_apply(db: sqlite3.Connection, store: RunStore, reply: OldReply) -> None:
    """The old writer's turn: one transaction with a compressed row per event, then the trace file."""
    pid = reply.result.problem.id
    db.execute("BEGIN IMMEDIATE")
    _write_problem(db, reply.result)  # the same rows, the events blob aside (it is empty here)
    db.execute("DELETE FROM trace_due WHERE problem = ?", (pid,))
    db.execute("DELETE FROM events WHERE problem = ?", (pid,))
    db.executemany(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(pid, e.seq, e.at, e.kind, e.phase, e.candidate, pack(json.dumps(e.data))) for e in reply.events],
    )
    db.execute("COMMIT")
    write_trace(db, store.traces, pid)


async def absorb_old(store: RunStore, replies: list[str]) -> tuple[float, float]:
    """Seconds (wall, process CPU) for the old path: parse in the event loop, apply in the writer's thread."""
    started, cpu = time.perf_counter(), time.process_time()
    send, receive = anyio.create_memory_object_stream[OldReply](16)
    db = connect(store.db_path)

    async def writer() -> None:
        async with receive:
            async for reply in receive:
                await anyio.to_thread.run_sync(old_apply, db, store, reply)

    async with anyio.create_task_group() as group:
        group.start_soon(writer)
        async with send:
            for reply in replies:
                await send.send(OldReply.model_validate_json(reply))
    db.close()
    return time.perf_counter() - started, time.process_time() - cpu


async def absorb(store: RunStore, replies: list[str]) -> tuple[float, float, float]:
    """Seconds to parse and commit every reply (wall, process CPU), and wall until every trace file is written."""
    started, cpu = time.perf_counter(), time.process_time()
    async with open_writer(store) as writer:
        for reply in replies:
            await writer.put(ProblemResult.model_validate_json(reply))
        await writer.flush()
        committed, used = time.perf_counter() - started, time.process_time() - cpu
    return committed, used, time.perf_counter() - started


def fresh_store(tmp: str, name: str) -> RunStore:
    """An empty run."""
    config = RunConfig(name=name, version=__version__, problems=[], model="m", engine=EngineConfig())
    return RunStore.create_or_resume(Path(tmp), config)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400, help="results written per size")
    parser.add_argument("-n", type=int, nargs="+", default=[8, 64], help="candidates per problem")
    args = parser.parse_args()
    for n in args.n:
        shapes = [shaped(i, n) for i in range(args.count)]
        replies = [reply for reply, _ in shapes]
        olds = [old_reply(reply, events) for reply, events in shapes]
        with tempfile.TemporaryDirectory() as tmp:
            load = os.getloadavg()[0]
            old_wall, old_cpu = anyio.run(absorb_old, fresh_store(tmp, "before"), olds)
            store = fresh_store(tmp, "now")
            committed, cpu, traced = anyio.run(absorb, store, replies)
            traces = len(list(store.traces.iterdir()))
        old_kb, new_kb = (sum(map(len, r)) / len(r) / 1e3 for r in (olds, replies))
        rate, count = args.count / committed, args.count
        print(
            f"N={n:3d} (load {load:.1f}): before {count / old_wall:4.0f} results/s, {old_cpu / count * 1e3:5.1f} "
            f"CPU-ms each ({old_kb:.0f} KB JSON); now {rate:4.0f}/s committed, {cpu / count * 1e3:5.1f} CPU-ms each "
            f"({new_kb:.0f} KB JSON), {count / traced:4.0f}/s with all {traces} trace files written; "
            f"goal >= 200/s: {'met' if rate >= 200 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
