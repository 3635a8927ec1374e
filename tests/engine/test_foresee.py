"""A late survivor's LLM-free row foreseen from its first batch (codesolve.sstar.foresee), and the
judge's first call asked on it, then asked again when the whole row names another pair.

Pure properties first, then the real engine (scripted model over loopback HTTP, real sandbox).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
import pytest
from anyio.abc import TaskGroup
from hypothesis import given
from hypothesis import strategies as st

from codesolve.llm import LLM, LLMConfig, Rule, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.evaluate import evaluate
from codesolve.runs.single import task_for
from codesolve.sstar import Budget, Engine, EngineConfig, Trace
from codesolve.sstar.ahead import AskedAhead
from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import by_agreement, cluster, code_key
from codesolve.sstar.distinct import distinct
from codesolve.sstar.foresee import HEAD, foresee, split_first
from codesolve.sstar.inputs import gather_and_run
from codesolve.sstar.prefetch import FreeRows
from codesolve.tasks.base import Behaviour, SynthInput
from codesolve.tasks.competitive import CompetitiveTask
from sandbox import Limits, Sandbox
from tests.engine.batches import Batches
from tests.engine.test_ahead import key_of, notes
from tests.engine.test_engine_e2e import fenced, solve
from tests.engine.test_selection_e2e import BIGGEST, RIGHT_1, RIGHT_2, WRONG

signature = st.sampled_from(["AC:1", "AC:2", "AC:3", "WA", "TLE"])


def row_of(sigs: list[str]) -> list[Behaviour]:
    return [Behaviour(s, s, s != "TLE") for s in sigs]


@st.composite
def finished_rows(draw: st.DrawFn) -> tuple[list[list[Behaviour]], int]:
    """Finished rows of one width (at least one row)."""
    width = draw(st.integers(1, 12))
    rows = draw(st.lists(st.lists(signature, min_size=width, max_size=width), min_size=1, max_size=6))
    return [row_of(r) for r in rows], width


def signatures(row: list[Behaviour]) -> list[str]:
    return [b.signature for b in row]


@given(finished_rows())
def test_the_inputs_that_tell_rows_apart_come_first(case: tuple[list[list[Behaviour]], int]) -> None:
    rows, width = case
    order = split_first(rows, width)
    assert sorted(order) == list(range(width))
    apart = [i for i in range(width) if len({r[i].signature for r in rows}) > 1]
    assert order[: len(apart)] == apart
    assert order[len(apart) :] == sorted(order[len(apart) :])


@given(finished_rows(), st.data())
def test_a_program_that_behaves_as_a_finished_row_is_foreseen_exactly(
    case: tuple[list[list[Behaviour]], int], data: st.DataObject
) -> None:
    # Why the first batch takes the inputs that tell rows apart: once it holds all of them, a
    # program that behaves as some finished row does is foreseen as exactly that row.
    rows, width = case
    true = rows[data.draw(st.integers(0, len(rows) - 1))]
    order = split_first(rows, width)
    apart = sum(1 for i in order if len({r[i].signature for r in rows}) > 1)
    head = order[: data.draw(st.integers(apart, width))]
    row = foresee({i: true[i] for i in head}, rows, width)
    assert row is not None
    assert signatures(row) == signatures(true)


@given(finished_rows(), st.lists(signature, min_size=12, max_size=12), st.data())
def test_a_foreseen_row_keeps_what_was_run_and_follows_one_behaviour_elsewhere(
    case: tuple[list[list[Behaviour]], int], mine: list[str], data: st.DataObject
) -> None:
    rows, width = case
    program = row_of(mine[:width])
    head = data.draw(st.lists(st.integers(0, width - 1), unique=True, max_size=width))
    known = {i: program[i] for i in head}
    row = foresee(known, rows, width)
    matching = [r for r in rows if all(r[i].signature == b.signature for i, b in known.items())]
    alike = {tuple(signatures(r)) for r in matching}
    if len(alike) != 1:  # none matches, or the matching ones differ: nothing is guessed
        assert row is None
        return
    assert row is not None
    assert len(row) == width
    assert all(row[i] is known[i] for i in head)
    assert signatures(row) == list(next(iter(alike)))


CONFIG = EngineConfig(n=3, rounds=1, selector="sstar", free_inputs=14)
BROKEN = "def biggest(xs):\n    return min(xs) if xs else 0\n"  # fails the public tests: debugged


async def judged_solve(
    box: Sandbox, fixed: str, right: bool = True, config: EngineConfig = CONFIG
) -> tuple[Batches, Trace, int]:
    """RIGHT_1 and WRONG pass and differ (on the empty list), BROKEN is debugged into ``fixed``
    two seconds later: its row starts last, once the other two are in. Returns the batches seen,
    the trace and the judge calls (and checks the pick is right, if ``right``)."""
    scenario = Scenario(
        rules=[
            Rule(match="failed on the public tests", content=fenced(fixed), latency_s=2.0),
            Rule(match="VALID test inputs", content="```input\n[[4, 4, 1]]\n```\n", latency_s=2.0),
            Rule(match="Write ONE small, valid input", content="```input\n[[]]\n```\n"),
            Rule(match="Output of program A", content="A"),
            Rule(match="Implement `biggest`", content=[fenced(c) for c in (RIGHT_1, WRONG, BROKEN)]),
        ]
    )
    batches = Batches(box)
    await box.warm(Limits(cpu_seconds=BIGGEST.time_limit_s, memory_mb=max(BIGGEST.memory_mb, 64)))
    with ScriptedServer(scenario) as server:
        solution, trace = await solve(server, BIGGEST, batches, config)
    assert solution.code is not None
    assert not right or (await evaluate(BIGGEST, solution.code, box)).all_passed
    return batches, trace, solution.judge_calls


def llm_free_inputs(box: Sandbox) -> list[str]:
    return [i.text for i in distinct(task_for(BIGGEST, box, CONFIG).synthetic_inputs(CONFIG.free_inputs, CONFIG.seed))]


@pytest.mark.anyio
async def test_the_judge_is_asked_on_a_late_row_foreseen_from_its_first_batch(docker_box: Sandbox) -> None:
    free = len(llm_free_inputs(docker_box))
    assert free > HEAD
    batches, trace, judge_calls = await judged_solve(docker_box, RIGHT_2)
    assert [b.size for b in batches.of(RIGHT_1) if b.size > 2] == [free]  # run whole, ahead
    # The debugged program: its public tests, then its row in two batches, the first HEAD long.
    assert [b.size for b in batches.of(RIGHT_2)][:3] == [2, HEAD, free - HEAD]
    [ahead] = notes(trace, "ahead")
    assert ahead["foreseen"] is True  # asked before the second batch was in
    assert not notes(trace, "ahead_dropped")
    assert judge_calls == 3


@pytest.mark.anyio
@pytest.mark.parametrize("change", [{"judge_ahead": False}, {"selector": "majority"}], ids=["not-ahead", "majority"])
async def test_a_late_row_runs_whole_when_no_judge_call_is_asked_ahead(
    docker_box: Sandbox, change: dict[str, object]
) -> None:
    free = len(llm_free_inputs(docker_box))
    batches, trace, _ = await judged_solve(docker_box, RIGHT_2, config=CONFIG.model_copy(update=change))
    assert [b.size for b in batches.of(RIGHT_2)][:2] == [2, free]
    assert not notes(trace, "ahead")


@pytest.mark.anyio
async def test_a_foreseen_pair_the_whole_row_overturns_is_asked_again(docker_box: Sandbox) -> None:
    # The fixed program answers RIGHT_1's answers on every LLM-free input but the last (a list
    # its first batch does not hold: the inputs that tell RIGHT_1 and WRONG apart, then the first
    # others). Its smallest code key makes it the foreseen cluster's representative; its whole
    # row puts it in a cluster of its own, so the whole rows' first pair is another.
    texts = llm_free_inputs(docker_box)
    odd = texts[-1]
    special = f"def biggest(xs):\n    if [xs] == {odd}:\n        return 777\n    return max(xs) if xs else 0\n"
    fixed = next(c for k in range(256) if key_of(c := special + "#" * k) < min(key_of(RIGHT_1), key_of(WRONG)))
    _, trace, judge_calls = await judged_solve(docker_box, fixed, right=False)
    first, second = notes(trace, "ahead")
    assert first["foreseen"] is True
    assert second["foreseen"] is False
    assert key_of(fixed)[:12] in first["ahead"]  # type: ignore[operator]
    assert first["ahead"] != second["ahead"]
    [dropped] = notes(trace, "ahead_dropped")
    assert dropped["ahead_dropped"] == first["ahead"]
    assert "whole LLM-free rows" in str(dropped["why"])
    # The dropped call counts against the cap, then the knockout over three clusters.
    assert judge_calls == 1 + 3 * 2


@dataclass
class HeldTail(CompetitiveTask):
    """The task, holding a late row's second batch (its size) until released; failing it if told."""

    tail: int = 0
    release: anyio.Event = field(default_factory=anyio.Event)
    fail: bool = False

    async def behaviours(self, code: str, inputs: Sequence[SynthInput]) -> list[Behaviour]:
        if len(inputs) == self.tail:
            await self.release.wait()
            if self.fail:
                raise RuntimeError("the sandbox went away")
        return await super().behaviours(code, inputs)


