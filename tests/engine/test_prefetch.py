"""Selection's LLM-free rows start while other candidates are still being debugged
(``codesolve.sstar.prefetch``), and rows that differ make the whole solve's batches urgent."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import anyio
import pytest

from codesolve.llm import LLM, LLMConfig, Rule, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.single import task_for
from codesolve.sstar import Engine, EngineConfig, Solution
from codesolve.sstar.distinct import distinct
from codesolve.sstar.prefetch import FreeRows
from codesolve.tasks.base import SynthInput
from codesolve.tasks.competitive import CompetitiveTask
from sandbox import Limits, Sandbox
from tests.engine.batches import Batches
from tests.engine.test_engine_e2e import fenced, solve
from tests.engine.test_selection_e2e import BIGGEST, RIGHT_1, RIGHT_2, RIGHT_3, WRONG

pytestmark = pytest.mark.anyio

DEBUG_LATENCY_S = 2.0
BROKEN = "def biggest(xs):\n    return min(xs) if xs else 0\n"  # fails the public tests: debugged
# Three, so that their batches are told apart by size from the public tests' (two).
MODEL_INPUTS = "".join(f"```input\n{text}\n```\n" for text in ("[[4, 4, 1]]", "[[10, 20, 30]]", "[[-3, -8]]"))


CONFIG = EngineConfig(n=3, rounds=1, selector="sstar", free_inputs=6)


def free_inputs(box: Sandbox, config: EngineConfig = CONFIG) -> list[SynthInput]:
    return distinct(task_for(BIGGEST, box, config).synthetic_inputs(config.free_inputs, config.seed))


async def solve_with(box: Batches, candidates: list[str], fixed: str, config: EngineConfig = CONFIG) -> Solution:
    scenario = Scenario(
        rules=[
            Rule(match="failed on the public tests", content=fenced(fixed), latency_s=DEBUG_LATENCY_S),
            Rule(match="VALID test inputs", content=MODEL_INPUTS),
            Rule(match="Write ONE small, valid input", content="```input\n[[]]\n```\n"),
            Rule(match="Output of program A", content="A"),
            Rule(match="Implement `biggest`", content=[fenced(code) for code in candidates]),
        ]
    )
    # Containers ready first: one made during the solve (the shared pool drops a container a
    # hostile test ended badly) took longer than the debugger, on a loaded machine.
    await box.warm(Limits(cpu_seconds=BIGGEST.time_limit_s, memory_mb=max(BIGGEST.memory_mb, 64)))
    with ScriptedServer(scenario) as server:
        solution, _trace = await solve(server, BIGGEST, box, config)
    return solution


async def test_passing_programs_run_their_llm_free_rows_while_another_is_debugged(docker_box: Sandbox) -> None:
    free = len(free_inputs(docker_box))
    box = Batches(docker_box)
    solution = await solve_with(box, [RIGHT_1, RIGHT_2, BROKEN], fixed=RIGHT_3)
    assert solution.survivors == 3
    [fixed] = box.of(RIGHT_3, 2)  # the debugged program's public tests
    for code in (RIGHT_1, RIGHT_2):
        [rows] = box.of(code, free)  # each survivor ran its rows once
        # Asked for while the debugger was out: on the old code, only once every candidate was
        # debugged (after the fixed program's public tests). How soon depends on the load.
        assert rows.start < fixed.start
    [late] = box.of(RIGHT_3, free)
    assert late.start >= fixed.start  # (it could not start before it passed)


async def test_one_distinct_passing_program_runs_no_rows(docker_box: Sandbox) -> None:
    box = Batches(docker_box)
    solution = await solve_with(box, [RIGHT_1, RIGHT_1, BROKEN], fixed=RIGHT_1)
    assert solution.survivors == 1
    assert all(b.size <= 2 for b in box.seen)  # public tests only: nothing was run ahead


async def test_rows_that_differ_make_the_rest_of_the_solve_urgent(docker_box: Sandbox) -> None:
    free = len(free_inputs(docker_box))
    box = Batches(docker_box)
    solution = await solve_with(box, [RIGHT_1, WRONG, BROKEN], fixed=RIGHT_2)
    assert solution.clusters == 2  # WRONG answers -1 on the empty list, an LLM-free input
    assert [b.urgent for b in box.of(RIGHT_1, 2) + box.of(WRONG, 2)] == [False, False]
    # By the time the debugger answered, the two rows had come back different: the fixed
    # program's public tests, and everything after, went first.
    [fixed] = box.of(RIGHT_2, 2)
    assert fixed.urgent
    assert all(b.urgent for b in box.of(RIGHT_2, free))


async def test_agreeing_rows_leave_the_solve_ordinary(docker_box: Sandbox) -> None:
    box = Batches(docker_box)
    solution = await solve_with(box, [RIGHT_1, RIGHT_3, BROKEN], fixed=RIGHT_2)
    assert solution.clusters == 1
    assert not any(b.urgent for b in box.seen)


async def test_more_inputs_than_were_run_ahead_reuse_the_rows_and_run_only_the_rest(docker_box: Sandbox) -> None:
    box = Batches(docker_box)
    rows = FreeRows(task_for(BIGGEST, box, CONFIG), CONFIG)
    ahead = await rows.inputs()
    extra = [SynthInput("[[11, 12]]"), SynthInput("[[0]]")]
    async with rows.running():
        rows.passed("a", RIGHT_1)
        rows.passed("b", WRONG)
        with anyio.fail_after(30):
            longer = await rows.behaviours("a", RIGHT_1, [*ahead, *extra])  # (an adaptive run asks for more)
            same = await rows.behaviours("a", RIGHT_1, ahead)
            other = await rows.behaviours("a", RIGHT_1, [*extra, *ahead])
            # WRONG's row runs in the background: wait for it (reused, not run again), or on a
            # loaded machine the block may end first and cancel it before the rows are compared.
            wrong = await rows.behaviours("b", WRONG, ahead)
    assert len(longer) == len(ahead) + len(extra)
    assert wrong != same
    assert same == longer[: len(ahead)]
    assert other == longer[len(ahead) :] + same
    # The rows ran once; then only the two new inputs; a list that does not begin alike ran whole.
    sizes = [b.size for b in box.of(RIGHT_1)]
    assert sorted(sizes) == sorted([len(ahead), len(extra), len(ahead) + len(extra)])
    assert [b.size for b in box.of(WRONG)] == [len(ahead)]
    assert rows.urgency.raised  # WRONG's row differs from RIGHT_1's on the empty list


class Stop(Exception):
    """What a solve's body might raise (an LLMError, a budget)."""


