"""Kattis / ICPC problem packages built in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.errors import ProblemFormatError
from codesolve.tasks import CompetitiveProblem, detect_format, load_problem
from codesolve.tasks.models import TimeLimitRule
from sandbox import get_language
from tests.tasks.conftest import make_package


def load(path: Path) -> CompetitiveProblem:
    problem = load_problem(path)
    assert isinstance(problem, CompetitiveProblem)
    return problem


def test_default_package(tmp_path: Path) -> None:
    package = make_package(tmp_path / "hello")
    assert detect_format(package) == "kattis"
    problem = load(package)
    assert (problem.id, problem.title, problem.statement) == ("hello", "Hello", "Add two numbers.")
    assert [(t.name, t.stdin, t.expected) for t in problem.public_tests] == [("sample/1", "1 2\n", "3\n")]
    assert [t.name for t in problem.hidden_tests] == ["secret/b", "secret/group1/a"]
    assert problem.hidden_tests[1].group == "secret/group1"
    assert (problem.time_limit_s, problem.memory_mb, problem.checker.kind) == (2.0, 2048, "tokens")
    assert problem.licence == "cc0"


def test_limits_and_float_flags(tmp_path: Path) -> None:
    config = "name: {en: Floats}\nlimits: {time_limit: 1.5, memory: 512}\nvalidator_flags: float_tolerance 1e-6\n"
    problem = load(make_package(tmp_path / "floats", config=config))
    assert (problem.title, problem.time_limit_s, problem.memory_mb) == ("Floats", 1.5, 512)
    assert (problem.checker.kind, problem.checker.abs_tol, problem.checker.rel_tol) == ("float", 1e-6, 1e-6)


def test_timelimit_file(tmp_path: Path) -> None:
    package = make_package(tmp_path / "legacy")
    (package / ".timelimit").write_text("3\n")
    problem = load(package)
    assert (problem.time_limit_s, problem.time_limit_rule) == (3.0, None)
    assert problem.time_limit_origin == ".timelimit (written by problemtools)"


def test_stated_limit_wins_over_timelimit_file(tmp_path: Path) -> None:
    package = make_package(tmp_path / "stated", config="limits: {time_limit: 4}\n")
    (package / ".timelimit").write_text("3\n")
    problem = load(package)
    assert (problem.time_limit_s, problem.time_limit_origin) == (4.0, "problem.yaml limits.time_limit")


def test_no_time_limit_keeps_problemtools_rule(tmp_path: Path) -> None:
    legacy = load(make_package(tmp_path / "legacy", config="limits: {time_multiplier: 3}\n"))
    assert legacy.time_limit_rule == TimeLimitRule(multiplier=3.0)
    assert "until the accepted submissions are timed" in legacy.time_limit_origin
    assert load(make_package(tmp_path / "plain")).time_limit_rule == TimeLimitRule(multiplier=5.0)
    modern = (
        "problem_format_version: 2023-07\nlimits: {time_multipliers: {ac_to_time_limit: 1.5}, time_resolution: 0.5}\n"
    )
    rule = load(make_package(tmp_path / "modern", config=modern)).time_limit_rule
    assert rule == TimeLimitRule(multiplier=1.5, resolution=0.5, legacy=False)


def test_time_limit_rule_arithmetic() -> None:
    legacy = TimeLimitRule(multiplier=5)
    assert [legacy.apply(t) for t in (0.01, 0.09, 0.11, 0.29, 0.31)] == [1.0, 1.0, 1.0, 1.0, 2.0]
    modern = TimeLimitRule(multiplier=2, resolution=0.5, legacy=False)
    assert [modern.apply(t) for t in (0.01, 0.25, 0.26, 1.0)] == [0.5, 0.5, 1.0, 2.0]


@given(st.floats(min_value=0.001, max_value=100), st.floats(min_value=0.5, max_value=10), st.booleans())
def test_time_limit_rule_covers_the_slowest_run(slowest: float, multiplier: float, legacy: bool) -> None:
    rule = TimeLimitRule(multiplier=multiplier, resolution=0.5, legacy=legacy)
    limit = rule.apply(slowest)
    assert limit >= (1.0 if legacy else 0.5)
    assert limit >= slowest * multiplier - 0.5 - 1e-9  # legacy rounds to the nearest second


def test_custom_validator_source_is_the_checker(tmp_path: Path) -> None:
    validator = {"check/validate.py": "import sys\nsys.exit(42)\n"}
    problem = load(make_package(tmp_path / "custom", config="validation: custom\n", validator=validator))
    checker = problem.checker
    assert (checker.kind, checker.language, checker.protocol) == ("program", "python", "kattis")
    assert checker.origin == "output_validators/check/validate.py"
    assert not problem.checker_missing
    assert checker.to_spec().program is not None


def test_validator_with_header_and_several_sources_is_one_program(tmp_path: Path) -> None:
    validator = {
        "check/validate.cc": '#include "validate.h"\nint main(){ return run(); }\n',
        "check/validate.h": "int run();\n",
        "check/run.cpp": '#include "validate.h"\nint run(){ return 42; }\n',
    }
    problem = load(make_package(tmp_path / "multi", config="validation: custom\n", validator=validator))
    checker = problem.checker
    assert (checker.language, checker.entry_name, sorted(checker.files)) == (
        "cpp",
        "validate.cc",
        ["run.cpp", "validate.h"],
    )
    assert checker.origin == "output_validators/check/validate.cc (+2 files)"
    program = checker.to_spec().program
    assert program is not None
    assert program.entry == "validate.cc"
    wire = get_language("cpp").to_wire(program.entry, tuple(name for name, _ in program.files))
    assert wire["compile"][-2:] == ["validate.cc", "run.cpp"]  # every source, the header beside them


def test_several_validators_leave_the_checker_missing(tmp_path: Path) -> None:
    validator = {"a/validate.py": "pass\n", "b/validate.py": "pass\n"}
    problem = load(make_package(tmp_path / "two", config="validation: custom\n", validator=validator))
    assert problem.checker_missing
    with pytest.raises(ValueError, match="checker program missing"):
        problem.checker.to_spec()


@pytest.mark.parametrize(
    "config",
    [
        "validation: custom interactive\n",
        "problem_format_version: 2023-07\ntype: interactive\n",
        "type: [pass-fail, interactive]\n",
    ],
)
def test_interactive_packages_get_their_interactor(tmp_path: Path, config: str) -> None:
    validator = {"guess/interactor.py": "import sys\nsys.exit(42)\n"}
    problem = load(make_package(tmp_path / "inter", config=config, validator=validator))
    assert (problem.checker.kind, problem.checker.protocol) == ("program", "kattis_interactive")
    assert problem.checker.to_spec().protocol == "kattis_interactive"


def test_interactor_directory_makes_a_package_interactive(tmp_path: Path) -> None:
    package = make_package(tmp_path / "inter")
    (package / "interactor").mkdir()
    (package / "interactor" / "interactor.cpp").write_text("int main(){return 42;}\n")
    checker = load(package).checker
    assert (checker.protocol, checker.language, checker.origin) == (
        "kattis_interactive",
        "cpp",
        "interactor/interactor.cpp",
    )


def test_interactive_without_interactor_is_never_compare_the_output(tmp_path: Path) -> None:
    problem = load(make_package(tmp_path / "inter", config="validation: custom interactive\n"))
    assert problem.checker_missing
    assert problem.checker.protocol == "kattis_interactive"
    assert "no usable interactor" in problem.checker.origin


def test_submissions_are_labelled_solutions(tmp_path: Path) -> None:
    package = make_package(tmp_path / "subs")
    for rel in ("accepted/a.py", "accepted/b.cpp", "wrong_answer/w.py", "time_limit_exceeded/t.cc", "other/x.py"):
        path = package / "submissions" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("print(1)\n")
    found = [(s.origin, s.label, s.language) for s in load(package).solutions]
    assert found == [
        ("submissions/accepted/a.py", "correct", "python"),
        ("submissions/accepted/b.cpp", "correct", "cpp"),
        ("submissions/wrong_answer/w.py", "incorrect", "python"),
        ("submissions/time_limit_exceeded/t.cc", "incorrect", "cpp"),
    ]


def test_directory_given_a_file_format_is_an_error(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    with pytest.raises(ProblemFormatError, match="is a directory; format 'apps' reads files"):
        load_problem(package, format="apps")
