"""Selection runs the survivors on the LLM-free inputs while the synthesizer is asked, and the rest
as urgent when they already disagree (issue 17)."""

from __future__ import annotations

import pytest

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.runs.single import task_for
from codesolve.sstar import EngineConfig, Solution
from codesolve.sstar.distinct import distinct
from codesolve.tasks.base import SynthInput
from sandbox import Sandbox
from tests.engine.batches import Batches
from tests.engine.test_engine_e2e import fenced, solve
from tests.engine.test_selection_e2e import BIGGEST, RIGHT_1, RIGHT_2, WRONG

pytestmark = pytest.mark.anyio

SYNTH_LATENCY_S = 1.0
# One model input repeats an LLM-free one ([[]] is among the edge cases): it is not run twice.
MODEL = ["[[4, 4, 1]]", "[[]]", "[[10, 20, 30]]", "[[-5, -2]]"]
MODEL_INPUTS = "".join(f"```input\n{text}\n```\n" for text in MODEL)


def test_distinct_keeps_first_occurrences_and_drops_seen_texts() -> None:
    items = [SynthInput("a"), SynthInput("b"), SynthInput("a", origin="generator"), SynthInput("c")]
    assert [(i.text, i.origin) for i in distinct(items)] == [("a", "literal"), ("b", "literal"), ("c", "literal")]
    assert [i.text for i in distinct(items, [SynthInput("b")])] == ["a", "c"]
    assert [
        i.text for i in distinct([SynthInput("[[]]\n"), SynthInput("x\n\n")], [SynthInput("[[]]"), SynthInput("x\n")])
    ] == ["x\n\n"]  # a final newline makes no other test; a second one does (stdin)


CONFIG = EngineConfig(n=3, rounds=0, selector="majority", synth="both", free_inputs=6)


async def solve_biggest(box: Batches, candidates: list[str], latency_s: float) -> Solution:
    scenario = Scenario(
        rules=[
            Rule(match="VALID test inputs", content=MODEL_INPUTS, latency_s=latency_s),
            Rule(match="Implement `biggest`", content=[fenced(code) for code in candidates]),
        ]
    )
    with ScriptedServer(scenario) as server:
        solution, _trace = await solve(server, BIGGEST, box, CONFIG)
    return solution


async def test_llm_free_inputs_run_while_the_synthesizer_is_asked(docker_box: Sandbox) -> None:
    free = distinct(task_for(BIGGEST, docker_box, CONFIG).synthetic_inputs(CONFIG.free_inputs, CONFIG.seed))
    new = distinct([SynthInput(text + "\n") for text in MODEL], free)
    assert "[[]]" in {i.text for i in free}  # (the case the test is about: a repeat is not run again)
    box = Batches(docker_box)
    solution = await solve_biggest(box, [WRONG, RIGHT_1, RIGHT_2], SYNTH_LATENCY_S)
    assert solution.survivors == 3
    assert solution.clusters == 2  # the empty list (an LLM-free input) separates WRONG
    assert solution.code is not None
    assert "-1" not in solution.code
    early, late = box.of(size=len(free)), box.of(size=len(new))
    assert len(early) == 3
    assert len(late) == 3
    assert len(new) == 3  # (so the batches are told apart by size: 2 public tests, 3 new, 6 free)
    # The LLM-free batches were asked for a synthesis latency before the model's inputs could be,
    # and were done before the reply came.
    assert max(b.start for b in early) + 0.8 * SYNTH_LATENCY_S <= min(b.start for b in late)
    assert max(b.end for b in early) <= min(b.start for b in late)
    # WRONG already disagreed on the LLM-free inputs: the rest ran as urgent, the first part did not
    # (the first two rows are asked for together, as soon as two distinct programs pass; the third
    # may be asked for once those differ: see sstar.prefetch).
    assert [b.urgent for b in early][:2] == [False, False]
    assert [b.urgent for b in late] == [True] * 3


async def test_survivors_that_agree_on_the_llm_free_inputs_run_the_rest_as_ordinary_work(docker_box: Sandbox) -> None:
    box = Batches(docker_box)
    solution = await solve_biggest(box, [RIGHT_1, RIGHT_2, RIGHT_1.replace("xs", "values")], 0.0)
    assert solution.survivors == 3
    assert solution.clusters == 1
    assert [b.urgent for b in box.of(size=3)] == [False] * 3  # the model's 3 new inputs, one batch per survivor


# Slow only on the LLM-free inputs (the empty list, the long lists), quick on the public tests and
# the model's inputs (lists of two or three).
SLOW_FREE = (
    "import time\n\ndef biggest(xs):\n    if len(xs) > 3 or not xs:\n        time.sleep(0.25)\n"
    "    return max(xs) if xs else 0\n"
)


async def test_the_models_inputs_start_while_llm_free_runs_are_still_going(docker_box: Sandbox) -> None:
    free = distinct(task_for(BIGGEST, docker_box, CONFIG).synthetic_inputs(CONFIG.free_inputs, CONFIG.seed))
    slow = sum(1 for i in free if i.text.count(",") > 2 or i.text.strip() == "[[]]")
    assert slow >= 2  # (what makes each LLM-free batch take half a second or more)
    box = Batches(docker_box)
    solution = await solve_biggest(box, [SLOW_FREE, SLOW_FREE.replace("xs", "values")], 0.0)
    assert solution.survivors == 2
    early, late = box.of(size=len(free)), box.of(size=3)
    assert len(early) == 2
    assert len(late) == 2
    # The reply came at once: the model's inputs were asked for before the LLM-free runs ended
    # (they used to wait for every one of them).
    assert min(b.start for b in late) < max(b.end for b in early) - 0.2
