"""The run store: one SQLite database (WAL) per run, written by exactly one task.

Layout of a run directory ``<runs-dir>/<name>/``::

    run.sqlite        the store (tables below)
    cache.sqlite      the response cache (interrupted problems replay from it)
    traces/<id>.trace.json   per-problem trace, rendered from the store off the hot path

Writes go through the single writer (:mod:`codesolve.runs.writer`). Readers open
their own connections (:meth:`RunStore.read`); WAL lets them read while the
writer writes.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from codesolve.errors import StoreError, UsageError
from codesolve.runs.records import RunConfig

SCHEMA_VERSION = 2
"""2: events are one packed blob per problem (``event_logs``); version 1 rows (``events``) are still read."""
TABLES = ("problems", "candidates", "executions", "selections", "usage", "errors", "events", "event_logs", "trace_due")
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


def with_defaults(old: dict[str, Any]) -> dict[str, Any]:
    """A stored run config with the fields added since it was written read as their defaults, so
    that an upgrade alone does not make a run's config differ (one that no longer reads as a
    config at all is compared as it is)."""
    try:
        return RunConfig.model_validate(old).model_dump(mode="json")
    except ValidationError:
        return old


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
        differing = config_diff(with_defaults(json.loads(row[0])), config.model_dump(mode="json"))
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
