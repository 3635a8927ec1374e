"""The Kattis packages written for the project, judged as shipped on the real sandbox.

``pairsum``: a validator in three files (``validate.cc`` + ``validate.h`` +
``check_pair.cc``), no stated time limit (problemtools' rule). ``guess``: a
2023-07 interactive package. Each has accepted and wrong submissions; every
verdict must agree with its folder.
"""

from __future__ import annotations

import contextlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codesolve.cli import main
from codesolve.runs.agreement import ProblemCheck, check_solutions
from codesolve.runs.judging import judge
from codesolve.runs.timelimit import settle_time_limit
from codesolve.tasks import CompetitiveProblem, load_problem
from sandbox import Sandbox

pytestmark = pytest.mark.docker

KATTIS = Path(__file__).resolve().parents[2] / "problems" / "kattis"


def package(name: str) -> CompetitiveProblem:
    problem = load_problem(KATTIS / name)
    assert isinstance(problem, CompetitiveProblem)
    return problem


def verdicts_by_origin(problem: CompetitiveProblem, checks: ProblemCheck) -> dict[str, str]:
    found = {}
    for check in checks.solutions:
        assert check.judgement is not None
        found[check.origin.split("/", 1)[1]] = check.judgement.verdict
    return found


@pytest.mark.anyio
@pytest.mark.timeout(300)
async def test_pairsum_validator_in_several_files(docker_box: Sandbox) -> None:
    problem = package("pairsum")
    assert problem.checker.origin == "output_validators/pairsum_validator/validate.cc (+2 files)"
    assert problem.time_limit_rule is not None
    settled = await settle_time_limit(problem, docker_box)
    assert settled.time_limit_s == 1.0  # the accepted ones take well under 0.1 s: 5 x that, at least 1 s
    assert "slowest of 2 accepted" in settled.time_limit_origin
    checks = await check_solutions(settled, docker_box)
    assert {c.status for c in checks.solutions} == {"agree"}
    assert verdicts_by_origin(settled, checks) == {
        "accepted/hash.py": "AC",
        "accepted/two_pointers.cpp": "AC",
        "wrong_answer/zero_based.py": "WA",
        "wrong_answer/reversed.cpp": "WA",
        "time_limit_exceeded/all_pairs.py": "TLE",
    }
    # The validator accepts a pair other than the one in the .ans file.
    different = "import sys\nprint('3 4' if sys.stdin.readline().split()[1] == '0' else '')\n"
    result = await judge(settled, different, docker_box, "hidden")
    assert result.rows[0].verdict.value == "AC", result.rows[0]


@pytest.mark.anyio
@pytest.mark.timeout(300)
async def test_guess_is_judged_interactively(docker_box: Sandbox) -> None:
    problem = package("guess")
    assert (problem.checker.protocol, problem.time_limit_s) == ("kattis_interactive", 1.0)
    assert problem.time_limit_origin == "problem.yaml limits.time_limit"
    checks = await check_solutions(problem, docker_box)
    assert {c.status for c in checks.solutions} == {"agree"}
    assert verdicts_by_origin(problem, checks) == {
        "accepted/binary_search.py": "AC",
        "accepted/binary_search.cpp": "AC",
        "wrong_answer/linear.py": "WA",
        "wrong_answer/off_by_one.cpp": "WA",
        "time_limit_exceeded/waits_for_judge.py": "TLE",
    }
    # Printing the right answers without interacting is not a pass: never compare-the-output.
    result = await judge(problem, "print('')\n", docker_box)
    assert {r.verdict.value for r in result.rows} == {"WA"}


def run_cli(argv: list[str]) -> tuple[int, str]:
    """The CLI in a thread of its own (a test's event loop may be running in this one)."""
    out = io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out):
            return main(argv)

    with ThreadPoolExecutor(1) as pool:
        code = pool.submit(call).result()
    return code, out.getvalue()


def test_cli_says_which_time_limit_applied(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    code, out = run_cli(["judge", str(KATTIS / "pairsum"), "--solutions", "--json"])
    assert code == 0
    assert json.loads(out)["agreement"]["all_agree"]
    accepted = KATTIS / "guess" / "submissions" / "accepted" / "binary_search.py"
    code, out = run_cli(["judge", str(KATTIS / "guess"), "--program", str(accepted)])
    assert code == 0
    assert out.startswith("time limit 1 s (problem.yaml limits.time_limit)")
