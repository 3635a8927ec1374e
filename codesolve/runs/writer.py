"""The run store's single writer: one task owns the connection and applies messages.

Messages come from an anyio memory stream. Those waiting together are applied
in one transaction (at most :data:`GROUP`); a problem's rows are deleted and
inserted together, so a resume never duplicates a row and a SIGKILL never
leaves half a problem.

The writer is kept cheap so that one of it serves a whole cluster: a problem's
trace events arrive already packed (one blob, compressed where the problem was
solved) and its trace file is not rendered in the result's transaction. The
transaction marks it due (``trace_due``); the writer renders due traces when
no result is waiting, and all that are left when it closes. A session killed
before that leaves them due, and the next writer on the run renders them.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from codesolve.errors import StoreError
from codesolve.runs.records import EvalResult, ProblemResult
from codesolve.runs.store import TABLES, RunStore, connect, pack
from codesolve.runs.traces import write_trace


@dataclass(frozen=True)
class Started:
    """A problem began: recorded as ``running`` (unless already finished)."""

    id: str
    seq: int
    source: str


@dataclass(frozen=True)
class Session:
    """A batch or eval session's wall time."""

    kind: str
    started: float
    ended: float


@dataclass(frozen=True)
class Barrier:
    """Set once every earlier message is applied (lets callers wait for the store to catch up)."""

    done: anyio.Event


Message = Started | ProblemResult | EvalResult | Session | Barrier


def _apply(db: sqlite3.Connection, message: Message) -> None:
    """Apply one message in its own transaction."""
    _apply_group(db, [message])


def _apply_group(db: sqlite3.Connection, group: list[Message]) -> None:
    # One transaction for the messages that were waiting together: each problem is still
    # whole or absent, and a busy writer pays one commit per group rather than per result.
    db.execute("BEGIN IMMEDIATE")
    try:
        for message in group:
            _apply_one(db, message)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _apply_one(db: sqlite3.Connection, message: Message) -> None:
    if isinstance(message, Started):
        db.execute(
            "INSERT INTO problems (id, seq, source, status) VALUES (?, ?, ?, 'running') ON CONFLICT(id) DO NOTHING",
            (message.id, message.seq, message.source),
        )
    elif isinstance(message, ProblemResult):
        _write_problem(db, message)
    elif isinstance(message, EvalResult):
        _write_eval(db, message)
    elif isinstance(message, Session):
        row = (message.kind, message.started, message.ended)
        db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", row)


GROUP = 64
"""Messages applied in one transaction at most."""
TRACE_CHUNK = 4
"""Trace files rendered per idle turn of the writer (a result arriving waits at most this many)."""
IDLE_S = 0.05
"""How long no message must arrive before the writer renders due traces (under load it never does)."""


def render_due(db: sqlite3.Connection, store: RunStore, limit: int | None = TRACE_CHUNK) -> int:
    """Render up to ``limit`` due trace files (all with ``None``); how many were rendered."""
    rows = db.execute("SELECT problem FROM trace_due LIMIT ?", (-1 if limit is None else limit,)).fetchall()
    for (pid,) in rows:
        write_trace(db, store.traces, pid)
        db.execute("DELETE FROM trace_due WHERE problem = ?", (pid,))
    return len(rows)


@functools.lru_cache(maxsize=4096)
def _verdicts(verdicts: tuple[str, ...]) -> str:
    # A problem's ~3N verdict lists are mostly the same few; encoding each anew was a sixth of a write.
    return json.dumps(list(verdicts))