@pytest.mark.anyio
@pytest.mark.parametrize("fail", [False, True], ids=["whole", "second-batch-failed"])
async def test_a_row_is_foreseen_between_its_two_batches_and_only_then(docker_box: Sandbox, fail: bool) -> None:
    free = len(llm_free_inputs(docker_box))
    task = HeldTail(BIGGEST.public_view(), docker_box, tail=free - HEAD, fail=fail)
    rows = FreeRows(task, CONFIG)
    keys = ["a", "b", "c"]
    inputs = await rows.inputs()
    async with rows.running():
        rows.passed("a", RIGHT_1)
        rows.passed("b", WRONG)
        with anyio.fail_after(60):
            right = await rows.behaviours("a", RIGHT_1, inputs)
            await rows.behaviours("b", WRONG, inputs)
            assert rows.urgency.raised  # the two differ: a row started now is split
            assert rows.foreseen(keys) is None
            rows.passed("c", RIGHT_2)
            while (seen := rows.foreseen(keys)) is None:
                await rows.changed()
            table, whole = seen
            assert not whole
            assert signatures(table["c"]) == signatures(right)  # foreseen as RIGHT_1's behaviour
            task.release.set()
            if fail:
                while rows.foreseen(keys) is not None:  # nothing is guessed from a row that failed
                    await anyio.sleep(0.01)
                return
            assert signatures(await rows.behaviours("c", RIGHT_2, inputs)) == signatures(right)
            final = rows.foreseen(keys)
    assert final is not None
    assert final[1] is True  # whole now
    assert signatures(final[0]["c"]) == signatures(right)


