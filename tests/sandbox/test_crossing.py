"""What crosses between a check's process and its program's (pure: ``sandbox/runtime/crossing.py``).

Plain data sent either way is rebuilt with the same types and values (nan, infinities, -0.0,
sets and big ints included); subclasses of plain types arrive as their base value, read
through the base type's own methods; anything else stays where it is, as a handle.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.runtime import crossing, harness

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**5000, max_value=10**5001)
    | st.floats()
    | st.complex_numbers()
    | st.text()
    | st.binary()
)
HASHABLE = st.integers() | st.text() | st.tuples(st.integers(), st.text())
PLAIN = st.recursive(
    SCALARS | st.sets(HASHABLE, max_size=4) | st.frozensets(HASHABLE, max_size=4),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(HASHABLE, inner, max_size=4),
    max_leaves=20,
)


def sides() -> tuple[crossing.Side, crossing.Side]:
    """The program's side and the check's (no pipes: only their encoding is used here)."""
    return crossing.Side(-1, -1, program=True), crossing.Side(-1, -1, program=False, peer=-1)


def same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (nan equal to nan, -0.0 told from 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def through(sent: Any) -> Any:
    """What the other side parses from the text of ``sent`` (as Side.send and Side.receive carry it)."""
    return crossing._unlimited(harness.literal, crossing._unlimited(repr, sent))


@given(PLAIN)
def test_plain_data_is_rebuilt_as_it_was_either_way(value: Any) -> None:
    program, check = sides()
    assert same(check.decode(through(program.encode(value))), value)
    assert same(program.decode(through(check.encode(value))), value)
    assert program.objects == check.objects == []  # no handle for plain data


class Lying(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__

    def __int__(self) -> int:
        return 12345


class LyingText(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__

    def __str__(self) -> str:
        return "anything"


@given(st.integers(), st.text())
def test_a_subclass_arrives_as_the_value_it_holds_not_what_its_methods_say(n: int, s: str) -> None:
    program, check = sides()
    assert same(check.decode(through(program.encode([Lying(n), LyingText(s)]))), [n, s])


def test_an_object_stays_with_the_program_as_a_handle() -> None:
    class Anything:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    program, check = sides()
    thing = Anything()
    got = check.decode(through(program.encode({"x": [thing, thing]})))
    assert program.objects == [thing]  # one handle, however often it crosses
    first, second = got["x"]
    assert isinstance(first, crossing.Remote)
    assert first is second  # the same handle each time: `is` holds on the other side
    assert (first == 5) is False  # equal to nothing the check holds
    assert program.decode(through(check.encode(got))) == {"x": [thing, thing]}


def test_a_builtin_or_a_module_crosses_by_name() -> None:
    program, check = sides()
    assert program.decode(through(check.encode([int, len, math]))) == [int, len, math]


def test_the_program_reads_no_private_name_of_the_checks_objects() -> None:
    _, check = sides()
    check.handle(object())
    with pytest.raises(AttributeError):
        check.serve(("getattr", 0, "__class__"))
    with pytest.raises(AttributeError):
        check.serve(("setattr", 0, "_hidden", 1))
