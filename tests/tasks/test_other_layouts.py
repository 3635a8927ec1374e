"""Layouts with no file in ../shared/data: CodeContests on Hugging Face, and original APPS.

Records are built in the datasets' documented layouts (field names and nesting as published).
"""

from __future__ import annotations

import json
from pathlib import Path

from codesolve.tasks import CompetitiveProblem, read_problems
from tests.tasks.conftest import write_jsonl

CODE_CONTESTS = {
    "name": "1548_A. Web of Lies",
    "description": "Some statement.\n\nExample\n\nInput\n\n4 3\n\nOutput\n\n2\n",
    "public_tests": {"input": ["4 3\n"], "output": ["2\n"]},
    "private_tests": {"input": ["1 0\n"], "output": ["1\n"]},
    "generated_tests": {"input": ["2 1\n", "3 0\n"], "output": ["1\n", "3\n"]},
    "source": 2,
    "difficulty": 7,
    "solutions": {"language": [2, 3, 1], "solution": ["int main(){}", "print(2)", "print 2"]},
    "incorrect_solutions": {"language": [4], "solution": ["class Main {}"]},
    "cf_contest_id": 1548,
    "cf_index": "A",
    "time_limit": {"seconds": 2, "nanos": 500000000},
    "memory_limit_bytes": 256000000,
    "input_file": "",
    "output_file": "",
}

APPS_ORIGINAL = [
    {
        "problem_id": 10,
        "question": "Read n, print n squared.\n\n-----Examples-----\nInput\n3\n\nOutput\n9\n\n-----Note-----\nEasy.",
        "solutions": json.dumps(["print(int(input())**2)"]),
        "input_output": json.dumps({"inputs": ["3\n", ["2"]], "outputs": ["9\n", ["4"]]}),
        "difficulty": "introductory",
        "url": "https://example.invalid/10",
        "starter_code": "",
    },
    {
        "problem_id": 11,
        "question": "Return the sum of a list.",
        "solutions": "",
        "input_output": json.dumps({"fn_name": "total", "inputs": [[[1, 2]], [[]]], "outputs": [[3], [0]]}),
        "difficulty": "introductory",
        "url": "https://example.invalid/11",
        "starter_code": "def total(xs):\n\t",
    },
]


def test_code_contests_hugging_face_layout(tmp_path: Path) -> None:
    result = read_problems(write_jsonl(tmp_path / "cc.jsonl.gz", [CODE_CONTESTS], compress=True))
    (problem,) = result.problems
    assert result.format == "code_contests"
    assert isinstance(problem, CompetitiveProblem)
    assert [t.name for t in problem.public_tests] == ["public/1"]
    assert [t.name for t in problem.hidden_tests] == ["private/1", "generated/1", "generated/2"]
    assert (problem.time_limit_s, problem.memory_mb) == (2.5, 244)
    assert [(s.language, s.label) for s in problem.solutions] == [
        ("cpp", "correct"),
        ("python", "correct"),
        ("python2", "correct"),
        ("java", "incorrect"),
    ]
    assert problem.source == "CodeContests (Codeforces)"
    assert problem.difficulty == "7"


def test_apps_original_layout(tmp_path: Path) -> None:
    stdin, call = read_problems(write_jsonl(tmp_path / "apps.jsonl", APPS_ORIGINAL)).problems
    assert isinstance(stdin, CompetitiveProblem)
    assert isinstance(call, CompetitiveProblem)
    assert [(t.stdin, t.expected) for t in stdin.public_tests] == [("3\n", "9\n")]
    assert [(t.stdin, t.expected) for t in stdin.hidden_tests] == [("3\n", "9\n"), ("2", "4")]
    assert stdin.solutions[0].code == "print(int(input())**2)"
    assert (call.function_name, call.signature) == ("total", "def total(xs):")
    assert [(t.call_args, t.expected) for t in call.hidden_tests] == [("[[1, 2]]", "3"), ("[[]]", "0")]
