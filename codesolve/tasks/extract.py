"""Pulling code (and synthesized inputs) out of model completions.

A reply is endpoint-controlled text, so this is a line scanner: one pass,
linear in the reply, with no backtracking pattern over it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codesolve.tasks.base import Extracted

_TAG = re.compile(r"[\w+#.-]*")  # one greedy class from a fixed start: linear

LANGUAGE_TAGS: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3", "py3"}),
    "cpp": frozenset({"cpp", "c++", "cc", "cxx", "cpp17"}),
}
"""Fence tags accepted for each language (an untagged fence is accepted too)."""


@dataclass(frozen=True)
class Block:
    """One fenced block: its tag (lower-cased, maybe empty) and body."""

    tag: str
    body: str


def _opening_tag(line: str) -> str | None:
    # A fence opens on a line starting (after blanks) with ``` and ending in a newline; the tag follows.
    stripped = line.lstrip(" \t")
    if not stripped.startswith("```") or not line.endswith("\n"):
        return None
    rest = stripped[3:].lstrip(" \t")
    match = _TAG.match(rest)
    return match.group(0) if match else ""


def _closes(line: str) -> bool:
    # A fence closes on a line holding only ``` between blanks (a CR before the newline is a blank too).
    return line.strip(" \t\r\n") == "```"


def fenced_blocks(text: str) -> list[Block]:
    """Every complete fenced block, in order (an unclosed fence and what follows it yield nothing)."""
    blocks: list[Block] = []
    tag: str | None = None
    body: list[str] = []
    for line in _lines(text):
        if tag is None:
            tag = _opening_tag(line)
            body = []
        elif _closes(line):
            blocks.append(Block(tag.lower(), "".join(body)))
            tag = None
        else:
            body.append(line)
    return blocks


def _lines(text: str) -> list[str]:
    # Only "\n" ends a line (as in the fence grammar); splitlines would also split on \r, \f, \x1c...
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def extract_code(text: str, language: str, required_name: str | None = None) -> Extracted:
    """The last fenced block in ``language`` (or untagged); explain when there is none.

    ``required_name`` (a function or class the task calls) only adds a note
    when missing: the tests will say the rest.
    """
    tags = LANGUAGE_TAGS.get(language, frozenset({language}))
    blocks = fenced_blocks(text)
    if not blocks:
        return Extracted(None, "no fenced code block in the reply")
    matching = [b for b in blocks if b.tag in tags or b.tag == ""]
    if not matching:
        found = ", ".join(sorted({b.tag for b in blocks}))
        return Extracted(None, f"code block in the wrong language ({found}); expected {language}")
    code = matching[-1].body.rstrip() + "\n"
    if not code.strip():
        return Extracted(None, "the code block is empty")
    notes: tuple[str, ...] = ()
    if required_name is not None and not re.search(rf"\b(def|class)\s+{re.escape(required_name)}\b", code):
        notes = (f"{required_name} is not defined",)
    return Extracted(code, "", notes)


def tagged_bodies(text: str, tag: str) -> list[str]:
    """Bodies of the blocks fenced with exactly ``tag``."""
    return [b.body for b in fenced_blocks(text) if b.tag == tag]
