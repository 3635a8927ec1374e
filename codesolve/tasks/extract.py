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


# A fence opens on a line starting (after blanks) with ``` and ending in a newline, the tag
# right after the backticks; it closes on a line holding only ``` between blanks (a CR before
# the newline counts as a blank). Each pattern is anchored at line starts, its quantifiers are
# possessive (a tag then the rest of a line without a newline would otherwise backtrack
# quadratically), and every search starts where the last one ended: one linear pass in C, with
# Python work per block only, and bodies sliced out of the reply.
_OPENING = re.compile(r"^[ \t]*+```[ \t]*+([\w+#.-]*+)[^\n]*+\n", re.MULTILINE)
_CLOSING = re.compile(r"^[ \t]*+```[ \t\r]*+$", re.MULTILINE)


def fenced_blocks(text: str) -> list[Block]:
    """Every complete fenced block, in order (an unclosed fence and what follows it yield nothing)."""
    blocks: list[Block] = []
    position = 0
    while (opening := _OPENING.search(text, position)) is not None:
        closing = _CLOSING.search(text, opening.end())
        if closing is None:
            break
        blocks.append(Block(opening.group(1).lower(), text[opening.end() : closing.start()]))
        position = closing.end()
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
