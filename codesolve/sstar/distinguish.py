"""A comparison's first step: the judge proposes an input that separates two programs, and both run it.

Shared by the knockout (:mod:`codesolve.sstar.judging`) and the call asked ahead
(:mod:`codesolve.sstar.ahead`), which runs the proposed input as soon as its reply is in, while the
rest of the table is still being run, so that the verdict calls need not wait for these runs too.
"""

from __future__ import annotations

import anyio

from codesolve.llm import Completion
from codesolve.sstar.context import SelectionContext
from codesolve.tasks.base import Behaviour, Evidence
from sandbox import urgent


async def ask_distinguishing(ctx: SelectionContext, code_a: str, code_b: str) -> list[Completion]:
    """The judge's reply proposing an input on which ``code_a`` and ``code_b`` differ."""
    return await ctx.ask("judge", ctx.task.distinguish_messages(code_a, code_b), "judge")


async def run_proposed(ctx: SelectionContext, code_a: str, code_b: str, reply: list[Completion]) -> list[Evidence]:
    """Both programs run on the input ``reply`` proposes: one piece of evidence when they behave
    differently (and one of them ran cleanly), else none."""
    [completion] = reply
    proposed = await ctx.task.parse_inputs(completion.text, 1)
    if not proposed:
        return []
    runs: dict[str, Behaviour] = {}
    failed: list[Exception] = []

    async def run(side: str, code: str) -> None:
        try:
            [runs[side]] = await ctx.task.behaviours(code, proposed[:1])
        except Exception as exc:  # raised bare below (a sandbox fault: one line from the CLI)
            failed.append(exc)

    # Both sides at once (they are independent), before other solves' waiting batches: the
    # verdicts wait on them (see sandbox.urgency).
    with urgent():
        async with anyio.create_task_group() as group:
            group.start_soon(run, "a", code_a)
            group.start_soon(run, "b", code_b)
    if failed:
        raise failed[0]
    ba, bb = runs["a"], runs["b"]
    if ba.signature == bb.signature or not (ba.ran_cleanly or bb.ran_cleanly):
        return []
    return [Evidence(proposed[0], ba, bb)]
