"""Checkers: concrete cases and hypothesis properties (pure logic, no sandbox)."""

from __future__ import annotations

import math
import re
import time

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sandbox import checkers

token = st.text(alphabet=st.characters(blacklist_categories=("Zs", "Cc", "Zl", "Zp")), min_size=1, max_size=6)
line = st.lists(token, min_size=0, max_size=5)
lines = st.lists(line, min_size=1, max_size=6).map(lambda ls: [row for row in ls if row] or [["x"]])


def render(rows: list[list[str]], sep: str = " ", trailing: str = "") -> str:
    return "\n".join(sep.join(row) + trailing for row in rows)


@given(
    lines,
    st.sampled_from([" ", "\t", "  "]),
    st.sampled_from(["", " ", "\t ", "  "]),
    st.sampled_from(["", "\n", "\n\n"]),
)
def test_token_checker_ignores_spacing_and_final_newlines(
    rows: list[list[str]], sep: str, trail: str, end: str
) -> None:
    expected = render(rows)
    actual = render(rows, sep=sep, trailing=trail) + end
    assert checkers.check_tokens(expected, actual)[0]


@given(lines, st.integers(min_value=0, max_value=5))
def test_no_wrong_line_count_passes(rows: list[list[str]], drop: int) -> None:
    assume(len(rows) > 1)
    index = drop % len(rows)
    fewer = rows[:index] + rows[index + 1 :]
    for checker in (checkers.check_tokens, checkers.check_unordered):
        assert not checker(render(rows), render(fewer))[0]
    assert not checkers.check_float(render(rows), render(fewer), 1e-6, 1e-6)[0]
    assert not checkers.check_tokens(render(rows), render([*rows, ["extra"]]))[0]


@given(lines)
def test_merging_two_lines_never_passes(rows: list[list[str]]) -> None:
    assume(len(rows) > 1)
    merged = [rows[0] + rows[1], *rows[2:]]
    assert not checkers.check_tokens(render(rows), render(merged))[0]


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.sampled_from([0.0, 1e-9, 1e-6, 1e-3]),
    st.sampled_from([0.0, 1e-9, 1e-6, 1e-3]),
)
def test_float_tolerance_is_that_of_kattis_and_testlib(a: float, b: float, abs_tol: float, rel_tol: float) -> None:
    """Within the absolute tolerance, or within the relative one of the *expected* value's
    magnitude (symmetric when only an absolute tolerance is given)."""
    left = checkers.check_float(repr(a), repr(b), abs_tol, rel_tol)[0]
    assert left == (abs(a - b) <= abs_tol or abs(a - b) <= rel_tol * abs(a))
    if rel_tol == 0.0:
        assert left == checkers.check_float(repr(b), repr(a), abs_tol, rel_tol)[0]


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.floats(min_value=0, max_value=0.9),
)
def test_float_within_tolerance_passes(x: float, fraction: float) -> None:
    tol = 1e-6
    y = x + fraction * tol
    assume(f"{y!r}" != "nan")
    assert checkers.check_float(repr(x), repr(y), tol, 0.0)[0]


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_nan_never_matches(x: float) -> None:
    assert not checkers.check_float(repr(x), "nan", 1e9, 1e9)[0]
    assert not checkers.check_float(repr(x), "inf", 1e9, 1e9)[0]


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=5))
def test_integers_compare_exactly_under_float_checker(n: int, delta: int) -> None:
    assert checkers.check_float(str(n), str(n), 1.0, 1.0)[0]
    assert not checkers.check_float(str(n), str(n + delta), 10.0, 10.0)[0]


@given(
    st.lists(st.text(alphabet="abc 12", min_size=1, max_size=8).filter(str.strip), min_size=1, max_size=8), st.randoms()
)
def test_unordered_accepts_any_permutation(rows: list[str], rnd: object) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert checkers.check_unordered("\n".join(rows), "\n".join(shuffled))[0]


@given(lines)
def test_digest_agrees_with_token_checker(rows: list[list[str]]) -> None:
    spaced = render(rows, sep="  ", trailing=" ") + "\n"
    assert checkers.output_digest(render(rows)) == checkers.output_digest(spaced)


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ("YES\n", "yes\n", False),
        ("1 2\n3\n", "1 2 3\n", False),
        ("1\n\n2\n", "1\n2\n", False),
        ("a b\n", "a b", True),
        ("a b\n", "a  b  \n\n\n", True),
        ("", "", True),
        ("", "0", False),
        ("0", "", False),
    ],
)
def test_token_cases(expected: str, actual: str, ok: bool) -> None:
    assert checkers.check_tokens(expected, actual)[0] is ok


def test_wa_message_names_the_first_difference() -> None:
    ok, message = checkers.check_tokens("1 2 3\n4 5 6\n", "1 2 3\n4 7 6\n")
    assert not ok
    assert message == "line 2, token 2: expected '5', got '7'"


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ("[1, 2]", "(1, 2)", True),
        ("[1, 2]", "[1, 2, 3]", False),
        ("True", "1", True),
        ("False", "0", True),
        ("True", "2", False),
        ("False", "None", False),
        ("0.1", "0.10000001", True),
        ("0.1", "0.2", False),
        ("{'a': [1]}", "{'a': [1]}", True),
        ("'abc'", "'abd'", False),
        ("1.0", "nan", False),
        ("[1.0]", "[nan]", False),
    ],
)
def test_value_checker(expected: str, actual: str, ok: bool) -> None:
    assert checkers.check_value(expected, actual, 1e-6, 0.0)[0] is ok


def test_exact_checker_is_byte_strict() -> None:
    assert checkers.check_exact("a\n", "a\n")[0]
    assert not checkers.check_exact("a\n", "a")[0]
    assert not checkers.check_exact("a", "a ")[0]


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown checker"):
        checkers.check("fuzzy", "a", "a")


def test_float_edge_values() -> None:
    assert checkers.floats_close(1.0, 1.0 + 1e-7, 1e-6, 0.0)
    assert not checkers.floats_close(math.inf, math.inf, 1.0, 1.0)
    assert checkers.check_float("1000000.0", "1000000.5", 0.0, 1e-6)[0]
    assert not checkers.check_float("1000000.0", "1000002.0", 0.0, 1e-6)[0]


_QUADRATIC_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
"""The decimal pattern before it was made linear: the reference for which tokens are decimals."""


@given(st.text(alphabet="0123456789.eE+-x ", max_size=12))
def test_the_decimal_pattern_takes_the_tokens_it_took(text: str) -> None:
    assert bool(checkers._DECIMAL.match(text)) == bool(_QUADRATIC_DECIMAL.match(text))


@pytest.mark.parametrize("junk", ["1" * 200_000 + "x", "1." + "1" * 200_000 + "x", "1e" + "1" * 200_000 + "x"])
def test_a_long_token_that_is_no_number_is_judged_at_once(junk: str) -> None:
    started = time.perf_counter()
    assert checkers.check("float", "1\n", junk + "\n", 1e-6, 1e-6)[0] is False
    # (trying every split of the digits: 4.4 s at 16,000 of them, ~11 min at 200,000)
    assert time.perf_counter() - started < 2.0
