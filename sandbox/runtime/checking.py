"""Deciding a test's verdict from what its run left: the exit, the result channel, and the
output against the expected one (a built-in checker or the problem's checker program).
Standard library only. Expected outputs never leave the driver."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox import checkers
from sandbox.runtime import custom_checker, verdicts
from sandbox.runtime.forkclient import child_env
from sandbox.runtime.harness import read_record

if TYPE_CHECKING:
    from sandbox.runtime.wire import Outcome, Spec, TestWire


class OutputChecker:
    """The batch's way of judging one test's output."""

    def __init__(self, spec: Spec, checker_argv: list[str], before_program: Callable[[], None]) -> None:
        self.spec = spec
        self.checker = spec["checker"]
        self.checker_argv = checker_argv
        """The checker program's command (built before any candidate ran), if there is one."""
        self.before_program = before_program
        """Called before the checker program runs: the test that just ran may have rewritten it."""

    def verdict(self, raw: dict[str, Any], test: TestWire, nonce: str) -> Outcome:
        """The outcome of one test from its run's ingredients (``raw``, see ``verdicts``)."""
        check = test.get("check")
        outcome = verdicts.decide(raw, dict(self.spec["limits"]), self.spec["language"]["oom_markers"])
        outcome["name"] = test["name"]
        answer = raw["stdout_text"]
        if raw["result"] is not None:  # a call's answer or a check's pass: on the result channel
            answer = verdicts.settle_result(outcome, *read_record(raw["result"], nonce), check is not None)
        if outcome["verdict"] == "AC" and test.get("expected") is not None and check is None:
            try:
                ok, message = self.compare(test, answer)
                outcome["verdict"], outcome["message"] = ("AC" if ok else "WA"), message
            except custom_checker.CheckerFault as exc:
                outcome["verdict"], outcome["message"] = "SE", str(exc)
        elif outcome["verdict"] == "AC" and not outcome["message"]:
            outcome["message"] = "ran; nothing to check"
        return outcome

    def compare(self, test: TestWire, actual: str) -> tuple[bool, str]:
        """Apply the batch's checker to one output."""
        kind = self.checker["kind"]
        expected = test["expected"] or ""
        if kind == "program":
            return self.run_program(test, actual)
        return checkers.check(kind, expected, actual, self.checker["abs_tol"], self.checker["rel_tol"])

    def run_program(self, test: TestWire, actual: str) -> tuple[bool, str]:
        """Run the problem's checker program on (input, expected, actual), restored first."""
        self.before_program()
        env = child_env(self.spec["work"], self.spec.get("path"))
        protocol = self.checker["protocol"]
        return custom_checker.run(self.checker_argv, protocol, self.spec["work"], test, actual, env)
