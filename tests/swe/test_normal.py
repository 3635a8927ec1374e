"""Normalised patches and the majority vote: pure logic, hypothesis-tested."""

from __future__ import annotations

import random
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.sstar.vote import vote_groups
from codesolve.tasks.swe.normal import normal_file, normal_form

NAMES = st.sampled_from(["a", "b", "c"])
PATH = "pkg/mod.py"


@st.composite
def expressions(draw: st.DrawFn, depth: int = 2) -> str:
    """A small arithmetic expression over a, b, c and integers, fully parenthesised where nested."""
    if depth == 0 or draw(st.booleans()):
        return draw(NAMES) if draw(st.booleans()) else str(draw(st.integers(0, 99)))
    op = draw(st.sampled_from(["+", "-", "*"]))
    return f"({draw(expressions(depth - 1))} {op} {draw(expressions(depth - 1))})"


@st.composite
def modules(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Functions as (name, returned expression)."""
    count = draw(st.integers(1, 4))
    return [(f"f{i}", draw(expressions())) for i in range(count)]


def plain(functions: list[tuple[str, str]]) -> str:
    return "".join(f"def {name}(a, b, c):\n    return {expr}\n\n\n" for name, expr in functions)


COMMENT = st.text(alphabet=string.ascii_letters + string.digits + " :'\"-_#()", max_size=20)


@st.composite
def noisy(draw: st.DrawFn, functions: list[tuple[str, str]]) -> str:
    """The same module written differently: comments, blank lines, spacing, parentheses, docstrings."""
    # a docstring's text holds no quote of its own kind: '"""a""""' would not parse
    out = [f'"""{draw(COMMENT).replace(chr(34), "")}"""\n'] if draw(st.booleans()) else []
    for name, expr in functions:
        spaced = expr.replace(" ", draw(st.sampled_from(["", " ", "  "])))
        if draw(st.booleans()):
            spaced = f"({spaced})"
        out.append("\n" * draw(st.integers(0, 3)))
        out.append(f"# {draw(COMMENT)}\n" if draw(st.booleans()) else "")
        out.append(f"def {name}( a,b , c ):{' ' * draw(st.integers(0, 2))}\n")
        if draw(st.booleans()):
            out.append(f"    '''{draw(COMMENT).replace(chr(39), '')}'''\n")
        out.append(f"    return {spaced}  # {draw(COMMENT)}\n" if draw(st.booleans()) else f"    return {spaced}\n")
    return "".join(out)


@settings(max_examples=60)
@given(modules(), st.data())
def test_semantically_identical_patches_have_one_normal_form(
    functions: list[tuple[str, str]], data: st.DataObject
) -> None:
    before = plain([(n, "0") for n, _ in functions])
    one, other = plain(functions), data.draw(noisy(functions))
    assert normal_form({PATH: before}, {PATH: one}) == normal_form({PATH: before}, {PATH: other})
    # Formatting alone changes no meaning: a patch that only reformats has the empty normal form.
    assert normal_form({PATH: one}, {PATH: other}) == ""


@settings(max_examples=60)
@given(modules(), st.data())
def test_patches_that_compute_something_else_have_different_normal_forms(
    functions: list[tuple[str, str]], data: st.DataObject
) -> None:
    before = plain(functions)
    which = data.draw(st.integers(0, len(functions) - 1))
    changed = list(functions)
    name, expr = changed[which]
    changed[which] = (name, f"({expr}) + {data.draw(st.integers(1, 9))}")
    other = list(functions)
    other[which] = (name, f"({expr}) - 1")
    a = normal_form({PATH: before}, {PATH: plain(changed)})
    b = normal_form({PATH: before}, {PATH: data.draw(noisy(other))})
    assert a
    assert b
    assert a != b


def test_files_that_do_not_parse_and_other_files_compare_by_their_lines() -> None:
    assert normal_file("notes.txt", "a  \n\n\nb\n") == normal_file("notes.txt", "a\nb")
    assert normal_file("broken.py", "def f(:\n\n  x") == "def f(:\n  x"
    assert normal_file("notes.txt", "a b") != normal_file("notes.txt", "ab")
    # Only the files whose meaning changes count; paths are part of the form.
    in_x = normal_form({"x.py": "x = 1\n"}, {"x.py": "x = 2\n"})
    assert in_x != normal_form({"y.py": "x = 1\n"}, {"y.py": "x = 2\n"})


KEYS = st.text(string.ascii_lowercase, min_size=1, max_size=4)


@settings(max_examples=60)
@given(st.dictionaries(KEYS, st.sampled_from(["", "p", "q", "r"]), min_size=1), st.integers(0, 2**32))
def test_the_vote_is_the_heaviest_group_and_ignores_arrival_order(forms: dict[str, str], seed: int) -> None:
    weights = {k: 1 + len(k) % 3 for k in forms}
    groups = vote_groups(forms, weights)
    keys = list(forms)
    random.Random(seed).shuffle(keys)
    assert vote_groups({k: forms[k] for k in keys}, weights) == groups  # deterministic ties
    best = groups[0]
    assert best.weight == max(g.weight for g in groups)
    assert all(forms[m] == best.form for m in best.members)
    if any(forms.values()):
        assert best.form != ""  # a change that changes nothing votes only when nothing else does
