"""Every loader on the real datasets in ../shared/data: counts and concrete field values."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesolve.tasks import CompetitiveProblem, LoadResult, SweInstance, detect_format, load_problem, read_problems


def competitive(result: LoadResult) -> dict[str, CompetitiveProblem]:
    """Problems by id, all competitive."""
    problems = {p.id: p for p in result.problems if isinstance(p, CompetitiveProblem)}
    assert len(problems) == len(result.problems)
    return problems


def test_code_contests_sandboxfusion_layout(data: Path) -> None:
    result = read_problems(data / "competitive/sandboxfusion_code_contests_sample20.jsonl")
    assert result.format == "code_contests"
    problems = competitive(result)
    assert len(problems) == 20
    assert sum(len(p.hidden_tests) for p in problems.values()) == 2233
    a3 = problems["a3"]
    assert a3.input_mode == "stdin"
    assert a3.difficulty == "MEDIUM"
    assert len(a3.hidden_tests) == 101
    assert a3.hidden_tests[0].expected == "0\n1\n2\n"
    # The statement's example, parsed into the public test (the first hidden test is a mutation of it).
    assert [(t.stdin, t.expected) for t in a3.public_tests] == [
        (
            "3\n2\n< 100 No\n> 100 No\n3\n< 2 Yes\n> 4 Yes\n= 3 No\n"
            "6\n< 2 Yes\n> 1 Yes\n= 1 Yes\n= 1 Yes\n> 1 Yes\n= 1 Yes\n",
            "0\n1\n2\n",
        )
    ]
    jump = problems["digjump"]
    assert [t.expected for t in jump.public_tests] == ["1\n", "4\n"]
    assert problems["1000_A. Codehorses T-shirts"].title == "Codehorses T-shirts"


def test_apps_mapcoder_layout(data: Path) -> None:
    result = read_problems(data / "competitive/mapcoder_APPS_selected150.jsonl")
    problems = competitive(result)
    assert result.format == "apps"
    assert (len(problems), result.duplicates_dropped) == (128, 22)  # the file repeats 22 records verbatim
    modes = [p.input_mode for p in problems.values()]
    assert (modes.count("stdin"), modes.count("call")) == (49, 79)
    zonk = problems["3554"]
    assert (zonk.function_name, zonk.signature) == ("get_score", "def get_score(dice):")
    assert (zonk.public_tests[0].call_args, zonk.public_tests[0].expected) == ("[[1, 2, 3]]", "100")
    assert zonk.public_tests[4].expected == "'Zonk'"
    assert zonk.checker.kind == "value"
    # Bare words are strings; a string argument holding newlines is recovered.
    assert problems["4724"].hidden_tests[0].call_args == "['Apple Banana']"
    assert (
        problems["1613"].hidden_tests[0].call_args
        == "['apples, pears # and bananas\\ngrapes\\nbananas !apples', ['#', '!']]"
    )
    grid = problems["1604"]
    assert grid.input_mode == "stdin"
    assert grid.public_tests[0].stdin == "1 1\n.\n"
    assert grid.public_tests[0].expected == "1\n"


def test_leetcode(data: Path) -> None:
    result = read_problems(data / "competitive/LeetCodeDataset-v0.3.1-test.jsonl.gz")
    problems = competitive(result)
    assert len(problems) == 228
    p = problems["shortest-distance-after-road-addition-queries-i"]
    assert p.function_name == "Solution.shortestDistanceAfterQueries"
    assert p.entry_expression == "Solution().shortestDistanceAfterQueries"
    assert p.hidden_tests[0].call_args == "[7, [[0, 5], [1, 6], [2, 4]]]"
    assert p.hidden_tests[0].expected == "[2, 2, 2]"
    assert p.hidden_tests[-1].kind == "check"
    assert p.check_code.startswith("def check(candidate):")
    assert [(t.call_args, t.expected) for t in p.public_tests] == [
        ("[5, [[2, 4], [0, 2], [0, 4]]]", "[3, 2, 1]"),
        ("[4, [[0, 3], [0, 2]]]", "[1, 1]"),
    ]
    assert "class TreeNode" in p.prelude
    assert p.solutions[0].label == "reference"
    assert "def shortestDistanceAfterQueries" in p.solutions[0].code
    # Tree inputs have no literal form: covered by the check test only.
    tree = problems["k-th-largest-perfect-subtree-size-in-binary-tree"]
    assert [t.kind for t in tree.hidden_tests] == ["check"]
    assert tree.dropped_tests > 0
    # Recorded errors are dropped, not turned into expected outputs.
    assert all("Error" not in (t.expected or "") for q in problems.values() for t in q.hidden_tests)
    assert sum(q.dropped_tests for q in problems.values()) == 1087


def test_kickstart(data: Path) -> None:
    problems = competitive(read_problems(data / "competitive/kickstart_and_cjio.jsonl.gz"))
    assert len(problems) == 199
    matrix = problems["kickstart/2017/round_d/sherlock_and_matrix_game"]
    assert [t.name for t in matrix.hidden_tests] == ["secret/subtask1/1", "secret/subtask2/1"]
    assert matrix.public_tests[0].expected == "Case #1: 6\nCase #2: 4\nCase #3: 1\n"
    assert (matrix.checker.kind, matrix.checker.abs_tol, matrix.checker.rel_tol) == ("float", 1e-6, 1e-6)
    assert matrix.memory_mb == 1024
    assert matrix.licence == "Apache-2.0"
    missing = [p for p in problems.values() if p.checker_missing]
    assert len(missing) == 10
    assert "output_validators" in missing[0].checker.origin
    assert problems["kickstart/2019/round_f/flattening"].time_limit_s == 20.0  # the one record without a limit


def test_humaneval(data: Path) -> None:
    problems = competitive(read_problems(data / "function/HumanEval.jsonl.gz"))
    assert len(problems) == 164
    p = problems["HumanEval/0"]
    assert [(t.call_args, t.expected) for t in p.public_tests] == [
        ("[[1.0, 2.0, 3.0], 0.5]", "False"),
        ("[[1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3]", "True"),
    ]
    assert [t.kind for t in p.hidden_tests] == ["check"]
    harness = p.check_harness("def has_close_elements(numbers, threshold):\n    return False\n")
    assert harness.rstrip().endswith("check(has_close_elements)")
    assert "def check(candidate):" in harness
    assert problems["HumanEval/12"].public_tests[0].expected == "None"  # `>>> longest([])` prints nothing
    assert problems["HumanEval/72"].public_tests[0].call_args == "[[1, 2], 5]"  # arrow form: will_it_fly(...) ➞ False
    assert sum(len(q.public_tests) for q in problems.values()) == 377


def test_humaneval_plus_mini(data: Path) -> None:
    result = read_problems(data / "function/HumanEvalPlus-Mini-v0.1.10.jsonl.gz")
    problems = competitive(result)
    assert result.format == "evalplus"
    assert len(problems) == 164
    p = problems["HumanEval/0"]
    groups = [t.group for t in p.hidden_tests]
    assert groups.count("base") == 7
    assert groups.count("plus") == 12
    assert "check" not in groups
    assert p.hidden_tests[0].call_args == "[[1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3]"
    assert p.hidden_tests[0].expected is None
    assert p.needs_reference_outputs
    assert p.solutions[0].code.startswith(p.statement)
    assert "sorted_numbers" in p.solutions[0].code
    assert sum(1 for q in problems.values() if q.checker.abs_tol > 0) == 3


def test_mbpp_plus(data: Path) -> None:
    problems = competitive(read_problems(data / "function/MbppPlus-prerelease-767efcc.jsonl"))
    assert len(problems) == 399
    p = problems["Mbpp/2"]
    assert p.statement == "Write a function to find the shared elements from the given two lists."
    assert p.signature == "def similar_elements(test_tup1, test_tup2):"
    assert (p.public_tests[0].call_args, p.public_tests[0].expected) == ("[(3, 4, 5, 6), (5, 7, 4, 10)]", "(4, 5)")
    assert p.check_function == "codesolve_check"
    assert "import math" in p.check_code
    assert p.hidden_tests[-1].kind == "check"
    # Infinities survive as 1e999 literals.
    assert any("1e999" in (t.call_args or "") for t in problems["Mbpp/404"].hidden_tests)


def test_mbpp_original(data: Path) -> None:
    problems = competitive(read_problems(data / "function/mbpp_full_974.jsonl"))
    assert len(problems) == 974
    p = problems["MBPP/1"]
    assert p.function_name == "min_cost"
    assert p.public_tests[0].expected == "8"
    assert "assert min_cost([[2, 3, 4], [5, 9, 3], [2, 6, 4]], 2, 2) == 12" in p.check_code
    # A problem whose own function is called `check` does not clash with the harness.
    clash = problems["MBPP/56"]
    assert clash.function_name == "check"
    assert clash.check_harness("def check(n):\n    return n\n").rstrip().endswith("codesolve_check(check)")


def test_quixbugs(data: Path) -> None:
    problems = competitive(read_problems(data / "bugfix/quixbugs_python_40.jsonl"))
    assert len(problems) == 40
    bitcount = problems["bitcount"]
    assert [s.label for s in bitcount.solutions] == ["buggy", "correct"]
    assert "n ^= n - 1" in bitcount.starter_code
    assert "n &= n - 1" in bitcount.solutions[1].code
    assert (bitcount.hidden_tests[0].call_args, bitcount.hidden_tests[0].expected) == ("[127]", "7")
    assert [(t.call_args, t.expected) for t in bitcount.public_tests] == [("[127]", "7"), ("[128]", "1")]
    assert problems["sqrt"].checker.abs_tol == 0.01
    assert [t.group for t in problems["knapsack"].hidden_tests].count("slow") == 1
    graph = problems["detect_cycle"]
    assert [t.kind for t in graph.hidden_tests] == ["check"]
    assert "class Node" in graph.check_code
    assert "    test6()" in graph.check_code
    assert "pytest" not in graph.check_code
    assert "list(candidate(*" in problems["flatten"].check_code  # generators are compared as lists


def test_swebench_json_and_csv(data: Path) -> None:
    test = read_problems(data / "swe/swe_bench_lite_test_300.json")
    dev = read_problems(data / "swe/swe_bench_lite_dev_23.csv")
    assert (test.format, dev.format) == ("swebench", "swebench")
    assert (len(test.problems), len(dev.problems)) == (300, 23)
    first = test.problems[0]
    assert isinstance(first, SweInstance)
    assert first.id == first.instance_id == "django__django-15202"
    assert first.FAIL_TO_PASS == [
        "test_urlfield_clean_invalid (forms_tests.field_tests.test_urlfield.URLFieldTest)",
        "test_urlfield_clean_not_required (forms_tests.field_tests.test_urlfield.URLFieldTest)",
    ]
    assert first.repo_source == "https://github.com/django/django.git"
    assert first.patch.startswith("diff --git")
    sqlfluff = dev.problems[0]
    assert isinstance(sqlfluff, SweInstance)
    assert sqlfluff.FAIL_TO_PASS == ["test/cli/commands_test.py::test__cli__command_directed"]
    assert sqlfluff.version == "0.6"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("competitive/sandboxfusion_code_contests_sample20.jsonl", "code_contests"),
        ("competitive/LeetCodeDataset-v0.3.1-test.jsonl.gz", "leetcode"),
        ("function/HumanEvalPlus-v0.1.10.jsonl.gz", "evalplus"),
        ("function/mbpp_full_974.jsonl", "mbpp"),
        ("bugfix/quixbugs_python_40.jsonl", "quixbugs"),
        ("swe/swe_bench_lite_dev_23.csv", "swebench"),
    ],
)
def test_detect_format(data: Path, name: str, expected: str) -> None:
    assert detect_format(data / name) == expected


def test_load_problem_by_id(data: Path) -> None:
    problem = load_problem(data / "function/HumanEval.jsonl.gz", "HumanEval/3")
    assert problem.id == "HumanEval/3"
