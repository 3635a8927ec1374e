"""Reply parsing is linear: the fence scanner and the verdict scan, against the patterns they replaced.

The old backtracking patterns live here only as the reference semantics: on
small inputs the scanners must agree with them exactly; on hostile shapes of
1 MB they must finish within the corpus bound of 2 s (CPU time, so a loaded
machine does not make them flaky).
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.sstar.judging import parse_verdict
from codesolve.tasks.extract import extract_code, fenced_blocks

OLD_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
OPENING_LINE = re.compile(r"[ \t]*(`{3,}+)[ \t]*([\w+#.-]*)")
OLD_VERDICT = re.compile(r"\b(?:answer|winner|verdict|choice)?\s*[:=]?\s*\**\s*\b([AB])\b\**\s*$", re.IGNORECASE)

FENCE_PIECES = ["```", "`", "\n", " ", "\t", "py", "python", "x", "#", "+", "\x0c", "é", "\u2028", "```\n"]
VERDICT_PIECES = ["A", "B", "a", "b", " ", "*", ":", "=", "\n", "x", "_", "é", "answer", "\t", "1", "\xa0", "\x1c"]


def old_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), m.group(2)) for m in OLD_FENCE.finditer(text)]


def long_blocks(text: str) -> list[tuple[str, str]]:
    # CommonMark's rule, line by line: a fence closes on a run at least as long as its own, and an
    # unclosed one runs to the end (nothing after it is a block).
    blocks, lines, i = [], text.split("\n"), 0
    while i < len(lines) - 1:  # (an opening line ends in a newline)
        opening = OPENING_LINE.match(lines[i])
        if opening is None:
            i += 1
            continue
        closes = re.compile(rf"[ \t]*`{{{len(opening.group(1))},}}[ \t]*")
        close = next((j for j in range(i + 1, len(lines)) if closes.fullmatch(lines[j])), None)
        if close is None:
            break
        blocks.append((opening.group(2).lower(), "".join(line + "\n" for line in lines[i + 1 : close])))
        i = close + 1
    return blocks


def old_verdict(text: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    match = OLD_VERDICT.search(lines[-1])
    return match.group(1).upper() if match else None


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(FENCE_PIECES), max_size=16).map("".join))
def test_the_fence_scanner_agrees_with_the_patterns(text: str) -> None:
    blocks = [(b.tag, b.body) for b in fenced_blocks(text)]
    assert blocks == long_blocks(text)
    if "````" not in text:  # only runs of four or more backticks are read otherwise than before
        assert blocks == old_blocks(text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(VERDICT_PIECES), max_size=12).map("".join))
def test_the_verdict_scan_agrees_with_the_old_pattern(text: str) -> None:
    assert parse_verdict(text) == old_verdict(text)


def test_a_crlf_reply_still_yields_its_block() -> None:
    assert extract_code("Here:\r\n```python\r\nprint(1)\r\n```\r\n", "python").code == "print(1)\n"


MB = 1_000_000
HOSTILE_REPLIES = {
    "unclosed fence then fence-like lines": "```x\n" + "``` y\n" * (MB // 6),
    "many empty blocks": "```\n```\n" * (MB // 8),
    "one huge block": "```python\n" + "x = 1\n" * (MB // 6) + "```\n",
    "backticks only": "`" * MB,
    "newlines only": "\n" * MB,
    "openers only": "```py\n" * (MB // 6),
    "blanks before fences": (" \t" * 1000 + "```\n") * (MB // 2005),
    "one line, no newline": "```" + "a" * MB,
    "tag characters, no newline": "```" + "+#.-_" * (MB // 5),
    "blanks after a closing fence": "```x\n```" + " " * MB + "x",
    "blanks then backticks, no newline": " " * MB + "```",
}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(FENCE_PIECES), min_size=1, max_size=8).map("".join))
def test_any_shape_repeated_to_a_megabyte_extracts_in_time(unit: str) -> None:
    for text in (unit * (MB // len(unit)), "```py\n" + unit * (MB // len(unit))):
        started = time.thread_time()
        extract_code(text, "python", "solve")
        parse_verdict(text)
        assert time.thread_time() - started < 2.0, repr(unit)


@pytest.mark.parametrize("name", sorted(HOSTILE_REPLIES))
def test_extraction_is_fast_on_a_hostile_megabyte(name: str) -> None:
    text = HOSTILE_REPLIES[name]
    started = time.thread_time()
    extract_code(text, "python", "solve")
    assert time.thread_time() - started < 2.0, name


@pytest.mark.parametrize(
    "text",
    [
        "answer" + " " * MB + "=",
        "Answer: " + " " * MB + "B",
        ("x" + " " * 1000 + "\n") * 1000 + "verdict: **A**",
        "\n" * MB,
        "*" * MB + "A",
    ],
)
def test_the_verdict_is_fast_on_a_hostile_megabyte(text: str) -> None:
    started = time.thread_time()
    parse_verdict(text)
    assert time.thread_time() - started < 2.0


def test_verdicts_still_read_as_before() -> None:
    assert parse_verdict("The second is right.\nAnswer: **B**") == "B"
    assert parse_verdict("winner = a\n\n") == "A"
    assert parse_verdict("I pick Bob") is None
    assert parse_verdict("") is None
