"""Phase 3: choosing among public-passing candidates.

* ``sstar``: inputs from the model and LLM-free synthesis, survivors clustered
  by what they actually print on the valid ones, then the grounded judge
  (:mod:`codesolve.sstar.judging`) when more than one behaviour remains;
* ``majority``: a vote over the candidates' normal forms where the task has them (SWE: normalised
  patches, nothing run); else the same clusters (LLM-free inputs by default), the one agreeing most wins;
* ``codet``: dual execution agreement on model-written tests (:mod:`codesolve.sstar.codet`);
* ``first`` and ``random``: the cheap baselines.

Every selector breaks ties by content (cluster size, then robustness, then the
code hash), never by arrival order. Selection works through a
:class:`SelectionContext`, never the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import anyio

from codesolve.sstar.ahead import AskedAhead
from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import by_agreement, cluster
from codesolve.sstar.codet import consensus_sets, pass_table, written_tests
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.inputs import gather_and_run
from codesolve.sstar.judging import judge_comparator, knockout
from codesolve.sstar.validity import validated_table
from codesolve.sstar.vote import vote_groups


@dataclass(frozen=True)
class Pick:
    """The chosen candidate and why."""

    candidate: Candidate | None
    why: str
    survivors: int = 0
    clusters: int = 0


def survivors(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Public-passing candidates, one per distinct program, in code-key order."""
    unique: dict[str, Candidate] = {}
    for c in candidates:
        if c.survives:
            unique.setdefault(c.key, c)
    return [unique[k] for k in sorted(unique)]


def weights(candidates: Sequence[Candidate]) -> dict[str, int]:
    """How many surviving samples share each program (a program sampled twice counts twice)."""
    return dict(Counter(c.key for c in candidates if c.survives))


def fallback(candidates: Sequence[Candidate], reason: str) -> Pick:
    """Without (finished) selection: a survivor if any, else the candidate passing the most."""
    alive = survivors(candidates)
    if alive:
        return Pick(alive[0], f"{reason}; returned a public-passing candidate without further selection", len(alive))
    return best_partial(candidates, reason)


def best_partial(candidates: Sequence[Candidate], reason: str) -> Pick:
    """The candidate passing the most public tests (ties: smaller code key)."""
    scored = [c for c in candidates if c.code is not None and c.report is not None]
    if not scored:
        return Pick(None, f"{reason}; no candidate produced a program")
    best = min(scored, key=lambda c: (-(c.report.passed if c.report else 0), c.key))
    report = best.report
    shown = f"{report.passed}/{report.total}" if report else "0"
    return Pick(best, f"{reason}; returned the best partial candidate ({shown} public tests)")


async def select(ctx: SelectionContext, candidates: Sequence[Candidate], extra_inputs: int = 0) -> Pick:
    """Apply the configured selector (``extra_inputs``: more distinguishing inputs of each kind)."""
    alive = survivors(candidates)
    if not alive:
        return best_partial(candidates, f"no candidate passed all {ctx.task.public_count} public tests")
    selector = ctx.config.selector
    if len(alive) == 1:
        return Pick(alive[0], "the only distinct public-passing candidate", 1, 1)
    if selector == "first":
        first = min(alive, key=lambda c: c.index)
        return Pick(first, "first public-passing candidate in generation order", len(alive))
    if selector == "random":
        ordered = sorted(alive, key=lambda c: c.key)
        return Pick(ctx.rng.choice(ordered), "random public-passing candidate (seeded)", len(alive))
    if selector == "codet":
        return await by_dual_agreement(ctx, candidates, alive)
    if selector == "majority":
        voted = by_vote(ctx, candidates, alive)
        if voted is not None:
            return voted
    return await by_behaviour(ctx, candidates, alive, extra_inputs)


def by_vote(ctx: SelectionContext, candidates: Sequence[Candidate], alive: list[Candidate]) -> Pick | None:
    """``majority`` where the task has normal forms (normalised patches): the largest group, nothing run.

    ``None`` when some survivor has no normal form: behaviour clusters vote instead.
    """
    forms = {c.key: ctx.task.normal_form(c.code) if c.code is not None else None for c in alive}
    if any(f is None for f in forms.values()):
        return None
    groups = vote_groups({k: f or "" for k, f in forms.items()}, weights(candidates))
    best = groups[0]
    ctx.record("decision", "select", vote=[[list(g.members), g.weight] for g in groups])
    by_key = {c.key: c for c in alive}
    why = f"majority over {len(groups)} normalised change(s): the largest has {best.weight} sample(s)"
    return Pick(by_key[best.representative], why, len(alive), len(groups))


