"""A solve's chain of dependent model calls, read back from its trace, and where its time went.

The shortest a solve can take is its longest chain of model calls that wait on one another:
the generation, the debugging rounds of the candidate debugged longest, the synthesis, then
each knockout comparison's distinguishing input and its two verdicts (asked at once, so one
step). Calls of different phases out at the same time are one step too (the first
comparison's distinguishing input, asked beside synthesis: :mod:`codesolve.sstar.ahead`).
Everything else on the way (public tests, re-tests, runs on synthesized inputs, the engine's own
work) sits in the gaps between those steps or makes a call take longer than the model's latency.
:func:`stretches` names each of those pieces, so a benchmark can say where a run's time beyond
the chain went (``benchmarks/engine_overhead.py --stretches``).

Times come from the trace alone: a call's event is recorded as it returns (``at``), and its
completions carry the request's latency, so the call began ``latency_s`` earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesolve.sstar.trace import Trace, TraceEvent

_OVERLAP_S = 0.001
"""Calls that overlap by less than this are one after the other (a trace keeps times to 0.1 ms,
and calls out at the same time overlap by about the model's latency)."""


@dataclass(frozen=True)
class Step:
    """One step of the chain: model calls of one phase that were out at the same time."""

    phase: str
    start: float
    """Seconds from the solve's start at which the step's first call began."""
    end: float
    """When its last call returned."""


def _span(event: TraceEvent) -> tuple[float, float]:
    latencies = [float(c.get("latency_s", 0.0)) for c in event.data.get("completions", [])]
    return event.at - max(latencies, default=0.0), event.at


def _debug_chain(calls: list[TraceEvent]) -> list[TraceEvent]:
    """The debugging calls of the candidate debugged most (of those, the one that ended last)."""
    by_candidate: dict[str, list[TraceEvent]] = {}
    for event in calls:
        by_candidate.setdefault(str(event.data.get("seed_key", "")).split(":")[0], []).append(event)
    if not by_candidate:
        return []
    return max(by_candidate.values(), key=lambda chain: (len(chain), max(e.at for e in chain)))


def _steps(phase: str, calls: list[TraceEvent]) -> list[Step]:
    """Calls grouped into steps: calls out at the same time (overlapping) are one step."""
    steps: list[Step] = []
    for start, end in sorted(_span(e) for e in calls):
        if steps and start < steps[-1].end - _OVERLAP_S:
            last = steps[-1]
            steps[-1] = Step(phase, last.start, max(last.end, end))
        else:
            steps.append(Step(phase, start, end))
    return steps


def chain(trace: Trace) -> list[Step]:
    """The solve's chain of dependent model calls, in order (an empty list when it made none)."""
    calls = [e for e in trace.events if e.kind == "llm"]
    steps: list[Step] = []
    for phase in ("generate", "debug", "synthesize", "judge"):
        of_phase = [e for e in calls if e.phase == phase]
        if phase == "debug":
            of_phase = _debug_chain(of_phase)
        # Generation waves and debugging rounds are each one after the other; the judge's
        # verdicts overlap (one step); synthesis is one call.
        steps.extend(_steps(phase, of_phase))
    return _concurrent_merged(steps)


def _concurrent_merged(steps: list[Step]) -> list[Step]:
    """Steps of different phases that were out at the same time are one step, named by both
    (``synthesize+judge``: the judge's first call asked beside synthesis, :mod:`codesolve.sstar.ahead`):
    neither waited on the other, so together they are one model latency of the chain."""
    merged: list[Step] = []
    for step in steps:
        last = merged[-1] if merged else None
        if last is not None and step.start < last.end - _OVERLAP_S and last.start < step.end - _OVERLAP_S:
            merged[-1] = Step(f"{last.phase}+{step.phase}", min(last.start, step.start), max(last.end, step.end))
        else:
            merged.append(step)
    return merged


def stretches(steps: list[Step], latency_s: float, end: float | None = None) -> list[tuple[str, float]]:
    """Where the chain's time beyond ``len(steps) * latency_s`` went, in order: before each step,
    the wait since the previous one ended (``-> phase``), how long the step took beyond the
    model's latency (``phase > L``), and, given the solve's ``end``, the time after the last
    step (``-> end``). They add up to the solve's time (or the last step's end) minus the
    chain's latencies."""
    out: list[tuple[str, float]] = []
    previous_end = 0.0
    for step in steps:
        out.append((f"-> {step.phase}", step.start - previous_end))
        out.append((f"{step.phase} > L", step.end - step.start - latency_s))
        previous_end = step.end
    if end is not None:
        out.append(("-> end", end - previous_end))
    return out
