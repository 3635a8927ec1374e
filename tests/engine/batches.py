"""A sandbox wrapper for the engine's timing tests: every batch it ran, when, and how urgent."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sandbox import CheckerSpec, Limits, Program, Sandbox, TestCase, TestOutcome
from sandbox.forwarding import Forwarding
from sandbox.urgency import is_urgent


@dataclass(frozen=True)
class Seen:
    """One batch: its program's entry source, its size, when it was asked for and ended,
    whether it was asked for as urgent, and its first test's input (call arguments or stdin)."""

    code: str
    size: int
    start: float
    end: float
    urgent: bool
    first: str = ""


class Batches(Forwarding):
    """Runs every batch on the sandbox it wraps (which its owner closes), noting each."""

    def __init__(self, box: Sandbox) -> None:
        super().__init__(box, owns=False)
        self.seen: list[Seen] = []

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """Run on the wrapped sandbox, noting the batch."""
        start, urgent = time.monotonic(), is_urgent()
        try:
            return await super().run_tests(program, tests, limits, checker, fail_fast)
        finally:
            first = (tests[0].call_args or tests[0].stdin) if tests else ""
            self.seen.append(Seen(program.files[0][1], len(tests), start, time.monotonic(), urgent, first))

    def of(self, code: str | None = None, size: int | None = None) -> list[Seen]:
        """The batches of one program and/or one size, in the order they were asked for."""
        return sorted(
            (b for b in self.seen if (code is None or b.code.strip() == code.strip()) and size in (None, b.size)),
            key=lambda b: b.start,
        )
