"""Phase 3: choosing among public-passing candidates.

``sstar`` synthesizes inputs, clusters survivors by what they actually print,
and, when more than one behaviour remains, runs a knockout among cluster
representatives: for each pair the judge proposes a distinguishing input,
both programs run it, and the judge picks seeing their REAL outputs, once in
each order. Judge calls grow with the number of clusters, never with N².
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from codesolve.sstar.clusters import Cluster, cluster, differing_inputs, informative_inputs, tie_break
from codesolve.tasks.base import Behaviour, SynthInput

if TYPE_CHECKING:
    from codesolve.sstar.engine import Candidate, Engine

CALLS_PER_COMPARISON = 3
"""One distinguishing-input request and two verdicts (both orderings)."""

_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Pick:
    """The chosen candidate and why."""

    candidate: Candidate | None
    why: str
    survivors: int = 0
    clusters: int = 0


def survivors(engine: Engine) -> list[Candidate]:
    """Public-passing candidates, one per distinct program, in code-key order."""
    unique: dict[str, Candidate] = {}
    for c in engine.candidates:
        if c.code is not None and c.report is not None and c.report.all_passed:
            unique.setdefault(c.key, c)
    return [unique[k] for k in sorted(unique)]


def fallback(engine: Engine, reason: str) -> Pick:
    """Without (finished) selection: a survivor if any, else the candidate passing the most."""
    alive = survivors(engine)
    if alive:
        return Pick(alive[0], f"{reason}; returned a public-passing candidate without further selection", len(alive))
    return best_partial(engine, reason)


def best_partial(engine: Engine, reason: str) -> Pick:
    """The candidate passing the most public tests (ties: smaller code key)."""
    scored = [c for c in engine.candidates if c.code is not None and c.report is not None]
    if not scored:
        return Pick(None, f"{reason}; no candidate produced a program")
    best = min(scored, key=lambda c: (-(c.report.passed if c.report else 0), c.key))
    report = best.report
    shown = f"{report.passed}/{report.total}" if report else "0"
    return Pick(best, f"{reason}; returned the best partial candidate ({shown} public tests)")


async def select(engine: Engine) -> Pick:
    """Apply the configured selector."""
    alive = survivors(engine)
    total = engine.public_total
    if not alive:
        return best_partial(engine, f"no candidate passed all {total} public tests")
    selector = engine.config.selector
    if len(alive) == 1:
        return Pick(alive[0], "the only distinct public-passing candidate", 1, 1)
    if selector == "first":
        first = min(alive, key=lambda c: c.index)
        return Pick(first, "first public-passing candidate in generation order", len(alive))
    if selector == "random":
        return Pick(engine.rng().choice(alive), "random public-passing candidate (seeded)", len(alive))
    return await _by_behaviour(engine, alive)


async def _by_behaviour(engine: Engine, alive: list[Candidate]) -> Pick:
    inputs = await synthesize(engine, alive)
    table = await behaviour_table(engine, alive, inputs)
    groups = cluster(table)
    by_key = {c.key: c for c in alive}
    engine.recorder.add(
        "decision", "select", inputs=[i.text[:200] for i in inputs], clusters=[list(g.members) for g in groups]
    )
    engine.progress(f"{len(alive)} survivors in {len(groups)} behaviour cluster(s) on {len(inputs)} synthesized inputs")
    if len(groups) == 1:
        return Pick(
            by_key[groups[0].representative], "all survivors behave identically: no judge needed", len(alive), 1
        )
    if engine.config.selector == "majority":
        return Pick(
            by_key[groups[0].representative], f"largest of {len(groups)} behaviour clusters", len(alive), len(groups)
        )
    budget = engine.config.budget.max_judge_calls
    winner, notes = await knockout(
        groups,
        judge_comparator(engine, by_key, inputs, table),
        lambda: engine.spend.judge_calls + CALLS_PER_COMPARISON <= budget,
    )
    why = f"judge over {len(groups)} behaviour clusters: " + "; ".join(notes)
    return Pick(by_key[winner.representative], why, len(alive), len(groups))


async def synthesize(engine: Engine, alive: Sequence[Candidate]) -> list[SynthInput]:
    """Ask the synthesizer for inputs; deduplicated, in order."""
    if engine.config.synth_inputs == 0:
        return []
    codes = [c.code or "" for c in alive]
    [reply] = await engine.ask(
        "synthesizer", engine.task.synthesis_messages(codes, engine.config.synth_inputs), "synthesize"
    )
    parsed = await engine.task.parse_inputs(reply.text, engine.config.synth_inputs)
    seen: set[str] = set()
    unique = [i for i in parsed if not (i.text in seen or seen.add(i.text))]  # type: ignore[func-returns-value]
    engine.recorder.add("note", "synthesize", inputs=len(unique))
    return unique


async def behaviour_table(
    engine: Engine, alive: Sequence[Candidate], inputs: Sequence[SynthInput]
) -> dict[str, list[Behaviour]]:
    """Run every survivor on every input, concurrently."""
    table: dict[str, list[Behaviour]] = {}

    async def run(candidate: Candidate) -> None:
        table[candidate.key] = await engine.task.behaviours(candidate.code or "", inputs) if inputs else []

    async with anyio.create_task_group() as group:
        for candidate in alive:
            group.start_soon(run, candidate)
    return table


Compare = Callable[[Cluster, Cluster], Awaitable[tuple[Cluster, str]]]
"""Decides one pair of clusters: the winner and a note."""


async def knockout(
    groups: Sequence[Cluster], compare: Compare, affordable: Callable[[], bool]
) -> tuple[Cluster, list[str]]:
    """The champion (largest cluster first) meets each challenger once: k clusters, k - 1 comparisons.

    When ``affordable`` says no more comparisons fit the budget, the remaining
    clusters are decided by size (then representative), without the judge.
    """
    champion = groups[0]
    notes: list[str] = []
    for position, challenger in enumerate(groups[1:], start=1):
        if not affordable():
            notes.append("judge-call cap reached: the rest decided by cluster size")
            return min([champion, *groups[position:]], key=lambda c: (-c.size, c.representative)), notes
        champion, note = await compare(champion, challenger)
        notes.append(note)
    return champion, notes


def judge_comparator(
    engine: Engine, by_key: dict[str, Candidate], inputs: Sequence[SynthInput], table: dict[str, list[Behaviour]]
) -> Compare:
    """The grounded comparison the engine uses, with evidence from the synthesized inputs."""
    kept = informative_inputs(table)

    async def decide(a: Cluster, b: Cluster) -> tuple[Cluster, str]:
        evidence = [
            (inputs[kept[i]], table[a.representative][kept[i]], table[b.representative][kept[i]])
            for i in differing_inputs(a, b)[:2]
        ]
        return await compare(engine, a, b, by_key, evidence)

    return decide


async def compare(
    engine: Engine,
    a: Cluster,
    b: Cluster,
    by_key: dict[str, Candidate],
    evidence: list[tuple[SynthInput, Behaviour, Behaviour]],
) -> tuple[Cluster, str]:
    """One adaptive comparison: a judge-proposed input, then two grounded verdicts."""
    code_a, code_b = by_key[a.representative].code or "", by_key[b.representative].code or ""
    extra = await distinguishing_evidence(engine, code_a, code_b)
    evidence = extra + evidence
    swapped = [(inp, y, x) for inp, x, y in evidence]
    answers: dict[int, str | None] = {}

    async def ask(slot: int, x: str, y: str, shown: list[tuple[SynthInput, Behaviour, Behaviour]]) -> None:
        answers[slot] = await verdict(engine, x, y, shown)

    # The two orderings are independent: ask them at once (half the critical path).
    async with anyio.create_task_group() as group:
        group.start_soon(ask, 0, code_a, code_b, evidence)
        group.start_soon(ask, 1, code_b, code_a, swapped)
    first, second = answers[0], answers[1]
    votes = {"A": a, "B": b}
    pick_one = votes.get(first or "")
    pick_two = {"A": b, "B": a}.get(second or "")
    if pick_one is not None and pick_one is pick_two:
        winner, how = pick_one, "judge agreed in both orders"
    else:
        winner, how = tie_break(a, b), "judge split or abstained: larger cluster kept"
    engine.recorder.add(
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
    engine: Engine, code_a: str, code_b: str
) -> list[tuple[SynthInput, Behaviour, Behaviour]]:
    """Ask the judge for an input that separates the pair, and run both on it."""
    engine.spend.judge_calls += 1
    [reply] = await engine.ask("judge", engine.task.distinguish_messages(code_a, code_b), "judge")
    proposed = await engine.task.parse_inputs(reply.text, 1)
    if not proposed:
        return []
    runs: dict[str, Behaviour] = {}

    async def run(side: str, code: str) -> None:
        [runs[side]] = await engine.task.behaviours(code, proposed[:1])

    async with anyio.create_task_group() as group:  # both sides at once: they are independent
        group.start_soon(run, "a", code_a)
        group.start_soon(run, "b", code_b)
    ba, bb = runs["a"], runs["b"]
    if ba.signature == bb.signature or not (ba.ran_cleanly or bb.ran_cleanly):
        return []
    return [(proposed[0], ba, bb)]


async def verdict(
    engine: Engine, code_a: str, code_b: str, evidence: list[tuple[SynthInput, Behaviour, Behaviour]]
) -> str | None:
    """``"A"``, ``"B"`` or ``None`` (unparseable) from one judge call."""
    engine.spend.judge_calls += 1
    [reply] = await engine.ask("judge", engine.task.judge_messages(code_a, code_b, evidence), "judge")
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
