"""Worked examples in problem statements: Codeforces/CodeChef ``Input``/``Output`` blocks."""

from __future__ import annotations

import re

# APPS writes headings as "-----Examples-----"; Codeforces and CodeChef as plain words.
# Statements are untrusted text. The patterns below only find *candidate* lines: their
# quantifiers are possessive (no backtracking) and none crosses a line, so each is one
# linear pass in C; each candidate line is then checked with str methods. (The patterns
# they replace let `\s*` span lines around optional parts: cubic in a run of blank lines.)
_LEAD = r"^[^\S\n]*+-*+[^\S\n]*+"
_EXAMPLES_AT = re.compile(_LEAD + r"(?:examples?|samples?|sample tests?)", re.MULTILINE | re.IGNORECASE)
_HEADING_AT = re.compile(_LEAD + r"(?:Input|Output|Notes?|Explanation|Hint|Scoring|Interaction)\b", re.MULTILINE)
_HEADING_WORD = re.compile(r"(Input|Output|Notes|Note|Explanation|Hint|Scoring|Interaction)\b")
_EXAMPLE_WORDS = ("sample tests", "sample test", "examples", "example", "samples", "sample")
_CONTENT = re.compile(r"\S")


def _after_dashes(line: str) -> str:
    """``line`` without ``\\s*-*\\s*`` at its start."""
    return line.lstrip().lstrip("-").lstrip()


def _rest_is_decoration(rest: str) -> bool:
    """True when ``rest`` is ``\\s*-*\\s*:?\\s*``: dashes, then an optional colon."""
    rest = rest.strip()
    if rest.endswith(":"):
        rest = rest[:-1].rstrip()
    return not rest.strip("-")


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


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
    One pass: LeetCode-style examples used to be found by a pattern whose lazy
    groups were quadratic in a long line.
    """
    firsts = re.compile(r"^[^\S\n]*+" + re.escape(first), re.MULTILINE)
    pairs: list[tuple[str, str]] = []
    resume = 0
    for match in firsts.finditer(text):
        if match.start() < resume:
            continue
        given = _value(text, match.end())
        if given is None:
            continue
        value, after = given
        label = _CONTENT.search(text, after)
        if label is None or not text.startswith(second, label.start()):
            continue
        shown = _value(text, label.start() + len(second))
        if shown is not None:
            pairs.append((value, shown[0]))
            resume = shown[1]
    return pairs


def _value(text: str, start: int) -> tuple[str, int] | None:
    """The text after a label at ``start`` (or the next non-blank line's), and where its line ends."""
    end = _line_end(text, start)
    value = text[start:end].strip()
    if value:
        return value, end
    following = _CONTENT.search(text, end)
    if following is None:
        return None
    line_start = text.rfind("\n", 0, following.start()) + 1
    line_end = _line_end(text, following.start())
    return text[line_start:line_end].strip(), line_end


def io_examples(statement: str) -> tuple[list[tuple[str, str]], int]:
    """``(input, output)`` pairs after the statement's Example(s) heading, and a count of leftovers.

    Blocks alternate ``Input``/``Output`` and end at the next heading (``Note``,
    ``Explanation``…). When inputs and outputs do not pair up, nothing is
    returned and every block seen counts as unparsed: a wrong public test
    would mislead the solver more than a missing one.
    """
    start = None
    for match in _EXAMPLES_AT.finditer(statement):
        end = _line_end(statement, match.start())
        if is_examples_heading(statement[match.start() : end]):
            start = end + 1
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
    first = ""
    body_start = 0
    for match in _HEADING_AT.finditer(text):
        line_end = _line_end(text, match.start())
        found = heading(text[match.start() : line_end])
        if found is None:  # pragma: no cover - the candidate pattern only finds headings
            continue
        if kind in ("Input", "Output"):
            blocks.append((kind, _body(first, text[body_start : match.start()])))
        kind, first = found
        body_start = line_end + 1
        if kind not in ("Input", "Output"):
            return blocks  # notes and explanations follow the examples
    if kind in ("Input", "Output"):
        blocks.append((kind, _body(first, text[body_start:])))
    return blocks


def _body(first: str, rest: str) -> str:
    lines = ([first] if first else []) + rest.split("\n")
    # Statements pad blocks with blank and non-breaking-space lines; keep inner lines as written.
    # Indices, not repeated slicing: a block of a million blank lines must stay linear.
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "\n".join(line.rstrip() for line in lines[start:end]) + "\n" if end > start else ""
