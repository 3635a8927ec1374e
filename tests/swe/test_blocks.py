"""The edit blocks, the nearest lines and a node id's parameters, read in linear time: the same
answers as the quadratic versions they replaced (kept here as the reference), and bounded time
on the shapes that made those take minutes."""

from __future__ import annotations

import difflib
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.tasks.swe.blocks import edit_blocks
from codesolve.tasks.swe.edits import canonical_edits, changed_span, nearest
from codesolve.tasks.swe.grading import without_params

_REFERENCE = re.compile(
    r"^[`\s]*(?P<path>[^\s`]+\.\w+)[`\s]*\n(?:```\w*\n)?"
    r"<{7} SEARCH\n(?P<search>.*?)^={7}\n(?P<replace>.*?)^>{7} REPLACE",
    re.M | re.S,
)
"""The pattern the parser was until it met a reply of unfinished blocks (quadratic in their count)."""


def _reference_blocks(text: str) -> list[tuple[str, str, str]]:
    return [(m["path"], m["search"], m["replace"]) for m in _REFERENCE.finditer(text)]


def _reference_nearest_start(lines: list[str], search: str, size: int) -> int:
    best, best_at = -1.0, 0
    for start in range(max(1, len(lines) - size + 1)):
        window = "\n".join(lines[start : start + size])
        ratio = difflib.SequenceMatcher(None, window, search, autojunk=False).quick_ratio()
        if ratio > best:
            best, best_at = ratio, start
    return best_at


def _reference_nearest(text: str, search: str, count: int = 8) -> str:
    lines = text.splitlines()
    size = max(1, min(len(search.splitlines() or [""]), len(lines)))
    best_at = _reference_nearest_start(lines, search, size)
    first, last = max(0, best_at - 1), min(len(lines), best_at + max(size, count) + 1)
    return "\n".join(f"{n + 1:5}| {lines[n]}" for n in range(first, last))


# Lines a reply is made of: markers (exact, near misses, with a CR), paths (fenced, quoted, with
# blanks around), fences, fillers and plain text, so that every rule of the format is exercised.
_LINE = st.sampled_from(
    [
        "<<<<<<< SEARCH",
        "<<<<<<<< SEARCH",
        "<<<<<<< SEARCH\r",
        " <<<<<<< SEARCH",
        "=======",
        "========",
        "=======\r",
        ">>>>>>> REPLACE",
        ">>>>>>> REPLACE and more",
        ">>>>>>>> REPLACE",
        "a.py",
        "pkg/m.py",
        "`a.py`",
        "  src/x.tar.gz \t",
        "```a.py",
        "a.py b.py",
        "a.py:",
        "python",
        "```",
        "```python",
        "````python",
        "`",
        "",
        " \t",
        "\r",
        "x = 1",
        "é.ü",
        "  return a",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LINE, max_size=14), st.booleans())
def test_blocks_are_those_the_reference_pattern_finds(lines: list[str], newline_at_end: bool) -> None:
    text = "\n".join(lines) + ("\n" if newline_at_end else "")
    assert list(edit_blocks(text)) == _reference_blocks(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab\n<=> SEARCHPLAC.py`\t", max_size=80))
def test_blocks_agree_on_arbitrary_text(text: str) -> None:
    assert list(edit_blocks(text)) == _reference_blocks(text)


_TEXT_LINE = st.text(alphabet="abc (x)=\t", max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT_LINE, max_size=12), st.lists(_TEXT_LINE, max_size=5), st.integers(1, 9))
def test_the_nearest_lines_are_those_difflib_picks(lines: list[str], wanted: list[str], count: int) -> None:
    text, search = "\n".join(lines), "\n".join(wanted)
    assert nearest(text, search, count) == _reference_nearest(text, search, count)


_HOSTILE_REPLIES = {
    "blocks that never divide": "a.py\n<<<<<<< SEARCH\nx\n" * 8000,
    "blocks that never end": "a.py\n<<<<<<< SEARCH\nx\n=======\n" * 2000,
    "blank lines": "\n" * 64_000,
    "backtick lines": "`\n" * 32_000,
    "paths and fences": "a.py\n```python\n" * 8000,
}


@pytest.mark.parametrize("reply", list(_HOSTILE_REPLIES.values()), ids=list(_HOSTILE_REPLIES))
def test_a_reply_of_repeated_pieces_is_read_at_once(reply: str) -> None:
    started = time.perf_counter()
    assert list(edit_blocks(reply)) == []
    # (the quadratic pattern: 27 s for the blank lines, 384 s for the blocks that never end)
    assert time.perf_counter() - started < 2.0


def test_the_nearest_lines_in_a_long_file_are_found_at_once() -> None:
    text = "\n".join(f"    value_{i} = compute(value_{i - 1}, {i})" for i in range(5000)) + "\n"
    search = "\n".join(f"    other_{i} = thing({i})" for i in range(2000)) + "\n"
    started = time.perf_counter()
    shown = nearest(text, search + "    value_4990 = compute(value_4989, 4990)\n")
    assert time.perf_counter() - started < 5.0  # (window by window with difflib: 52 s)
    assert shown.count("|") >= 2001  # a window as long as the SEARCH, numbered
    near = nearest(text, "    value_2500 = compute(value_2499, 2500)\n", 2)
    assert "2501|     value_2500 = compute(value_2499, 2500)" in near


_NODE_PART = st.text(alphabet="ab[]_-.x ", max_size=14)


@given(_NODE_PART)
def test_a_node_ids_parameters_go_as_the_pattern_took_them(name: str) -> None:
    assert without_params(name) == re.sub(r"\[.*\]$", "", name)


def test_a_name_of_many_brackets_is_read_at_once() -> None:
    started = time.perf_counter()
    assert without_params("test_a" + "[" * 200_000) == "test_a" + "[" * 200_000
    assert time.perf_counter() - started < 1.0  # (the pattern: ~18 s)


def _reference_canonical(old: str, new: str) -> tuple[str, str]:
    """The SEARCH and REPLACE the line-at-a-time widening gave (the reference for the halving)."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    lo, hi = changed_span(a, b)

    def only_at(search: str, offset: int) -> bool:
        return old.find(search) == offset and old.find(search, offset + 1) < 0

    while (lo > 0 or hi < len(a)) and (lo == hi or not only_at("".join(a[lo:hi]), len("".join(a[:lo])))):
        lo, hi = max(0, lo - 1), min(len(a), hi + 1)
    return "".join(a[lo:hi]), "".join(b[lo : len(b) - (len(a) - hi)])


_FILE = st.lists(st.sampled_from(["a\n", "b\n", "a\n", "c", "\n", "b"]), min_size=1, max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(_FILE, _FILE)
def test_canonical_edits_widen_as_far_as_the_line_at_a_time_widening(old: str, new: str) -> None:
    edits = canonical_edits({"m.py": old}, {"m.py": new})
    if old == new:
        assert edits == []
        return
    [edit] = edits
    assert (edit.search, edit.replace) == _reference_canonical(old, new)


def test_a_change_in_a_file_of_repeated_lines_is_made_canonical_at_once() -> None:
    old = "x = 1\n" * 40_000
    new = old[: 6 * 20_000] + "x = 2\n" + old[6 * 20_001 :]
    started = time.perf_counter()
    [edit] = canonical_edits({"m.py": old}, {"m.py": new})
    assert time.perf_counter() - started < 1.0  # (a line at a time: 7 s here)
    assert edit.replace.count("x = 2") == 1
