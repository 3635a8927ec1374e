"""Selection's inputs: the model's, the LLM-free ones, and every survivor's behaviour on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from codesolve.sstar.candidate import Candidate
from codesolve.sstar.config import synth_sources
from codesolve.sstar.context import SelectionContext
from codesolve.tasks.base import Behaviour, SynthInput

Table = dict[str, list[Behaviour]]
"""Behaviours by candidate key, one per input, in the inputs' order."""


@dataclass(frozen=True)
class Gathered:
    """Selection's inputs, and the output validator the synthesizer wrote, if the task trusts it."""

    inputs: list[SynthInput]
    validator: str | None = None


async def gather_inputs(ctx: SelectionContext, alive: Sequence[Candidate], extra: int = 0) -> Gathered:
    """The inputs selection runs: LLM-free ones first (cheap), then the model's; deduplicated.

    ``extra`` asks for that many more of each kind (an adaptive run spends
    more on distinguishing inputs when the survivors split).
    """
    sources = synth_sources(ctx.config)
    found: list[SynthInput] = []
    validator: str | None = None
    if sources in ("hypothesis", "both") and ctx.config.free_inputs + extra > 0:
        found += ctx.task.synthetic_inputs(ctx.config.free_inputs + extra, ctx.config.seed)
    if sources in ("llm", "both"):
        made, validator = await model_inputs(ctx, alive, ctx.config.synth_inputs + extra)
        found += made
    seen: set[str] = set()
    unique = [i for i in found if not (i.text in seen or seen.add(i.text))]  # type: ignore[func-returns-value]
    origins = {origin: sum(1 for i in unique if i.origin == origin) for origin in sorted({i.origin for i in unique})}
    ctx.record("note", "synthesize", inputs=len(unique), origins=origins, validator=validator is not None)
    return Gathered(unique, validator)


async def model_inputs(
    ctx: SelectionContext, alive: Sequence[Candidate], count: int
) -> tuple[list[SynthInput], str | None]:
    """Ask the synthesizer for inputs (and, where many answers are right, an output validator)."""
    if count <= 0:
        return [], None
    codes = [c.code or "" for c in alive]
    [reply] = await ctx.ask("synthesizer", ctx.task.synthesis_messages(codes, count), "synthesize")
    return await ctx.task.parse_inputs(reply.text, count), await ctx.task.accept_validator(reply.text)


async def behaviour_table(ctx: SelectionContext, alive: Sequence[Candidate], inputs: Sequence[SynthInput]) -> Table:
    """Run every survivor on every input, concurrently."""
    table: Table = {}

    async def run(candidate: Candidate) -> None:
        table[candidate.key] = await ctx.task.behaviours(candidate.code or "", inputs) if inputs else []

    async with anyio.create_task_group() as group:
        for candidate in alive:
            group.start_soon(run, candidate)
    return table
