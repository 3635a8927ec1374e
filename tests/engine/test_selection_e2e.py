"""Issue 13 end to end with the scripted model: LLM-free inputs, codet, --adaptive and C++ solving."""

from __future__ import annotations

import pytest

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.runs.evaluate import evaluate
from codesolve.sstar import EngineConfig
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, TestSpec
from sandbox import Sandbox
from tests.engine.test_engine_e2e import APLUSB, fenced, solve

pytestmark = pytest.mark.anyio

# Largest element of a list, 0 for an empty one. The examples never show an empty list.
BIGGEST = CompetitiveProblem(
    id="t/biggest",
    title="Biggest",
    statement="Return the largest element of `xs`, or 0 when `xs` is empty.",
    input_mode="call",
    function_name="biggest",
    signature="def biggest(xs: List[int]) -> int:",
    public_tests=[
        TestSpec(name="e1", call_args="[[3, 1, 2]]", expected="3"),
        TestSpec(name="e2", call_args="[[5, 9]]", expected="9"),
    ],
    hidden_tests=[
        TestSpec(name="h1", call_args="[[]]", expected="0"),
        TestSpec(name="h2", call_args="[[7]]", expected="7"),
    ],
)
RIGHT_1 = "def biggest(xs):\n    return max(xs) if xs else 0\n"
RIGHT_2 = (
    "def biggest(xs):\n    best = 0\n    for i, x in enumerate(xs):\n"
    "        best = x if i == 0 or x > best else best\n    return best\n"
)
RIGHT_3 = "def biggest(xs):\n    return max(xs, default=0)\n"
WRONG = "def biggest(xs):\n    return sorted(xs)[-1] if len(xs) > 0 else -1\n"
# The model's inputs never hold an empty list: only the LLM-free edge cases tell WRONG apart.
MODEL_INPUTS = "```input\n[[4, 4, 1]]\n```\n```input\n[[10, 20, 30]]\n```\n"


def biggest_scenario() -> Scenario:
    return Scenario(
        rules=[
            Rule(match="VALID test inputs", content=MODEL_INPUTS),
            Rule(
                match="Implement `biggest`", content=[fenced(WRONG), fenced(RIGHT_1), fenced(RIGHT_2), fenced(RIGHT_3)]
            ),
        ]
    )


async def test_an_edge_case_no_model_input_hits_is_resolved_by_llm_free_inputs(docker_box: Sandbox) -> None:
    with ScriptedServer(biggest_scenario()) as server:
        blind, _ = await solve(
            server, BIGGEST, docker_box, EngineConfig(n=4, rounds=0, selector="majority", synth="llm")
        )
    assert blind.survivors == 4
    assert blind.clusters == 1  # the model's inputs do not separate them
    with ScriptedServer(biggest_scenario()) as server:
        solution, trace = await solve(server, BIGGEST, docker_box, EngineConfig(n=4, rounds=0, selector="majority"))
    assert solution.clusters == 2
    assert solution.code is not None
    assert "-1" not in solution.code
    assert (await evaluate(BIGGEST, solution.code, docker_box)).all_passed
    notes = [e.data for e in trace.events if e.phase == "synthesize" and "origins" in e.data]
    assert notes
    assert notes[0]["origins"].get("hypothesis", 0) > 0


async def test_codet_picks_the_set_agreeing_with_the_written_tests(docker_box: Sandbox) -> None:
    tests = "```python\nassert biggest([1, 2]) == 2\nassert biggest([]) == 0\nassert biggest([8]) == 8\n```\n"
    scenario = Scenario(rules=[Rule(match="small, VALID test cases", content=tests), *biggest_scenario().rules])
    with ScriptedServer(scenario) as server:
        solution, _trace = await solve(server, BIGGEST, docker_box, EngineConfig(n=4, rounds=0, selector="codet"))
    assert solution.code is not None
    assert "-1" not in solution.code
    assert "dual execution agreement" in solution.why
    assert solution.judge_calls == 0


def generation_requests(server: ScriptedServer, needle: str) -> int:
    return sum(1 for r in server.chat_requests if needle in r.messages[-1].content and len(r.messages) == 2)


async def test_adaptive_stops_after_the_first_wave_on_an_easy_problem(docker_box: Sandbox) -> None:
    right = "a, b = map(int, input().split())\nprint(a + b)"
    other = "print(sum(map(int, input().split())))"
    scenario = Scenario(rules=[Rule(match="A plus B", content=[fenced(right), fenced(other)])])
    with ScriptedServer(scenario) as server:
        config = EngineConfig(n=16, rounds=0, selector="majority", adaptive=True, first_wave=4)
        solution, trace = await solve(server, APLUSB, docker_box, config)
        requests = len(server.chat_requests)
    assert solution.candidates == 4
    assert requests == 1  # one generation call, no synthesizer, no judge
    whys = [e.data["why"] for e in trace.events if e.phase == "adaptive"]
    assert len(whys) == 1
    assert "agree" in whys[0]


