"""Writing and reading Python literals for call-based tests."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.tasks import pyparse
from codesolve.tasks.literals import LiteralError, parse_value, to_literal
from codesolve.tasks.loaders._python import assert_example, docstring_examples, parse_signature


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([1, "a", None, True], "[1, 'a', None, True]"),
        ((1,), "(1,)"),
        ({"k": [1.5]}, "{'k': [1.5]}"),
        (set(), "set()"),
        ({2, 1}, "{1, 2}"),
        (float("inf"), "1e999"),
        ([-math.inf], "[-1e999]"),
    ],
)
def test_to_literal(value: Any, text: str) -> None:
    assert to_literal(value) == text
    assert parse_value(text) == value


def test_no_literal_form() -> None:
    with pytest.raises(LiteralError, match="NaN"):
        to_literal(float("nan"))
    with pytest.raises(LiteralError, match="object has no Python literal form"):
        to_literal(object())


@pytest.mark.parametrize(
    "text", ["__import__('os').system('true')", "open('x')", "[i for i in range(3)]", "a.b", "1 +", "{[1]: 2}", "{[1]}"]
)
def test_parse_never_evaluates_code(text: str) -> None:
    with pytest.raises(LiteralError):
        parse_value(text)


def test_jsonish() -> None:
    assert parse_value("[null, true, false]", jsonish=True) == [None, True, False]
    assert parse_value("f(x=[true])".replace("f(x=", "").rstrip(")"), jsonish=True) == [True]
    with pytest.raises(LiteralError):
        parse_value("[null]")


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(values)
def test_literal_round_trip(value: Any) -> None:
    assert parse_value(to_literal(value)) == value


def test_signature() -> None:
    sig = parse_signature("class Solution:\n    def f(self, a: int, b: int = 2) -> str:\n        ")
    assert (sig.function_name, sig.params, sig.required, sig.returns) == ("Solution.f", ("a", "b"), 1, "str")
    assert parse_signature("\ndef g(x):\n\t").def_line == "def g(x):"
    with pytest.raises(ValueError, match="defines no function 'h'"):
        parse_signature("def g(x):\n    pass\n", "h")


def test_examples() -> None:
    prompt = '''def f(x):
    """
    >>> f(1)
    2
    >>> f([1, 2]) == 3
    f("a") ➞ "b"
    f(y) => 4
    >>> g(1)
    1
    """
'''
    examples, unparsed = docstring_examples(prompt, "f")
    assert [(e.call_args, e.expected) for e in examples] == [("[1]", "2"), ("[[1, 2]]", "3"), ("['a']", "'b'")]
    assert unparsed == 2  # f(y) has a non-literal argument; g(1) calls another function
    example = assert_example("assert f(1, 'x') == [2]", "f")
    assert example is not None
    assert (example.call_args, example.expected) == ("[1, 'x']", "[2]")
    assert assert_example("assert f(1) > 2", "f") is None


@pytest.mark.parametrize(
    "text", ["[" + "1+" * 200_000 + "1]", "[" + "-" * 200_000 + "1]", "[x" + ".a" * 200_000 + "]"]
)
def test_a_literal_nested_past_the_parser_is_an_ordinary_refusal(text: str) -> None:
    """SyntaxError or ValueError (what every caller handles), never RecursionError or MemoryError."""
    with pytest.raises((SyntaxError, ValueError)):
        pyparse.literal(text)
