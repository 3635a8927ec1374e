"""Per-problem JSON traces and solutions, rebuilt from the store's rows (never from memory)."""

from __future__ import annotations

import json
import sqlite3
import zlib
from pathlib import Path
from typing import Any

from codesolve.runs.output import file_stem, write_new
from codesolve.runs.records import Selection, unpack_events
from codesolve.sstar import Solution, Trace, TraceEvent


def _unpack(blob: bytes) -> str:
    return zlib.decompress(blob).decode("utf-8", "surrogatepass")


def trace_events(db: sqlite3.Connection, problem: str) -> list[TraceEvent]:
    """A problem's trace events, in order (from its packed blob; a version 1 store has a row per event)."""
    blob = db.execute("SELECT events FROM event_logs WHERE problem = ?", (problem,)).fetchone()
    if blob is not None:
        return unpack_events(blob[0])
    rows = db.execute(
        "SELECT at, kind, phase, candidate, data FROM events WHERE problem = ? ORDER BY seq", (problem,)
    ).fetchall()
    return [
        TraceEvent(at=at, kind=kind, phase=phase, candidate=candidate, data=json.loads(_unpack(data)))
        for at, kind, phase, candidate, data in rows
    ]


def selection_of(db: sqlite3.Connection, problem: str) -> Selection | None:
    """A problem's selection record, if it got one."""
    row = db.execute("SELECT record FROM selections WHERE problem = ?", (problem,)).fetchone()
    return None if row is None else Selection.model_validate_json(row[0])


def solution_of(db: sqlite3.Connection, problem: str) -> Solution | None:
    """The solution record of a problem, as ``codesolve solve`` writes it."""
    selection = selection_of(db, problem)
    row = db.execute("SELECT tokens, cost_usd, wall_s FROM problems WHERE id = ?", (problem,)).fetchone()
    if selection is None or row is None:
        return None
    count = db.execute("SELECT COUNT(DISTINCT idx) FROM candidates WHERE problem = ?", (problem,)).fetchone()[0]
    return Solution(
        task_id=problem,
        code=selection.code,
        candidate=selection.candidate_key,
        selector=selection.selector,
        why=selection.why,
        public_passed=selection.public_passed,
        public_total=selection.public_total,
        public_verdicts=selection.public_verdicts,
        stopped_by=selection.stopped_by,
        candidates=int(count),
        survivors=selection.survivors,
        clusters=selection.clusters,
        judge_calls=selection.judge_calls,
        tokens=int(row[0]),
        cost_usd=row[1],
        wall_s=float(row[2]),
    )


def trace_of(db: sqlite3.Connection, problem: str) -> Trace:
    """The whole trace of a problem, solution included."""
    return Trace(task_id=problem, events=trace_events(db, problem), solution=solution_of(db, problem))


def trace_name(problem: str) -> str:
    """The trace's file name: bounded, and distinct for distinct ids (see :func:`file_stem`)."""
    return f"{file_stem(problem)}.trace.json"


def write_trace(db: sqlite3.Connection, directory: Path, problem: str) -> Path:
    """Write ``<directory>/<trace_name>`` from the store (a temporary file and a rename: no link followed)."""
    path = directory / trace_name(problem)
    write_new(path, trace_of(db, problem).model_dump_json(indent=1))
    return path


def trace_json(db: sqlite3.Connection, problem: str) -> dict[str, Any]:
    """The trace as plain JSON data."""
    data: dict[str, Any] = trace_of(db, problem).model_dump(mode="json")
    return data
