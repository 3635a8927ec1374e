"""``codesolve eval``: every finished problem's programs run on its hidden tests, verdicts stored.

For each problem the selected program and every candidate's final code are
judged (each distinct program once) with :func:`codesolve.runs.judging.judge`
on the hidden tests, which the solver never saw. A problem's verdicts are
written in one transaction, and problems already evaluated are skipped, so
eval is idempotent and resumes where it stopped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import anyio
from pydantic import TypeAdapter

from codesolve.runs.judging import fill_expected, judge, row_json
from codesolve.runs.records import EvalResult, EvalRun, EvalTarget
from codesolve.runs.store import RunStore, unpack
from codesolve.runs.traces import selection_of
from codesolve.runs.writer import Session, Writer, open_writer
from codesolve.sstar.clusters import code_key
from codesolve.tasks.models import CompetitiveProblem, Problem
from sandbox import Sandbox

_PROBLEM: TypeAdapter[Problem] = TypeAdapter(Problem)
Notify = Callable[[str], None]
"""Receives one line per evaluated problem."""


@dataclass
class EvalTally:
    """What an eval session did."""

    evaluated: int = 0
    skipped: int = 0
    errors: int = 0
    interrupted: bool = False


def targets(db: sqlite3.Connection, problem: str) -> list[tuple[str, str]]:
    """``(target, code)`` pairs: the selected program, then each candidate's final code."""
    found: list[tuple[str, str]] = []
    selection = selection_of(db, problem)
    if selection is not None and selection.code is not None:
        found.append(("selected", selection.code))
    rows = db.execute(
        "SELECT idx, code FROM candidates c WHERE problem = ? AND has_program AND code IS NOT NULL"
        " AND round = (SELECT MAX(round) FROM candidates d WHERE d.problem = c.problem AND d.idx = c.idx)"
        " ORDER BY idx",
        (problem,),
    ).fetchall()
    found += [(f"candidate:{idx}", code) for idx, code in rows]
    return found


def pending(store: RunStore) -> list[str]:
    """Finished problems with a stored problem record and no evaluation yet, in run order."""
    with store.read() as db:
        rows = db.execute(
            "SELECT id FROM problems WHERE status IN ('done', 'failed') AND problem IS NOT NULL"
            " AND id NOT IN (SELECT problem FROM eval_done) ORDER BY seq"
        ).fetchall()
    return [r[0] for r in rows]


async def evaluate_problem(store: RunStore, pid: str, box: Sandbox) -> EvalResult:
    """Judge every distinct program of one problem on its hidden tests."""
    with store.read() as db:
        blob = db.execute("SELECT problem FROM problems WHERE id = ?", (pid,)).fetchone()[0]
        pairs = targets(db, pid)
    problem = _PROBLEM.validate_json(unpack(blob))
    if not isinstance(problem, CompetitiveProblem):
        return EvalResult(problem=pid, runs=[], targets=[], error=f"{problem.kind} problems are not evaluated yet")
    keyed = [(target, code_key(code)[:16], code) for target, code in pairs]
    distinct = {key: code for _, key, code in keyed}
    runs: list[EvalRun] = []
    lang = store.config().engine.lang  # the candidates are in the run's solution language
    if distinct:
        expected = await fill_expected(problem, box, "hidden")
        for key, code in distinct.items():
            j = await judge(problem, code, box, "hidden", language=lang, expected=expected, fail_fast=True)
            rows = [row_json(r) for r in j.rows]
            runs.append(
                EvalRun(
                    problem=pid,
                    code_key=key,
                    verdict=j.verdict,
                    passed=j.passed,
                    total=j.total,
                    seconds=round(j.seconds, 3),
                    rows=rows,
                )
            )
    return EvalResult(
        problem=pid, runs=runs, targets=[EvalTarget(problem=pid, target=t, code_key=k) for t, k, _ in keyed]
    )


Evaluator = Callable[[str], Awaitable[EvalResult]]
"""Evaluates one problem of the run by id (hidden tests, or SWE-bench grading)."""


async def _worker(ids: Iterator[str], evaluate: Evaluator, writer: Writer, tally: EvalTally, note: Notify) -> None:
    for pid in ids:
        try:
            result = await evaluate(pid)
        except Exception as exc:  # one problem's fault is recorded, the others go on
            result = EvalResult(problem=pid, runs=[], targets=[], error=f"{type(exc).__name__}: {exc}"[:500])
        await writer.put(result)
        tally.evaluated += 1
        tally.errors += 1 if result.error else 0
        verdict = next(
            (
                r.verdict
                for r in result.runs
                for t in result.targets
                if t.target == "selected" and t.code_key == r.code_key
            ),
            "no program",
        )
        note(f"{pid}: selected {verdict}" + (f" ({result.error})" if result.error else ""))


async def evaluate_run(
    store: RunStore,
    box: Sandbox | None,
    concurrency: int,
    note: Notify,
    stop: anyio.Event | None = None,
    evaluate: Evaluator | None = None,
) -> EvalTally:
    """Evaluate every finished problem not evaluated yet; ``stop`` drops the ones in flight.

    ``evaluate`` replaces the hidden-test judging on ``box`` (a SWE run grades its patches).
    """
    if evaluate is None:
        if box is None:
            raise ValueError("evaluating on hidden tests needs a sandbox")
        sandbox = box

        async def evaluate(pid: str) -> EvalResult:
            return await evaluate_problem(store, pid, sandbox)

    tally = EvalTally()
    todo = pending(store)
    with store.read() as db:
        tally.skipped = db.execute("SELECT COUNT(*) FROM eval_done").fetchone()[0]
    started = time.time()
    stop = stop or anyio.Event()
    shared = iter(todo)
    async with open_writer(store) as writer:
        async with anyio.create_task_group() as group:

            async def stopper() -> None:
                await stop.wait()
                tally.interrupted = True
                group.cancel_scope.cancel()

            group.start_soon(stopper)
            async with anyio.create_task_group() as workers:
                for _ in range(max(concurrency, 1)):
                    workers.start_soon(_worker, shared, evaluate, writer, tally, note)
            group.cancel_scope.cancel()
        await writer.put(Session("eval", started, time.time()))
    return tally
