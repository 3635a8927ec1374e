"""Splitting a large batch over idle sandbox slots (pure logic, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

MIN_TESTS_PER_SHARD = 16
"""Below this a shard's fixed cost (fork-server setup, compilation) outweighs what it saves."""


def shard_count(tests: int, idle_slots: int, fail_fast: bool) -> int:
    """How many shards a batch of ``tests`` should run as, given slots nobody is using.

    ``fail_fast`` batches are never split: they stop at the first failure, in
    order, so tests past it would be run only to be thrown away.
    """
    if fail_fast or idle_slots < 2:
        return 1
    return max(1, min(idle_slots, tests // MIN_TESTS_PER_SHARD))


def split(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` cut into ``parts`` contiguous runs whose sizes differ by at most one, in order."""
    parts = max(1, min(parts, len(items))) if items else 1
    size, extra = divmod(len(items), parts)
    out: list[Sequence[T]] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        out.append(items[start:end])
        start = end
    return out
