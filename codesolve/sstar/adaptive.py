"""``--adaptive``: sample in waves, spending by difficulty.

* A small first wave (``first_wave`` candidates), debugged.
* Survivors that agree on every valid LLM-free input: stop (an easy problem
  costs the first wave only).
* No survivor: sample another wave (twice the candidates so far, up to ``n``).
* Survivors split into several behaviour clusters: stop sampling, and spend
  more on distinguishing inputs before the judge.

The trace records why each extra wave (or the stop) was decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import cluster, valid_inputs
from codesolve.sstar.config import EngineConfig
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.inputs import behaviour_table
from codesolve.sstar.selection import survivors


class Sampler(Protocol):
    """What the waves need of the engine: sampling and debugging."""

    config: EngineConfig
    candidates: list[Candidate]

    async def generate_while_preparing(self, count: int) -> list[Candidate]:
        """The first wave, while the sandbox gets ready."""
        ...

    async def generate(self, count: int, wave: int = 0) -> list[Candidate]:
        """A later wave."""
        ...

    async def debug_all(self, candidates: Sequence[Candidate]) -> None:
        """Debug these candidates."""
        ...


def next_wave(done: int, n: int) -> int:
    """Candidates in the next wave: as many as so far (doubling), up to ``n`` in all."""
    return max(0, min(done, n - done))


async def waves(engine: Sampler, ctx: SelectionContext) -> int:
    """Sample and debug in waves; returns how many extra distinguishing inputs selection should make."""
    n = engine.config.n
    first = await engine.generate_while_preparing(min(engine.config.first_wave, n))
    await engine.debug_all(first)
    wave = 0
    while True:
        alive = survivors(engine.candidates)
        done = len(engine.candidates)
        if not alive:
            more = next_wave(done, n)
            if more == 0:
                ctx.record("decision", "adaptive", wave=wave, why=f"no survivor among all {done} candidates: stop")
                return 0
            wave += 1
            ctx.record("decision", "adaptive", wave=wave, why=f"no survivor among {done}: sampling {more} more")
            ctx.progress(f"adaptive: no survivor among {done}, wave {wave} of {more}")
            await engine.debug_all(await engine.generate(more, wave))
            continue
        clusters, inputs = await free_clusters(ctx, alive)
        if clusters <= 1:
            why = f"{len(alive)} distinct survivor(s) agree on all {inputs} valid LLM-free inputs: stop after {done}"
            ctx.record("decision", "adaptive", wave=wave, why=why)
            return 0
        extra = max(engine.config.free_inputs, engine.config.synth_inputs)
        why = f"survivors split into {clusters} clusters on {inputs} valid inputs: {extra} more distinguishing inputs"
        ctx.record("decision", "adaptive", wave=wave, why=why)
        return extra


async def free_clusters(ctx: SelectionContext, alive: Sequence[Candidate]) -> tuple[int, int]:
    """Behaviour clusters of the survivors on LLM-free inputs (no model call), and the valid inputs used."""
    if len(alive) == 1:
        return 1, 0
    inputs = await ctx.free_rows.inputs()
    table = await behaviour_table(ctx, alive, inputs)
    return len(cluster(table)), len(valid_inputs(table))
