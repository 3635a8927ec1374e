"""Checker strictness: numbers and white space as a C judge reads them (hypothesis properties),
and a differential test against a small reference checker written from the documented rules
of the Kattis default output validator.

The reference (:func:`kattis_reference`) follows problemtools' documentation of the default
validator: outputs are compared token by token, tokens being separated by white space; with a
float tolerance set, a judge token that is a floating-point number requires the team token to
be one too, accepted when within the absolute tolerance or within the relative tolerance of the
judge's value; every other token must match exactly (``case_sensitive`` here, as our checker is
strict). Floating-point numbers are what ``strtod`` reads in full (ASCII decimal forms, and
the words inf/infinity/nan). Our checker deliberately differs in three documented ways, which
the differential test states instead of hiding: two integer tokens compare exactly (never
within a tolerance), two infinities of the same sign match, and a decimal too large for a
double matches only the same token.
"""

from __future__ import annotations

import math
import re

from hypothesis import assume, example, given
from hypothesis import strategies as st

from sandbox import checkers

ASCII_WHITE = " \t\n\v\f\r"
_REF_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan(?:\([0-9A-Za-z_]*\))?)\Z", re.I
)
_REF_INT = re.compile(r"[+-]?[0-9]+\Z")


def _ref_value(token: str) -> float | None:
    if not _REF_FLOAT.match(token):
        return None
    word = token.lstrip("+-").lower().partition("(")[0]
    if word in ("inf", "infinity", "nan"):
        value = math.nan if word == "nan" else math.inf
        return -value if token.startswith("-") else value
    return float(token)


def _ref_tokens(text: str) -> list[str]:
    return re.split(f"[{re.escape(ASCII_WHITE)}]+", text.strip(ASCII_WHITE)) if text.strip(ASCII_WHITE) else []


def kattis_reference(judge: str, team: str, abs_tol: float, rel_tol: float) -> bool:
    """The default validator's documented rules (line structure ignored, case-sensitive)."""
    expected, actual = _ref_tokens(judge), _ref_tokens(team)
    if len(expected) != len(actual):
        return False
    for j, t in zip(expected, actual, strict=True):
        jval = _ref_value(j)
        if jval is None:
            if j != t:
                return False
            continue
        tval = _ref_value(t)
        if tval is None:
            return False
        diff = abs(jval - tval)
        if not (diff <= abs_tol or diff <= rel_tol * abs(jval)):
            return False
    return True


def deliberate_difference(j: str, t: str) -> bool:
    """Pairs where our checker departs from the reference on purpose (see the module docstring)."""
    both_ints = bool(_REF_INT.match(j) and _REF_INT.match(t))
    jv, tv = _ref_value(j), _ref_value(t)
    infinite = jv is not None and tv is not None and (math.isinf(jv) or math.isinf(tv))
    return both_ints or infinite or (j == t and jv is not None and not math.isnan(jv))


digits = st.text(alphabet="0123456789", min_size=1, max_size=12)
decimal = st.one_of(
    st.builds(lambda s, a, b, e: f"{s}{a}.{b}{e}", st.sampled_from(["", "+", "-"]), digits, digits,
              st.sampled_from(["", "e3", "E-2", "e+0", "e-10"])),
    st.builds(lambda s, a: f"{s}.{a}", st.sampled_from(["", "-"]), digits),
    st.builds(lambda a: f"{a}.", digits),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12).map(repr),
)  # fmt: skip
integer = st.builds(
    lambda s, z, d: f"{s}{z}{d}", st.sampled_from(["", "+", "-"]), st.sampled_from(["", "0", "000"]), digits
)
odd = st.sampled_from(
    ["٤٢", "１０", "1_000", "0x10", "0x1p3", "inf", "-inf", "Infinity", "nan", "NaN", "nan(1)", "1e400", "-1e999",
     "1,5", "1.5.2", "e5", ".", "+", "--1", "3.0000001", "YES", "yes", "\u00a0", "1\u00a02"]
)  # fmt: skip
token = st.one_of(decimal, integer, odd, st.text(alphabet="abc+-.eE019", min_size=1, max_size=6))


@st.composite
def judged_pair(draw: st.DrawFn) -> tuple[str, str]:
    """A judge token and a team token: often a nearby number, sometimes anything."""
    judge = draw(token)
    value = checkers.parse_number(judge)
    choice = draw(st.integers(0, 3))
    if choice == 0 or value is None or math.isinf(value):
        return judge, draw(token)
    if choice == 1:
        return judge, judge
    scale = draw(st.sampled_from([1e-12, 1e-9, 1e-7, 1e-6, 1e-5, 1e-3, 1.0]))
    return judge, repr(value * (1 + draw(st.floats(-2, 2)) * scale) + draw(st.floats(-2, 2)) * scale)


