"""Fuzzing every loader: any record, in any container, loads or fails with one line, in bounded time and memory.

Records start from a valid-looking record of each format and have fields
replaced by arbitrary JSON values (texts laced with the shapes that used to
blow up: runs of blank lines, headings, arrows, surrogates, deep nesting),
removed, or added; files are written as JSONL, JSON, YAML, CSV, optionally
gzipped. Each example runs under a lowered RLIMIT_AS (512 MB above what the
test process already maps) and hypothesis's 2 s deadline.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders import read_problems
from tests.tasks.conftest import lcb_record
from tests.tasks.hostile_corpus import _apps, _competitive, _humaneval, _leetcode, _mbpp

MEMORY = 512 << 20
TEMPLATES: list[dict[str, Any]] = [
    _competitive(),
    lcb_record(),
    _leetcode("Input: nums = [2,7], target = 9\nOutput: [0,1]"),
    _humaneval("    >>> f(1)\n    1"),
    _mbpp("assert f(2) == 2"),
    _apps("Examples\nInput\n1\nOutput\n1\n"),
    {"id": 1, "description": "d", "sample_io": [{"input": "1", "output": ["1"]}], "test_list": [], "starter_code": ""},
    {"name": "A", "description": "d", "public_tests": {"input": ["1\n"], "output": ["1\n"]}, "private_tests": {}},
    {"content": "Examples\nInput\n1\nOutput\n1", "labels": '{"name": "1. A"}', "test": "[]", "id": 1},
    {"task_id": "t", "entry_point": "f", "prompt": "def f(x):\n", "canonical_solution": "  return x\n",
     "base_input": [[1]], "plus_input": [], "atol": 0},
    {"id": "k", "statement_text": "Memory limit: 1 GB", "judge": {"type": "token_compare_with_float_tolerance",
     "float_tolerance": 1e-6}, "samples": [], "tests": [{"input": "1", "output": "1"}]},
    {"name": "f", "buggy_program": "def f(x):\n    return x\n", "correct_program": "def f(x):\n    return x\n",
     "pytest_file": "def test_1():\n    assert f(1) == 1\n", "json_testcases": "[[1], 1]\n"},
    {"instance_id": "i", "repo": "a/b", "base_commit": "c", "problem_statement": "", "FAIL_TO_PASS": '["t"]'},
    {"kind": "swe", "instance_id": "i", "repo": "a/b", "base_commit": "c", "problem_statement": "",
     "FAIL_TO_PASS": ["t"], "repo_source": "r"},
]  # fmt: skip
SHAPES = ["\n" * 300, " " * 300, "-" * 300, "Examples\n", "Input\n", "Output:", "Input: ", "f(", ")", " ==> ", "\ud800",
          "Sample tests", "```", ">>> f(1)\n", "(" * 50, "a" * 300, "\x00", "\r", "\u2028", "{", "[", "]", '"']

texts = st.lists(st.sampled_from(SHAPES) | st.text(max_size=20), max_size=12).map("".join)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4), max_leaves=20
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    record = dict(draw(st.sampled_from(TEMPLATES)))
    for key in draw(st.lists(st.sampled_from(sorted(record)), max_size=2, unique=True)):
        action = draw(st.sampled_from(["replace", "replace", "json text", "delete"]))
        if action == "delete":
            del record[key]
        elif action == "json text":
            record[key] = json.dumps(draw(values))
        else:
            record[key] = draw(values)
    if draw(st.booleans()):
        record[draw(texts)] = draw(values)
    return record


def _encode(items: list[dict[str, Any]], suffix: str) -> bytes:
    if suffix == ".jsonl":
        return "".join(json.dumps(r) + "\n" for r in items).encode("utf-8", "surrogatepass")
    if suffix == ".json":
        return json.dumps(items).encode()
    if suffix == ".yaml":
        return yaml.safe_dump(items, allow_unicode=False).encode()
    buffer = io.StringIO()
    keys = sorted({k for r in items for k in r})
    writer = csv.DictWriter(buffer, fieldnames=keys)
    writer.writeheader()
    writer.writerows({k: json.dumps(v) if not isinstance(v, str) else v for k, v in r.items()} for r in items)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


@contextmanager
def _memory_cap() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    cap = mapped + MEMORY if hard == resource.RLIM_INFINITY else min(hard, mapped + MEMORY)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(records(), min_size=1, max_size=3),
    suffix=st.sampled_from([".jsonl", ".json", ".yaml", ".csv"]),
    compress=st.booleans(),
    format=st.sampled_from([None] * 6 + ["codesolve", "apps", "leetcode", "livecodebench", "code_contests"]),
)
def test_any_record_loads_or_fails_in_one_line(
    tmp_path: Path, items: list[dict[str, Any]], suffix: str, compress: bool, format: str | None
) -> None:
    data = _encode(items, suffix)
    path = tmp_path / f"fuzz{suffix}{'.gz' if compress else ''}"
    path.write_bytes(gzip.compress(data) if compress else data)
    with _memory_cap():
        try:
            result = read_problems(path, format)
        except ProblemFormatError as exc:
            event(f"refused: {exc.problem[:25]}")
            message = str(exc)
            assert "\n" not in message
            assert len(message) < 1500, message[:3000]
            return
    event(f"loaded as {result.format}")
    for problem in result.problems:
        problem.model_dump_json()  # every text encodes: surrogates were scrubbed at load


@pytest.mark.parametrize("key", ["\n" * 5000, "x" * 100_000, "bad" * 2000 + "\t"])
def test_an_unknown_field_with_a_huge_name_is_quoted_short(tmp_path: Path, key: str) -> None:
    # The name of an unknown key is the record's own text: it was quoted whole (the fuzz test
    # above found a 1,947-character message for a key of a thousand newlines).
    path = tmp_path / "long-key.jsonl"
    path.write_text(json.dumps({**_competitive(), key: None}) + "\n")
    with pytest.raises(ProblemFormatError) as caught:
        read_problems(path)
    message = str(caught.value)
    assert "Extra inputs are not permitted" in message
    assert "\n" not in message
    assert len(message) < len(str(path)) + 200, message
