"""Output validators: a solver-side check that an output is *a* right answer, without a reference.

Where a problem accepts many answers ("print any root"), candidates that all
answer correctly print different outputs and would split into clusters of
valid answers. The solver's view holds no hidden check code, so the model is
asked (beside its distinguishing inputs) for a property check written from the
statement alone::

    def valid(input, output) -> bool

(call problems: ``input`` is the list of arguments and ``output`` the returned
value; stdin problems: both are text). It is untrusted code: it runs only in
the sandbox, through :data:`HARNESS`, each call under a CPU alarm, its verdicts
read from the result channel (what it prints decides nothing). Before it is
used it must pass a trial (:func:`trial_cases`, :func:`trial_passed`): accept
every public test's expected output and reject most obviously corrupted ones.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import Any

from codesolve.tasks import pyparse
from codesolve.tasks.extract import fenced_blocks
from codesolve.tasks.literals import LiteralError, parse_value, to_literal
from sandbox import Limits

VALIDATOR_LIMITS = Limits(cpu_seconds=3, wall_seconds=6, memory_mb=256)
"""One validation batch. 256 MiB keeps the container shape of the synthesizer's generators."""
CALL_SECONDS = 0.5
"""Wall time of one ``valid`` call (a real-time alarm: a sleeping validator is stopped too);
past three time-outs the rest are left undecided."""
MAX_CASES = 512
"""Most (input, output) pairs validated in one batch; the rest stay undecided (never merged)."""
REJECT_SHARE = 0.5
"""A validator must reject more than this share of the corrupted public outputs."""
_ENTRY = "__codesolve_validate"
_INT = re.compile(r"(?<![\w.])-?\d+(?![\w.])")

HARNESS = """

def __codesolve_validate(cases, call_mode):
    import ast as _ast, signal as _signal
    def _alarm(*_):
        raise TimeoutError("per-call limit")
    _signal.signal(_signal.SIGALRM, _alarm)
    out, timeouts = [], 0
    for given, produced in cases:
        if timeouts >= 3:
            out.append(None)
            continue
        try:
            args = _ast.literal_eval(given) if call_mode else given
            value = _ast.literal_eval(produced) if call_mode else produced
            _signal.setitimer(_signal.ITIMER_REAL, {seconds})
            verdict = valid(args, value)
            _signal.setitimer(_signal.ITIMER_REAL, 0)
            out.append(verdict if verdict is True or verdict is False else None)
        except BaseException as exc:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
            timeouts += isinstance(exc, TimeoutError)
            out.append(None)
    return out
""".replace("{seconds}", repr(CALL_SECONDS))
"""Appended to the validator: one process runs every case; a non-bool answer or a crash is undecided."""


def validator_code(completion: str) -> str | None:
    """The last ```validator block of a reply that defines ``valid``, if any."""
    blocks = [b.body for b in fenced_blocks(completion) if b.tag == "validator"]
    for body in reversed(blocks):
        try:
            tree = pyparse.parse(body)
        except (SyntaxError, ValueError):  # (pyparse: too deep a nesting is a SyntaxError)
            continue
        if any(isinstance(n, ast.FunctionDef) and n.name == "valid" for n in tree.body):
            return body
    return None


def program_source(code: str) -> tuple[str, str]:
    """The sandbox program's source and its entry function."""
    return code + HARNESS, _ENTRY


def call_args(cases: Sequence[tuple[str, str]], call_mode: bool) -> str:
    """The literal argument list of one validation batch."""
    return repr([[list(pair) for pair in cases[:MAX_CASES]], call_mode])


def read_verdicts(answer: str, count: int) -> list[bool | None]:
    """The harness's verdicts (``None`` for each case when its answer is unreadable or short)."""
    try:
        value = parse_value(answer)
    except LiteralError:
        value = None
    if not isinstance(value, list) or len(value) != min(count, MAX_CASES):
        return [None] * count
    verdicts: list[bool | None] = [v if isinstance(v, bool) else None for v in value]
    return verdicts + [None] * (count - len(verdicts))


def corruptions(expected: str, call_mode: bool) -> list[str]:
    """Obviously wrong variants of a right output (a trustworthy validator rejects most of them)."""
    made = _value_corruptions(expected) if call_mode else _text_corruptions(expected)
    return [m for m in dict.fromkeys(made) if m != expected]


def _value_corruptions(expected: str) -> list[str]:
    try:
        value = parse_value(expected)
    except LiteralError:
        return []
    out: list[str] = []
    for wrong in _wrong_values(value):
        try:
            out.append(to_literal(wrong))
        except LiteralError:
            continue
    return out


def _wrong_values(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value, None]
    if isinstance(value, (int, float)):
        return [value + 1, -value - 7, value * 3 + 11, None]
    if isinstance(value, str):
        return [value + "x", "" if value else "a", value[::-1] + "?"]
    if isinstance(value, (list, tuple)):
        grown = [*value, value[0] if value else 1]
        return [type(value)(value[:-1]) if value else [0], type(value)(grown), None]
    if isinstance(value, dict):
        return [{}, None] if value else [{0: 0}, None]
    return [0, "x"] if value is None else [None]


def _text_corruptions(expected: str) -> list[str]:
    bumped = _INT.sub(lambda m: str(int(m.group()) + 1), expected)
    return [bumped, "" if expected.strip() else "0\n", expected.rstrip("\n") + "\n-1\n"]


def trial_cases(public: Sequence[tuple[str, str]], call_mode: bool) -> tuple[list[tuple[str, str]], int]:
    """The trial's cases: every public (input, expected) first, then their corruptions; and how many are public."""
    right = [(given, expected) for given, expected in public]
    wrong = [(given, bad) for given, expected in public for bad in corruptions(expected, call_mode)]
    return right + wrong, len(right)


def trial_passed(verdicts: Sequence[bool | None], public: int) -> bool:
    """Trusted: it accepts every public expected output and rejects more than half of the corruptions."""
    right, wrong = verdicts[:public], verdicts[public:]
    if not right or not wrong or not all(v is True for v in right):
        return False
    return sum(v is False for v in wrong) > REJECT_SHARE * len(wrong)
