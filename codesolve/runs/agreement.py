"""Checking the judge against datasets: do our verdicts agree with their solutions' labels?

:func:`judge_solutions` runs every solution a dataset ships against all of
its problem's tests, problems concurrently, and returns one
:class:`ProblemCheck` per problem holding a :class:`SolutionCheck` per
solution; :func:`agreement` tallies them per label. A reference that fails its
own problem's tests is a *dataset issue* (a bad test, an erratum, a time-out),
reported as such rather than hidden; an SE outcome is an *infrastructure*
fault, never counted for or against a label.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio

from codesolve.runs.judging import (
    SHOULD_PASS,
    ExpectedOutputs,
    Judgement,
    TestRow,
    fill_expected,
    judge,
    row_json,
    runnable,
)
from codesolve.tasks.models import CompetitiveProblem, ReferenceSolution
from sandbox import Sandbox, Verdict

Status = Literal["agree", "disagree", "dataset issue", "infra error", "not run"]


@dataclass(frozen=True)
class SolutionCheck:
    """Whether our verdict on one dataset solution agrees with its label."""

    problem_id: str
    index: int
    """Position in the problem's ``solutions``."""
    label: str
    language: str
    origin: str
    judgement: Judgement | None
    not_run: str = ""
    """Why the solution was not run (a language the sandbox lacks), else empty."""

    @property
    def should_pass(self) -> bool:
        """True for ``reference`` and ``correct`` solutions."""
        return self.label in SHOULD_PASS

    @property
    def status(self) -> Status:
        """``agree``, ``disagree`` (a wrong solution failed no test), ``dataset issue`` (a reference did not pass).

        Also ``infra error`` (the sandbox failed, SE) and ``not run``, which count neither way.
        """
        j = self.judgement
        if j is None:
            return "not run"
        if j.infra_error:
            return "infra error"
        if self.should_pass:
            return "agree" if j.all_passed else "dataset issue"
        return "agree" if j.first_failure is not None else "disagree"

    @property
    def name(self) -> str:
        """``id#index label (origin, language)``."""
        where = ", ".join(p for p in (self.origin, self.language) if p)
        return f"{self.problem_id}#{self.index} {self.label} ({where})"

    def describe(self) -> str:
        """One line on this solution, with the first failing test and its verdict."""
        j = self.judgement
        if j is None:
            return f"NOT RUN {self.name}: {self.not_run}"
        failure = j.first_failure
        if failure is None:
            what = f"passed all {j.total} tests it ran" if j.total else "no test could run"
            if j.expected.skipped:
                what += f" ({j.expected.skipped} skipped: no expected output)"
        else:
            what = f"fails {failure.name}: {failure.verdict.value}"
            if failure.explanation:
                what += f" ({failure.explanation})"
            what += f" [{j.passed}/{j.total} passed{', stopped there' if j.fail_fast else ''}]"
            hint = _hint(failure)
            if hint:
                what += f"; {hint}"
        return f"{self.status.upper()} {self.name}: {what}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready record."""
        j = self.judgement
        failure = j.first_failure if j else None
        return {
            "problem": self.problem_id,
            "index": self.index,
            "label": self.label,
            "language": self.language,
            "origin": self.origin,
            "status": self.status,
            "not_run": self.not_run,
            "verdict": j.verdict if j else None,
            "passed": j.passed if j else 0,
            "total": j.total if j else 0,
            "first_failure": row_json(failure) if failure else None,
        }


def _hint(row: TestRow) -> str:
    """Why a reference may fail a test without being wrong."""
    if row.verdict is Verdict.TLE and row.message.startswith("wall-clock"):
        return "hit the wall-clock limit: the machine may be overloaded"
    if row.group == "slow":
        return "the dataset marks this test slow"
    if row.group == "check" or row.name == "check":
        return "the check test runs all of the dataset's asserts in one process, under one test's limits"
    return ""


@dataclass(frozen=True)
class ProblemCheck:
    """Every solution of one problem, judged on all its tests."""

    problem_id: str
    expected: ExpectedOutputs
    solutions: tuple[SolutionCheck, ...]
    seconds: float = 0.0

    @property
    def reference_failed(self) -> bool:
        """True when the reference did not run cleanly on inputs whose expected output it was to compute."""
        return bool(self.expected.failures)

    def issue(self) -> str:
        """A line on expected outputs that could not be computed (a dataset issue), else empty."""
        e = self.expected
        if not e.skipped:
            return ""
        if not e.source:
            return f"SKIPPED {self.problem_id}: {e.skipped} tests have no expected output and no reference"
        first = e.failures[0]
        tag = "INFRA ERROR" if all(f.verdict is Verdict.SE for f in e.failures) else "DATASET ISSUE"
        return (
            f"{tag} {self.problem_id}: the {e.source} failed on {len(e.failures)} of {e.needed} inputs "
            f"while computing expected outputs (first: {first.name}: {first.verdict.value} {first.explanation})"
        )


