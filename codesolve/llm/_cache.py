"""The response cache: SQLite (WAL), keyed by a hash of everything that shapes a sample.

The key covers base URL, model, messages, sampling parameters and the sample
index, and never the API key, so a cache file can be shared and a run can be
replayed with zero requests. ``n`` is not part of the key: asking for 8 samples
after asking for 4 reuses the first 4.

One connection guarded by a lock serves every task; calls run in worker
threads so a slow disk never blocks the event loop.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from codesolve.errors import LLMConfigError
from codesolve.llm._types import Message

ParamValue = str | int | float | bool | None
"""A sampling parameter value that can go into a cache key."""

CACHE_KEY_VERSION = 1
"""Bumped whenever the key layout changes, so old entries are never misread."""

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL
)
"""


def cache_key(
    *, base_url: str, model: str, messages: Sequence[Message], params: Mapping[str, ParamValue], sample: int
) -> str:
    """The sha256 hex key of one sample. Deterministic; the API key is not an input."""
    payload = {
        "v": CACHE_KEY_VERSION,
        "base_url": base_url,
        "model": model,
        "messages": [[m.role, m.content] for m in messages],
        "params": dict(params),
        "sample": sample,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # surrogatepass: odd strings from files must still hash, not crash.
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class CachedSample:
    """What the cache keeps of one completion."""

    model: str
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int


class ResponseCache:
    """A SQLite file of :class:`CachedSample` by key. Safe for concurrent tasks."""

    def __init__(self, path: Path) -> None:
        """Remember ``path``; the file is opened on first use, in a worker thread."""
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for name in ("", "-wal", "-shm", "-journal"):
                # SQLite follows links: one planted in --out would have it write through to its target.
                if Path(f"{self.path}{name}").is_symlink():
                    raise OSError(f"{self.path}{name} is a symbolic link; refusing to write through it")
            # Autocommit (isolation_level=None): every write is its own short transaction.
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            self._db = db
        return self._db

    def _run(self, action: str, fn: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            try:
                return fn(self._connect())
            except (sqlite3.Error, OSError) as exc:
                raise LLMConfigError(f"response cache {self.path} cannot be {action}: {exc}") from None

    def get_many_sync(self, keys: Sequence[str], max_chars: int | None = None) -> dict[str, CachedSample]:
        """The cached samples among ``keys`` (missing keys, and texts over ``max_chars``, are absent)."""
        limit = -1 if max_chars is None else max_chars

        def read(db: sqlite3.Connection) -> dict[str, CachedSample]:
            found: dict[str, CachedSample] = {}
            for key in keys:
                row = db.execute(
                    "SELECT model, text, finish_reason, prompt_tokens, completion_tokens, reasoning_tokens"
                    " FROM completions WHERE key = ? AND (? < 0 OR length(text) <= ?)",
                    (key, limit, limit),
                ).fetchone()
                if row is not None:
                    found[key] = CachedSample(*row)
            return found

        return self._run("read", read)

    def put_many_sync(self, items: Sequence[tuple[str, CachedSample]], replace: bool = False) -> None:
        """Store samples; a key already present keeps its first value (replays stay stable) unless ``replace``."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"

        def write(db: sqlite3.Connection) -> None:
            rows = [
                (k, s.model, s.text, s.finish_reason, s.prompt_tokens, s.completion_tokens, s.reasoning_tokens)
                for k, s in items
            ]
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(f"{verb} INTO completions VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

        self._run("written", write)

    async def get_many(self, keys: Sequence[str], max_chars: int | None = None) -> dict[str, CachedSample]:
        """Async :meth:`get_many_sync`, run in a worker thread."""
        return await anyio.to_thread.run_sync(self.get_many_sync, keys, max_chars)

    async def put_many(self, items: Sequence[tuple[str, CachedSample]], replace: bool = False) -> None:
        """Async :meth:`put_many_sync`, run in a worker thread."""
        await anyio.to_thread.run_sync(self.put_many_sync, items, replace)

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
