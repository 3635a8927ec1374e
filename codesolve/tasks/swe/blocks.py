"""Reading a model's reply and a file in time linear in their lengths: the edit blocks, the nearest lines.

Both take text a model wrote (up to the reply cap: ~100 KB) and, for the nearest lines, a file
of the repository (thousands of lines), and both run on the event loop while every other solve
waits. They were a regular expression and a window-by-window ``difflib`` ratio, and each was
quadratic: a reply of 2,000 unfinished blocks (a model repeating itself) took 384 s to parse,
64 KB of blank lines 27 s, and the nearest lines to a 2,000-line SEARCH in a 5,000-line file
52 s. Here each line is looked at a bounded number of times; the results are the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator

SEARCH_LINE = "<<<<<<< SEARCH"
DIVIDER_LINE = "======="
REPLACE_LINE = ">>>>>>> REPLACE"
_PATH = re.compile(r"[`\s]*+([^\s`]+\.\w+)[`\s]*+")
"""A block's path line: one path ending in an extension, backticks and blanks around it."""
_FILLER = re.compile(r"[`\s]*+")
"""A line of backticks and blanks only, between a path and its SEARCH line."""
_FENCE = re.compile(r"```\w*")
"""A code fence opened just above a SEARCH line."""


def edit_blocks(text: str) -> Iterator[tuple[str, str, str]]:
    """Every ``(path, search, replace)`` block of ``text``, in order.

    A block is a path line, then (after lines of backticks and blanks, and a fence opened just
    above) a ``<<<<<<< SEARCH`` line; its SEARCH text runs to the next ``=======`` line, its
    REPLACE text from there to the next line that begins ``>>>>>>> REPLACE``. Lines end at
    ``\\n`` only; a marker line must be exactly the marker (``\\r`` included) and, but for the
    last, end with its newline. The next block begins on a line after the last one's REPLACE line.
    """
    lines = text.split("\n")
    last = len(lines) - 1  # the one line with no newline after it
    offsets = _offsets(lines)
    dividers = _next_index(lines, lambda i, line: line == DIVIDER_LINE and i < last)
    replaces = _next_index(lines, lambda _, line: line.startswith(REPLACE_LINE))
    first = 0  # the first line the next block's path may be on
    for at, line in enumerate(lines):
        if at < first or at == last or line != SEARCH_LINE:
            continue
        path = _path_above(lines, at, first)
        divider = dividers[at + 1]
        replace = replaces[divider + 1] if divider is not None else None
        if path is None or divider is None or replace is None:
            continue
        yield path, text[offsets[at + 1] : offsets[divider]], text[offsets[divider + 1] : offsets[replace]]
        first = replace + 1


def _offsets(lines: list[str]) -> list[int]:
    """Where each line starts in the text (and one past the end)."""
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    return offsets


def _next_index(lines: list[str], wanted: Callable[[int, str], bool]) -> list[int | None]:
    """For each line (and one past the end), the first line at or after it that is ``wanted``."""
    found: list[int | None] = [None] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        found[i] = i if wanted(i, lines[i]) else found[i + 1]
    return found


def _path_above(lines: list[str], at: int, first: int) -> str | None:
    """The path of the SEARCH line ``at``: on the nearest line above it (not above ``first``) that
    is neither a fence opened just above it nor backticks and blanks."""
    i = at - 1
    if i >= first and _FENCE.fullmatch(lines[i]):
        i -= 1
    while i >= first and _FILLER.fullmatch(lines[i]):
        i -= 1
    if i < first:
        return None
    found = _PATH.fullmatch(lines[i])
    return found[1] if found else None


def most_like(lines: list[str], search: str, size: int) -> int:
    """The first ``start`` whose window ``"\\n".join(lines[start:start + size])`` is most like
    ``search`` by :meth:`difflib.SequenceMatcher.quick_ratio` (the characters the two have in
    common, as a multiset), the windows' counts slid a line at a time (every window holds the
    same ``size - 1`` newlines, so only the line that leaves and the line that comes change)."""
    want = Counter(search)
    have: Counter[str] = Counter()
    common = 0

    def change(chars: str, step: int) -> None:
        nonlocal common
        for char, times in Counter(chars).items():
            before = have[char]
            have[char] = before + step * times
            common += min(have[char], want[char]) - min(before, want[char])

    change("\n".join(lines[:size]), 1)
    length = sum(len(line) for line in lines[:size]) + max(0, min(size, len(lines)) - 1)
    best, best_at = _ratio(common, length + len(search)), 0
    for start in range(1, len(lines) - size + 1):
        gone, added = lines[start - 1], lines[start + size - 1]
        change(gone, -1)
        change(added, 1)
        length += len(added) - len(gone)
        ratio = _ratio(common, length + len(search))
        if ratio > best:
            best, best_at = ratio, start
    return best_at


def _ratio(matches: int, length: int) -> float:
    # difflib's own formula, so that ties and the first maximum fall where they did
    return 2.0 * matches / length if length else 1.0