async def test_adaptive_samples_a_second_wave_when_none_survives(docker_box: Sandbox) -> None:
    wrong = "a, b = map(int, input().split())\nprint(a - b)"
    right = "a, b = map(int, input().split())\nprint(a + b)"
    # The first request (wave one, 4 samples) gets the wrong program; later ones the right one.
    scenario = Scenario(
        rules=[Rule(match="A plus B", times=1, content=fenced(wrong)), Rule(match="A plus B", content=fenced(right))]
    )
    with ScriptedServer(scenario) as server:
        config = EngineConfig(n=16, rounds=0, selector="majority", adaptive=True, first_wave=4)
        solution, trace = await solve(server, APLUSB, docker_box, config)
        generations = generation_requests(server, "A plus B")
    assert generations == 2
    assert solution.candidates == 8
    assert solution.code is not None
    assert "a + b" in solution.code
    whys = [e.data["why"] for e in trace.events if e.phase == "adaptive"]
    assert "no survivor among 4: sampling 4 more" in whys[0]


CPP_BROKEN = "#include <iostream>\nint main() { long long a, b; std::cin >> a >> b; std::cout << a + b << std::endl }\n"
CPP_FIXED = "#include <iostream>\nint main() { long long a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }\n"


async def test_a_cpp_candidate_is_fixed_after_a_compile_error(docker_box: Sandbox) -> None:
    scenario = Scenario(
        rules=[
            Rule(match="did not compile", content=fenced(CPP_FIXED, "cpp")),
            Rule(match="A plus B", content=fenced(CPP_BROKEN, "cpp")),
        ]
    )
    with ScriptedServer(scenario) as server:
        solution, trace = await solve(server, APLUSB, docker_box, EngineConfig(n=1, rounds=1, lang="cpp"))
        debug = [r for r in server.chat_requests if "did not compile" in r.messages[-1].content]
        first = server.chat_requests[0].messages
    assert "C++" in first[0].content
    assert "```cpp" in first[-1].content
    assert len(debug) == 1
    assert "main.cpp:2" in debug[0].messages[-1].content
    assert "error: expected" in debug[0].messages[-1].content
    runs = [e.data["verdicts"] for e in trace.events if e.kind == "exec"]
    assert runs == [["CE", "CE"], ["AC", "AC"]]
    assert solution.code == CPP_FIXED
    assert (await evaluate(APLUSB, solution.code, docker_box, language="cpp")).all_passed


# Any divisor d of n with 1 < d < n is right: the checker validates an output from the input alone.
DIVISOR_CHECKER = """import sys
n = int(open(sys.argv[1]).read().split()[0])
try:
    d = int(open(sys.argv[2]).read().split()[0])
except (ValueError, IndexError):
    sys.exit(1)
sys.exit(0 if 1 < d < n and n % d == 0 else 1)
"""
DIVISOR = CompetitiveProblem(
    id="t/divisor",
    title="Any divisor",
    statement="Read a composite n (4 <= n <= 1000) and print any divisor d of n with 1 < d < n.",
    public_tests=[TestSpec(name="e1", stdin="12\n", expected="2\n"), TestSpec(name="e2", stdin="35\n", expected="5\n")],
    hidden_tests=[TestSpec(name="h1", stdin="91\n", expected="7\n")],
    checker=CheckerConfig(kind="program", program=DIVISOR_CHECKER, language="python", protocol="testlib"),
)
SMALLEST = "n = int(input())\nprint(next(d for d in range(2, n) if n % d == 0))"
LARGEST = "n = int(input())\nprint(next(d for d in range(n - 1, 1, -1) if n % d == 0))"


async def test_valid_answers_of_a_many_answer_problem_stay_in_one_cluster(docker_box: Sandbox) -> None:
    scenario = Scenario(rules=[Rule(match="Any divisor", content=[fenced(SMALLEST), fenced(LARGEST)])])
    with ScriptedServer(scenario) as server:
        config = EngineConfig(n=2, rounds=0, selector="sstar", synth="hypothesis")
        solution, trace = await solve(server, DIVISOR, docker_box, config)
        judged = [r for r in server.chat_requests if "(real execution)" in r.messages[-1].content]
    assert solution.survivors == 2
    assert solution.clusters == 1  # different divisors, both accepted: one behaviour, no judge
    assert solution.judge_calls == 0
    assert not judged
    inputs = next(e.data["inputs"] for e in trace.events if e.kind == "decision" and e.phase == "select")
    assert len(inputs) >= 4  # the public inputs mutated (primes among them are rejected for both and dropped)
