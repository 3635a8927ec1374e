"""Selection's inputs, each making a test of its own: repeats dropped by what the test would be."""

from __future__ import annotations

from collections.abc import Sequence

from codesolve.tasks.base import SynthInput


def distinct(items: Sequence[SynthInput], seen: Sequence[SynthInput] = ()) -> list[SynthInput]:
    """``items`` without repeats, nor any that repeats one of ``seen``; first occurrence kept.

    Two inputs repeat each other when they make the same test: the same text, give or take
    the final newline a test's input gets anyway (a model's ``[[]]`` is the edge case ``[[]]``).
    """
    keys = {same_test(i.text) for i in seen}
    return [i for i in items if not (same_test(i.text) in keys or keys.add(same_test(i.text)))]  # type: ignore[func-returns-value]


def same_test(text: str) -> str:
    """What an input is compared by: its text ending in one newline it did not have (none added if it had)."""
    return text if text.endswith("\n") else text + "\n"
