"""The public surface of codesolve.tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

import codesolve.tasks
from codesolve.errors import ProblemFormatError
from codesolve.tasks import (
    FORMATS,
    CompetitiveProblem,
    PublicProblem,
    ReferenceSolution,
    TestSpec,
    detect_format,
    dump_problems,
    load_problem,
)

PUBLIC = [
    "FORMATS",
    "CheckerConfig",
    "CompetitiveProblem",
    "FunctionFixTask",
    "Item",
    "LoadResult",
    "Problem",
    "ProblemCore",
    "PublicProblem",
    "ReferenceSolution",
    "SweInstance",
    "TestSpec",
    "check_sources",
    "count_records",
    "detect_format",
    "dump_problems",
    "dumps_jsonl",
    "dumps_yaml",
    "load_problem",
    "load_problems",
    "read_problems",
    "stream_problems",
]


def test_public_names_are_pinned() -> None:
    assert sorted(codesolve.tasks.__all__) == sorted(PUBLIC)
    assert all(hasattr(codesolve.tasks, name) for name in PUBLIC)


def test_format_table() -> None:
    assert list(FORMATS) == [
        "codesolve",
        "swebench",
        "livecodebench",
        "leetcode",
        "evalplus",
        "humaneval",
        "mbpp",
        "code_contests",
        "apps",
        "kickstart",
        "quixbugs",
        "kattis",
    ]


def two(tmp_path: Path, name: str) -> Path:
    tests = [TestSpec(name="t", stdin="", expected="")]
    path = tmp_path / name
    dump_problems([CompetitiveProblem(id=pid, hidden_tests=tests) for pid in ("a", "b")], path)
    return path


def test_load_problem_picks_by_id(tmp_path: Path) -> None:
    path = two(tmp_path, "two.yaml")
    assert detect_format(path) == "codesolve"
    assert load_problem(path, "b").id == "b"
    with pytest.raises(ProblemFormatError, match="holds 2 problems"):
        load_problem(path)
    with pytest.raises(ProblemFormatError, match="field 'id': no problem with id 'c'"):
        load_problem(path, "c")


def test_aliases_and_missing_paths(tmp_path: Path) -> None:
    path = two(tmp_path, "two.jsonl")
    assert load_problem(path, "a", format="native").id == "a"
    with pytest.raises(ProblemFormatError, match="no such file or directory"):
        detect_format(tmp_path / "nothing.jsonl")


def test_the_solvers_view_has_no_hidden_tests_solutions_or_hidden_check_code() -> None:
    hidden = [TestSpec(name="h", kind="check")]
    problem = CompetitiveProblem(
        id="p", input_mode="call", function_name="f", check_code="def check(c): assert c(1) == 'SECRET'",
        public_tests=[TestSpec(name="ex", call_args="[1]", expected="2")], hidden_tests=hidden,
        solutions=[ReferenceSolution(code="def f(x): return 'SECRET'", label="correct")],
    )  # fmt: skip
    view = problem.public_view()
    assert type(view) is PublicProblem
    assert not hasattr(view, "hidden_tests")
    assert not hasattr(view, "solutions")
    assert "SECRET" not in view.model_dump_json()
    assert view.public_tests == problem.public_tests
    # A public check test needs the check code: then (and only then) the view keeps it.
    public_check = problem.model_copy(update={"public_tests": [TestSpec(name="c", kind="check")], "hidden_tests": []})
    assert public_check.public_view().check_code == problem.check_code
