"""The run store: one SQLite database (WAL) per run, written by exactly one task.

Layout of a run directory ``<runs-dir>/<name>/``::

    run.sqlite        the store (tables below)
    cache.sqlite      the response cache (interrupted problems replay from it)
    traces/<id>.trace.json   per-problem trace, rendered from the store off the hot path

Writes go through :func:`open_writer`: a single task owns the connection and
applies messages from an anyio memory stream, each in its own transaction (a
problem's rows are deleted and inserted together, so a resume never
duplicates a row and a SIGKILL never leaves half a problem). Readers open
their own connections (:meth:`RunStore.read`); WAL lets them read while the
writer writes.

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
import shutil
import sqlite3
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from codesolve.errors import StoreError, UsageError
from codesolve.runs.records import EvalResult, ProblemResult, RunConfig
from codesolve.runs.traces import write_trace

SCHEMA_VERSION = 2
"""2: events are one packed blob per problem (``event_logs``); version 1 rows (``events``) are still read."""
_TABLES = ("problems", "candidates", "executions", "selections", "usage", "errors", "events", "event_logs", "trace_due")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, source TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')), reason TEXT NOT NULL DEFAULT '',
    wall_s REAL NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0, fresh_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL, problem BLOB);
CREATE TABLE IF NOT EXISTS candidates (
    problem TEXT NOT NULL, idx INTEGER NOT NULL, round INTEGER NOT NULL, key TEXT NOT NULL, code TEXT,
    passed INTEGER NOT NULL, total INTEGER NOT NULL, verdicts TEXT NOT NULL,
    has_program INTEGER NOT NULL, infra_error INTEGER NOT NULL, PRIMARY KEY (problem, idx, round));
CREATE TABLE IF NOT EXISTS executions (
    problem TEXT NOT NULL, seq INTEGER NOT NULL, phase TEXT NOT NULL, candidate TEXT,
    passed INTEGER NOT NULL, total INTEGER NOT NULL, verdicts TEXT NOT NULL, shared INTEGER NOT NULL,
    PRIMARY KEY (problem, seq));
CREATE TABLE IF NOT EXISTS selections (problem TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    problem TEXT NOT NULL, role TEXT NOT NULL, phase TEXT NOT NULL, calls INTEGER NOT NULL,
    samples INTEGER NOT NULL, cached INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, cost_usd REAL, PRIMARY KEY (problem, role, phase));
CREATE TABLE IF NOT EXISTS errors (
    problem TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL,
    PRIMARY KEY (problem, seq));
CREATE TABLE IF NOT EXISTS events (
    problem TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, kind TEXT NOT NULL, phase TEXT NOT NULL,
    candidate TEXT, data BLOB NOT NULL, PRIMARY KEY (problem, seq));
CREATE TABLE IF NOT EXISTS event_logs (problem TEXT PRIMARY KEY, events BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS trace_due (problem TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS eval_runs (
    problem TEXT NOT NULL, code_key TEXT NOT NULL, verdict TEXT NOT NULL, passed INTEGER NOT NULL,
    total INTEGER NOT NULL, seconds REAL NOT NULL, rows TEXT NOT NULL, PRIMARY KEY (problem, code_key));
CREATE TABLE IF NOT EXISTS eval_targets (
    problem TEXT NOT NULL, target TEXT NOT NULL, code_key TEXT NOT NULL, PRIMARY KEY (problem, target));
CREATE TABLE IF NOT EXISTS eval_done (problem TEXT PRIMARY KEY, error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    kind TEXT NOT NULL, started REAL NOT NULL, ended REAL NOT NULL, PRIMARY KEY (kind, started));
"""


def pack(text: str) -> bytes:
    """Compress a large text column (problems and trace events are mostly prose and code)."""
    return zlib.compress(text.encode("utf-8", "surrogatepass"), 6)


def unpack(blob: bytes) -> str:
    """Inverse of :func:`pack`."""
    return zlib.decompress(blob).decode("utf-8", "surrogatepass")


def connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with autocommit (transactions are explicit)."""
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
    except sqlite3.Error as exc:
        raise StoreError(f"run store {path} cannot be opened: {exc}") from None
    return db


def config_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between two config dumps."""
    names: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names += config_diff(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key}")
    return names


@dataclass(frozen=True)
class RunStore:
    """A run's directory and its store file."""

    root: Path

    @property
    def db_path(self) -> Path:
        """The SQLite store."""
        return self.root / "run.sqlite"

    @property
    def cache_path(self) -> Path:
        """The response cache of the run."""
        return self.root / "cache.sqlite"

    @property
    def traces(self) -> Path:
        """Where per-problem JSON traces go."""
        return self.root / "traces"

    @classmethod
    def create_or_resume(cls, runs_dir: Path, config: RunConfig, new_run: bool = False) -> RunStore:
        """The run named in ``config``: created, or resumed when its config is the same.

        A different config is refused with a :class:`UsageError` naming the
        differing fields, unless ``new_run`` (then the old results are removed;
        the response cache is kept).
        """
        return cls.open_at(runs_dir / config.name, config, new_run)

    @classmethod
    def open_at(cls, root: Path, config: RunConfig, new_run: bool = False) -> RunStore:
        """The run in ``root``: created, or resumed when its config is the same (see :meth:`create_or_resume`)."""
        store = cls(root)
        if new_run and store.db_path.exists():
            for path in (store.db_path, *(store.root / f"run.sqlite{s}" for s in ("-wal", "-shm"))):
                path.unlink(missing_ok=True)
            shutil.rmtree(store.traces, ignore_errors=True)
        try:
            store.traces.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"run directory {store.root} cannot be created: {exc.strerror or exc}") from None
        with store.read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('config', ?)", (config.model_dump_json(),))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                return store
        old = json.loads(row[0])
        differing = config_diff(old, config.model_dump(mode="json"))
        if differing:
            raise UsageError(
                f"run {config.name!r} exists with a different config ({', '.join(differing)}); "
                "use the same flags to resume, another --run name, or --new-run to start it over"
            )
        return store

    @classmethod
    def existing(cls, path: Path) -> RunStore:
        """An existing run, by directory (or the store file in it)."""
        root = path.parent if path.name == "run.sqlite" else path
        store = cls(root)
        if not store.db_path.is_file():
            raise UsageError(f"{path}: no run there (expected {store.db_path})")
        return store

    def config(self) -> RunConfig:
        """The run's config."""
        with self.read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        if row is None:
            raise StoreError(f"{self.db_path}: no run config stored")
        return RunConfig.model_validate_json(row[0])

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own (closed on exit); for reads, and for setting up before a writer starts."""
        db = connect(self.db_path)
        try:
            yield db
        except sqlite3.Error as exc:
            raise StoreError(f"run store {self.db_path}: {exc}") from None
        finally:
            db.close()


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
    for table in _TABLES if status is not None and status[0] != "running" else ("problems",):
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
