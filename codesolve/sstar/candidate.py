"""A candidate program and its debugging history: what generation and debugging produce."""

from __future__ import annotations

from dataclasses import dataclass, field

from codesolve.sstar.clusters import code_key
from codesolve.tasks.base import DebugTurn, TestReport


@dataclass
class Candidate:
    """One line of work: generated, then debugged round by round."""

    index: int
    code: str | None
    history: list[DebugTurn] = field(default_factory=list)

    @property
    def report(self) -> TestReport | None:
        """The latest public-test report."""
        return self.history[-1].report if self.history else None

    @property
    def key(self) -> str:
        """Order-independent identity (hash of the current code)."""
        return code_key(self.code or "")

    @property
    def survives(self) -> bool:
        """True when it has a program that passes every public test."""
        return self.code is not None and self.report is not None and self.report.all_passed


def no_code_report(total: int, problem: str) -> TestReport:
    """The report of a reply that held no usable program."""
    feedback = (
        f"Your reply contained no usable program: {problem}. Reply with the complete program in one fenced code block."
    )
    return TestReport(passed=0, total=total, verdicts=(), feedback=feedback, has_program=False)
