"""SWE instances as batch items: the lane that makes and grades one instance's patch.

A :class:`SweLane` is a :class:`~codesolve.runs.lanes.Lane` of the one batch
runner (:func:`codesolve.runs.batch.run_batch`): the store, resume, progress
display and reports are the batch's. Unlike a competitive problem, an
instance needs a sandbox of its own environment image, so each instance opens
one (a single container) and every run in it goes through the batch's shared
slot limit (:class:`SharedSlots`); the model client, and so its per-endpoint
limiters, is shared by every lane.

An instance's :class:`~codesolve.runs.records.ProblemResult` carries the
prediction (``selection.patch``) and, when grading, its grade as the
evaluation, written in one transaction with everything else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio

from codesolve.errors import LLMError, RepositoryError
from codesolve.llm import LLM
from codesolve.runs.collect import crash_result, failed_result, solved_result
from codesolve.runs.records import EvalResult, EvalRun, EvalTarget, ProblemResult, ProblemRow, Selection
from codesolve.runs.swe import Prepared, SweSettings, environment, grade_patch, infra_reason
from codesolve.runs.swe_solve import MadePatch
from codesolve.tasks import Item
from codesolve.tasks.models import SweInstance
from codesolve.tasks.swe.grading import Grade
from codesolve.tasks.swe.patches import PatchFailed, PatchRefused
from sandbox import CheckerSpec, ExecResult, Limits, Program, Sandbox, TestCase, TestOutcome
from sandbox.environments import EnvironmentBuildError
from sandbox.forwarding import Forwarding

PatchSource = Callable[[Prepared, Sandbox], Awaitable["str | MadePatch"]]
"""Makes an instance's patch: the engine (a :class:`MadePatch`), or a given patch (gold, empty)."""


class SharedSlots(Forwarding):
    """An instance's sandbox whose runs wait for a slot of the batch-wide limit.

    Every instance has a sandbox of its own image; the limit keeps the
    containers working at once to ``--pool-size`` whatever the concurrency.
    The wrapped sandbox is closed by whoever opened it.
    """

    def __init__(self, box: Sandbox, slots: anyio.CapacityLimiter) -> None:
        """Wrap ``box``; ``slots`` is shared by every instance of the batch."""
        super().__init__(box, owns=False)
        self.slots = slots

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """See :class:`sandbox.Sandbox`."""
        async with self.slots:
            return await super().run_tests(program, tests, limits, checker, fail_fast)

    async def exec(
        self,
        command: Sequence[str],
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
        directory: Path | None = None,
        collect: Sequence[str] = (),
    ) -> ExecResult:
        """See :class:`sandbox.Sandbox`."""
        async with self.slots:
            return await super().exec(command, files, limits, directory, collect)


def grade_evaluation(grade: Grade, seconds: float) -> EvalResult:
    """A grade as the store's evaluation of the instance: its status is the verdict, the grade the row."""
    listed = {**grade.fail_to_pass, **grade.pass_to_pass}
    run = EvalRun(
        problem=grade.instance_id,
        code_key="patch",
        verdict=grade.status,
        passed=sum(1 for v in listed.values() if v == "PASSED"),
        total=len(listed),
        seconds=round(seconds, 3),
        rows=[{**asdict(grade), "fail_to_pass": dict(grade.fail_to_pass), "pass_to_pass": dict(grade.pass_to_pass)}],
    )
    target = EvalTarget(problem=grade.instance_id, target="selected", code_key="patch")
    return EvalResult(problem=grade.instance_id, runs=[run], targets=[target])


def given_result(seq: int, item: Item, patch: str, selector: str) -> ProblemResult:
    """The rows of an instance whose patch was given (gold or empty): nothing was generated."""
    problem = _instance(item)
    row = ProblemRow(id=problem.instance_id, seq=seq, source=item.source, status="done")
    why = "the dataset's gold patch" if selector == "gold" else "an empty patch"
    selection = Selection(
        problem=problem.instance_id, candidate_key=None, candidate_index=None, code=None, selector=selector, why=why,
        patch=patch,
    )  # fmt: skip
    return ProblemResult(problem=row, problem_json=problem.model_dump_json(), selection=selection)


def infra_result(seq: int, item: Item, reason: str, grading: bool, kind: str = "infrastructure") -> ProblemResult:
    """An instance that could not be worked on (environment, repository): failed, graded ``infra_error``."""
    problem = _instance(item)
    result = failed_result(seq, item.source, problem.instance_id, kind, reason, problem.model_dump_json())
    result.selection = Selection(
        problem=problem.instance_id, candidate_key=None, candidate_index=None, code=None, selector="none", why=reason,
        patch="",
    )  # fmt: skip
    if grading:
        result.evaluation = grade_evaluation(Grade(problem.instance_id, "infra_error", reason), 0.0)
    return result


def _instance(item: Item) -> SweInstance:
    if not isinstance(item.problem, SweInstance):
        raise TypeError(f"{item.id}: not a SWE instance")
    return item.problem


@dataclass(frozen=True)
class SweLane:
    """A lane of the batch runner that makes (or takes) each instance's patch, then grades it."""

    settings: SweSettings
    patches: PatchSource
    slots: anyio.CapacityLimiter
    grading: bool = True
    llm: LLM | None = None
    """The model client when the engine makes the patches (an endpoint never reached ends the batch)."""
    open: bool = True

    async def solve(self, seq: int, item: Item) -> ProblemResult:
        """The instance's rows; every failure becomes a recorded reason, never an exception.

        Except one: LLMError when the endpoint has never answered (as for every batch).
        """
        started = anyio.current_time()
        try:
            result = await self._solve(seq, item)
        except Exception as exc:  # one instance's crash must not end the batch
            if isinstance(exc, LLMError) and self.llm is not None and not self.llm.reached:
                raise  # every instance would fail the same way: the batch stops in one line
            wall = anyio.current_time() - started
            return crash_result(seq, item.source, item.id, _instance(item).model_dump_json(), exc, wall)
        # The instance's whole time (environment, patch, grade), not only the engine's share of it.
        result.problem.wall_s = max(result.problem.wall_s, round(anyio.current_time() - started, 3))
        return result

    async def _solve(self, seq: int, item: Item) -> ProblemResult:
        instance = _instance(item)
        try:
            async with environment(instance, self.settings) as (prepared, raw):
                box = SharedSlots(raw, self.slots)
                started = anyio.current_time()
                try:
                    made = await self.patches(prepared, box)
                except (RepositoryError, PatchFailed, PatchRefused) as exc:
                    return infra_result(seq, item, f"solving: {exc}", self.grading)
                result = self._made(seq, item, made)
                if self.grading:
                    patch = result.selection.patch if result.selection is not None else ""
                    graded = await grade_patch(prepared, box, patch or "")
                    result.evaluation = grade_evaluation(graded, anyio.current_time() - started)
                return result
        except (EnvironmentBuildError, RepositoryError) as exc:
            return infra_result(seq, item, infra_reason(exc), self.grading)

    def _made(self, seq: int, item: Item, made: str | MadePatch) -> ProblemResult:
        if isinstance(made, str):
            selector = "gold" if made and made == _instance(item).patch else "empty" if not made else "given"
            return given_result(seq, item, made, selector)
        stopped = made.result.solution.stopped_by
        if stopped is not None and stopped.kind == "model" and self.llm is not None and not self.llm.reached:
            raise LLMError(stopped.detail)
        result = solved_result(seq, item.source, _instance(item).model_dump_json(), made.result)
        if result.selection is not None:
            result.selection.patch = made.patch
        return result