def _write_problem(db: sqlite3.Connection, r: ProblemResult) -> None:
    pid, p = r.problem.id, r.problem
    status = db.execute("SELECT status FROM problems WHERE id = ?", (pid,)).fetchone()
    # Rows other than the problem's own are only ever written with a finished status, so a
    # problem that is absent or `running` has none to delete (the usual case: nine deletes saved).
    for table in TABLES if status is not None and status[0] != "running" else ("problems",):
        db.execute(f"DELETE FROM {table} WHERE {'id' if table == 'problems' else 'problem'} = ?", (pid,))
    blob = pack(r.problem_json) if r.problem_json is not None else None
    db.execute(
        "INSERT INTO problems VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (pid, p.seq, p.source, p.status, p.reason, p.wall_s, p.tokens, p.fresh_tokens, p.cost_usd, blob),
    )
    db.executemany(
        "INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                pid,
                c.index,
                c.round,
                c.key,
                c.code,
                c.passed,
                c.total,
                _verdicts(tuple(c.verdicts)),
                c.has_program,
                c.infra_error,
            )
            for c in r.candidates
        ],
    )
    db.executemany(
        "INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (pid, e.seq, e.phase, e.candidate, e.passed, e.total, _verdicts(tuple(e.verdicts)), e.shared)
            for e in r.executions
        ],
    )
    if r.selection is not None:
        db.execute("INSERT INTO selections VALUES (?, ?)", (pid, r.selection.model_dump_json()))
    db.executemany(
        "INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (pid, u.role, u.phase, u.calls, u.samples, u.cached, u.prompt_tokens, u.completion_tokens, u.cost_usd)
            for u in r.usage
        ],
    )
    db.executemany("INSERT INTO errors VALUES (?, ?, ?, ?)", [(pid, e.seq, e.kind, e.message) for e in r.errors])
    if r.events:
        db.execute("INSERT INTO event_logs VALUES (?, ?)", (pid, r.events))
    if r.problem_json is not None:
        db.execute("INSERT INTO trace_due VALUES (?)", (pid,))
    if r.evaluation is not None:
        _write_eval(db, r.evaluation)
    else:  # a problem solved again is graded again: its old grade belonged to the old solve
        for table in ("eval_runs", "eval_targets", "eval_done"):
            db.execute(f"DELETE FROM {table} WHERE problem = ?", (pid,))


def _write_eval(db: sqlite3.Connection, r: EvalResult) -> None:
    for table in ("eval_runs", "eval_targets", "eval_done"):
        db.execute(f"DELETE FROM {table} WHERE problem = ?", (r.problem,))
    db.executemany(
        "INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.problem, e.code_key, e.verdict, e.passed, e.total, e.seconds, json.dumps(e.rows)) for e in r.runs],
    )
    db.executemany("INSERT INTO eval_targets VALUES (?, ?, ?)", [(r.problem, t.target, t.code_key) for t in r.targets])
    db.execute("INSERT INTO eval_done VALUES (?, ?)", (r.problem, r.error))


class Writer:
    """The sending side of the store's single writer."""

    def __init__(self, send: MemoryObjectSendStream[Message]) -> None:
        self._send = send

    async def put(self, message: Message) -> None:
        """Queue a message (waits while the writer is behind: the queue is bounded)."""
        try:
            await self._send.send(message)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise StoreError("the run store's writer stopped") from None

    async def flush(self) -> None:
        """Wait until everything queued so far is in the store."""
        done = anyio.Event()
        await self.put(Barrier(done))
        await done.wait()


async def _own(store: RunStore, receive: MemoryObjectReceiveStream[Message], failed: list[BaseException]) -> None:
    # The one task that writes. Each group is applied shielded: a cancelled batch
    # still gets whole transactions, never half of one. Trace files are rendered
    # only after IDLE_S without a message, and the rest at the end.
    db = connect(store.db_path)
    due = True  # a killed session may have left some
    try:
        async with receive:
            while (group := await _gather(receive, IDLE_S if due else None)) is not None:
                if not group:
                    due = await _locked(store, failed, render_due, db, store) > 0
                else:
                    await _locked(store, failed, _apply_group, db, group)
                    due = due or any(isinstance(m, ProblemResult) for m in group)
                if failed:
                    return
                for message in group:
                    if isinstance(message, Barrier):
                        message.done.set()
            await _locked(store, failed, render_due, db, store, None)
    finally:
        db.close()


async def _gather(receive: MemoryObjectReceiveStream[Message], wait: float | None) -> list[Message] | None:
    """The messages waiting (at least one, at most GROUP); empty if none came within ``wait``; None at the end."""
    try:
        with anyio.move_on_after(wait):
            group = [await receive.receive()]
            while len(group) < GROUP:
                try:
                    group.append(receive.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            return group
    except anyio.EndOfStream:
        return None
    return []


async def _locked(store: RunStore, failed: list[BaseException], func: Any, *args: Any) -> Any:
    """Run a store step in a thread, shielded; a failure is recorded in ``failed``."""
    with anyio.CancelScope(shield=True):
        try:
            return await anyio.to_thread.run_sync(func, *args)
        except (sqlite3.Error, OSError) as exc:
            failed.append(StoreError(f"run store {store.db_path} cannot be written: {exc}"))
            return 0


@asynccontextmanager
async def open_writer(store: RunStore, buffer: int = 16) -> AsyncIterator[Writer]:
    """Start the writer task; on exit, wait until it has applied every queued message."""
    send, receive = anyio.create_memory_object_stream[Message](buffer)
    failed: list[BaseException] = []
    async with anyio.create_task_group() as group:
        group.start_soon(_own, store, receive, failed)
        async with send:
            yield Writer(send)
    if failed:
        raise failed[0]
