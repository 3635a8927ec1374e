"""LeetCode case inputs: the JSON fast path and the Python parser read every text alike."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.tasks.literals import LiteralError, _literal, to_literal
from codesolve.tasks.loaders.leetcode import json_keywords, python_keywords

SPACE = st.text(alphabet=" \t\r\n", max_size=3)
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
# Python-only or hostile spellings mixed in: each must go to the Python parser, or be refused by both.
ODD = st.sampled_from(["(1,)", "'a'", "None", "NaN", "Infinity", "-Infinity", "1_000", "01", "[1,]", "{1}",
                       '"\\/"', '"\\u00e9"', '"\ud800"', "1e999", "+1", ".5", "0x1F", "[1] [2]", "f()",
                       '"a\x01b"', "[\u00a01]", "1 if 1 else 2", "True"])


def _python(text: str) -> dict[str, Any] | None:
    try:
        return python_keywords(text)
    except LiteralError:
        return None


@st.composite
def case_texts(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(NAMES | st.sampled_from(["if", "None", "match", "é"]),
                                    st.one_of(JSON_VALUES.map(json.dumps), ODD)), min_size=1, max_size=4))
    parts = [f"{draw(SPACE)}{name}{draw(SPACE)}={draw(SPACE)}{value}{draw(SPACE)}" for name, value in pairs]
    return ",".join(parts) + draw(st.sampled_from(["", ",", " ", "\n"]))


@given(case_texts())
def test_the_fast_path_agrees_with_the_python_parser(text: str) -> None:
    fast = json_keywords(text.strip())
    if fast is not None:
        assert fast == _python(text.strip())


@pytest.mark.parametrize("text", ["a = 1, a = 2", "if = 1", "a = NaN", 'a = "\\/"', "a = 1,", "a = [1] [2]",
                                  "a = 1 b = 2", "= 1", "a = 1, , b = 2"])
def test_what_the_fast_path_leaves_to_the_parser(text: str) -> None:
    assert json_keywords(text) is None


def test_a_name_given_twice_is_refused_by_both() -> None:
    with pytest.raises(LiteralError, match="twice"):
        python_keywords("a = 1, a = 2")


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary(max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner) | st.tuples(inner, inner)
    | st.dictionaries(st.integers() | st.text(max_size=3), inner, max_size=3)
    | st.frozensets(st.integers() | st.text(max_size=3), max_size=3).map(set),
    max_leaves=12,
)


@given(VALUES)
def test_the_repr_shortcut_writes_what_the_long_way_writes(value: Any) -> None:
    assert to_literal(value) == _literal(value)


def test_every_real_case_reads_the_same_both_ways(data: Path) -> None:
    fast = 0
    with gzip.open(data / "competitive" / "LeetCodeDataset-v0.3.1-test.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            for case in json.loads(line)["input_output"]:
                text = case["input"].strip()
                if text.startswith("{"):
                    continue
                got = json_keywords(text)
                if got is not None:
                    fast += 1
                    assert got == _python(text), text[:200]
    assert fast > 1000  # the fast path is the common one on real data, not a corner
