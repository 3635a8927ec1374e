"""``codet``: dual execution agreement (CodeT, Chen et al. 2023), the baseline users know.

The model writes test cases with expected outputs. Programs that pass exactly
the same tests form a consensus set; a set scores its size (samples) times the
number of tests its programs pass; the best set wins. Pure and order-free:
sets are keyed by content and ties go to the smaller representative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anyio

from codesolve.sstar.candidate import Candidate
from codesolve.sstar.context import SelectionContext
from codesolve.tasks.base import WrittenTest


@dataclass(frozen=True)
class ConsensusSet:
    """Programs (by key) passing the same tests."""

    members: tuple[str, ...]
    passed: tuple[int, ...]
    weight: int

    @property
    def score(self) -> int:
        """CodeT's score: samples in the set × tests they pass."""
        return self.weight * len(self.passed)

    @property
    def representative(self) -> str:
        """The member picked for the set (smallest key)."""
        return self.members[0]


def consensus_sets(
    passes: Mapping[str, Sequence[bool]], weights: Mapping[str, int] | None = None
) -> list[ConsensusSet]:
    """Consensus sets, best first: score, then size, then representative (a function of content only)."""
    groups: dict[tuple[int, ...], list[str]] = {}
    for key, row in passes.items():
        groups.setdefault(tuple(i for i, ok in enumerate(row) if ok), []).append(key)
    sets = [
        ConsensusSet(tuple(sorted(keys)), passed, sum((weights or {}).get(k, 1) for k in keys))
        for passed, keys in groups.items()
    ]
    return sorted(sets, key=lambda s: (-s.score, -s.weight, s.representative))


async def written_tests(ctx: SelectionContext, alive: Sequence[Candidate]) -> list[WrittenTest]:
    """Ask the model for test cases with expected outputs; deduplicated by input."""
    codes = [c.code or "" for c in alive]
    count = ctx.config.codet_tests
    [reply] = await ctx.ask("synthesizer", ctx.task.test_messages(codes, count), "synthesize")
    found = await ctx.task.parse_tests(reply.text, count)
    seen: set[tuple[str, str]] = set()
    unique = [t for t in found if not ((t.input.text, t.expected) in seen or seen.add((t.input.text, t.expected)))]  # type: ignore[func-returns-value]
    ctx.record("note", "synthesize", tests=len(unique))
    return unique


async def pass_table(
    ctx: SelectionContext, alive: Sequence[Candidate], tests: Sequence[WrittenTest]
) -> dict[str, list[bool]]:
    """Every survivor against every written test, concurrently."""
    table: dict[str, list[bool]] = {}

    async def run(candidate: Candidate) -> None:
        table[candidate.key] = await ctx.task.passes(candidate.code or "", tests) if tests else []

    async with anyio.create_task_group() as group:
        for candidate in alive:
            group.start_soon(run, candidate)
    return table
