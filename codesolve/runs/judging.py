"""Judging one program against a problem's tests (hidden ones included: this is evaluation).

:func:`judge` fills in missing expected outputs from the problem's reference
first, then returns a :class:`Judgement`: one :class:`TestRow` per test. The
dataset-agreement check built on it lives in :mod:`codesolve.runs.agreement`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from codesolve.errors import UsageError
from codesolve.runs.evaluate import TestSet, evaluate, selected_tests
from codesolve.tasks.competitive import limits_for
from codesolve.tasks.models import CompetitiveProblem, ReferenceSolution, TestSpec
from sandbox import (
    Limits,
    Program,
    Sandbox,
    TestCase,
    TestOutcome,
    Verdict,
    get_language,
)
from sandbox.errors import InvalidRequest

SHOULD_PASS = ("reference", "correct")
"""Labels whose solutions should pass every test; the others (``incorrect``, ``buggy``) should fail one."""


@dataclass(frozen=True)
class TestRow:
    """One test's result, as the verdict table shows it."""

    __test__ = False  # not a pytest class

    name: str
    group: str
    verdict: Verdict
    cpu_seconds: float
    memory_kb: int
    message: str
    """The outcome's message: on WA, the first differing token."""
    detail: str = ""
    """Last line of stderr when the test did not pass (the exception of an RE or a failed check)."""

    @classmethod
    def of(cls, outcome: TestOutcome, group: str = "") -> TestRow:
        """The row of one sandbox outcome."""
        detail = ""
        if outcome.verdict is not Verdict.AC:
            lines = (outcome.stderr.tail or outcome.stderr.head).strip().splitlines()
            detail = lines[-1].strip()[:300] if lines else ""
        return cls(
            name=outcome.name,
            group=group,
            verdict=outcome.verdict,
            cpu_seconds=outcome.cpu_seconds,
            memory_kb=outcome.memory_kb,
            message=outcome.message,
            detail=detail,
        )

    @property
    def explanation(self) -> str:
        """Message and stderr detail in one line."""
        parts = [p for p in (self.message.strip().replace("\n", " "), self.detail) if p]
        return "; ".join(parts)


@dataclass(frozen=True)
class ExpectedOutputs:
    """How missing expected outputs were filled in before judging."""

    needed: int = 0
    """io tests among the chosen ones that had no expected output."""
    computed: int = 0
    """Of those, how many got one from the reference."""
    source: str = ""
    """Which solution computed them (``reference (canonical_solution)``), empty when none could."""
    failures: tuple[TestRow, ...] = ()
    """Inputs the reference itself did not run cleanly on (those tests are skipped)."""

    @property
    def skipped(self) -> int:
        """Tests left without an expected output, and so not run."""
        return self.needed - self.computed

    def describe(self) -> str:
        """One line saying what was done."""
        if not self.needed:
            return ""
        if not self.source:
            return f"{self.needed} tests have no expected output and no reference to compute it: skipped"
        line = f"expected outputs of {self.computed}/{self.needed} tests computed by running the {self.source}"
        if self.failures:
            line += f"; it failed on {len(self.failures)} inputs, whose tests are skipped (dataset issue)"
        return line


@dataclass(frozen=True)
class Judgement:
    """One program's results on a problem's chosen tests."""

    problem_id: str
    language: str
    tests: TestSet
    rows: tuple[TestRow, ...]
    expected: ExpectedOutputs
    seconds: float = 0.0
    fail_fast: bool = False
    """True when batches stopped at their first failing test (so ``rows`` may not cover every test)."""

    @property
    def passed(self) -> int:
        """Tests accepted."""
        return sum(1 for r in self.rows if r.verdict is Verdict.AC)

    @property
    def total(self) -> int:
        """Tests run."""
        return len(self.rows)

    @property
    def all_passed(self) -> bool:
        """True when every chosen test ran and passed (an empty run, or a skipped test, is not a pass)."""
        return self.total > 0 and self.passed == self.total and not self.expected.skipped

    @property
    def first_failure(self) -> TestRow | None:
        """The first test that did not pass."""
        return next((r for r in self.rows if r.verdict is not Verdict.AC), None)

    @property
    def infra_error(self) -> bool:
        """True when any test hit a sandbox fault (SE)."""
        return any(r.verdict is Verdict.SE for r in self.rows)

    @property
    def verdict(self) -> str:
        """The first failure's verdict, else ``AC``; ``incomplete`` when tests were skipped, ``none`` if none ran."""
        failure = self.first_failure
        if failure is not None:
            return failure.verdict.value
        if not self.rows:
            return "none"
        return "incomplete" if self.expected.skipped else "AC"

    def summary(self) -> str:
        """``examples/sum-of-pairs: 3/3 passed (AC)``, plus skipped tests if any."""
        line = f"{self.problem_id}: {self.passed}/{self.total} passed ({self.verdict})"
        if self.expected.skipped:
            line += f", {self.expected.skipped} skipped (no expected output)"
        return line

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report."""
        return {
            "problem": self.problem_id,
            "language": self.language,
            "tests": self.tests,
            "verdict": self.verdict,
            "passed": self.passed,
            "total": self.total,
            "skipped": self.expected.skipped,
            "expected_outputs": {
                "needed": self.expected.needed,
                "computed": self.expected.computed,
                "source": self.expected.source,
                "reference_failures": [row_json(r) for r in self.expected.failures],
            },
            "seconds": round(self.seconds, 3),
            "fail_fast": self.fail_fast,
            "results": [row_json(r) for r in self.rows],
        }


def row_json(row: TestRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "group": row.group,
        "verdict": row.verdict.value,
        "cpu_seconds": round(row.cpu_seconds, 4),
        "memory_kb": row.memory_kb,
        "message": row.message,
        "detail": row.detail,
    }


def language_name(name: str) -> str:
    """The sandbox's canonical name for a language (``py`` → ``python``); :class:`UsageError` if unknown."""
    try:
        return get_language(name).name
    except InvalidRequest as exc:
        raise UsageError(str(exc)) from None


