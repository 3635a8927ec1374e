"""What a solve has spent, checked against its budget where each model call is made."""

from __future__ import annotations

from codesolve.errors import BudgetExceeded
from codesolve.llm import Completion, Role
from codesolve.sstar.config import Budget


class JudgeCapReached(BudgetExceeded):
    """No judge call is left in the budget: selection decides the rest without the judge."""


class Spend:
    """Tokens, dollars and judge calls of one solve.

    :meth:`charge` is called before every model call: it raises when a cap is
    reached and counts the call, so judge calls are counted where they are made.
    """

    def __init__(self, budget: Budget) -> None:
        """Nothing spent yet under ``budget``."""
        self.budget = budget
        self.tokens = 0
        self.cost: float | None = 0.0
        self.judge_calls = 0
        self.requests = 0

    def check(self) -> None:
        """Raise BudgetExceeded when a token or dollar cap is already reached."""
        if self.budget.max_tokens is not None and self.tokens >= self.budget.max_tokens:
            raise BudgetExceeded(f"token cap {self.budget.max_tokens} reached")
        if self.budget.max_usd is not None and self.cost is not None and self.cost >= self.budget.max_usd:
            raise BudgetExceeded(f"dollar cap ${self.budget.max_usd:g} reached")

    def charge(self, role: Role) -> None:
        """Check the caps for one call in ``role`` and count it (before it is sent: calls run concurrently)."""
        self.check()
        if role == "judge":
            if self.judge_calls >= self.budget.max_judge_calls:
                raise JudgeCapReached(f"judge-call cap {self.budget.max_judge_calls} reached")
            self.judge_calls += 1
        self.requests += 1

    def add(self, completions: list[Completion]) -> None:
        """Count what a call cost (cached replies are free)."""
        for c in completions:
            if c.cached:
                continue
            self.tokens += c.prompt_tokens + c.completion_tokens
            self.cost = None if self.cost is None or c.cost_usd is None else self.cost + c.cost_usd