def judged(ctx: SelectionContext) -> bool:
    """Whether :func:`by_behaviour` lets the judge decide between clusters (every selector that
    reaches it but ``majority``: ``sstar``, and ``codet`` when no test was written)."""
    return ctx.config.selector != "majority"


async def by_behaviour(
    ctx: SelectionContext, candidates: Sequence[Candidate], alive: list[Candidate], extra_inputs: int = 0
) -> Pick:
    """Cluster by behaviour on valid inputs; the most agreed-with (``majority``) or the judge's pick (``sstar``).

    With the judge, its first call may be asked while synthesis is out (:mod:`codesolve.sstar.ahead`).
    """
    by_key = {c.key: c for c in alive}
    picked: list[Pick] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:
        asking = judged(ctx) and ctx.config.judge_ahead
        ahead = AskedAhead(ctx, by_key, weights(candidates), group) if asking else None
        try:
            picked.append(await _by_behaviour(ctx, candidates, by_key, extra_inputs, ahead))
        except Exception as exc:  # raised bare below: a task group would wrap it in an exception group
            failed.append(exc)
        finally:
            if ahead is not None:
                ahead.drop()  # an early call nobody took is cancelled (its runs, if started, end soon)
    if failed:
        raise failed[0]
    return picked[0]


async def _by_behaviour(
    ctx: SelectionContext,
    candidates: Sequence[Candidate],
    by_key: dict[str, Candidate],
    extra_inputs: int,
    ahead: AskedAhead | None,
) -> Pick:
    alive = list(by_key.values())
    on_early = ahead.consider if ahead is not None else None
    gathered, table = await gather_and_run(ctx, alive, extra_inputs, on_early)
    inputs = gathered.inputs
    if gathered.validator is not None:  # many right answers: the ones it accepts are one behaviour
        table = await validated_table(ctx, gathered.validator, inputs, table)
    groups = by_agreement(cluster(table, weights(candidates)))
    ctx.record("decision", "select", inputs=[i.text[:200] for i in inputs], clusters=[list(g.members) for g in groups])
    ctx.progress(f"{len(alive)} survivors in {len(groups)} behaviour cluster(s) on {len(inputs)} synthesized inputs")
    if len(groups) == 1:
        return Pick(
            by_key[groups[0].representative], "all survivors behave identically: no judge needed", len(alive), 1
        )
    if not judged(ctx):
        why = f"most agreed-with of {len(groups)} behaviour clusters ({groups[0].size} samples)"
        return Pick(by_key[groups[0].representative], why, len(alive), len(groups))
    winner, notes = await knockout(groups, judge_comparator(ctx, by_key, inputs, table, groups, ahead))
    why = f"judge over {len(groups)} behaviour clusters: " + "; ".join(notes)
    return Pick(by_key[winner.representative], why, len(alive), len(groups))


async def by_dual_agreement(ctx: SelectionContext, candidates: Sequence[Candidate], alive: list[Candidate]) -> Pick:
    """``codet``: the best consensus set on model-written tests (none written: behaviour clusters decide)."""
    tests = await written_tests(ctx, alive)
    if not tests:
        ctx.record("note", "select", note="no usable test case written: majority over behaviour clusters")
        return await by_behaviour(ctx, candidates, alive)
    table = await pass_table(ctx, alive, tests)
    sets = consensus_sets(table, weights(candidates))
    best = sets[0]
    ctx.record("decision", "select", tests=len(tests), sets=[[list(s.members), list(s.passed)] for s in sets])
    by_key = {c.key: c for c in alive}
    why = (
        f"dual execution agreement: best of {len(sets)} consensus sets"
        f" ({best.weight} samples x {len(best.passed)} tests)"
    )
    return Pick(by_key[best.representative], why, len(alive), len(sets))