def runnable(solution: ReferenceSolution, problem: CompetitiveProblem) -> str | None:
    """Why ``solution`` cannot run here (``None`` when it can): unknown language, or non-Python call code."""
    try:
        language = get_language(solution.language).name
    except InvalidRequest:
        return f"language {solution.language!r} not in the sandbox"
    if problem.input_mode == "call" and language != "python":
        return f"call-based problem but the solution is {language}"
    return None


def reference_of(problem: CompetitiveProblem) -> ReferenceSolution | None:
    """The solution that defines expected outputs: the first runnable ``reference``, else ``correct`` one."""
    for label in SHOULD_PASS:
        for solution in problem.solutions:
            if solution.label == label and runnable(solution, problem) is None:
                return solution
    return None


async def fill_expected(
    problem: CompetitiveProblem, sandbox: Sandbox, which: TestSet = "all"
) -> tuple[CompetitiveProblem, ExpectedOutputs]:
    """The problem with missing expected outputs of the chosen io tests computed by its reference.

    Tests the reference does not run cleanly on (or whose output was cut) keep
    no expected output, so :func:`evaluate` skips them.
    """
    missing = [t for t in selected_tests(problem, which) if t.kind == "io" and t.expected is None]
    reference = reference_of(problem) if missing else None
    if reference is None:
        return problem, ExpectedOutputs(needed=len(missing))
    limits = limits_for(problem)
    program = problem.program(reference.code, get_language(reference.language).name)
    cases = [TestCase(stdin=t.stdin, name=t.name, call_args=t.call_args) for t in missing]
    outcomes = await _run_retrying_faults(sandbox, program, cases, limits)
    found = {o.name: o.answer.text for o in outcomes if o.verdict is Verdict.AC and not o.answer.truncated}
    groups = {t.name: t.group for t in missing}
    failures = tuple(TestRow.of(o, groups.get(o.name, "")) for o in outcomes if o.name not in found)
    filled = problem.model_copy(
        update={
            "public_tests": _with_expected(problem.public_tests, found),
            "hidden_tests": _with_expected(problem.hidden_tests, found),
        }
    )
    source = f"{reference.label} ({reference.origin})" if reference.origin else reference.label
    return filled, ExpectedOutputs(len(missing), len(found), source, failures)


async def _run_retrying_faults(
    sandbox: Sandbox, program: Program, cases: Sequence[TestCase], limits: Limits
) -> list[TestOutcome]:
    """Run the cases, then once more those the sandbox itself failed to run (SE)."""
    outcomes = await sandbox.run_tests(program, cases, limits)
    faulted = {o.name for o in outcomes if o.verdict is Verdict.SE}
    if faulted:
        again = {o.name: o for o in await sandbox.run_tests(program, [c for c in cases if c.name in faulted], limits)}
        outcomes = [again.get(o.name, o) for o in outcomes]
    return outcomes


def _with_expected(tests: Sequence[TestSpec], found: dict[str, str]) -> list[TestSpec]:
    return [
        t.model_copy(update={"expected": found[t.name]}) if t.expected is None and t.name in found else t for t in tests
    ]


async def judge(
    problem: CompetitiveProblem,
    code: str,
    sandbox: Sandbox,
    which: TestSet = "all",
    language: str = "python",
    expected: tuple[CompetitiveProblem, ExpectedOutputs] | None = None,
    fail_fast: bool = False,
) -> Judgement:
    """Run ``code`` on the chosen tests of ``problem``.

    ``expected`` reuses an earlier :func:`fill_expected`; ``fail_fast`` stops
    each batch at its first failing test (enough to show that a program fails).
    """
    language = language_name(language)
    if problem.input_mode == "call" and language != "python":
        raise UsageError(f"problem {problem.id} is call-based: it takes a Python function, not {language}")
    started = time.monotonic()
    filled, outputs = expected or await fill_expected(problem, sandbox, which)
    evaluation = await evaluate(filled, code, sandbox, which, language, fail_fast)
    groups = {t.name: t.group for t in selected_tests(problem, which)}
    rows = tuple(TestRow.of(o, groups.get(o.name, "")) for o in evaluation.outcomes)
    return Judgement(problem.id, language, which, rows, outputs, time.monotonic() - started, fail_fast)
