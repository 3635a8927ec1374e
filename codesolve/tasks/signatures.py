"""Behaviour signatures that respect the problem's checker.

Two outputs the checker would count as the same answer must get the same
signature, or valid answers split into clusters of their own:

* ``float``: numbers rounded to the digits the tolerance cares about;
* ``unordered``: the multiset of lines;
* ``value`` (a call's result): floats to nine significant digits;
* a checker program that accepts an output with no reference answer: every
  accepted output is one behaviour, ``valid`` (the checker validated it).
"""

from __future__ import annotations

import hashlib
import math
import re

from codesolve.tasks.base import Behaviour
from codesolve.tasks.feedback import clip
from sandbox import CheckerSpec, TestOutcome, Verdict
from sandbox.checkers import token_lines

SHOWN_CHARS = 1200
VALID = "AC:valid"
"""The signature of an output a reference-free checker accepted."""
REJECTED = "REJ:"
"""Prefix of the signature of an output a checker rejected against an empty reference."""
_INT = re.compile(r"[+-]?\d+")
_FLOAT_LITERAL = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[+-]?\d+)?(?![\w.])|(?<![\w.])-?\d+e[+-]?\d+(?![\w.])")
VALUE_DIGITS = 9
"""Significant digits a returned float keeps in its signature (one computed two ways differs in the last bits)."""


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def float_signature(text: str, tolerance: float) -> str:
    """Output tokens with every non-integer number rounded to the digits the tolerance cares about.

    Two outputs the float checker accepts as equal then (almost always) cluster
    together: ``1.6666666666666667`` and ``1.666666667`` both become ``1.66667``.
    """
    digits = max(1, round(-math.log10(tolerance))) if tolerance > 0 else 15
    out: list[str] = []
    for line in token_lines(text):
        for token in line:
            value = None if _INT.fullmatch(token) else _as_float(token)
            out.append(token if value is None else f"{value:.{digits}g}")
        out.append("\n")
    return hashlib.sha256(" ".join(out).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def value_signature(text: str) -> str:
    """A returned value's repr with every float literal rounded to :data:`VALUE_DIGITS` significant digits.

    ``0.30000000000000004`` and ``0.3`` are one behaviour: summing in another
    order is not another answer. Strings are left alone only approximately (a
    float-looking run inside a string is rounded too): a signature, not a value.
    """
    return _FLOAT_LITERAL.sub(lambda m: f"{float(m.group()):.{VALUE_DIGITS}g}", text)


def unordered_signature(text: str) -> str:
    """The multiset of an output's lines (each as its tokens): the order the unordered checker ignores."""
    return _digest(sorted(" ".join(line) for line in token_lines(text) if line))


def _as_float(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def behaviour_of(outcome: TestOutcome, checker: CheckerSpec | None = None, validated: bool = False) -> Behaviour:
    """A comparable, showable behaviour of one run, as the checker would compare it.

    ``validated`` says the run was checked against an empty reference by a
    checker program: AC then means the checker accepts the output on its own,
    and a rejection says nothing (the checker may need the reference).
    """
    answer = outcome.answer
    if validated and outcome.verdict is Verdict.AC:
        return Behaviour(signature=VALID, shown=clip(answer.text, SHOWN_CHARS), ran_cleanly=True)
    if validated and outcome.verdict is Verdict.WA:
        # Rejected against an empty reference: invalid, or a checker that needs the reference. Which one
        # the table tells (clusters.valid_inputs): a checker that accepted anything needs none.
        digest = outcome.output_digest or _digest([answer.text])
        return Behaviour(signature=f"{REJECTED}{digest}", shown=clip(answer.text, SHOWN_CHARS), ran_cleanly=True)
    if outcome.verdict is Verdict.AC:
        digest = outcome.output_digest or _digest([answer.text])
        kind = checker.kind if checker is not None and not answer.truncated else "tokens"
        if kind == "float" and checker is not None:
            digest = float_signature(answer.text, max(checker.abs_tol, checker.rel_tol))
        elif kind == "unordered":
            digest = unordered_signature(answer.text)
        elif kind == "value" and outcome.result is not None:
            digest = _digest([value_signature(answer.text)])
        return Behaviour(signature=f"AC:{digest}", shown=clip(answer.text, SHOWN_CHARS), ran_cleanly=True)
    detail = f"[{outcome.verdict.value}: {outcome.message}]"
    if outcome.stderr.size:
        detail += "\n" + clip(outcome.stderr.tail or outcome.stderr.head, 400)
    return Behaviour(signature=outcome.verdict.value, shown=detail, ran_cleanly=False)
