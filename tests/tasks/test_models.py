"""The problem models: validation rules and conversion to the sandbox's types."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from codesolve.tasks import CheckerConfig, CompetitiveProblem, FunctionFixTask, SweInstance, TestSpec
from sandbox import CheckerSpec, Limits, TestCase


def stdin_problem(**overrides: Any) -> CompetitiveProblem:
    fields: dict[str, Any] = {"id": "p", "hidden_tests": [TestSpec(name="t", stdin="1\n", expected="1\n")]}
    fields.update(overrides)
    return CompetitiveProblem(**fields)


def call_problem(**overrides: Any) -> CompetitiveProblem:
    fields: dict[str, Any] = {
        "id": "c",
        "input_mode": "call",
        "function_name": "Solution.twoSum",
        "public_tests": [TestSpec(name="e", call_args="[[2, 7], 9]", expected="[0, 1]")],
        "checker": CheckerConfig(kind="value"),
    }
    fields.update(overrides)
    return CompetitiveProblem(**fields)


def test_test_spec_to_test_case() -> None:
    spec = TestSpec(name="t", call_args="[1]", expected="2", group="g")
    assert spec.to_test_case() == TestCase(stdin="", expected="2", name="t", call_args="[1]")
    with pytest.raises(ValueError, match="check test"):
        TestSpec(name="check", kind="check").to_test_case()


def test_check_test_carries_no_io() -> None:
    with pytest.raises(ValidationError, match="carries no stdin"):
        TestSpec(name="c", kind="check", expected="1")


def test_checker_to_spec() -> None:
    assert CheckerConfig().to_spec() == CheckerSpec()
    assert CheckerConfig(kind="float", abs_tol=1e-6, rel_tol=1e-9).to_spec() == CheckerSpec("float", 1e-6, 1e-9)
    spec = CheckerConfig(kind="program", program="print('ok')", language="python", protocol="kattis").to_spec()
    assert spec.program is not None
    assert spec.program.source == "print('ok')"
    assert spec.protocol == "kattis"
    assert CheckerConfig(kind="program").missing


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"kind": "fuzzy"}, "kind"),
        ({"abs_tol": -1}, "greater than or equal to 0"),
        ({"rel_tol": float("nan")}, "finite number"),
        ({"kind": "tokens", "program": "x", "language": "python"}, "only allowed with kind='program'"),
        ({"kind": "program", "program": "x"}, "needs its language"),
        ({"kind": "tokens", "extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_checker_rejects(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        CheckerConfig(**fields)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"hidden_tests": []}, "at least one public or hidden test"),
        ({"time_limit_s": 0}, "greater than 0"),
        ({"time_limit_s": -2.5}, "greater than 0"),
        ({"memory_mb": -1}, "greater than 0"),
        ({"function_name": "f"}, "stdin problem has no function_name"),
        ({"hidden_tests": [TestSpec(name="t", call_args="[1]")]}, "has no call_args"),
        ({"hidden_tests": [TestSpec(name="check", kind="check")]}, "check_code is empty"),
        (
            {"public_tests": [TestSpec(name="t", stdin="")], "hidden_tests": [TestSpec(name="t", stdin="")]},
            "duplicate test name",
        ),
        ({"id": ""}, "at least 1 character"),
    ],
)
def test_competitive_rejects(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        stdin_problem(**overrides)


def test_call_problem_rules() -> None:
    with pytest.raises(ValidationError, match="needs function_name"):
        call_problem(function_name=None)
    with pytest.raises(ValidationError, match="Python list literal"):
        call_problem(public_tests=[TestSpec(name="e", call_args="2, 9")])
    with pytest.raises(ValidationError, match="a call test has no stdin"):
        call_problem(public_tests=[TestSpec(name="e", stdin="x", call_args="[1]")])


def test_call_problem_helpers() -> None:
    problem = call_problem(prelude="from typing import *", check_code="def check(candidate):\n    pass\n")
    assert problem.entry_expression == "Solution().twoSum"
    assert problem.io_tests() == [TestCase(expected="[0, 1]", name="e", call_args="[[2, 7], 9]")]
    assert problem.io_tests(hidden=True) == []
    program = problem.program("class Solution:\n    pass\n")
    assert program.function == "Solution.twoSum"
    assert program.source.startswith("from typing import *")
    harness = problem.check_harness("class Solution:\n    pass")
    assert harness.index("from typing") < harness.index("class Solution") < harness.index("def check")
    assert harness.endswith("check(Solution().twoSum)\n")
    assert problem.limits() == Limits(cpu_seconds=2.0, memory_mb=256)
    assert not problem.needs_reference_outputs
    assert call_problem(hidden_tests=[TestSpec(name="x", call_args="[1]")]).needs_reference_outputs


def test_check_harness_needs_check_code() -> None:
    with pytest.raises(ValueError, match="no check_code"):
        call_problem().check_harness("pass")


def test_function_fix_and_swe() -> None:
    task = FunctionFixTask(id="fix", repo_path="repos/calc", failing_tests=["tests/test_calc.py::test_add"])
    assert task.test_command == ["python", "-m", "pytest", "-q"]
    with pytest.raises(ValidationError, match="at least 1 item"):
        FunctionFixTask(id="fix", repo_path="r", failing_tests=[])
    with pytest.raises(ValidationError, match="greater than 0"):
        FunctionFixTask(id="fix", repo_path="r", failing_tests=["t"], time_limit_s=0)
    swe = SweInstance(instance_id="o__r-1", repo="o/r", base_commit="abc", problem_statement="", FAIL_TO_PASS=["t"])
    assert swe.id == "o__r-1"
    with pytest.raises(ValidationError, match="FAIL_TO_PASS"):
        SweInstance(instance_id="o__r-1", repo="o/r", base_commit="abc", problem_statement="", FAIL_TO_PASS=[])


def test_models_are_frozen() -> None:
    problem = stdin_problem()
    with pytest.raises(ValidationError, match="frozen"):
        setattr(problem, "id", "other")  # noqa: B010 - the point is to try the assignment