@given(st.lists(judged_pair(), min_size=1, max_size=4), st.sampled_from([0.0, 1e-9, 1e-6]),
       st.sampled_from([0.0, 1e-9, 1e-6]))  # fmt: skip
@example([("3", "3.0000001")], 1e-6, 0.0)
@example([("3.0", "3.0000001")], 1e-6, 0.0)
def test_float_checker_agrees_with_the_kattis_reference(
    pairs: list[tuple[str, str]], abs_tol: float, rel_tol: float
) -> None:
    """Token by token, and on whole one-line outputs, ours and the reference agree except
    where we differ on purpose."""
    assume(all(" " not in j + t and "\u00a0" not in j + t for j, t in pairs))
    for j, t in pairs:
        ours = checkers.float_tokens_match(j, t, abs_tol, rel_tol)
        if not deliberate_difference(j, t):
            assert ours == kattis_reference(j, t, abs_tol, rel_tol), (j, t)
    if not any(deliberate_difference(j, t) for j, t in pairs):
        judge, team = " ".join(j for j, _ in pairs) + "\n", "  ".join(t for _, t in pairs)
        assert checkers.check_float(judge, team, abs_tol, rel_tol)[0] == kattis_reference(judge, team, abs_tol, rel_tol)


def test_float_tolerance_semantics_are_the_standard_ones() -> None:
    """3.0000001 for 3 within 1e-6 is AC; relative tolerance is relative to the expected value."""
    assert checkers.check_float("3\n", "3.0000001\n", 1e-6, 0.0)[0]
    assert checkers.check_float("100\n", "100.00009\n", 0.0, 1e-6)[0]
    assert checkers.check_float("0.5\n", "0.50000049\n", 0.0, 1e-6)[0]
    assert not checkers.check_float("0.5\n", "0.50000051\n", 0.0, 1e-6)[0]  # 1e-6 of 0.5, not of 0.50000051


@given(st.text(min_size=1, max_size=20))
def test_only_ascii_without_underscores_is_a_number(text: str) -> None:
    """Anything Python's float() takes but a C judge does not is no number here."""
    value = checkers.parse_number(text)
    if not text.isascii() or "_" in text or text != text.strip():
        assert value is None
    if value is not None and not math.isinf(value):
        assert re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", text)
        assert value == float(text)


@given(st.sampled_from(["٤٢", "４２", "4_2", "42\u00a0", "⁴²", "𝟒𝟐"]), st.sampled_from([1e-6, 1.0]))
def test_look_alike_digits_never_match_a_number(look_alike: str, tol: float) -> None:
    assert not checkers.check_float("42\n", look_alike + "\n", tol, tol)[0]
    assert not checkers.check_float(look_alike + "\n", "42\n", tol, tol)[0]


@given(st.text(), st.text())
def test_the_float_checker_is_total(expected: str, actual: str) -> None:
    """No token, however long or odd, makes a checker raise."""
    for kind in ("tokens", "float", "unordered", "value"):
        checkers.check(kind, expected, actual, 1e-6, 1e-6)


@given(st.integers(1, 9000), st.sampled_from(["", "+", "0", "+000"]), st.integers(0, 9))
def test_huge_integers_compare_by_value(length: int, prefix: str, last: int) -> None:
    """Past int()'s 4,300 digits, with a sign or leading zeros: equal exactly when the value is."""
    number = "1" * length
    assert checkers.float_tokens_match(number, prefix + number, 1e-6, 1e-6)
    assert checkers.float_tokens_match(number, prefix + number[:-1] + str(last), 1e-6, 1e-6) is (last == 1)
    assert checkers.float_tokens_match("-0", "0", 0.0, 0.0)
    assert checkers.float_tokens_match("+0", "-000", 0.0, 0.0)


words = st.text(alphabet=st.characters(blacklist_characters=ASCII_WHITE), min_size=1, max_size=5)


@given(st.lists(st.lists(words, min_size=1, max_size=4), min_size=1, max_size=4),
       st.sampled_from([" ", "\t", " \v", "\f", "\r "]))  # fmt: skip
def test_tokens_split_on_ascii_white_space_only(rows: list[list[str]], blank: str) -> None:
    """Unicode spaces and the separators 0x1C-0x1F stay inside a token."""
    text = "\n".join(blank.join(row) for row in rows)
    assert checkers.token_lines(text) == rows


@given(st.sampled_from(["\u00a0", "\u3000", "\u2003", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\u2028"]))
def test_non_ascii_white_space_is_not_a_separator(blank: str) -> None:
    assert not checkers.check_tokens("1 2\n", f"1{blank}2\n")[0]
    assert checkers.token_lines(f"a{blank}b c") == [[f"a{blank}b", "c"]]
