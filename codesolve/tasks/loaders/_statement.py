"""Worked examples in problem statements: Codeforces/CodeChef ``Input``/``Output`` blocks."""

from __future__ import annotations

import re

# APPS writes headings as "-----Examples-----"; Codeforces and CodeChef as plain words.
_EXAMPLES = re.compile(r"^\s*-*\s*(?:Examples?|Samples?|Sample tests?)\s*-*\s*:?\s*$", re.MULTILINE | re.IGNORECASE)
_HEADING = re.compile(r"^\s*-*\s*(Input|Output|Note|Notes|Explanation|Hint|Scoring|Interaction)\b\s*-*\s*:?\s*(.*)$")


def io_examples(statement: str) -> tuple[list[tuple[str, str]], int]:
    """``(input, output)`` pairs after the statement's Example(s) heading, and a count of leftovers.

    Blocks alternate ``Input``/``Output`` and end at the next heading (``Note``,
    ``Explanation``…). When inputs and outputs do not pair up, nothing is
    returned and every block seen counts as unparsed: a wrong public test
    would mislead the solver more than a missing one.
    """
    headings = list(_EXAMPLES.finditer(statement))
    if not headings:
        return [], 0
    blocks = _blocks(statement[headings[-1].end() :])
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
        match = _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        if kind in ("Input", "Output"):
            blocks.append((kind, _body(lines)))
        kind, lines = match.group(1), [match.group(2)] if match.group(2) else []
        if kind not in ("Input", "Output"):
            break  # notes and explanations follow the examples
    else:
        if kind in ("Input", "Output"):
            blocks.append((kind, _body(lines)))
    return blocks


def _body(lines: list[str]) -> str:
    # Statements pad blocks with blank and non-breaking-space lines; keep inner lines as written.
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(line.rstrip() for line in lines) + "\n" if lines else ""
