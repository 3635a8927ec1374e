"""The chain of dependent model calls read back from a trace, and its stretches (pure logic)."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from codesolve.sstar import Trace, TraceEvent
from codesolve.sstar.chain import Step, chain, stretches

L = 0.25

gaps = st.floats(min_value=0.0, max_value=0.2, allow_nan=False)
excess = st.floats(min_value=0.0, max_value=0.1, allow_nan=False)


def call(phase: str, start: float, took: float, seed_key: str = "") -> TraceEvent:
    """A model call's event as the engine records it: at its end, with the request's latency."""
    data = {"seed_key": seed_key, "completions": [{"latency_s": took}]}
    return TraceEvent(at=start + took, kind="llm", phase=phase, data=data)


@st.composite
def solves(draw: st.DrawFn) -> tuple[Trace, list[tuple[str, float, float]], float]:
    """A solve's trace with noise around its chain, the chain's expected (phase, gap, excess)
    per step, and the solve's end."""
    events: list[TraceEvent] = []
    expected: list[tuple[str, float, float]] = []
    now = 0.0

    def step(phase: str, calls: int = 1, seed_key: str = "") -> None:
        nonlocal now
        gap, extra = draw(gaps), draw(excess)
        start = now + gap
        took = [L + extra] + [L + draw(st.floats(0.0, extra)) for _ in range(calls - 1)]
        for each in took:
            events.append(call(phase, start, each, seed_key))
        expected.append((phase, gap, extra))
        now = start + took[0]

    step("generate")
    rounds = draw(st.lists(st.integers(0, 3), min_size=1, max_size=4))
    longest = max(rounds)
    after_generation = now
    for candidate, count in enumerate(rounds):
        if count == longest and candidate == rounds.index(longest):
            for r in range(count):
                step("debug", seed_key=f"c{candidate}:{r}")
        else:
            # Other candidates' rounds: shorter chains, out at the same time (never the longest).
            t = after_generation
            for r in range(min(count, longest - 1)):
                events.append(call("debug", t, L / 2, f"c{candidate}:{r}"))
                t += L / 2
    if draw(st.booleans()):
        step("synthesize")
        for _ in range(draw(st.integers(0, 3))):  # each comparison: a distinguishing input, two verdicts
            step("judge")
            step("judge", calls=2)
    end = now + draw(gaps)
    events.append(TraceEvent(at=end, kind="note", phase="select"))
    return Trace(task_id="t", events=sorted(events, key=lambda e: e.at)), expected, end


@given(solves())
def test_the_chain_is_the_dependent_calls_in_order(solve: tuple[Trace, list[tuple[str, float, float]], float]) -> None:
    trace, expected, _ = solve
    steps = chain(trace)
    assert [s.phase for s in steps] == [phase for phase, _, _ in expected]
    assert all(a.end <= b.start + 1e-9 for a, b in itertools.pairwise(steps))


@given(solves())
def test_stretches_name_every_moment_beyond_the_latencies(
    solve: tuple[Trace, list[tuple[str, float, float]], float],
) -> None:
    trace, expected, end = solve
    steps = chain(trace)
    parts = stretches(steps, L, end)
    # They add up: the solve's time is the chain's latencies plus every stretch.
    assert math.isclose(sum(t for _, t in parts) + len(steps) * L, end, abs_tol=1e-6)
    waits = [t for name, t in parts if name.startswith("-> ") and name != "-> end"]
    beyond = [t for name, t in parts if name.endswith(" > L")]
    assert [round(t, 6) for t in waits] == [round(g, 6) for _, g, _ in expected]
    assert [round(t, 6) for t in beyond] == [round(x, 6) for _, _, x in expected]


def test_overlapping_calls_of_a_phase_are_one_step() -> None:
    trace = Trace(
        task_id="t",
        events=[call("judge", 1.0, 0.3), call("judge", 1.31, 0.26), call("judge", 1.32, 0.25)],
    )
    assert chain(trace) == [Step("judge", 1.0, 1.3), Step("judge", 1.31, 1.57)]


def test_a_trace_without_model_calls_has_no_chain() -> None:
    assert chain(Trace(task_id="t", events=[TraceEvent(at=0.1, kind="note", phase="x")])) == []
    assert stretches([], L, 0.5) == [("-> end", 0.5)]


def test_a_judge_call_out_beside_synthesis_is_one_step_with_it() -> None:
    # The first comparison's distinguishing input asked ahead (codesolve.sstar.ahead): it waited
    # on nothing synthesis did, so the two calls are one latency of the chain, not two.
    trace = Trace(
        task_id="t",
        events=[
            call("generate", 0.0, 0.26),
            call("synthesize", 0.3, 0.25),
            call("judge", 0.35, 0.25),
            call("judge", 0.62, 0.25),
            call("judge", 0.62, 0.26),
        ],
    )
    steps = chain(trace)
    assert [s.phase for s in steps] == ["generate", "synthesize+judge", "judge"]
    assert [(round(s.start, 6), round(s.end, 6)) for s in steps] == [(0.0, 0.26), (0.3, 0.6), (0.62, 0.88)]
    parts = stretches(chain(trace), L, 0.9)
    assert ("synthesize+judge > L", parts[3][1]) == parts[3]
    assert math.isclose(parts[3][1], 0.05)


@given(st.floats(0.0, 0.5), st.floats(0.0, 0.5), st.floats(0.2, 0.4), st.floats(0.2, 0.4))
def test_steps_of_the_chain_never_overlap_with_a_judge_call_asked_ahead(
    synth_at: float, judge_at: float, synth_took: float, judge_took: float
) -> None:
    # The early call goes out no sooner than synthesis (selection asks both; synthesis first).
    judge_at = max(judge_at, synth_at)
    trace = Trace(
        task_id="t",
        events=[call("synthesize", 1.0 + synth_at, synth_took), call("judge", 1.0 + judge_at, judge_took)],
    )
    steps = chain(trace)
    assert all(a.end <= b.start + 0.001 for a, b in itertools.pairwise(steps))
    spans = [(1.0 + synth_at, 1.0 + synth_at + synth_took), (1.0 + judge_at, 1.0 + judge_at + judge_took)]
    for start, end in spans:  # every call lies within one step
        assert any(s.start <= start + 1e-9 and end <= s.end + 1e-9 for s in steps)
    overlapping = spans[0][0] < spans[1][1] - 0.001 and spans[1][0] < spans[0][1] - 0.001
    assert len(steps) == (1 if overlapping else 2)
