"""What every repository task shares: the setup a baseline run establishes, and the Task plumbing.

A function fix (:mod:`codesolve.tasks.fix`) and a SWE issue
(:mod:`codesolve.tasks.swe.task`) differ in what a candidate is and how it is
written into the tree, not in how its tests are chosen and judged: tests that
fail at the start must pass, tests that pass must keep passing, every run is
pytest in a sandbox copy under the same limits. That common part lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from codesolve.llm import Message
from codesolve.tasks.base import Behaviour, SynthInput, TestReport, WrittenTest
from codesolve.tasks.repo.feedback import render, verdict
from codesolve.tasks.repo.testrun import Selection, TestRun, run_pytest
from sandbox import Limits, Sandbox


@dataclass(frozen=True, kw_only=True)
class RepoSetup:
    """What the run established before the engine starts (no hidden test in it)."""

    must_pass: tuple[str, ...]
    """Node ids failing at the start that a candidate must make pass."""
    regression: tuple[str, ...]
    """Node ids passing at the start that must keep passing."""
    baseline_feedback: str
    """The baseline run's failures as the model first sees them."""
    paths: tuple[str, ...] = ()
    """Folders put on ``sys.path`` for the tests (the repository's source roots)."""
    limits: Limits = field(default_factory=lambda: Limits(cpu_seconds=120, memory_mb=2048))
    test_timeout_s: float = 20.0

    @property
    def tests(self) -> tuple[str, ...]:
        """Every test a candidate is judged on: the ones to make pass, then the regression set."""
        return self.must_pass + self.regression


S = TypeVar("S", bound=RepoSetup)


def report_of(run: TestRun, tests: Sequence[str]) -> TestReport:
    """A candidate's report on ``tests`` from its run (verdicts from the JUnit report, real feedback)."""
    verdicts = tuple(verdict(run, t) for t in tests)
    return TestReport(
        passed=sum(1 for v in verdicts if v == "AC"),
        total=len(tests),
        verdicts=verdicts,
        feedback=run.infra_error or render(run, tests),
        infra_error=bool(run.infra_error),
    )


@dataclass
class RepoTask(Generic[S]):
    """The Task plumbing every repository task has alike (prompts and candidates are the subclass's)."""

    setup: S
    sandbox: Sandbox
    history_chars: int = 24_000

    def __post_init__(self) -> None:
        self.first_messages: list[Message] = []

    @property
    def public_count(self) -> int:
        """Tests to make pass plus the regression set."""
        return len(self.setup.tests)

    def generation_messages(self) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return list(self.first_messages)

    async def pytest(
        self,
        repo: Path | Mapping[str, bytes],
        tests: Sequence[str],
        overrides: Mapping[str, bytes] | None = None,
        selection: Selection | None = None,
    ) -> TestRun:
        """``tests`` run in a sandbox copy of ``repo`` with ``overrides`` written over it, under the setup's limits."""
        s = self.setup
        return await run_pytest(
            self.sandbox,
            repo,
            tests,
            overrides,
            limits=s.limits,
            test_timeout_s=s.test_timeout_s,
            paths=s.paths,
            selection=selection,
        )

    async def prepare(self) -> None:
        """Start the sandbox's containers."""
        await self.sandbox.warm(self.setup.limits)

    def synthesis_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        raise NotImplementedError

    def normal_form(self, code: str) -> str | None:  # noqa: ARG002 - the Task protocol
        """None unless the task has one: behaviour clusters vote."""
        return None

    def test_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """Dual execution agreement is not offered for repository tasks: the synthesis prompt."""
        return self.synthesis_messages(codes, count)

    async def parse_tests(self, completion: str, limit: int) -> list[WrittenTest]:  # noqa: ARG002 - the Task protocol
        """None: ``codet`` falls back to behaviour clusters for repository tasks."""
        return []

    async def passes(self, code: str, tests: Sequence[WrittenTest]) -> list[bool]:  # noqa: ARG002 - the Task protocol
        """Never asked (no written tests); every test unpassed."""
        return [False for _ in tests]

    async def accept_validator(self, completion: str) -> str | None:  # noqa: ARG002 - the Task protocol
        """None: a repository task is judged on test outcomes, one right answer per input."""
        return None

    async def validate(
        self,
        validator: str,  # noqa: ARG002 - the Task protocol
        cases: Sequence[tuple[SynthInput, Behaviour]],
    ) -> list[bool | None]:
        """Never asked (no validator is accepted); every output undecided."""
        return [None for _ in cases]
