"""Pulling code (and synthesized inputs) out of model completions.

A reply is endpoint-controlled text, so fences are found by a scan that is
linear in the reply: no pattern with nested quantifiers runs over it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codesolve.tasks.base import Extracted
from sandbox import languages

LANGUAGE_TAGS: dict[str, frozenset[str]] = {n: frozenset({n, *lang.aliases}) for n, lang in languages().items()}
"""Fence tags accepted for each language: its name and aliases, the ones ``--lang`` takes (an
untagged fence is accepted too)."""


@dataclass(frozen=True)
class Block:
    """One fenced block: its tag (lower-cased, maybe empty) and body."""

    tag: str
    body: str


# A fence opens on a line starting (after blanks) with three or more backticks and ending in a
# newline, the tag right after the backticks; it closes on a line holding only backticks between
# blanks (a CR before the newline counts as a blank), at least as many as opened it: a shorter
# run is the block's text, as in CommonMark, so a model answering in the longer fence it was shown
# (codesolve.tasks.fences) can keep ``` in its code. Each pattern is anchored at line starts, its
# quantifiers are possessive (a tag then the rest of a line without a newline would otherwise
# backtrack quadratically), and every search starts where the last one ended: one linear pass in
# C, with Python work per fence line only, and bodies sliced out of the reply.
_OPENING = re.compile(r"^[ \t]*+(`{3,}+)[ \t]*+([\w+#.-]*+)[^\n]*+\n", re.MULTILINE)
_CLOSING = re.compile(r"^[ \t]*+(`{3,}+)[ \t\r]*+$", re.MULTILINE)


def fenced_blocks(text: str) -> list[Block]:
    """Every complete fenced block, in order (an unclosed fence and what follows it yield nothing)."""
    blocks: list[Block] = []
    position = 0
    while (opening := _OPENING.search(text, position)) is not None:
        closing = _closing(text, opening.end(), len(opening.group(1)))
        if closing is None:
            break
        blocks.append(Block(opening.group(2).lower(), text[opening.end() : closing.start()]))
        position = closing.end()
    return blocks


def _closing(text: str, start: int, length: int) -> re.Match[str] | None:
    """The first line from ``start`` that closes a fence of ``length`` backticks."""
    while (closing := _CLOSING.search(text, start)) is not None and len(closing.group(1)) < length:
        start = closing.end()
    return closing


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
