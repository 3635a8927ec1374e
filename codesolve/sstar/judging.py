"""The grounded judge: a knockout among cluster representatives, decided on real outputs.

For each pair the judge proposes a distinguishing input, both programs run it,
and the judge picks seeing their REAL outputs, once in each order. Judge calls
grow with the number of clusters, never with N². Calls are counted and capped
where they are made (:meth:`Spend.charge`); when the cap is reached the rest
is decided by cluster rank.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

import anyio

from codesolve.sstar.ahead import AskedAhead
from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import Cluster, differing_inputs, tie_break, valid_inputs
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.distinguish import ask_distinguishing, run_proposed
from codesolve.sstar.inputs import Table
from codesolve.sstar.spend import JudgeCapReached
from codesolve.tasks.base import Evidence, SynthInput

_WORD = re.compile(r"\w")

Compare = Callable[[Cluster, Cluster], Awaitable[tuple[Cluster, str] | None]]
"""Decides one pair of clusters: the winner and a note, or ``None`` when no judge call is left."""


async def knockout(groups: Sequence[Cluster], compare: Compare) -> tuple[Cluster, list[str]]:
    """The champion (first by rank) meets each challenger once: k clusters, k - 1 comparisons.

    ``groups`` come best first (by agreement with the pool, then size): when a
    comparison cannot be afforded, the earliest of the remaining clusters wins.
    """
    champion = groups[0]
    notes: list[str] = []
    order = {group: i for i, group in enumerate(groups)}
    for position, challenger in enumerate(groups[1:], start=1):
        decided = await compare(champion, challenger)
        if decided is None:
            notes.append("judge-call cap reached: the rest decided by the clusters' order")
            return min([champion, *groups[position:]], key=order.__getitem__), notes
        champion, note = decided
        notes.append(note)
    return champion, notes


def judge_comparator(
    ctx: SelectionContext,
    by_key: dict[str, Candidate],
    inputs: Sequence[SynthInput],
    table: Table,
    groups: Sequence[Cluster],
    ahead: AskedAhead | None = None,
) -> Compare:
    """The grounded comparison, with evidence from the valid synthesized inputs.

    ``groups`` is the clusters' order of preference: a split or abstaining judge keeps the earlier one.
    ``ahead`` holds the first comparison's distinguishing-input call if it was asked early
    (:mod:`codesolve.sstar.ahead`): taken when the pair is the one asked about.
    """
    kept = valid_inputs(table)
    order = {group: i for i, group in enumerate(groups)}

    async def decide(a: Cluster, b: Cluster) -> tuple[Cluster, str] | None:
        evidence = [
            Evidence(inputs[kept[i]], table[a.representative][kept[i]], table[b.representative][kept[i]])
            for i in differing_inputs(a, b)[:2]
        ]
        try:
            asked = await ahead.take((a.representative, b.representative)) if ahead is not None else None
            return await compare(
                ctx, a, b, by_key, evidence, lambda x, y: min((x, y), key=order.__getitem__), asked=asked
            )
        except JudgeCapReached:
            return None

    return decide


async def compare(
    ctx: SelectionContext,
    a: Cluster,
    b: Cluster,
    by_key: dict[str, Candidate],
    evidence: list[Evidence],
    tie: Callable[[Cluster, Cluster], Cluster] = tie_break,
    asked: list[Evidence] | None = None,
) -> tuple[Cluster, str]:
    """One adaptive comparison: a judge-proposed input, then two grounded verdicts (``tie`` when they split).

    ``asked`` is the evidence of the distinguishing input when it was asked (and run) ahead for this pair.
    """
    code_a, code_b = by_key[a.representative].code or "", by_key[b.representative].code or ""
    evidence = await distinguishing_evidence(ctx, code_a, code_b, asked) + evidence
    answers: dict[int, str | None] = {}
    capped: list[JudgeCapReached] = []

    async def ask(slot: int, x: str, y: str, shown: list[Evidence]) -> None:
        try:
            answers[slot] = await verdict(ctx, x, y, shown)
        except JudgeCapReached as exc:
            capped.append(exc)  # raised bare below, not inside an exception group

    # The two orderings are independent: ask them at once (half the critical path).
    async with anyio.create_task_group() as group:
        group.start_soon(ask, 0, code_a, code_b, evidence)
        group.start_soon(ask, 1, code_b, code_a, [e.swapped() for e in evidence])
    if capped:
        raise capped[0]
    first, second = answers[0], answers[1]
    pick_one = {"A": a, "B": b}.get(first or "")
    pick_two = {"A": b, "B": a}.get(second or "")
    if pick_one is not None and pick_one is pick_two:
        winner, how = pick_one, "judge agreed in both orders"
    else:
        winner, how = tie(a, b), "judge split or abstained: the preferred cluster kept"
    ctx.record(
        "decision",
        "judge",
        winner=winner.representative[:12],
        a=a.representative[:12],
        b=b.representative[:12],
        first=first,
        second=second,
    )
    return winner, f"{a.representative[:8]} vs {b.representative[:8]} → {winner.representative[:8]} ({how})"


async def distinguishing_evidence(
    ctx: SelectionContext, code_a: str, code_b: str, asked: list[Evidence] | None = None
) -> list[Evidence]:
    """Ask the judge for an input that separates the pair, and run both on it (unless ``asked`` is
    that evidence already, asked and run ahead: :mod:`codesolve.sstar.ahead`)."""
    if asked is not None:
        return asked
    return await run_proposed(ctx, code_a, code_b, await ask_distinguishing(ctx, code_a, code_b))


async def verdict(ctx: SelectionContext, code_a: str, code_b: str, evidence: list[Evidence]) -> str | None:
    """``"A"``, ``"B"`` or ``None`` (unparseable) from one judge call."""
    [reply] = await ctx.ask("judge", ctx.task.judge_messages(code_a, code_b, evidence), "judge")
    return parse_verdict(reply.text)


def parse_verdict(text: str) -> str | None:
    """The judge's choice: ``A`` or ``B`` alone on (or ending) its last non-empty line.

    The letter (either case) may carry trailing ``*`` (markdown bold) and must
    be a word of its own: the character before it, if any, is not a word
    character ("Answer: **B**", "winner = a", "B"). A scan from the end of one
    line: linear in the reply, unlike the backtracking pattern it replaces,
    which took cubic time on a line of spaces.
    """
    line = _last_line(text)
    tail = line.rstrip("*")
    if not tail or tail[-1] not in "ABab":
        return None
    if len(tail) > 1 and _WORD.match(tail[-2]):
        return None
    return tail[-1].upper()


def _last_line(text: str) -> str:
    # The last non-empty line, stripped (splitlines is one linear pass).
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""
