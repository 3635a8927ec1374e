"""Output checkers. Standard library only: this file also runs inside the sandbox.

Every checker returns ``(accepted, message)``; the message names the first
difference so that feedback to a model (or a person) is concrete. All of them
are strict by default: nothing is lower-cased, nothing is compared as a set,
and a missing line never passes.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from collections import Counter
from typing import Any

_INT = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
"""A decimal number as C's strtod reads one: ASCII digits only, no underscores (Python's float()
also takes "١٢", "１０" and "1_000"), no hexadecimal (judges do not print it).

Each digit can belong to one place of the pattern only: with the point optional between two runs
of digits (``[0-9]+[.]?[0-9]*``), a long run followed by anything else was tried at every split
before it failed, quadratic in the token's length (16,000 digits and an ``x``: 4.4 s, long
enough for a test's output to stall the driver past the host's patience)."""
_INFINITY = re.compile(r"[+-]?inf(?:inity)?\Z", re.IGNORECASE)
_NAN = re.compile(r"[+-]?nan(?:\([0-9A-Za-z_]*\))?\Z", re.IGNORECASE)
_BLANKS = re.compile(r"[ \t\v\f\r]+")
"""What separates tokens on a line: ASCII white space only, as C's isspace (Python's split()
would also split on Unicode spaces and on the separators 0x1C-0x1F)."""
_NOT_BLANK_IN_C = ("\x1c", "\x1d", "\x1e", "\x1f")
_NAN_WORD = re.compile(r"(?<![\w'\"])[+-]?nan(?![\w'\"])", re.IGNORECASE)
_SHOW = 40


def _show(token: str) -> str:
    return repr(token if len(token) <= _SHOW else token[:_SHOW] + "…")


def token_lines(text: str) -> list[list[str]]:
    """Split ``text`` into lines of tokens separated by ASCII white space, dropping trailing
    blank lines."""
    if text.isascii() and not any(sep in text for sep in _NOT_BLANK_IN_C):
        lines = [line.split() for line in text.split("\n")]  # the same split, in C
    else:
        lines = [[tok for tok in _BLANKS.split(line) if tok] for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_digest(text: str) -> str:
    """Hash of the output as the token checker sees it (for behaviour clustering)."""
    canon = "\n".join(" ".join(line) for line in token_lines(text))
    # surrogatepass: any str (even a lone surrogate) encodes, one way only
    return hashlib.sha256(canon.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _compare_lines(expected: list[list[str]], actual: list[list[str]], same: Any) -> tuple[bool, str]:
    for lineno, (exp_line, act_line) in enumerate(zip(expected, actual), start=1):
        for col, (exp_tok, act_tok) in enumerate(zip(exp_line, act_line), start=1):
            if not same(exp_tok, act_tok):
                return False, f"line {lineno}, token {col}: expected {_show(exp_tok)}, got {_show(act_tok)}"
        if len(exp_line) != len(act_line):
            return False, f"line {lineno}: expected {len(exp_line)} tokens, got {len(act_line)}"
    if len(expected) != len(actual):
        return False, f"expected {len(expected)} lines, got {len(actual)}"
    return True, "ok"


def check_tokens(expected: str, actual: str) -> tuple[bool, str]:
    """Whitespace-token comparison that respects line structure."""
    return _compare_lines(token_lines(expected), token_lines(actual), str.__eq__)


def check_exact(expected: str, actual: str) -> tuple[bool, str]:
    """Byte-for-byte comparison."""
    if expected == actual:
        return True, "ok"
    for index, (a, b) in enumerate(zip(expected, actual)):
        if a != b:
            return False, f"first difference at character {index}: expected {a!r}, got {b!r}"
    return False, f"expected {len(expected)} characters, got {len(actual)}"


def parse_number(token: str) -> float | None:
    """The value of a numeric token as a C judge reads it (``strtod``), else None.

    Total over any string: it never raises, whatever the length. A decimal too large for a
    double is None too (no tolerance can compare it: only the same token matches it), and so
    is NaN in any spelling (see :func:`float_tokens_match`); ``inf`` and ``infinity`` are
    infinities.
    """
    if _DECIMAL.match(token):
        value = float(token)  # (no digit limit: it is int() that has one)
        return value if math.isfinite(value) else None
    if _INFINITY.match(token):
        return -math.inf if token[0] == "-" else math.inf
    return None


def _integer_key(token: str) -> str:
    """An integer token's value as a string (sign, no leading zeros): compared without int(),
    which refuses more than 4,300 digits."""
    digits = token.lstrip("+-").lstrip("0")
    return "-" + digits if token[0] == "-" and digits else digits


def floats_close(expected: float, actual: float, abs_tol: float, rel_tol: float) -> bool:
    """Closeness as Kattis and testlib judge it: within ``abs_tol``, or within ``rel_tol`` of
    the expected value's magnitude. Never for an infinity or a NaN."""
    if not (math.isfinite(expected) and math.isfinite(actual)):
        return False
    diff = abs(expected - actual)
    return diff <= abs_tol or diff <= rel_tol * abs(expected)


