"""Selection's inputs: the model's, the LLM-free ones, and every survivor's behaviour on them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio

from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import cluster, disagree
from codesolve.sstar.config import synth_sources
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.distinct import distinct
from codesolve.tasks.base import Behaviour, SynthInput
from sandbox import urgent

Table = dict[str, list[Behaviour]]
"""Behaviours by candidate key, one per input, in the inputs' order."""


@dataclass(frozen=True)
class Gathered:
    """Selection's inputs, and the output validator the synthesizer wrote, if the task trusts it."""

    inputs: list[SynthInput]
    validator: str | None = None


async def gather_and_run(
    ctx: SelectionContext,
    alive: Sequence[Candidate],
    extra: int = 0,
    on_early: Callable[[Table, bool], None] | None = None,
) -> tuple[Gathered, Table]:
    """Selection's inputs and every survivor's behaviour on them.

    The inputs: LLM-free ones first (cheap), then the model's; deduplicated. ``extra`` asks for
    that many more of each kind (an adaptive run spends more on distinguishing inputs when the
    survivors split). The LLM-free inputs do not depend on the synthesizer's reply, so they are
    made (if they were not already) and the survivors run them while it is asked, and the
    model's inputs start the moment its reply is in, beside whatever LLM-free runs are still
    going (at a model latency of 0.25 s, first the whole table after the reply, then waiting
    for the LLM-free runs before starting the model's, was the longest wait on the engine's
    critical path). The table is the one a single run on all the inputs would give.

    ``on_early`` is called with the LLM-free rows when every survivor's is in (``True``: whole),
    and before that, when ``extra`` is 0, once one is foreseen and the others are whole
    (``False``: :meth:`~codesolve.sstar.prefetch.FreeRows.foreseen`); not once the model's rows
    are all in (the judge's first call may be asked ahead on them: :mod:`codesolve.sstar.ahead`).
    """
    sources = synth_sources(ctx.config)
    free_count = ctx.config.free_inputs + extra if sources in ("hypothesis", "both") else 0
    free: list[SynthInput] = []
    free_ready = anyio.Event()
    made: list[SynthInput] = []
    validator: str | None = None
    early: Table = {}
    late: Table = {}
    # Survivors that disagree will need the judge once their table is done: a model call waits
    # on their runs, so those go before other solves' batches (see sandbox.urgency), the
    # waiting ones too from the moment two finished rows differ, on either kind of input.
    # The flag is the solve's: rows run ahead (codesolve.sstar.prefetch) may have raised it.
    split = ctx.free_rows.urgency
    foresight = anyio.CancelScope()

    def early_rows(table: Table, whole: bool) -> None:
        # Not once the model's rows are all in: the table is whole then.
        if len(late) < len(alive) and on_early is not None:
            on_early(table, whole)

    async def foresee() -> None:
        # Rows foreseen before the last is whole (prefetch); whole ones are run_on's to report.
        with foresight:
            keys = [c.key for c in alive]
            while (seen := ctx.free_rows.foreseen(keys)) is None:
                await ctx.free_rows.changed()
            table, whole = seen
            if not whole:
                early_rows(table, False)

    async def run_on(candidate: Candidate, inputs: Sequence[SynthInput], rows: Table) -> None:
        code = candidate.code or ""
        if rows is early:  # most are ready, or running, since the survivor passed its tests
            rows[candidate.key] = await ctx.free_rows.behaviours(candidate.key, code, inputs)
            if len(rows) == len(alive):
                foresight.cancel()
                early_rows(dict(rows), True)
        else:
            rows[candidate.key] = await ctx.task.behaviours(code, inputs) if inputs else []
        # Clean outputs that differ, or (once a table is whole) clusters that differ in any way
        # (a crash where the others print, which `disagree` does not count while rows come in).
        if disagree(list(rows.values())) or (len(rows) == len(alive) and len(cluster(rows)) > 1):
            split.raise_now()

    async def run_free() -> None:
        # Made beside the synthesis call, not before it (usually made already: see prefetch).
        free.extend(await ctx.free_rows.inputs(free_count) if free_count > 0 else [])
        free_ready.set()
        for candidate in alive:
            group.start_soon(run_on, candidate, free, early)

    async with anyio.create_task_group() as group:
        with urgent(split):
            if on_early is not None and extra == 0:  # (foreseen rows are as wide as those run ahead)
                group.start_soon(foresee)
            group.start_soon(run_free)
            if sources in ("llm", "both"):
                made, validator = await model_inputs(ctx, alive, ctx.config.synth_inputs + extra)
            await free_ready.wait()
            new = distinct(made, free)
            for candidate in alive:
                group.start_soon(run_on, candidate, new, late)
    unique = free + new
    origins = {origin: sum(1 for i in unique if i.origin == origin) for origin in sorted({i.origin for i in unique})}
    ctx.record("note", "synthesize", inputs=len(unique), origins=origins, validator=validator is not None)
    return Gathered(unique, validator), {c.key: early[c.key] + late[c.key] for c in alive}


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
    """Run every survivor on every input, concurrently (rows run ahead are reused: :mod:`codesolve.sstar.prefetch`)."""
    table: Table = {}

    async def run(candidate: Candidate) -> None:
        table[candidate.key] = await ctx.free_rows.behaviours(candidate.key, candidate.code or "", inputs)

    async with anyio.create_task_group() as group:
        for candidate in alive:
            group.start_soon(run, candidate)
    return table
