"""The judge's first call asked ahead, beside synthesis (codesolve.sstar.ahead).

Pure properties of what it relies on, then the real engine (scripted model over loopback HTTP,
real sandbox): the call overlaps synthesis and is taken when the pair holds, and is dropped, and
the right pair asked, when the whole table names another.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.runs.evaluate import evaluate
from codesolve.runs.faults import FaultySandbox
from codesolve.sstar import Budget, EngineConfig, Trace
from codesolve.sstar.ahead import first_pair, knockout_calls
from codesolve.sstar.chain import chain
from codesolve.sstar.clusters import Cluster, by_agreement, cluster, code_key
from codesolve.sstar.judging import knockout
from codesolve.tasks import load_problems
from codesolve.tasks.base import Behaviour
from codesolve.tasks.extract import extract_code
from codesolve.tasks.models import CompetitiveProblem
from sandbox import Sandbox, SandboxUnavailable
from tests.engine.batches import Batches
from tests.engine.test_engine_e2e import EXAMPLES, fenced, solve
from tests.engine.test_selection_e2e import BIGGEST, RIGHT_1, RIGHT_2, RIGHT_3, WRONG
from tests.engine.test_selection_properties import drive

signature = st.sampled_from(["AC:1", "AC:2", "AC:3", "WA", "TLE", "RE"])


@st.composite
def split_tables(draw: st.DrawFn) -> tuple[dict[str, list[Behaviour]], dict[str, list[Behaviour]]]:
    """Survivors' LLM-free rows, and the same rows followed by the model inputs' columns."""
    names = draw(st.lists(st.text("0123456789abcdef", min_size=6, max_size=6), min_size=1, max_size=8, unique=True))
    early_width, late_width = draw(st.integers(0, 5)), draw(st.integers(0, 4))
    early, whole = {}, {}
    for name in names:
        sigs = draw(st.lists(signature, min_size=early_width + late_width, max_size=early_width + late_width))
        rows = [Behaviour(s, s, s.startswith("AC")) for s in sigs]
        early[name], whole[name] = rows[:early_width], rows
    return early, whole


@given(split_tables())
def test_rows_that_split_early_split_the_whole_table(tables: tuple[dict[str, list[Behaviour]], ...]) -> None:
    # Asking ahead rests on this: more inputs only refine the clusters, so a judge the LLM-free
    # rows call for is needed whatever the model's inputs show.
    early, whole = tables
    before, after = cluster(early), cluster(whole)
    if len(before) >= 2:
        assert len(after) >= 2
        assert first_pair(by_agreement(after)) is not None
    for group in after:
        assert any(set(group.members) <= set(old.members) for old in before)


@given(split_tables())
def test_the_pair_asked_is_the_knockouts_first(tables: tuple[dict[str, list[Behaviour]], ...]) -> None:
    # Checked against the knockout itself: the pair it compares first, A and B in that order, and
    # the calls it makes (three a comparison) when every comparison is decided.
    _, whole = tables
    groups = by_agreement(cluster(whole))
    compared: list[tuple[str, str]] = []

    async def compare(a: Cluster, b: Cluster) -> tuple[Cluster, str]:
        compared.append((a.representative, b.representative))
        return b, "the challenger"

    drive(knockout(groups, compare))
    assert first_pair(groups) == (compared[0] if compared else None)
    assert knockout_calls(len(groups)) == 3 * len(compared)


def judge_events(trace: Trace) -> list[tuple[float, float]]:
    """(start, end) of each judge call, from the trace."""
    spans = []
    for event in trace.events:
        if event.kind == "llm" and event.phase == "judge":
            latency = max(float(c["latency_s"]) for c in event.data["completions"])
            spans.append((event.at - latency, event.at))
    return sorted(spans)


def second_largest() -> CompetitiveProblem:
    """The demo problem whose survivors the judge decides between."""
    [problem] = [
        p
        for p in load_problems(EXAMPLES / "examples.yaml")
        if isinstance(p, CompetitiveProblem) and p.id == "examples/second-largest"
    ]
    return problem


def slow_synthesis() -> Scenario:
    """The demo's model with synthesis answering after 2 s and every other call after 0.3 s: the
    LLM-free rows have time to come in while it is out, however loaded the machine (a full
    suite's other worker)."""
    base = Scenario.from_file(EXAMPLES / "demo_scenario.yaml")
    latency = {True: 2.0, False: 0.3}
    rules = [r.model_copy(update={"latency_s": latency["VALID test inputs" in r.match]}) for r in base.rules]
    return base.model_copy(update={"rules": rules})


def notes(trace: Trace, key: str) -> list[dict[str, object]]:
    return [e.data for e in trace.events if e.kind == "note" and key in e.data]


@pytest.mark.anyio
async def test_the_first_judge_call_goes_out_beside_synthesis(docker_box: Sandbox) -> None:
    # The demo's second-largest: the LLM-free rows already split the survivors as the whole table
    # does, so the distinguishing input is asked while synthesis is out, and taken.
    problem = second_largest()
    with ScriptedServer(slow_synthesis()) as server:
        solution, trace = await solve(server, problem, docker_box, EngineConfig(n=4, rounds=2))
    synthesis = [e for e in trace.events if e.kind == "llm" and e.phase == "synthesize"]
    assert len(synthesis) == 1
    _, first_judge_end = judge_events(trace)[0]
    assert first_judge_end < synthesis[0].at  # asked, and answered, while synthesis was out
    assert notes(trace, "ahead")
    assert not notes(trace, "ahead_dropped")
    assert solution.judge_calls == 3  # nothing wasted: the distinguishing input and two verdicts
    assert [s.phase for s in chain(trace)] == ["generate", "debug", "synthesize+judge", "judge"]
    assert solution.code is not None
    assert (await evaluate(problem, solution.code, docker_box)).all_passed


@pytest.mark.anyio
async def test_the_early_calls_input_runs_while_synthesis_is_out(docker_box: Sandbox) -> None:
    # The judge proposes [5, 5, 3] for the pair asked ahead; both representatives run it as soon
    # as that reply is in, while synthesis (2 s) is still out: before any of the model inputs'
    # rows (three tests each), not after the whole table as the knockout would.
    problem = second_largest()
    box = Batches(docker_box)
    with ScriptedServer(slow_synthesis()) as server:
        solution, trace = await solve(server, problem, box, EngineConfig(n=4, rounds=2))
    proposed = [b for b in box.seen if b.size == 1 and b.first.strip() == "[[5, 5, 3]]"]
    model_rows = [b for b in box.seen if b.size == 3]
    assert len(proposed) == 2
    assert all(b.urgent for b in proposed)
    assert model_rows
    assert max(b.end for b in proposed) < min(b.start for b in model_rows)
    assert solution.judge_calls == 3  # the runs' evidence was taken: no call asked again
    assert [e.data for e in trace.events if e.kind == "decision" and e.phase == "judge"]


@pytest.mark.anyio
async def test_a_sandbox_fault_in_the_early_calls_runs_comes_out_bare(
    docker_box: Sandbox,
) -> None:
    # The runs happen in the early call's task: what they raise reaches the caller bare (one
    # line from the CLI), not wrapped in a task group's exception group (nor, both sides
    # failing at once, in the runs' own).
    problem = second_largest()
    box = FaultySandbox(docker_box, unavailable_on="[[5, 5, 3]]", owns=False)
    with ScriptedServer(slow_synthesis()) as server, pytest.raises(SandboxUnavailable):
        await solve(server, problem, box, EngineConfig(n=4, rounds=2))


def key_of(code: str) -> str:
    """The candidate key the engine gives the program it extracts from ``fenced(code)``."""
    extracted = extract_code(fenced(code), "python").code
    assert extracted is not None
    return code_key(extracted)


# A right program that the model's inputs alone catch out (the LLM-free ones never hold this list).
ODD_ONE = "def biggest(xs):\n    if xs == [10, 20, 30]:\n        return 31\n    return max(xs) if xs else 0\n"


@pytest.mark.anyio
# Latencies far apart, so that a loaded machine (slow rows) cannot swap the cases: the LLM-free
# rows are in long before synthesis returns (2 s), and the early call is answered at once, or is
# still out when the table is whole (a shutdown wakes its reply).
@pytest.mark.parametrize("early_latency", [0.0, 30.0], ids=["answered-then-unused", "cancelled-while-out"])
async def test_a_pair_the_whole_table_overturns_is_dropped_and_the_right_one_asked(
    docker_box: Sandbox, early_latency: float
) -> None:
    # Early: {three right programs} vs {WRONG} (only an empty list tells WRONG apart). The model's
    # input [10, 20, 30] then splits ODD_ONE off. ODD_ONE is made the right cluster's
    # representative (the smallest code key) by choosing which right program it replaces, so the
    # pair asked ahead cannot be the knockout's first.
    rights = [RIGHT_1, RIGHT_2, RIGHT_3]
    smallest = min(range(3), key=lambda i: key_of(rights[i]))
    odd = next(c for k in range(256) if key_of(c := ODD_ONE + "#" * k) < min(map(key_of, rights)))
    rights[smallest] = odd
    scenario = Scenario(
        rules=[
            Rule(match="real execution", content="The first is right.\nA", latency_s=0.2),
            # The early pair only (ODD_ONE as program A, before WRONG): answered at its own pace.
            Rule(
                match=r"^(?=[\s\S]*Write ONE small)[\s\S]*return 31[\s\S]*sorted\(xs\)",
                content="```input\n[[2, 9, 4]]\n```\n",
                latency_s=early_latency,
            ),
            Rule(match="Write ONE small", content="```input\n[[2, 9, 4]]\n```\n", latency_s=0.2),
            Rule(match="VALID test inputs", content="```input\n[[10, 20, 30]]\n```\n", latency_s=2.0),
            Rule(match="Implement `biggest`", content=[fenced(c) for c in [WRONG, *rights]]),
        ]
    )
    with ScriptedServer(scenario) as server:
        solution, trace = await solve(server, BIGGEST, docker_box, EngineConfig(n=4, rounds=0))
        asked = [r.messages[-1].content for r in server.chat_requests if "Write ONE small" in r.messages[-1].content]
    [ahead] = notes(trace, "ahead")
    [dropped] = notes(trace, "ahead_dropped")
    assert dropped["ahead_dropped"] == ahead["ahead"]
    assert ahead["ahead"] == [key_of(odd)[:12], key_of(WRONG)[:12]]
    assert solution.clusters == 3
    # The dropped call was sent (it counts against the cap), then the knockout's own two comparisons,
    # neither of them the pair asked ahead (the champion, never ODD_ONE, is every prompt's A).
    assert len(asked) == 3
    assert asked[0] not in asked[1:]
    assert solution.judge_calls == 1 + 2 * 3
    # A call cancelled while out never returns, so the trace holds only the knockout's six.
    answered = sum(1 for e in trace.events if e.kind == "llm" and e.phase == "judge")
    assert answered == (7 if early_latency < 1 else 6)
    assert solution.code is not None
    assert (await evaluate(BIGGEST, solution.code, docker_box)).all_passed


@pytest.mark.anyio
async def test_nothing_is_asked_ahead_without_room_in_the_judge_cap_or_when_turned_off(docker_box: Sandbox) -> None:
    # A cap of 3 judge calls holds one comparison exactly: a dropped early call could cost it.
    problem = second_largest()
    for config in (
        EngineConfig(n=4, rounds=2, budget=Budget(max_judge_calls=3)),
        EngineConfig(n=4, rounds=2, judge_ahead=False),
    ):
        with ScriptedServer(Scenario.from_file(EXAMPLES / "demo_scenario.yaml")) as server:
            solution, trace = await solve(server, problem, docker_box, config)
        assert not notes(trace, "ahead")
        assert solution.judge_calls == 3
        assert solution.clusters == 2
