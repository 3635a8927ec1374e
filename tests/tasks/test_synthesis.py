"""LLM-free input synthesis: call inputs from signatures and examples, stdin mutations (hypothesis)."""

from __future__ import annotations

import ast

from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.tasks.literals import to_literal
from codesolve.tasks.synth_call import call_inputs, edges, value_shape
from codesolve.tasks.synth_stdin import headers, stdin_inputs

HINTS = [
    "int",
    "float",
    "str",
    "bool",
    "List[int]",
    "list[str]",
    "Tuple[int, str]",
    "Dict[str, int]",
    "Optional[int]",
    "",
]
scalars = st.one_of(st.integers(-1000, 1000), st.text(max_size=6), st.booleans(), st.floats(-100, 100, allow_nan=False))
values = st.one_of(scalars, st.lists(st.integers(-50, 50), max_size=6), st.lists(st.text(max_size=3), max_size=4))


@st.composite
def problems(draw: st.DrawFn) -> tuple[str, list[str], int]:
    arity = draw(st.integers(1, 4))
    hints = [draw(st.sampled_from(HINTS)) for _ in range(arity)]
    params = ", ".join(f"p{i}" + (f": {h}" if h else "") for i, h in enumerate(hints))
    examples = [to_literal([draw(values) for _ in range(arity)]) for _ in range(draw(st.integers(0, 3)))]
    return f"def f({params}) -> int:", examples, arity


@given(problems(), st.integers(0, 40), st.integers(0, 2**32))
@settings(max_examples=150, deadline=None)
def test_synthesized_call_inputs_parse_as_the_right_arity(
    problem: tuple[str, list[str], int], count: int, seed: int
) -> None:
    def_line, examples, arity = problem
    made = call_inputs(def_line, examples, count, str(seed))
    assert len(made) <= count
    assert len(set(made)) == len(made)
    for text in made:
        value = ast.literal_eval(text)
        assert isinstance(value, list)
        assert len(value) == arity


@given(problems(), st.integers(1, 30), st.integers(0, 2**32))
@settings(max_examples=60, deadline=None)
def test_synthesis_is_deterministic_under_a_seed(problem: tuple[str, list[str], int], count: int, seed: int) -> None:
    def_line, examples, _ = problem
    assert call_inputs(def_line, examples, count, str(seed)) == call_inputs(def_line, examples, count, str(seed))


def test_edge_cases_come_first() -> None:
    made = call_inputs("def f(xs: List[int], k: int) -> int:", ["[[3, 1, 2], 5]"], 12, "0")
    assert made[0] == "[[], 5]"  # the empty list, then zero, one at a time
    assert "[[3, 1, 2], 0]" in made[:4]
    assert [] in edges(value_shape([1, 2]))
    assert 0 in edges(value_shape(7))


arrays = st.lists(st.integers(-100, 100), min_size=1, max_size=8)


@given(st.lists(arrays, min_size=1, max_size=3), st.integers(1, 12), st.integers(0, 2**32))
@settings(max_examples=100, deadline=None)
def test_stdin_mutations_keep_the_count_header_consistent(inputs: list[list[int]], count: int, seed: int) -> None:
    public = [f"{len(a)}\n{' '.join(map(str, a))}\n" for a in inputs]
    made = stdin_inputs(public, count, str(seed))
    assert len(made) <= count
    assert len(set(made)) == len(made)
    low, high = min(min(a) for a in inputs), max(max(a) for a in inputs)
    for text in made:
        lines = text.splitlines()
        as_array = len(lines) == 2 and int(lines[0]) == len(lines[1].split())
        # "1\n5" reads as one record as well as an array of one: records of one number are consistent too.
        as_records = int(lines[0]) == len(lines) - 1 and all(len(line.split()) == 1 for line in lines[1:])
        assert as_array or as_records, text
        assert all(min(low, 1) <= int(t) <= max(high, 8) for line in lines[1:] for t in line.split())
    assert stdin_inputs(public, count, str(seed)) == made


def test_record_lists_regrow_whole_records() -> None:
    assert headers(["2", "1 2", "3 4"])[0].per_line
    for text in stdin_inputs(["3\n1 2\n3 4\n5 6\n"], 8, "1"):
        lines = text.splitlines()
        assert int(lines[0]) == len(lines) - 1
        assert all(len(line.split()) == 2 for line in lines[1:])