async def test_the_solves_own_exception_leaves_bare_and_the_rows_are_cancelled(docker_box: Sandbox) -> None:
    box = Batches(docker_box)
    rows = FreeRows(task_for(BIGGEST, box, CONFIG), CONFIG)

    async def solve_that_stops() -> None:
        async with rows.running():
            rows.passed("a", RIGHT_1)
            rows.passed("b", WRONG)
            await anyio.sleep(0)
            raise Stop

    with pytest.raises(Stop):  # not an exception group: the engine catches its stops by type
        await solve_that_stops()
    assert rows._group is None


@dataclass
class CountingTask(CompetitiveTask):
    """The task, noting each time (and on which thread) it makes LLM-free inputs."""

    made: list[tuple[int, int]] = field(default_factory=list)

    def synthetic_inputs(self, count: int, seed: int) -> list[SynthInput]:
        self.made.append((count, threading.get_ident()))
        return super().synthetic_inputs(count, seed)


async def test_the_llm_free_inputs_are_made_once_per_count_off_the_event_loop_ahead_of_need(
    docker_box: Sandbox,
) -> None:
    task = CountingTask(BIGGEST.public_view(), docker_box)
    rows = FreeRows(task, CONFIG)
    loop_thread = threading.get_ident()
    shared: list[list[SynthInput]] = []

    async def ask() -> None:
        shared.append(await rows.inputs())

    async with rows.running():
        rows.make_inputs_ahead()  # (the engine's call, once the task is prepared)
        with anyio.fail_after(30):
            while not task.made:  # asked for by nobody yet: made in the background
                await anyio.sleep(0.005)
            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(ask)
            longer = await rows.inputs(CONFIG.free_inputs + 4)  # (an adaptive run asks for more)
            again = await rows.inputs(CONFIG.free_inputs + 4)
    assert [count for count, _ in task.made] == [CONFIG.free_inputs, CONFIG.free_inputs + 4]
    assert all(thread != loop_thread for _, thread in task.made)
    expected = free_inputs(docker_box)
    assert shared == [expected] * 3
    assert again == longer
    assert len(longer) > len(expected)


async def test_a_solve_makes_its_llm_free_inputs_once(docker_box: Sandbox) -> None:
    # The rows run ahead and selection's table use the same inputs: made once, not once for each.
    task = CountingTask(BIGGEST.public_view(), docker_box)
    scenario = Scenario(
        rules=[
            Rule(match="VALID test inputs", content=MODEL_INPUTS),
            Rule(match="Write ONE small, valid input", content="```input\n[[]]\n```\n"),
            Rule(match="Output of program A", content="A"),
            Rule(match="Implement `biggest`", content=[fenced(code) for code in (RIGHT_1, WRONG, RIGHT_2)]),
        ]
    )
    with ScriptedServer(scenario) as server:
        async with LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=5)), env=server.env) as llm:
            solution, _trace = await Engine(task, llm, CONFIG).solve()
    assert solution.survivors == 3
    assert [count for count, _ in task.made] == [CONFIG.free_inputs]
