"""Worked examples in problem statements: Codeforces/CodeChef ``Input``/``Output`` blocks."""

from __future__ import annotations

import re

# APPS writes headings as "-----Examples-----"; Codeforces and CodeChef as plain words.
# Statements are untrusted text: headings are recognised by a scan of each line with str
# methods (linear), never by a backtracking pattern spanning lines (the old one was cubic
# in a run of blank lines). The only regex left matches a fixed word at a fixed position.
_EXAMPLE_WORDS = ("sample tests", "sample test", "examples", "example", "samples", "sample")
_HEADING_WORD = re.compile(r"(Input|Output|Notes|Note|Explanation|Hint|Scoring|Interaction)\b")


def _after_dashes(line: str) -> str:
    """``line`` without ``\\s*-*\\s*`` at its start."""
    return line.lstrip().lstrip("-").lstrip()


def _rest_is_decoration(rest: str) -> bool:
    """True when ``rest`` is ``\\s*-*\\s*:?\\s*``: dashes, then an optional colon."""
    rest = rest.strip()
    if rest.endswith(":"):
        rest = rest[:-1].rstrip()
    return not rest.strip("-")


def is_examples_heading(line: str) -> bool:
    """``Examples``, ``Sample tests:`` or ``-----Examples-----`` alone on its line (any case)."""
    head = _after_dashes(line)
    return any(head[: len(word)].lower() == word and _rest_is_decoration(head[len(word) :]) for word in _EXAMPLE_WORDS)


def heading(line: str) -> tuple[str, str] | None:
    """``(kind, text after it)`` for an ``Input``/``Output``/``Note``… heading line, else ``None``."""
    head = _after_dashes(line)
    match = _HEADING_WORD.match(head)
    if match is None:
        return None
    rest = head[match.end() :].lstrip().lstrip("-").lstrip()
    rest = rest[1:].lstrip() if rest.startswith(":") else rest
    return match.group(1), rest.rstrip()


def labelled_pairs(text: str, first: str, second: str) -> list[tuple[str, str]]:
    """``(a, b)`` for every ``first`` line followed, past blank lines only, by a ``second`` line.

    ``Input: a`` then ``Output: b`` (labels at the start of a line, after
    indentation). A label with nothing after it takes the next non-blank line.
    A linear scan of the lines: LeetCode-style examples used to be found by a
    pattern whose lazy groups were quadratic in a long line.
    """
    lines = text.split("\n")
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(lines):
        found = _labelled(lines, index, first)
        if found is not None:
            value, after = found
            label = _next_content(lines, after + 1)
            answer = _labelled(lines, label, second) if label < len(lines) else None
            if answer is not None:
                pairs.append((value, answer[0]))
                index = answer[1] + 1
                continue
        index += 1
    return pairs


def _next_content(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _labelled(lines: list[str], index: int, label: str) -> tuple[str, int] | None:
    """The value after ``label`` on line ``index`` (or on the next non-blank line), and that line's index."""
    head = lines[index].lstrip()
    if not head.startswith(label):
        return None
    value = head[len(label) :].strip()
    if value:
        return value, index
    following = _next_content(lines, index + 1)
    return (lines[following].strip(), following) if following < len(lines) else None


def io_examples(statement: str) -> tuple[list[tuple[str, str]], int]:
    """``(input, output)`` pairs after the statement's Example(s) heading, and a count of leftovers.

    Blocks alternate ``Input``/``Output`` and end at the next heading (``Note``,
    ``Explanation``…). When inputs and outputs do not pair up, nothing is
    returned and every block seen counts as unparsed: a wrong public test
    would mislead the solver more than a missing one.
    """
    start = None
    offset = 0
    for line in statement.split("\n"):
        offset += len(line) + 1
        if is_examples_heading(line):
            start = offset
    if start is None:
        return [], 0
    blocks = _blocks(statement[start:])
    inputs = [body for kind, body in blocks if kind == "Input"]
    outputs = [body for kind, body in blocks if kind == "Output"]
    kinds = [kind for kind, _ in blocks]
    alternating = kinds == ["Input", "Output"] * (len(kinds) // 2)
    if not blocks or not alternating or any(not body.strip() for _, body in blocks):
        return [], len(inputs)
    return list(zip(inputs, outputs, strict=True)), 0


def _blocks(text: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    kind: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        found = heading(line)
        if found is None:
            lines.append(line)
            continue
        if kind in ("Input", "Output"):
            blocks.append((kind, _body(lines)))
        kind, lines = found[0], [found[1]] if found[1] else []
        if kind not in ("Input", "Output"):
            break  # notes and explanations follow the examples
    else:
        if kind in ("Input", "Output"):
            blocks.append((kind, _body(lines)))
    return blocks


def _body(lines: list[str]) -> str:
    # Statements pad blocks with blank and non-breaking-space lines; keep inner lines as written.
    # Indices, not repeated slicing: a block of a million blank lines must stay linear.
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(line.rstrip() for line in lines[start:end]) + "\n" if end > start else ""
