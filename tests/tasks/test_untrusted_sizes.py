"""Untrusted text of awkward sizes and shapes, where the engine reads it on its event loop or in
a worker thread: linear time, and a handled outcome (never an uncaught exception).

The shapes came from a review of every parser of model replies, program output and dataset
files (stop 34): a number past ``int()``'s 4,300 digits (a big-number problem's operand), an
infinity written ``1e999`` among a call's arguments, an input whose every line counts the lines
after it, JSON nested past the stack from code under test, a driver line split into thousands
of pieces, and a report of thousands of tests looked up name by name.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.tasks.fix import _behaviours
from codesolve.tasks.literals import LiteralError, to_literal
from codesolve.tasks.repo.junit import TestResult
from codesolve.tasks.repo.testrun import TestRun
from codesolve.tasks.swe.grading import NodeIndex, without_params
from codesolve.tasks.synth_call import call_inputs
from codesolve.tasks.synth_stdin import headers, stdin_inputs
from sandbox._stream import DriverStream


def test_a_big_number_operand_is_kept_and_the_rest_mutated() -> None:
    big = "9" * 5000
    made = stdin_inputs([f"2\n{big} 17\n", f"1 {big}\n"], 8, "seed")
    assert made, "no input made"
    assert any(big in text for text in made)  # (kept as it is, never perturbed)


def test_a_huge_integer_among_the_numbers_leaves_the_range_finite() -> None:
    made = stdin_inputs(["3\n" + "1" * 400 + " 5 7\n"], 6, "seed")
    assert len(made) == 6


def test_an_input_whose_every_line_counts_the_rest_is_read_in_linear_time() -> None:
    lines = [str(10_000 - 1 - i) for i in range(10_000)] + [""]
    started = time.perf_counter()
    assert headers(lines) == []  # (the blank last line: no line is followed by that many records)
    text = "\n".join(str(5000 - 1 - i) for i in range(5000)) + "\n\n"
    assert stdin_inputs([text], 24, "seed")
    assert time.perf_counter() - started < 5.0  # (testing the rest afresh for every line: ~56 s)


def test_call_arguments_with_an_infinity_or_a_huge_hex_literal_make_inputs() -> None:
    assert call_inputs("def f(x: float) -> float:", ["[1e999]", "[2.5]"], 8, "seed")
    assert call_inputs("def f(x: int) -> int:", ["[0x" + "f" * 5000 + "]"], 8, "seed")


def test_an_integer_too_long_to_print_has_no_literal() -> None:
    with pytest.raises(LiteralError):
        to_literal([10**5000])


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000 + b"]" * 100_000, b"[1, 2]", b'[{"kind": "value", "text": "1"}, 3]', b"not json"],
    ids=["nested-past-the-stack", "not-rows", "a-row-not-an-object", "not-json"],
)
def test_a_probe_output_the_candidate_spoiled_is_no_result(data: bytes) -> None:
    rows = _behaviours(data, 2)
    assert [row.signature for row in rows] == ["no-result", "no-result"]


def _event(i: int, size: int) -> bytes:
    return json.dumps({"event": "line", "nonce": "n", "i": i, "data": "x" * size}).encode() + b"\n"


@given(st.lists(st.integers(0, 3000), min_size=1, max_size=6), st.lists(st.integers(1, 700), min_size=1, max_size=40))
def test_a_stream_cut_anywhere_gives_the_same_events(sizes: list[int], cuts: list[int]) -> None:
    whole = b"".join(_event(i, size) for i, size in enumerate(sizes)) + b'{"event": "done", "nonce": "n"}'
    pieces, at = [], 0
    for cut in cuts * (len(whole) // sum(cuts) + 1):
        pieces.append(whole[at : at + cut])
        at += cut
        if at >= len(whole):
            break
    stream = DriverStream("n")
    for piece in pieces:
        stream.feed_chunk(piece)
    stream.finish()
    assert [e.get("i") for e in stream.events] == list(range(len(sizes)))
    assert stream.done
    assert stream.garbage == 0


def test_a_long_line_in_small_pieces_is_read_in_linear_time() -> None:
    line = _event(0, 32 << 20)
    stream = DriverStream("n")
    started = time.perf_counter()
    for at in range(0, len(line), 32768):
        stream.feed_chunk(line[at : at + 32768])
    assert len(stream.events) == 1
    assert time.perf_counter() - started < 3.0  # (joined piece by piece: 19 s)


def _reference_nodes(name: str, results: list[str], by: str) -> list[str]:
    """What the lookup was before the index: a scan of the report per name."""
    if by == "nodeid":
        if name in results:
            return [name]
        return [n for n in results if n.split(" ", 1)[0] == name]
    for nodeid in results:
        last = nodeid.rsplit("::", 1)[-1]
        if last == name or without_params(last) == name:
            return [nodeid]
    return []


_ID = st.text(alphabet="ab:[] x", min_size=1, max_size=10)


@given(st.lists(_ID, max_size=12, unique=True), st.lists(_ID, max_size=8), st.sampled_from(["nodeid", "function"]))
def test_the_index_finds_the_nodes_a_scan_found(results: list[str], names: list[str], by: str) -> None:
    run = TestRun({n: TestResult(n, "passed") for n in results}, 0)
    index = NodeIndex(run, "nodeid" if by == "nodeid" else "function")
    for name in names + results[:3]:
        assert index.nodes(name) == _reference_nodes(name, results, by)


def test_a_wrong_answer_against_a_huge_expected_output_is_diffed_at_once() -> None:
    from codesolve.tasks.feedback import DIFF_LINES, _diff

    expected = "".join(f"{i}\n" for i in range(100_000))
    captured = "".join(f"{i if i % 2 else -i}\n" for i in range(400))  # (a head capture, every other line wrong)
    started = time.perf_counter()
    shown = _diff(expected, captured)
    assert time.perf_counter() - started < 2.0  # (every line of both sides: 3.3 s)
    assert shown.startswith("--- expected\n+++ yours\n@@ -2,")  # (line 1, "0", is right)
    assert shown.endswith(f"(only the first {DIFF_LINES} lines of each side were compared)")


def test_a_diff_within_the_bound_is_difflibs_own() -> None:
    import difflib

    from codesolve.tasks.feedback import FIELD_CHARS, _diff, clip

    expected, actual = "a\nb\nc\nd\n" * 50, "a\nb\nx\nd\n" * 50
    hunks = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "expected", "yours", lineterm="", n=1)
    whole = "\n".join(hunks)
    assert _diff(expected, actual) == clip(whole, FIELD_CHARS * 2)
