"""Behaviour signatures respect the checker: outputs it counts as equal are one behaviour."""

from __future__ import annotations

from codesolve.tasks.signatures import (
    REJECTED,
    VALID,
    behaviour_of,
    float_signature,
    unordered_signature,
    value_signature,
)
from sandbox import Capture, CheckerSpec, TestOutcome, Verdict


def run(text: str, verdict: Verdict = Verdict.AC, result: bool = False) -> TestOutcome:
    capture = Capture(head=text, size=len(text))
    if result:
        return TestOutcome(name="s", verdict=verdict, result=capture, output_digest="")
    return TestOutcome(name="s", verdict=verdict, stdout=capture, output_digest=text)


def test_floats_within_the_tolerance_are_one_behaviour() -> None:
    assert float_signature("1.6666666666666667\n", 1e-6) == float_signature("1.666666667\n", 1e-6)
    assert float_signature("1.67\n", 1e-6) != float_signature("1.66\n", 1e-6)


def test_lines_in_any_order_are_one_behaviour_for_an_unordered_checker() -> None:
    spec = CheckerSpec(kind="unordered")
    a, b = behaviour_of(run("1 2\n3 4\n"), spec), behaviour_of(run("3  4\n1 2\n"), spec)
    assert a.signature == b.signature
    assert behaviour_of(run("1 2\n3 5\n"), spec).signature != a.signature
    assert unordered_signature("a\nb\n") != unordered_signature("a\na\nb\n")  # a multiset, not a set


def test_returned_floats_differing_in_the_last_bits_are_one_behaviour() -> None:
    spec = CheckerSpec(kind="value")
    a = behaviour_of(run("[0.30000000000000004, 2]", result=True), spec)
    b = behaviour_of(run("[0.3, 2]", result=True), spec)
    assert a.signature == b.signature
    assert value_signature("[0.31]") != value_signature("[0.3]")


def test_outputs_a_reference_free_checker_accepts_are_one_behaviour() -> None:
    # Two different roots, both accepted by the checker against an empty reference: one behaviour.
    spec = CheckerSpec(kind="exact")
    first, second = behaviour_of(run("2\n"), spec, validated=True), behaviour_of(run("-2\n"), spec, validated=True)
    assert first.signature == second.signature == VALID
    # A rejection against an empty reference says nothing about validity: the output itself is the behaviour.
    rejected = behaviour_of(run("7\n", Verdict.WA), spec, validated=True)
    assert rejected.ran_cleanly
    assert rejected.signature != VALID
    assert rejected.signature.startswith(REJECTED)
    assert not behaviour_of(run("", Verdict.RE), spec, validated=True).ran_cleanly