class Asked:
    """An AskedAhead on a real engine's selection context (scripted model over loopback HTTP):
    the distinguishing-input prompts the server saw, and the judge calls charged."""

    def __init__(self, engine: Engine, server: ScriptedServer, codes: list[str], group: TaskGroup) -> None:
        self.server = server
        self.ctx = engine.context()
        self.by_key = {code_key(c): Candidate(i, c) for i, c in enumerate(codes)}
        self.ahead = AskedAhead(self.ctx, self.by_key, {}, group)

    def sent(self) -> int:
        return sum(1 for r in self.server.chat_requests if "Write ONE small" in r.messages[-1].content)


def table(rows: dict[str, list[str]]) -> dict[str, list[Behaviour]]:
    return {code_key(code): row_of(sigs) for code, sigs in rows.items()}


THREE = [RIGHT_1, RIGHT_2, WRONG]


async def with_asked(config: EngineConfig, body: Callable[[Asked], Awaitable[None]], box: Sandbox) -> None:
    scenario = Scenario(rules=[Rule(match="Write ONE small", content="```input\n[[]]\n```\n", latency_s=0.2)])
    task = task_for(BIGGEST, box, config)
    with ScriptedServer(scenario) as server:
        endpoint = scripted_endpoint(server, timeout_s=5)
        async with LLM(LLMConfig(default=endpoint), env=server.env) as llm, anyio.create_task_group() as group:
            asked = Asked(Engine(task, llm, config), server, THREE, group)
            with anyio.fail_after(30):
                await body(asked)
            asked.ahead.drop()


@pytest.mark.anyio
async def test_a_foreseen_call_the_whole_rows_confirm_is_kept(docker_box: Sandbox) -> None:
    rows = table({RIGHT_1: ["AC:1", "AC:2"], RIGHT_2: ["AC:1", "AC:2"], WRONG: ["AC:1", "AC:3"]})

    async def body(asked: Asked) -> None:
        asked.ahead.consider(rows, False)
        asked.ahead.consider(rows, True)  # the same pair: nothing more is asked
        pair = (min(code_key(RIGHT_1), code_key(RIGHT_2)), code_key(WRONG))
        reply = await asked.ahead.take(pair)
        assert reply is not None
        assert asked.sent() == 1
        assert asked.ctx.spend.judge_calls == 1

    await with_asked(CONFIG, body, docker_box)


