"""A call's arguments are read by ``harness.literal``, which must agree with ``ast.literal_eval``.

The harness reads them without importing :mod:`ast` (its import cost ~7 ms in every call-based
batch): these tests hold the two to the same answers, and the same refusals, on literals and
on text that is not one.
"""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.runtime.harness import literal

# Random text makes the compiler warn (invalid escapes, "1x"): the warnings are about the text.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning", "ignore::DeprecationWarning")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.just(...),
)
hashable = st.recursive(scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner).map(tuple), max_leaves=6)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.sets(hashable, max_size=4)
        | st.dictionaries(hashable, inner, max_size=4)
    ),
    max_leaves=20,
)


def outcome(parse: Any, text: str) -> tuple[str, Any]:
    """What a parser makes of ``text``: ``("value", repr)`` or ``("error", exception class)``."""
    try:
        return "value", repr(parse(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        return "error", type(exc).__name__


@given(values)
@settings(max_examples=300, deadline=None)
def test_every_literal_reads_back_as_ast_reads_it(value: Any) -> None:
    text = repr(value)
    assert outcome(literal, text) == outcome(ast.literal_eval, text)


FRAGMENTS = [
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    ",",
    ":",
    "1",
    "-",
    "+",
    "2j",
    "1.5",
    "'a'",
    "b'x'",
    "x",
    "set",
    "*",
    "**",
    " ",
    "\t",
    "\n",
    "...",
    "None",
    "True",
    "not",
    "lambda",
    "f'",
    "()",
    "#",
    "=",
    ";",
    "\\",
    "0x1f",
    "1_0",
]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
@settings(max_examples=1500, deadline=None)
def test_any_text_is_refused_or_read_as_ast_would(text: str) -> None:
    assert outcome(literal, text) == outcome(ast.literal_eval, text)


@pytest.mark.parametrize(
    "text",
    [
        "-1",
        "+1.5",
        "-0.0",
        "1+2j",
        "-1-2j",
        "1.5-2j",
        "2j+1",
        "1+2",
        "--1",
        "-True",
        "+'a'",
        "-(1)",
        "set()",
        "set([1])",
        "set(x=1)",
        "frozenset()",
        "{1: 2, 1: 3}",
        "{[1]: 2}",
        "{{1}}",
        "{**a}",
        "{*a}",
        "[*a]",
        "(1,)",
        "()",
        "[]",
        "{}",
        " \t[1, 2]",
        "\n[1]",
        "[1] # note",
        "x",
        "f'{1}'",
        "1 if 1 else 2",
        "[[5, 5, 3]]",
        "'\\u00e9'",
        "b'\\xff'",
        "...",
        "1e400",
        "-1e400",
        "0b101",
        "1_000",
        "[1,]",
        "(" * 250 + ")" * 250,
    ],
)
def test_the_edge_cases_agree(text: str) -> None:
    assert outcome(literal, text) == outcome(ast.literal_eval, text)


def test_an_overflowing_float_is_infinite_and_infinities_do_not_subtract() -> None:
    assert math.isinf(literal("1e400"))
    assert outcome(literal, "1e400-1e400") == outcome(ast.literal_eval, "1e400-1e400") == ("error", "ValueError")


def test_the_harness_imports_neither_ast_nor_collections() -> None:
    # Run in a fresh interpreter: what a test child would have to import reading a call's arguments.
    probe = (
        "import sys\n"
        "from sandbox.runtime.harness import literal, plain\n"
        "before = set(sys.modules)\n"
        "plain(literal('[[1, 2], {3: (4, 5)}, set()]'))\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"
