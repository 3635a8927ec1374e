"""The hostile-input corpus: problem files and packages built the way a hostile dataset author would.

Each case writes its input under a directory and says what ``codesolve
validate`` must do with it: ``error`` (one line, exit 2) or ``ok`` (a
result). The rule for every case (see ``test_hostile_inputs.py`` and
``benchmarks/hostile_inputs.py``): a result or a one-line error, within 2 CPU
seconds and 512 MB of address space, enforced with rlimits.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.tasks.conftest import lcb_compress, lcb_record, make_package

MB = 1 << 20
CANARY = "CODESOLVE_CANARY_7f3e9a"
"""Planted in files outside packages (and in the environment) by the canary tests."""


@dataclass(frozen=True)
class Case:
    """One hostile input: how to build it, and what validate must answer."""

    build: Callable[[Path], Path]
    expect: str  # "error" or "ok"
    needle: str = ""
    """Text the one-line error must contain."""


def _jsonl(name: str, *records: Any, compress: bool = False) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        text = "".join(json.dumps(r) + "\n" for r in records).encode()
        path = tmp / name
        path.write_bytes(gzip.compress(text, 1) if compress else text)
        return path

    return build


def _raw(name: str, data: Callable[[], bytes]) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(data())
        return path

    return build


def _competitive(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "competitive",
        "id": "p",
        "statement": "Add.",
        "public_tests": [{"name": "a", "stdin": "1 2\n", "expected": "3\n"}],
    }
    record.update(overrides)
    return record


_FUSION_TEST = json.dumps([{"input": {"stdin": "1\n"}, "output": {"stdout": "1\n"}}])


def _apps(question: str) -> dict[str, Any]:
    io = {"inputs": ["1\n"], "outputs": ["1\n"]}
    return {"problem_id": 1, "question": question, "input_output": json.dumps(io), "solutions": "", "starter_code": ""}


def _leetcode(description: str) -> dict[str, Any]:
    return {
        "task_id": "two-sum",
        "question_id": 1,
        "difficulty": "Easy",
        "problem_description": description,
        "starter_code": "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n",
        "prompt": "from typing import *\n",
        "completion": "class Solution:\n    def twoSum(self, nums, target):\n        return [0, 1]\n",
        "entry_point": "Solution().twoSum",
        "test": "def check(candidate):\n    pass\n",
        "input_output": [{"input": "nums = [2,7], target = 9", "output": "[0, 1]"}],
    }


def _humaneval(prompt_tail: str) -> dict[str, Any]:
    prompt = f'def f(x):\n    """Doc.\n{prompt_tail}\n    """\n'
    return {"task_id": "HumanEval/0", "prompt": prompt, "entry_point": "f", "canonical_solution": "    return x\n",
            "test": "def check(candidate):\n    assert candidate(1) == 1\n"}


def _mbpp(assert_line: str) -> dict[str, Any]:
    return {"task_id": 1, "text": "Identity.", "code": "def f(x):\n    return x\n",
            "test_list": [assert_line, "assert f(1) == 1"]}


# --- YAML -------------------------------------------------------------------------------------------------


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _yaml_alias_bomb(field: str) -> Callable[[Path], Path]:
    # The bomb is harmless until something walks it: a str() of a title, a repr() in a message.
    def build(tmp: Path) -> Path:
        path = tmp / "bomb.yaml"
        body = _alias_bomb().replace("\n", "\n  ")
        kind = "" if field == "kind" else "kind: competitive\n  "
        path.write_text(f"- {body}{kind}id: p\n  {field}: *a8\n")  # anchors first: YAML needs them defined
        return path

    return build


def _kattis_alias_bomb(tmp: Path) -> Path:
    package = make_package(tmp / "bomb")
    (package / "problem.yaml").write_text(_alias_bomb() + "name: *a8\nsource: *a8\n")
    return package


def _yaml_nodes(tmp: Path) -> Path:
    path = tmp / "nodes.yaml"
    path.write_text("[" + "{}, " * (MB // 4) + "]\n")
    return path


def _yaml_int_keys(tmp: Path) -> Path:
    # Integers equal modulo 2**61 - 1 share a hash: inserting n of them costs n**2 / 2 probes.
    keys = ", ".join(f"{i * (2**61 - 1)}: 0" for i in range(1, 40_000))
    path = tmp / "keys.yaml"
    path.write_text("- kind: competitive\n  id: p\n  extra: {" + keys + "}\n")
    return path


# --- compression and pickles ------------------------------------------------------------------------------


def _gzip_bomb(tmp: Path) -> Path:
    path = tmp / "bomb.jsonl.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b" " * MB
    with path.open("wb") as handle:
        for _ in range(1024):  # 1 GiB of spaces: about 1 MB on disk
            handle.write(packer.compress(zeros))
        handle.write(packer.flush())
    return path


def _gzip_members(tmp: Path) -> Path:
    member = gzip.compress(b" " * (4 * MB), 9)
    path = tmp / "members.jsonl.gz"
    path.write_bytes(member * 64)  # 64 members of 4 MiB each, concatenated
    return path


def _pickle_bomb(tmp: Path) -> Path:
    huge = pickle.dumps("x" * (250 * MB))
    field = base64.b64encode(zlib.compress(huge, 9)).decode()
    return _jsonl("lcb.jsonl", lcb_record(private_test_cases=field))(tmp)


def _pickle_collisions(tmp: Path) -> Path:
    colliding = {i * (2**61 - 1): 0 for i in range(1, 20_000)}
    field = base64.b64encode(zlib.compress(pickle.dumps(colliding))).decode()
    return _jsonl("lcb.jsonl", lcb_record(private_test_cases=field))(tmp)


def _pickle_many_opcodes(tmp: Path) -> Path:
    # A string, then a million MEMOIZE opcodes (each allowed on its own) before the STOP.
    payload = pickle.dumps("[]", protocol=4)[:-1] + b"\x94" * MB + b"."
    field = base64.b64encode(zlib.compress(payload)).decode()
    return _jsonl("lcb.jsonl", lcb_record(private_test_cases=field))(tmp)


# --- JSON shapes ------------------------------------------------------------------------------------------


def _deep_json(tmp: Path) -> Path:
    return _raw("deep.jsonl", lambda: b"[" * MB + b"\n")(tmp)


def _long_int(tmp: Path) -> Path:
    return _raw("int.jsonl", lambda: b'{"kind": "competitive", "id": ' + b"7" * MB + b"}\n")(tmp)


def _empty_dicts(tmp: Path) -> Path:
    return _raw("dicts.json", lambda: b"[" + b"{}," * (MB // 3) + b"{}]")(tmp)


def _many_tests(tmp: Path) -> Path:
    return _jsonl("tests.jsonl", _competitive(public_tests=[{}] * (MB // 4)))(tmp)


def _huge_kind(tmp: Path) -> Path:
    return _jsonl("kind.jsonl", _competitive(kind="k" * MB))(tmp)


def _huge_keys(tmp: Path) -> Path:
    return _jsonl("keys.jsonl", {("k" * (MB // 8)) + str(i): 0 for i in range(8)})(tmp)


def _duplicate_huge_id(tmp: Path) -> Path:
    pid = "i" * (MB // 3)
    return _jsonl("dup.jsonl", _competitive(id=pid), _competitive(id=pid, statement="Other."))(tmp)


def _huge_csv_cell(tmp: Path) -> Path:
    return _raw("rows.csv", lambda: b"instance_id,repo\n" + b"x" * MB + b",a/b\n")(tmp)


def _surrogates(tmp: Path) -> Path:
    return _raw("s.jsonl", lambda: json.dumps(_competitive(statement="\\ud800" * 1000)).encode() + b"\n")(tmp)


# --- regexes on problem text -----------------------------------------------------------------------------

# Each shape is the worst case of one replaced pattern: a `\s*` run the old patterns backtracked
# over from every line start (cubic), or a lazy group that re-scanned a whitespace run (quadratic).
REGEX_TEXTS = {
    "blank lines, no heading": "\n" * MB + "x",
    "blank lines after a heading": "Examples\n" + "\n" * MB + "x",
    "a line of spaces after Examples": "Examples\n" + " " * MB + "x\n",
    "dashes in a heading": "Examples\n" + "-" * MB + "Input\n1\nOutput\n2\n",
    "spaces inside an Input line": "Input: x" + " " * MB + "y\nOutput: 1\n",
    "input labels": "Input: a\n" * (MB // 9),
}


# --- dense but well-formed records: as many tests as a megabyte holds ----------------------------------


def _dense_leetcode() -> dict[str, Any]:
    record = _leetcode("Two sum.")
    record["input_output"] = [{"input": "nums = [1], target = 1", "output": "[0]"}] * (MB // 48)
    return record


def _dense_evalplus() -> dict[str, Any]:
    return {"task_id": "t", "entry_point": "f", "prompt": "def f(x):\n", "canonical_solution": "  return x\n",
            "base_input": [[1]] * (MB // 5), "plus_input": [], "atol": 0}


def _dense_code_contests() -> dict[str, Any]:
    tests = {"input": ["1"] * (MB // 10), "output": ["1"] * (MB // 10)}
    return {"name": "A", "description": "d", "public_tests": tests, "private_tests": {}}


def _colliding_set() -> dict[str, Any]:
    # A MapCoder APPS call problem whose argument is a set of integers that share one hash.
    literal = "{" + ", ".join(str(i * (2**61 - 1)) for i in range(1, 40_000)) + "}"
    return {"id": 1, "description": "d", "starter_code": "def f(s):\n", "test_list": [],
            "sample_io": [{"input": literal, "output": ["1"]}, {"input": "{1}", "output": ["1"]}]}


DENSE = {
    "apps: a set literal of colliding integers": _colliding_set,
    "leetcode: 1 MB of minimal cases": _dense_leetcode,
    "evalplus: 1 MB of one-argument inputs": _dense_evalplus,
    "code_contests: 1 MB of one-byte tests": _dense_code_contests,
}


# --- packages ---------------------------------------------------------------------------------------------


def _outside_file(tmp: Path) -> Path:
    secret = tmp / "outside" / "secret.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(f"{CANARY}\n")
    return secret


def _linked_answer(target: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        package = make_package(tmp / "pkg")
        answer = package / "data" / "sample" / "1.ans"
        answer.unlink()
        answer.symlink_to(_outside_file(tmp) if target == "outside" else target)
        return package

    return build


def _linked_dir(folder: str) -> Callable[[Path], Path]:
    def build(tmp: Path) -> Path:
        package = make_package(tmp / "pkg")
        outside = _outside_file(tmp).parent
        (outside / "1.in").write_text("1\n")
        (outside / "1.ans").write_text(f"{CANARY}\n")
        link = package / "data" / folder
        for child in sorted(link.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() else child.unlink()
        link.rmdir()
        link.symlink_to(outside, target_is_directory=True)
        return package

    return build


def _fifo_answer(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    answer = package / "data" / "secret" / "b.ans"
    answer.unlink()
    os.mkfifo(answer)
    return package


def _linked_statement(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    statement = package / "problem_statement" / "problem.en.tex"
    statement.unlink()
    statement.symlink_to(_outside_file(tmp))
    return package


def _linked_config(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    (package / "problem.yaml").unlink()
    (package / "problem.yaml").symlink_to(_outside_file(tmp))
    return package


def _linked_timelimit(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    (package / ".timelimit").symlink_to(_outside_file(tmp))
    return package


def _linked_validator(tmp: Path) -> Path:
    package = make_package(tmp / "pkg", config="name: V\nvalidation: custom\n", validator={"v/check.py": "x = 1\n"})
    source = package / "output_validators" / "v" / "check.py"
    source.unlink()
    source.symlink_to(_outside_file(tmp))
    return package


def _linked_validator_dir(tmp: Path) -> Path:
    package = make_package(tmp / "pkg", config="name: V\nvalidation: custom\n")
    outside = _outside_file(tmp).parent
    (outside / "check.py").write_text(f"# {CANARY}\n")
    (package / "output_validators").mkdir()
    (package / "output_validators" / "v").symlink_to(outside, target_is_directory=True)
    return package


def _linked_validator_header(tmp: Path) -> Path:
    # problemtools' layout: validate.cc beside validate.h; the header is the link out.
    package = make_package(
        tmp / "pkg", config="name: V\nvalidation: custom\n", validator={"v/validate.cc": '#include "validate.h"\n'}
    )
    (package / "output_validators" / "v" / "validate.h").symlink_to(_outside_file(tmp))
    return package


def _linked_interactor(tmp: Path) -> Path:
    package = make_package(tmp / "pkg", config="name: I\ntype: interactive\n")
    (package / "interactor").mkdir()
    (package / "interactor" / "interactor.py").symlink_to(_outside_file(tmp))
    return package


def _linked_submission(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    (package / "submissions" / "accepted").mkdir(parents=True)
    (package / "submissions" / "accepted" / "sol.py").symlink_to(_outside_file(tmp))
    return package


def _shared_answers(tmp: Path) -> Path:
    # problemtools style: every answer a link to one 1 MB file inside the package (read once).
    package = make_package(tmp / "pkg", secret={})
    shared = package / "data" / "shared.ans"
    shared.write_text("1 " * (MB // 2))
    for index in range(400):
        (package / "data" / "secret" / f"{index}.in").parent.mkdir(parents=True, exist_ok=True)
        (package / "data" / "secret" / f"{index}.in").write_text("1\n")
        (package / "data" / "secret" / f"{index}.ans").symlink_to(shared)
    return package


def _dir_loop(tmp: Path) -> Path:
    package = make_package(tmp / "pkg")
    (package / "data" / "secret" / "loop").symlink_to(package / "data", target_is_directory=True)
    return package


def _support_link(tmp: Path) -> Path:
    folder = tmp / "quix"
    folder.mkdir()
    (folder / "quixbugs_support_files.json").symlink_to(_outside_file(tmp))
    record = {
        "name": "f",
        "buggy_program": "def f(x):\n    return x\n",
        "correct_program": "def f(x):\n    return x\n",
        "pytest_file": "from node import Node\ndef test_one():\n    assert f(1) == 1\n",
        "json_testcases": "",
    }
    return _jsonl("quix/q.jsonl", record)(tmp)


def _function_fix(repo_path: str) -> Callable[[Path], Path]:
    record = {"kind": "function_fix", "id": "fix", "repo_path": repo_path, "failing_tests": ["t"]}
    return _jsonl("fix.jsonl", record)


def _swe(repo_source: str = "", repo: str = "a/b") -> Callable[[Path], Path]:
    record: dict[str, Any] = {"kind": "swe", "instance_id": "i", "repo": repo, "base_commit": "c",
                              "problem_statement": "", "FAIL_TO_PASS": ["t"], "repo_source": repo_source}
    return _jsonl("swe.jsonl", record)


def _swebench_repo(repo: str) -> Callable[[Path], Path]:
    record = {"instance_id": "i", "repo": repo, "base_commit": "c", "problem_statement": "", "FAIL_TO_PASS": '["t"]'}
    return _jsonl("swe.jsonl", record)


CASES: dict[str, Case] = {
    "yaml alias bomb as a title": Case(_yaml_alias_bomb("title"), "error", "aliases expand"),
    "yaml alias bomb as the kind": Case(_yaml_alias_bomb("kind"), "error", "aliases expand"),
    "yaml alias bomb as input_mode": Case(_yaml_alias_bomb("input_mode"), "error", "aliases expand"),
    "yaml alias bomb in problem.yaml": Case(_kattis_alias_bomb, "error", "aliases expand"),
    "yaml of 250k nodes": Case(_yaml_nodes, "error", "YAML nodes"),
    "yaml colliding int keys": Case(_yaml_int_keys, "error", "not strings"),
    "gzip bomb (1 GiB of spaces)": Case(_gzip_bomb, "error", "decompresses to more than"),
    "gzip of many members": Case(_gzip_members, "error", "decompresses to more than"),
    "pickle of a 250 MB string": Case(_pickle_bomb, "error", "decompresses to more than"),
    "pickle of colliding dict keys": Case(_pickle_collisions, "error", "refused opcode"),
    "pickle of a million opcodes": Case(_pickle_many_opcodes, "error", "opcodes"),
    "json nested a million deep": Case(_deep_json, "error", "bad JSON"),
    "json integer of a million digits": Case(_long_int, "error", "bad JSON"),
    "json of 350k empty objects": Case(_empty_dicts, "error", "cannot tell the format"),
    "262k empty tests": Case(_many_tests, "error", "more than 50000 items"),
    "a kind of 1 MB": Case(_huge_kind, "error", "unknown kind"),
    "keys of 128 KB": Case(_huge_keys, "error", "cannot tell the format"),
    "duplicate id of 350 KB": Case(_duplicate_huge_id, "error", "duplicate id"),
    "csv cell of 1 MB": Case(_huge_csv_cell, "error", "cannot tell the format"),
    "lone surrogates": Case(_surrogates, "ok"),
    **{f"apps statement: {k}": Case(_jsonl("apps.jsonl", _apps(v)), "ok") for k, v in REGEX_TEXTS.items()},
    **{
        f"code_contests statement: {k}": Case(
            _jsonl("cc.jsonl", {"content": v, "labels": '{"name": "1. A"}', "test": _FUSION_TEST, "id": 1}), "ok"
        )
        for k, v in REGEX_TEXTS.items()
    },
    **{f"leetcode statement: {k}": Case(_jsonl("lc.jsonl", _leetcode(v)), "ok") for k, v in REGEX_TEXTS.items()},
    "humaneval arrow: spaces in the result": Case(_jsonl("he.jsonl", _humaneval("f(1) == x" + " " * MB + "y")), "ok"),
    "humaneval arrow: many parens": Case(_jsonl("he.jsonl", _humaneval("f(" + ")" * MB + " == ")), "ok"),
    "humaneval arrow: paren space runs": Case(_jsonl("he.jsonl", _humaneval("f(1" + ") " * (MB // 2))), "ok"),
    "humaneval doctests: a million prompts": Case(_jsonl("he.jsonl", _humaneval("    >>>\n" * (MB // 8))), "ok"),
    "humaneval doctests: results of blank lines": Case(
        _jsonl("he.jsonl", _humaneval("    >>> f(1)\n" + "    1\n" * (MB // 6))), "ok"
    ),
    "mbpp called names: a long word": Case(_jsonl("mbpp.jsonl", _mbpp("assert " + "a" * MB + " +")), "ok"),
    **{name: Case(_jsonl("dense.jsonl", build()), "either") for name, build in DENSE.items()},
    "lcb pickle of 1 MB JSON": Case(
        _jsonl("lcb.jsonl", lcb_record(private_test_cases=lcb_compress("[" + "{}," * (MB // 3) + "{}]"))),
        "error",
        "more than 50000 tests",
    ),
    "package: answer linked to /proc/self/environ": Case(_linked_answer("/proc/self/environ"), "error", "refused"),
    "package: answer linked outside": Case(_linked_answer("outside"), "error", "refused"),
    "package: answer linked to /dev/zero": Case(_linked_answer("/dev/zero"), "error", "refused"),
    "package: data/sample linked outside": Case(_linked_dir("sample"), "error", "refused"),
    "package: data/secret linked outside": Case(_linked_dir("secret"), "error", "refused"),
    "package: answer is a FIFO": Case(_fifo_answer, "error", "not a regular file"),
    "package: statement linked outside": Case(_linked_statement, "error", "refused"),
    "package: problem.yaml linked outside": Case(_linked_config, "error", "refused"),
    "package: .timelimit linked outside": Case(_linked_timelimit, "error", "refused"),
    "package: validator linked outside": Case(_linked_validator, "error", "refused"),
    "package: validator directory linked outside": Case(_linked_validator_dir, "error", "refused"),
    "package: validator header linked outside": Case(_linked_validator_header, "error", "refused"),
    "package: interactor linked outside": Case(_linked_interactor, "error", "refused"),
    "package: accepted submission linked outside": Case(_linked_submission, "error", "refused"),
    "package: 400 links to one 1 MB answer": Case(_shared_answers, "ok"),
    "package: a directory link loop": Case(_dir_loop, "ok"),
    "quixbugs support file linked outside": Case(_support_link, "error", "refused"),
    "function_fix repo_path absolute": Case(_function_fix("/etc"), "error", "relative path"),
    "function_fix repo_path climbing out": Case(_function_fix("../../etc"), "error", "outside"),
    "swe repo_source file://": Case(_swe("file:///etc"), "error", "https"),
    "swe repo_source ext::": Case(_swe("ext::sh -c touch% /tmp/pwned"), "error", "https"),
    "swe repo_source absolute path": Case(_swe("/home"), "error", "relative path"),
    "swebench repo that climbs": Case(_swebench_repo("../../etc"), "error", "owner/name"),
}
"""Every case, by name."""