@pytest.mark.anyio
@pytest.mark.parametrize("started", [True, False], ids=["dropped-while-out", "dropped-before-it-started"])
async def test_a_foreseen_call_the_whole_rows_overturn_is_dropped_and_theirs_asked(
    docker_box: Sandbox, started: bool
) -> None:
    foreseen = table({RIGHT_1: ["AC:1", "AC:2"], RIGHT_2: ["AC:1", "AC:2"], WRONG: ["AC:1", "AC:3"]})
    # The guess put RIGHT_2 with RIGHT_1 and WRONG apart; the whole rows put WRONG with RIGHT_1 and
    # RIGHT_2 apart: the second of the pair differs whatever the code keys' order.
    whole = table({RIGHT_1: ["AC:1", "AC:2"], RIGHT_2: ["AC:1", "AC:3"], WRONG: ["AC:1", "AC:2"]})

    async def body(asked: Asked) -> None:
        asked.ahead.consider(foreseen, False)
        if started:
            while asked.ctx.spend.judge_calls == 0:
                await anyio.sleep(0.01)
        asked.ahead.consider(whole, True)
        first = by_agreement(cluster(whole))
        assert await asked.ahead.take((first[0].representative, first[1].representative)) is not None
        # Only a call that had started was sent and charged; the whole rows' was asked either way.
        assert asked.ctx.spend.judge_calls == (2 if started else 1)
        if not started:
            assert asked.sent() == 1  # the dropped call never went out

    await with_asked(CONFIG, body, docker_box)


@pytest.mark.anyio
async def test_foreseen_rows_are_asked_on_only_with_room_for_a_knockout_over_every_survivor(
    docker_box: Sandbox,
) -> None:
    # Three survivors: a knockout over each of them alone takes 6 calls; with the guess and one
    # asked again, 8. A cap of 7 holds a knockout over the whole rows' two clusters and their call.
    rows = table({RIGHT_1: ["AC:1", "AC:2"], RIGHT_2: ["AC:1", "AC:2"], WRONG: ["AC:1", "AC:3"]})
    tight = CONFIG.model_copy(update={"budget": Budget(max_judge_calls=7)})

    async def body(asked: Asked) -> None:
        asked.ahead.consider(rows, False)
        await anyio.sleep(0.05)
        assert asked.ctx.spend.judge_calls == 0
        asked.ahead.consider(rows, True)
        pair = (min(code_key(RIGHT_1), code_key(RIGHT_2)), code_key(WRONG))
        assert await asked.ahead.take(pair) is not None
        assert asked.ctx.spend.judge_calls == 1

    await with_asked(tight, body, docker_box)


@pytest.mark.anyio
@pytest.mark.parametrize("extra", [0, 4])
async def test_the_early_rows_are_reported_once_whole_and_as_wide_as_the_table(
    docker_box: Sandbox, extra: int
) -> None:
    # Rows run ahead are whole before selection starts: nothing is foreseen, and the early call
    # hears of the rows once. An adaptive run's table is wider than the rows run ahead (``extra``
    # more inputs): it hears of the wider rows only, never of those run ahead alone.
    scenario = Scenario(rules=[Rule(match="VALID test inputs", content="```input\n[[4, 4, 1]]\n```\n")])
    config = CONFIG.model_copy(update={"synth_inputs": 1})
    heard: list[tuple[int, bool]] = []
    with ScriptedServer(scenario) as server:
        endpoint = scripted_endpoint(server, timeout_s=5)
        async with LLM(LLMConfig(default=endpoint), env=server.env) as llm:
            ctx = Engine(task_for(BIGGEST, docker_box, config), llm, config).context()
            alive = [Candidate(i, code) for i, code in enumerate(THREE)]
            async with ctx.free_rows.running():
                inputs = await ctx.free_rows.inputs()
                for c in alive:
                    ctx.free_rows.passed(c.key, c.code or "")
                with anyio.fail_after(60):
                    for c in alive:
                        await ctx.free_rows.behaviours(c.key, c.code or "", inputs)
                    await gather_and_run(ctx, alive, extra, lambda t, w: heard.append((len(t[alive[0].key]), w)))
    assert heard == [(len(inputs) + extra, True)]
