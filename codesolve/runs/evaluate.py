"""Evaluation against hidden tests: the solver never sees them, only this does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from codesolve.tasks.competitive import check_limits, check_test, checker_for, limits_for
from codesolve.tasks.models import CompetitiveProblem, TestSpec
from sandbox import Sandbox, TestOutcome, Verdict

TestSet = Literal["public", "hidden", "all"]


@dataclass(frozen=True)
class Evaluation:
    """Outcomes of one program on a problem's chosen tests."""

    outcomes: tuple[TestOutcome, ...]
    skipped: int
    """Tests with no expected output (to be computed from a reference first)."""

    @property
    def passed(self) -> int:
        """Tests accepted."""
        return sum(1 for o in self.outcomes if o.verdict is Verdict.AC)

    @property
    def total(self) -> int:
        """Tests run."""
        return len(self.outcomes)

    @property
    def all_passed(self) -> bool:
        """True when every test ran and passed (an empty run is not a pass)."""
        return self.total > 0 and self.passed == self.total


def selected_tests(problem: CompetitiveProblem, which: TestSet) -> list[TestSpec]:
    """The tests of a set: public, hidden or both (in that order)."""
    tests: list[TestSpec] = []
    if which in ("public", "all"):
        tests += problem.public_tests
    if which in ("hidden", "all"):
        tests += problem.hidden_tests
    return tests


async def evaluate(
    problem: CompetitiveProblem,
    code: str,
    sandbox: Sandbox,
    which: TestSet = "hidden",
    language: str = "python",
    fail_fast: bool = False,
) -> Evaluation:
    """Run ``code`` on the chosen tests; check tests run the dataset's own check harness.

    With ``fail_fast`` it stops at the first failing test (enough to show a
    wrong program wrong, and much cheaper when it loops forever).
    """
    specs = selected_tests(problem, which)
    io = [t.to_test_case() for t in specs if t.kind == "io" and t.expected is not None]
    skipped = sum(1 for t in specs if t.kind == "io" and t.expected is None)
    outcomes: list[TestOutcome] = []
    if io:
        program = problem.program(code, language)
        outcomes += await sandbox.run_tests(program, io, limits_for(problem), checker_for(problem), fail_fast)
    for spec in (t for t in specs if t.kind == "check"):
        if fail_fast and any(o.verdict is not Verdict.AC for o in outcomes):
            break
        harness, test = check_test(problem, code, spec.name)
        outcomes += await sandbox.run_tests(harness, [test], check_limits(problem))
    return Evaluation(tuple(outcomes), skipped)