def float_tokens_match(exp: str, act: str, abs_tol: float, rel_tol: float) -> bool:
    """Token equality with numeric tolerance, deliberately:

    * NaN never matches, not even NaN;
    * two integers compare exactly (by value: ``+007`` is ``7``), however long;
    * an infinity matches only an infinity of the same sign (testlib's rule);
    * two other numbers (ASCII decimals, as :func:`parse_number`) match within the tolerance;
    * anything else must be the same string.
    """
    if _NAN.match(exp) or _NAN.match(act):
        return False
    if exp == act:
        return True
    if _INT.match(exp) and _INT.match(act):
        return _integer_key(exp) == _integer_key(act)
    a, b = parse_number(exp), parse_number(act)
    if a is None or b is None:
        return False
    if math.isinf(a) or math.isinf(b):
        return a == b
    return floats_close(a, b, abs_tol, rel_tol)


def check_float(expected: str, actual: str, abs_tol: float, rel_tol: float) -> tuple[bool, str]:
    """Token comparison where numbers match within the tolerances."""

    def same(exp: str, act: str) -> bool:
        return float_tokens_match(exp, act, abs_tol, rel_tol)

    return _compare_lines(token_lines(expected), token_lines(actual), same)


def check_unordered(expected: str, actual: str) -> tuple[bool, str]:
    """The multiset of lines (each compared as tokens) must be the same."""
    exp = Counter(" ".join(line) for line in token_lines(expected))
    act = Counter(" ".join(line) for line in token_lines(actual))
    if exp == act:
        return True, "ok"
    missing = exp - act
    extra = act - exp
    if missing:
        return False, f"missing line {_show(next(iter(missing)))}"
    return False, f"unexpected line {_show(next(iter(extra)))}"


def _literal(text: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def values_equal(exp: Any, act: Any, abs_tol: float, rel_tol: float) -> bool:
    """Structural equality as the datasets' own asserts see it (``==``), with two widenings:
    lists and tuples compare alike (JSON has no tuples), and floats match within tolerance.
    Like ``==``, ``True == 1`` and ``0 == False``."""
    if isinstance(exp, bool) or isinstance(act, bool):
        return isinstance(exp, (bool, int)) and isinstance(act, (bool, int)) and exp == act
    if isinstance(exp, (int, float)) and isinstance(act, (int, float)):
        if isinstance(exp, int) and isinstance(act, int):
            return exp == act
        try:
            e, a = float(exp), float(act)
        except OverflowError:
            return False  # an integer past any float's range, beside a float: nothing to forgive
        if math.isnan(e) and math.isnan(a):
            return False
        return exp == act or floats_close(e, a, abs_tol, rel_tol)
    if isinstance(exp, (list, tuple)) and isinstance(act, (list, tuple)):
        return len(exp) == len(act) and all(values_equal(e, a, abs_tol, rel_tol) for e, a in zip(exp, act))
    if isinstance(exp, dict) and isinstance(act, dict):
        return exp.keys() == act.keys() and all(values_equal(exp[k], act[k], abs_tol, rel_tol) for k in exp)
    return type(exp) is type(act) and bool(exp == act)


def check_value(expected: str, actual: str, abs_tol: float, rel_tol: float) -> tuple[bool, str]:
    """Compare two Python literals structurally (call-based problems)."""
    ok_exp, exp = _literal(expected)
    ok_act, act = _literal(actual)
    if not (ok_exp and ok_act):
        if _NAN_WORD.search(expected) or _NAN_WORD.search(actual):
            return False, "NaN never matches"
        return check_tokens(expected, actual)
    if values_equal(exp, act, abs_tol, rel_tol):
        return True, "ok"
    return False, f"expected {_show(expected.strip())}, got {_show(actual.strip())}"


def check(kind: str, expected: str, actual: str, abs_tol: float = 0.0, rel_tol: float = 0.0) -> tuple[bool, str]:
    """Dispatch on the checker kind (all kinds but ``program``)."""
    if kind == "tokens":
        return check_tokens(expected, actual)
    if kind == "exact":
        return check_exact(expected, actual)
    if kind == "float":
        return check_float(expected, actual, abs_tol, rel_tol)
    if kind == "unordered":
        return check_unordered(expected, actual)
    if kind == "value":
        return check_value(expected, actual, abs_tol, rel_tol)
    raise ValueError(f"unknown checker kind {kind!r}")
