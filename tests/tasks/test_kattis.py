"""Kattis / ICPC problem packages built in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesolve.errors import ProblemFormatError
from codesolve.tasks import CompetitiveProblem, detect_format, load_problem
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
    assert load(package).time_limit_s == 3.0


def test_custom_validator_source_is_the_checker(tmp_path: Path) -> None:
    validator = {"check/validate.py": "import sys\nsys.exit(42)\n"}
    problem = load(make_package(tmp_path / "custom", config="validation: custom\n", validator=validator))
    checker = problem.checker
    assert (checker.kind, checker.language, checker.protocol) == ("program", "python", "kattis")
    assert checker.origin == "output_validators/check/validate.py"
    assert not problem.checker_missing
    assert checker.to_spec().program is not None


def test_custom_validator_that_is_not_one_file_is_missing(tmp_path: Path) -> None:
    validator = {"check/a.cpp": "int main(){}", "check/b.h": ""}
    problem = load(make_package(tmp_path / "multi", config="validation: custom\n", validator=validator))
    assert problem.checker_missing
    with pytest.raises(ValueError, match="checker program missing"):
        problem.checker.to_spec()


def test_interactive_is_refused(tmp_path: Path) -> None:
    package = make_package(tmp_path / "inter", config="validation: custom interactive\n")
    with pytest.raises(ProblemFormatError, match="field 'validation': interactive problems are not supported"):
        load_problem(package)


def test_directory_given_a_file_format_is_an_error(tmp_path: Path) -> None:
    package = make_package(tmp_path / "pkg")
    with pytest.raises(ProblemFormatError, match="is a directory; format 'apps' reads files"):
        load_problem(package, format="apps")
