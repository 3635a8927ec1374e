"""Time limits a package leaves to the judge: problemtools' rule, applied by timing its
accepted submissions (see :class:`codesolve.tasks.models.TimeLimitRule`)."""

from __future__ import annotations

import anyio

from codesolve.runs.judging import judge
from codesolve.tasks.models import CompetitiveProblem
from sandbox import Sandbox

CALIBRATION_CPU_S = 20.0
"""The CPU limit the accepted submissions are timed under (problemtools allows minutes)."""


async def settle_time_limit(problem: CompetitiveProblem, sandbox: Sandbox) -> CompetitiveProblem:
    """``problem`` with its time limit decided and its origin said.

    A problem without a :attr:`~CompetitiveProblem.time_limit_rule` is returned
    as it is. Otherwise every accepted (``correct``) submission runs on every
    test under :data:`CALIBRATION_CPU_S`; the rule turns the slowest CPU time
    of those that pass into the limit. With no accepted submission that
    passes, the loader's default stays, and the origin says so.
    """
    rule = problem.time_limit_rule
    if rule is None:
        return problem
    accepted = [s for s in problem.solutions if s.label == "correct"]
    timing = problem.model_copy(update={"time_limit_s": CALIBRATION_CPU_S})
    slowest: list[float] = []

    async def time_one(code: str, language: str) -> None:
        result = await judge(timing, code, sandbox, "all", language)
        if result.all_passed:
            slowest.append(max(row.cpu_seconds for row in result.rows))

    async with anyio.create_task_group() as group:
        for solution in accepted:
            group.start_soon(time_one, solution.code, solution.language)
    if not slowest:
        origin = f"{problem.time_limit_s:g} s default: no time limit stated and no accepted submission passed to time"
        return problem.model_copy(update={"time_limit_origin": origin, "time_limit_rule": None})
    limit = rule.apply(max(slowest))
    origin = f"{rule.describe()}: slowest of {len(slowest)} accepted took {max(slowest):.2f} s"
    return problem.model_copy(update={"time_limit_s": limit, "time_limit_origin": origin, "time_limit_rule": None})


def describe_time_limit(problem: CompetitiveProblem) -> str:
    """``time limit 2 s (problem.yaml limits.time_limit)``, or empty when the origin is unknown."""
    if not problem.time_limit_origin:
        return ""
    return f"time limit {problem.time_limit_s:g} s ({problem.time_limit_origin})"
