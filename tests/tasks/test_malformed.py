"""A corpus of malformed problem files: each gives one line naming the file, the record and the field,
and ``codesolve validate`` exits 2 with that line and no traceback."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from codesolve.errors import ProblemFormatError
from codesolve.tasks import load_problems
from tests.tasks.conftest import evil_compressed, lcb_record, make_package, write_jsonl


def problem(**overrides: Any) -> dict[str, Any]:
    """A valid codesolve record, changed by ``overrides`` (a value of ``...`` deletes the key)."""
    record: dict[str, Any] = {
        "kind": "competitive",
        "id": "p1",
        "statement": "Echo the input.",
        "hidden_tests": [{"name": "t1", "stdin": "1\n", "expected": "1\n"}],
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not ...}


def native(*records: Any) -> Callable[[Path], Path]:
    return lambda tmp: write_jsonl(tmp / "problems.jsonl", list(records))


def raw(name: str, data: bytes) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data)
        return path

    return build


def records(name: str, *items: Any) -> Callable[[Path], Path]:
    return lambda tmp: write_jsonl(tmp / name, list(items))


def kattis(**kwargs: Any) -> Callable[[Path], Path]:
    return lambda tmp: make_package(tmp / "pkg", **kwargs)


def no_yaml_dir(tmp: Path) -> Path:
    (tmp / "empty_pkg" / "data").mkdir(parents=True)
    return tmp / "empty_pkg"


def missing_answer(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    (package / "data" / "secret" / "b.ans").unlink()
    return package


def truncated_gzip(tmp: Path) -> Path:
    data = gzip.compress(json.dumps(problem()).encode() * 50)
    path = tmp / "problems.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


CC_RECORD = {
    "name": "1_A. Test",
    "description": "Print 1.",
    "public_tests": {"input": ["\n"], "output": ["1\n"]},
    "private_tests": {"input": [], "output": []},
    "generated_tests": {"input": [], "output": []},
    "solutions": {"language": [3, 7], "solution": ["print(1)", "print(1)"]},
    "time_limit": {"seconds": 1, "nanos": 0},
    "memory_limit_bytes": 256000000,
}
KICKSTART_RECORD = {
    "id": "kickstart/x",
    "name": "X",
    "statement_text": "",
    "time_limit_seconds": 10.0,
    "judge": {"type": "fuzzy_compare"},
    "samples": [],
    "tests": [{"group": "secret", "name": "1", "input": "1\n", "output": "Case #1: 1\n"}],
}
SWE_RECORD = {
    "instance_id": "o__r-1",
    "repo": "o/r",
    "base_commit": "abc",
    "problem_statement": "bug",
    "FAIL_TO_PASS": "[not json",
    "PASS_TO_PASS": "[]",
}


@dataclass(frozen=True)
class Case:
    """A malformed input and what its error must name."""

    build: Callable[[Path], Path]
    where: str
    """Substring locating the error: the record and/or field part of the message."""
    problem: str
    """Substring of the problem description."""
    format: str | None = None


CASES: dict[str, Case] = {
    "missing field": Case(native(problem(), problem(id=...)), "record line 2: field 'id'", "Field required"),
    "wrong type": Case(
        native(problem(time_limit_s="fast")), "record line 1 (id 'p1'): field 'time_limit_s'", "valid number"
    ),
    "bad JSON on line 3": Case(
        raw(
            "problems.jsonl", (json.dumps(problem(id="a")) + "\n" + json.dumps(problem(id="b")) + "\n{oops\n").encode()
        ),
        "record line 3",
        "bad JSON",
    ),
    "empty tests": Case(native(problem(hidden_tests=[])), "field 'hidden_tests'", "at least one public or hidden test"),
    "negative time limit": Case(native(problem(time_limit_s=-1)), "field 'time_limit_s'", "greater than 0"),
    "zero memory": Case(native(problem(memory_mb=0)), "field 'memory_mb'", "greater than 0"),
    "unknown checker": Case(native(problem(checker={"kind": "fuzzy"})), "field 'checker.kind'", "'fuzzy'"),
    "unknown kind": Case(native(problem(kind="quiz")), "field 'kind'", "unknown kind 'quiz'"),
    "call test without args": Case(
        native(problem(input_mode="call", function_name="f", checker={"kind": "value"})),
        "field 'hidden_tests[0].call_args'",
        "Python list literal",
    ),
    "duplicate ids": Case(
        native(problem(), problem(statement="other")), "record line 2 (id 'p1'): field 'id'", "duplicate id"
    ),
    "truncated gzip": Case(truncated_gzip, "problems.jsonl.gz", "corrupt or truncated gzip"),
    "non-UTF8 bytes": Case(
        raw("problems.jsonl", json.dumps(problem()).encode() + b'\n{"id": "caf\xe9"}\n'), "record line 2", "not UTF-8"
    ),
    "bad YAML": Case(raw("problems.yaml", b"- kind: competitive\n  id: [unclosed\n"), "record line 3", "bad YAML"),
    "empty file": Case(raw("problems.jsonl", b"\n\n"), "problems.jsonl", "holds no problems"),
    "record not an object": Case(raw("problems.jsonl", b"[1, 2]\n"), "record line 1", "must be an object, got list"),
    "undetectable format": Case(
        records("data.jsonl", {"question": "?", "answer": 42}), "record line 1", "cannot tell the format"
    ),
    "unknown --format": Case(native(problem()), "problems.jsonl", "unknown format 'nope'", format="nope"),
    "directory without problem.yaml": Case(no_yaml_dir, "empty_pkg", "no problem.yaml"),
    "kattis answer missing": Case(missing_answer, "record data/secret/b.in: field 'ans'", "no matching .ans file"),
    "kattis negative limit": Case(
        kattis(config="limits: {time_limit: -2}\n"), "record pkg: field 'limits.time_limit'", "must be positive"
    ),
    "pickle that runs code": Case(
        records("lcb.jsonl", lcb_record(private_test_cases=evil_compressed("touch pwned"))),
        "record line 1 (id 'abc000_a'): field 'private_test_cases'",
        "refused opcode",
    ),
    "LCB private tests not decodable": Case(
        records("lcb.jsonl", lcb_record(private_test_cases="eJzLSM3JyVcozy/KSQEAGgQEXQ==")),
        "field 'private_test_cases'",
        "not decodable",
    ),
    "LCB public tests not JSON": Case(
        records("lcb.jsonl", lcb_record(public_test_cases="[{")), "field 'public_test_cases'", "not valid JSON text"
    ),
    "CodeContests bad language code": Case(
        records("cc.jsonl", CC_RECORD),
        "record line 1 (id '1_A. Test'): field 'solutions.language[1]'",
        "unknown language code 7",
    ),
    "CodeContests negative time limit": Case(
        records("cc.jsonl", {**CC_RECORD, "solutions": {}, "time_limit": {"seconds": -1, "nanos": 0}}),
        "field 'time_limit'",
        "must be positive",
    ),
    "kickstart unknown judge": Case(
        records("ks.jsonl", KICKSTART_RECORD), "field 'judge.type'", "unknown judge 'fuzzy_compare'"
    ),
    "kickstart negative time limit": Case(
        records("ks.jsonl", {**KICKSTART_RECORD, "judge": {"type": "custom_validator"}, "time_limit_seconds": -5}),
        "field 'time_limit_seconds'",
        "must be positive",
    ),
    "SWE test list not JSON": Case(
        records("swe.jsonl", SWE_RECORD), "record line 1 (id 'o__r-1'): field 'FAIL_TO_PASS'", "not a JSON list"
    ),
    "APPS sample without output": Case(
        records(
            "apps.jsonl",
            {"id": 1, "description": "", "sample_io": [{"input": "1"}], "test_list": [], "starter_code": ""},
        ),
        "field 'sample_io[0]'",
        "expected {input, output}",
    ),
    "HumanEval entry point missing": Case(
        records("he.jsonl", {"task_id": "HumanEval/0", "prompt": "def f():\n", "test": "", "canonical_solution": ""}),
        "field 'entry_point'",
        "missing",
        format="humaneval",
    ),
    "LeetCode starter code without the method": Case(
        records(
            "lc.jsonl",
            {
                "task_id": "x",
                "question_id": 1,
                "problem_description": "",
                "starter_code": "class Solution:\n    pass\n",
                "completion": "",
                "entry_point": "Solution().f",
                "input_output": [],
                "prompt": "",
                "test": "",
            },
        ),
        "field 'starter_code'",
        "defines no function 'f'",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_one_line_error(name: str, chdir_tmp: Path, run_cli: Callable[..., tuple[int, str, str]]) -> None:
    case = CASES[name]
    path = case.build(chdir_tmp)
    with pytest.raises(ProblemFormatError) as err:
        load_problems(path, case.format)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert case.where in message, message
    assert case.problem in message, message

    args = ["validate", str(path), *(["--format", case.format] if case.format else [])]
    code, out, stderr = run_cli(*args)
    assert code == 2
    assert out == ""
    assert stderr == f"codesolve: error: {message}\n"
    assert "Traceback" not in stderr
    assert not (chdir_tmp / "pwned").exists()


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 15
