"""Compact, real feedback from sandbox outcomes: what a debugger model (or a person) needs."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from codesolve.tasks.fences import fenced
from sandbox import Limits, TestCase, TestOutcome, Verdict

MAX_FAILURES_SHOWN = 3
FIELD_CHARS = 600


def clip(text: str, limit: int = FIELD_CHARS) -> str:
    """Keep the head and tail of long text, saying how much was cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n…[{len(text) - limit} characters cut]…\n{text[-half:]}"


DIFF_LINES = 2000
"""Lines of each side a diff compares: the diff is clipped to its head and tail anyway, and
difflib's cost grows with the product of the sides (a wrong answer against an expected output
of 100,000 lines took 3.3 s of the event loop)."""


def _diff(expected: str, actual: str) -> str:
    exp, act = expected.splitlines(), actual.splitlines()
    lines = difflib.unified_diff(exp[:DIFF_LINES], act[:DIFF_LINES], "expected", "yours", lineterm="", n=1)
    text = "\n".join(lines)
    if max(len(exp), len(act)) > DIFF_LINES:  # (cut at the end only: the line numbers stay true)
        text += f"\n(only the first {DIFF_LINES} lines of each side were compared)"
    return clip(text, FIELD_CHARS * 2)


def headline(outcome: TestOutcome, limits: Limits) -> str:
    """The verdict line. Resource verdicts name the limit, not the measured figure, so that
    feedback (and the prompt built from it) is the same on every run."""
    verdict = outcome.verdict
    if verdict is Verdict.TLE:
        detail = f"exceeded the time limit ({limits.cpu_seconds:g}s CPU, {limits.wall:g}s wall)"
    elif verdict is Verdict.MLE:
        detail = f"exceeded the memory limit ({limits.memory_mb} MB)"
    elif verdict is Verdict.OLE:
        detail = f"printed more than {limits.output_bytes} bytes"
    else:
        detail = outcome.message
    return f"Test {outcome.name}: {verdict.value}" + (f" — {detail}" if detail else "")


def field(label: str, text: str) -> str:
    """A labelled field of feedback, its text fenced: what a program printed must not read as
    the feedback's own lines (a forged "3/3 public tests passed") to the model it is shown to."""
    body = text.removesuffix("\n")  # (the fence ends the line already)
    return f"{label}:\n{fenced(body)}"


def describe_failure(test: TestCase, outcome: TestOutcome, limits: Limits) -> str:
    """One failing test: verdict, input, expected vs actual (a diff when long), stderr tail."""
    parts = [headline(outcome, limits)]
    shown_input = test.call_args if test.call_args is not None else test.stdin
    parts.append(field("Input", clip(shown_input)))
    actual = outcome.answer.text
    if test.expected is not None and outcome.verdict is Verdict.WA:
        if len(test.expected) + len(actual) > FIELD_CHARS * 2:
            parts.append(field("Difference (expected vs yours)", _diff(test.expected, actual)))
        else:
            parts += [field("Expected output", test.expected), field("Your output", actual)]
    elif actual:
        parts.append(field("Your output", clip(actual)))
    if outcome.result is not None and outcome.stdout.size:
        parts.append(field("Printed (not part of the answer)", clip(outcome.stdout.text)))
    if outcome.stderr.size:
        parts.append(field("Stderr (end)", clip(outcome.stderr.tail or outcome.stderr.head)))
    return "\n".join(parts)


COMPILER_LINES = 20
"""Lines of compiler output shown for a compile error (the first errors are the ones that matter)."""


def compile_error(outcome: TestOutcome) -> str:
    """A compile error once, with the compiler's first errors (every test shares it)."""
    text = outcome.stderr.head or outcome.stderr.text
    first = "\n".join(text.splitlines()[:COMPILER_LINES])
    label = f"Your program did not compile (CE: {outcome.message}). The compiler's first errors"
    return field(label, clip(first, 2000))


def render(tests: Sequence[TestCase], outcomes: Sequence[TestOutcome], limits: Limits) -> str:
    """Feedback for every failing test (the first few in full); empty when all passed."""
    failures = [(t, o) for t, o in zip(tests, outcomes, strict=False) if o.verdict is not Verdict.AC]
    if not failures:
        return ""
    if all(o.verdict is Verdict.CE for _, o in failures):
        return f"0/{len(outcomes)} public tests passed.\n\n{compile_error(failures[0][1])}"
    head = f"{len(outcomes) - len(failures)}/{len(outcomes)} public tests passed."
    shown = [describe_failure(t, o, limits) for t, o in failures[:MAX_FAILURES_SHOWN]]
    more = len(failures) - MAX_FAILURES_SHOWN
    tail = [f"…and {more} more failing test(s)."] if more > 0 else []
    return "\n\n".join([head, *shown, *tail])
