"""A sandbox that injects infrastructure faults, for testing how batches record them.

:class:`FaultySandbox` wraps a real sandbox. A program whose source holds
``se_marker`` gets SE outcomes without running, as if its container had been
lost; one holding ``crash_marker`` makes ``run_tests`` raise, standing in for
a bug inside the engine; a batch whose first input (call arguments or stdin) is
``unavailable_on`` raises :class:`~sandbox.SandboxUnavailable`, as if the Docker
daemon had gone. Everything else runs for real. Like the scripted
model, it ships in the package so tests inject it instead of patching.
"""

from __future__ import annotations

from collections.abc import Sequence

from sandbox import (
    Capture,
    CheckerSpec,
    Limits,
    Program,
    Sandbox,
    SandboxUnavailable,
    TestCase,
    TestOutcome,
    Verdict,
)
from sandbox.forwarding import Forwarding


class InjectedCrash(RuntimeError):
    """The fault :class:`FaultySandbox` raises for ``crash_marker`` programs."""


class FaultySandbox(Forwarding):
    """A real sandbox with SE outcomes and crashes injected for marked programs."""

    def __init__(
        self,
        inner: Sandbox,
        se_marker: str = "INJECT_SE",
        crash_marker: str = "INJECT_CRASH",
        unavailable_on: str | None = None,
        *,
        owns: bool = True,
    ) -> None:
        super().__init__(inner, owns=owns)
        self.se_marker = se_marker
        self.crash_marker = crash_marker
        self.unavailable_on = unavailable_on
        self.injected_se = 0

    @property
    def isolation(self) -> str:
        """The wrapped sandbox's, marked as fault-injecting."""
        return f"{self.inner.isolation} (with injected faults)"

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """SE for ``se_marker`` programs, an exception for ``crash_marker`` ones and for a batch
        starting with the ``unavailable_on`` input, a real run otherwise."""
        if (
            tests
            and self.unavailable_on is not None
            and (tests[0].call_args or tests[0].stdin).strip() == self.unavailable_on
        ):
            raise SandboxUnavailable("injected: the Docker daemon went away")
        source = "".join(text for _, text in program.files)
        if self.crash_marker in source:
            raise InjectedCrash("injected crash inside the engine")
        if self.se_marker in source:
            self.injected_se += 1
            lost = "injected: container lost"
            return [TestOutcome(name=t.name, verdict=Verdict.SE, message=lost, stderr=Capture()) for t in tests]
        return await self.inner.run_tests(program, tests, limits, checker, fail_fast)
