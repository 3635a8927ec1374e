"""Many right answers (issue 13): a model-written output validator, trusted after a trial on the
public tests and run in the sandbox, puts candidates printing different valid answers in one cluster."""

from __future__ import annotations

import pytest

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.sstar import EngineConfig
from codesolve.sstar.trace import Solution, Trace
from codesolve.tasks.models import CompetitiveProblem, TestSpec
from sandbox import Sandbox
from tests.engine.test_engine_e2e import fenced, solve

pytestmark = pytest.mark.anyio

ANY_ROOT = CompetitiveProblem(
    id="t/any-root",
    title="Any root",
    statement="`xs` are the coefficients of a polynomial (xs[i] * x**i). Return any one of its real roots.",
    input_mode="call",
    function_name="find_root",
    signature="def find_root(xs: list) -> float:",
    public_tests=[TestSpec(name="e1", call_args="[[1, 2]]", expected="-0.5")],
)
_ROOTS = (
    "def find_root(xs):\n"
    "    f = lambda x: sum(c * x ** i for i, c in enumerate(xs))\n"
    "    roots = [x for x in (i / 4 for i in range(-400, 401)) if f(x) == 0]\n"
)
SMALLEST = _ROOTS + "    return min(roots)\n"
LARGEST = _ROOTS + "    return max(roots)\n"
MIDDLE = _ROOTS + "    return roots[len(roots) // 2]\n"
WRONG = "def find_root(xs):\n    return -xs[0] / xs[1]\n"  # right on the linear example only
# (x-1)(x-2)(x-3) and (x-1)(x+2)(x-3): three roots each, so the three right programs answer differently.
INPUTS = "```input\n[[-6, 11, -6, 1]]\n```\n```input\n[[6, -5, -2, 1]]\n```\n"
HONEST = (
    "def valid(input, output):\n"
    "    xs = input[0]\n"
    "    if isinstance(output, bool) or not isinstance(output, (int, float)):\n"
    "        return False\n"
    "    return abs(sum(c * output ** i for i, c in enumerate(xs))) < 1e-6\n"
)


def scenario(validator: str) -> Scenario:
    reply = INPUTS + (f"```validator\n{validator}```\n" if validator else "")
    programs = [fenced(WRONG), fenced(SMALLEST), fenced(LARGEST), fenced(MIDDLE)]
    return Scenario(
        rules=[Rule(match="VALID test inputs", content=reply), Rule(match="Implement `find_root`", content=programs)]
    )


async def run(box: Sandbox, validator: str) -> tuple[Solution, Trace]:
    config = EngineConfig(n=4, rounds=0, selector="majority", synth="llm")
    with ScriptedServer(scenario(validator)) as server:
        return await solve(server, ANY_ROOT, box, config)


def validator_trusted(trace: Trace) -> bool:
    [note] = [e.data for e in trace.events if e.phase == "synthesize" and "origins" in e.data]
    return bool(note["validator"])


async def test_three_distinct_valid_roots_share_one_cluster_and_the_wrong_answer_stays_apart(
    docker_box: Sandbox,
) -> None:
    solution, trace = await run(docker_box, HONEST)
    assert validator_trusted(trace)
    assert solution.survivors == 4
    assert solution.clusters == 2  # {smallest, largest, middle} and the wrong one
    assert solution.code is not None
    assert "-xs[0] / xs[1]" not in solution.code
    [merged] = [e.data for e in trace.events if e.phase == "validate"]
    assert merged["accepted"] == 6  # three distinct roots on each of the two inputs
    assert merged["rejected"] == 2  # the wrong program's answers


async def test_a_validator_rejecting_a_public_expected_output_is_discarded(docker_box: Sandbox) -> None:
    # Positive roots only: it rejects the example's -0.5, so it is not trusted; every answer stays apart.
    solution, trace = await run(docker_box, "def valid(input, output):\n    return output > 0\n")
    assert not validator_trusted(trace)
    assert solution.clusters == 4
    assert not [e for e in trace.events if e.phase == "validate"]


async def test_a_hostile_validator_cannot_break_selection(docker_box: Sandbox) -> None:
    # Honest on the example (so it passes the trial), then it prints and loops on every other input:
    # its calls time out, nothing is merged, and selection still ends with a pick.
    trap = "    if xs != [1, 2]:\n        print('True ' * 1000)\n        while True:\n            pass\n"
    hostile = HONEST.replace("    xs = input[0]\n", "    xs = input[0]\n" + trap)
    solution, trace = await run(docker_box, hostile)
    assert validator_trusted(trace)
    [merged] = [e.data for e in trace.events if e.phase == "validate"]
    assert merged["accepted"] == merged["rejected"] == 0
    assert solution.clusters == 4
    assert solution.code is not None
