"""Turning one solve (or one failure) into the rows the store keeps for a problem."""

from __future__ import annotations

import traceback
from collections.abc import Sequence

from codesolve.runs.records import (
    CandidateRound,
    ErrorRow,
    Execution,
    ProblemResult,
    ProblemRow,
    Selection,
    UsageRow,
    pack_events,
)
from codesolve.runs.single import SolveResult
from codesolve.sstar import TraceEvent
from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import code_key


def candidate_rounds(problem: str, candidates: Sequence[Candidate]) -> list[CandidateRound]:
    """Every candidate's code in every round it was run, with its public-test results."""
    rows: list[CandidateRound] = []
    for c in candidates:
        turns = c.history or []
        for round_no, turn in enumerate(turns):
            r = turn.report
            code = turn.code if r.has_program else None
            rows.append(
                CandidateRound(
                    problem=problem,
                    index=c.index,
                    round=round_no,
                    key=code_key(code or "")[:12],
                    code=code,
                    passed=r.passed,
                    total=r.total,
                    verdicts=list(r.verdicts),
                    has_program=r.has_program,
                    infra_error=r.infra_error,
                )
            )
        if not turns:  # never run (the run stopped first): its code is still worth keeping
            rows.append(
                CandidateRound(problem=problem, index=c.index, round=0, key=c.key[:12], code=c.code, has_program=False)
            )
    return rows


def usage_rows(problem: str, events: Sequence[TraceEvent]) -> list[UsageRow]:
    """Model usage per role and phase, summed from the trace's model calls (replayed samples included)."""
    table: dict[tuple[str, str], UsageRow] = {}
    for e in events:
        if e.kind != "llm":
            continue
        role = str(e.data.get("role", "?"))
        row = table.setdefault((role, e.phase), UsageRow(problem=problem, role=role, phase=e.phase))
        row.calls += 1
        for c in e.data.get("completions", []):
            row.samples += 1
            row.cached += 1 if c.get("cached") else 0
            row.prompt_tokens += int(c.get("prompt_tokens", 0))
            row.completion_tokens += int(c.get("completion_tokens", 0))
            cost = c.get("cost_usd")
            row.cost_usd = None if row.cost_usd is None or cost is None else row.cost_usd + float(cost)
    return list(table.values())


def executions(problem: str, events: Sequence[TraceEvent]) -> list[Execution]:
    """The sandbox runs the trace recorded."""
    return [
        Execution(
            problem=problem,
            seq=i,
            phase=e.phase,
            candidate=e.candidate,
            passed=int(e.data.get("passed", 0)),
            total=int(e.data.get("total", 0)),
            verdicts=[str(v) for v in e.data.get("verdicts", [])],
            shared=bool(e.data.get("shared", False)),
        )
        for i, e in enumerate(ev for ev in events if ev.kind == "exec")
    ]


def _failure(result: SolveResult, execs: Sequence[Execution]) -> tuple[str, str]:
    """(kind, reason) when the solve counts as failed, else ("", "")."""
    stopped = result.solution.stopped_by
    if stopped:
        return stopped.kind, str(stopped)
    se = sum(1 for e in execs if "SE" in e.verdicts)
    if se:
        return "sandbox", f"sandbox error (SE) in {se} run(s): results are incomplete"
    if result.solution.code is None:
        return "no program", result.solution.why
    return "", ""


def solved_result(seq: int, source: str, problem_json: str, result: SolveResult) -> ProblemResult:
    """The rows of a problem the engine finished (possibly stopped early: then it is ``failed``)."""
    s, events = result.solution, result.trace.events
    pid = s.task_id
    cands = candidate_rounds(pid, result.candidates)
    execs = executions(pid, events)
    usage = usage_rows(pid, events)
    kind, reason = _failure(result, execs)
    index = next((c.index for c in result.candidates if s.candidate and c.key.startswith(s.candidate)), None)
    selection = Selection(
        problem=pid,
        candidate_key=s.candidate,
        candidate_index=index,
        code=s.code,
        selector=s.selector,
        why=s.why,
        survivors=s.survivors,
        clusters=s.clusters,
        judge_calls=s.judge_calls,
        stopped_by=s.stopped_by,
        public_passed=s.public_passed,
        public_total=s.public_total,
        public_verdicts=list(s.public_verdicts),
    )
    costs = [u.cost_usd for u in usage]
    row = ProblemRow(
        id=pid,
        seq=seq,
        source=source,
        status="failed" if kind else "done",
        reason=reason,
        wall_s=s.wall_s,
        tokens=sum(u.prompt_tokens + u.completion_tokens for u in usage),
        fresh_tokens=s.tokens,
        cost_usd=None if any(c is None for c in costs) else round(sum(c or 0.0 for c in costs), 6),
    )
    return ProblemResult(
        problem=row,
        problem_json=problem_json,
        candidates=cands,
        executions=execs,
        selection=selection,
        usage=usage,
        errors=[ErrorRow(problem=pid, seq=0, kind=kind, message=reason)] if kind else [],
        events=pack_events(events),
    )


def failed_result(
    seq: int, source: str, pid: str, kind: str, reason: str, problem_json: str | None = None, wall_s: float = 0.0
) -> ProblemResult:
    """The rows of a problem that produced no solve at all (malformed, unsupported, crashed)."""
    row = ProblemRow(id=pid, seq=seq, source=source, status="failed", reason=reason, wall_s=round(wall_s, 3))
    return ProblemResult(
        problem=row, problem_json=problem_json, errors=[ErrorRow(problem=pid, seq=0, kind=kind, message=reason)]
    )


def crash_result(
    seq: int, source: str, pid: str, problem_json: str, exc: BaseException, wall_s: float
) -> ProblemResult:
    """A crash inside the engine: the reason names the exception; the traceback is kept as a second error row."""
    root = exc
    while isinstance(root, BaseExceptionGroup) and root.exceptions:
        root = root.exceptions[0]  # a task group's wrapper says nothing; its first cause does
    reason = f"engine crash: {type(root).__name__}: {root}"[:500]
    result = failed_result(seq, source, pid, "crash", reason, problem_json, wall_s)
    tb = "".join(traceback.format_exception(exc))[-8000:]
    result.errors.append(ErrorRow(problem=pid, seq=1, kind="traceback", message=tb))
    return result