async def check_solutions(problem: CompetitiveProblem, sandbox: Sandbox, limit: int | None = None) -> ProblemCheck:
    """Run the problem's solutions (at most ``limit`` runnable ones per label) against all its tests, in turn.

    Solutions in languages the sandbox lacks are listed as not run.
    """
    started = time.monotonic()
    expected = await fill_expected(problem, sandbox, "all")
    ran: Counter[str] = Counter()
    checks: list[SolutionCheck] = []
    for index, sol in enumerate(problem.solutions):
        reason = runnable(sol, problem)
        judgement = None
        if reason is None:
            ran[sol.label] += 1
            if limit is not None and ran[sol.label] > limit:
                continue
            judgement = await check_one(problem, sol, sandbox, expected)
        checks.append(SolutionCheck(problem.id, index, sol.label, sol.language, sol.origin, judgement, reason or ""))
    return ProblemCheck(problem.id, expected[1], tuple(checks), time.monotonic() - started)


async def check_one(
    problem: CompetitiveProblem,
    solution: ReferenceSolution,
    sandbox: Sandbox,
    expected: tuple[CompetitiveProblem, ExpectedOutputs],
) -> Judgement:
    """Judge one labelled solution on all tests.

    One labelled to fail stops at its first failing test: that is the whole
    answer for it. A run hit by a sandbox fault (SE) is retried once.
    """
    fail_fast = solution.label not in SHOULD_PASS
    judgement = await judge(problem, solution.code, sandbox, "all", solution.language, expected, fail_fast)
    if judgement.infra_error:
        judgement = await judge(problem, solution.code, sandbox, "all", solution.language, expected, fail_fast)
    return judgement


async def judge_solutions(
    problems: Iterable[CompetitiveProblem],
    sandbox: Sandbox,
    limit: int | None = None,
    concurrency: int = 4,
    on_problem: Callable[[ProblemCheck], None] | None = None,
) -> list[ProblemCheck]:
    """:func:`check_solutions` for many problems, ``concurrency`` at a time; results in input order."""
    todo = list(problems)
    results: list[ProblemCheck | None] = [None] * len(todo)
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    async def one(index: int, problem: CompetitiveProblem) -> None:
        async with limiter:
            results[index] = done = await check_solutions(problem, sandbox, limit)
        if on_problem is not None:
            on_problem(done)

    async with anyio.create_task_group() as tg:
        for index, problem in enumerate(todo):
            tg.start_soon(one, index, problem)
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class Agreement:
    """Statuses counted per label, over many problems' :class:`SolutionCheck` records."""

    by_label: dict[str, Counter[str]] = field(default_factory=dict)
    reference_failures: int = 0
    """Problems whose reference failed while computing expected outputs."""

    @property
    def total(self) -> Counter[str]:
        """Counts of statuses over every label."""
        out: Counter[str] = Counter()
        for counts in self.by_label.values():
            out.update(counts)
        return out

    @property
    def ran(self) -> int:
        """Solutions that were run."""
        return sum(n for status, n in self.total.items() if status != "not run")

    @property
    def all_agree(self) -> bool:
        """True when solutions ran, every one agrees with its label, and every reference computed its outputs."""
        return self.ran > 0 and self.total["agree"] == self.ran and not self.reference_failures

    def lines(self) -> list[str]:
        """One line per label: ``buggy: 39 agree, 1 disagree``."""
        out = []
        for label, counts in sorted(self.by_label.items()):
            parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
            out.append(f"{label}: {', '.join(parts)}")
        return out

    def to_json(self) -> dict[str, Any]:
        """``{label: {status: count}}`` plus totals."""
        return {
            "by_label": {label: dict(counts) for label, counts in sorted(self.by_label.items())},
            "total": dict(self.total),
            "reference_failures": self.reference_failures,
            "all_agree": self.all_agree,
        }


STATUSES: tuple[Status, ...] = ("agree", "disagree", "dataset issue", "infra error", "not run")
"""Every :attr:`SolutionCheck.status`, in report order."""


def agreement(problems: Iterable[ProblemCheck]) -> Agreement:
    """Tally solution statuses per label."""
    by_label: dict[str, Counter[str]] = {}
    failures = 0
    for problem in problems:
        failures += problem.reference_failed
        for check in problem.solutions:
            by_label.setdefault(check.label, Counter())[check.status] += 1
    return Agreement(by_label, failures)
