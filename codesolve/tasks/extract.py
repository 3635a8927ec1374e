"""Pulling code (and synthesized inputs) out of model completions.

A reply is endpoint-controlled text, so this is a line scanner: one pass,
linear in the reply, with no backtracking pattern over it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codesolve.tasks.base import Extracted

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


# Lines that start (after blanks) with ```: the only ones that can open or close a fence. One
# anchored pass in C captures the tag, the rest of the line and its end; every other line is
# skipped without Python work, and bodies are slices of the reply.
_FENCE_LINE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)([^\n]*)(\n|\Z)", re.MULTILINE)


def fenced_blocks(text: str) -> list[Block]:
    """Every complete fenced block, in order (an unclosed fence and what follows it yield nothing).

    A fence opens on a ``` line ending in a newline (the tag follows the
    backticks) and closes on a line holding only ``` between blanks (a CR
    before the newline counts as a blank).
    """
    blocks: list[Block] = []
    tag: str | None = None
    body_start = 0
    for match in _FENCE_LINE.finditer(text):
        if tag is None:
            if match.group(3):
                tag, body_start = match.group(1), match.end()
        elif not match.group(1) and not match.group(2).strip(" \t\r"):
            blocks.append(Block(tag.lower(), text[body_start : match.start()]))
            tag = None
    return blocks


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
