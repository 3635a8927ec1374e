"""The S* loop, written once for every kind of task: generate, debug, select.

Read :meth:`Engine.solve` top to bottom: it is the whole algorithm. Budgets
cut it short gracefully: whatever was computed is kept, and the best
candidate so far is returned with the reason.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import replace

import anyio
import anyio.to_thread

from codesolve.errors import BudgetExceeded, LLMError
from codesolve.llm import LLM, Completion, Message, Role, parse_reply
from codesolve.sstar.adaptive import waves
from codesolve.sstar.candidate import Candidate, no_code_report
from codesolve.sstar.config import EngineConfig
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.once import OnceEach
from codesolve.sstar.prefetch import FreeRows
from codesolve.sstar.selection import Pick, fallback, select
from codesolve.sstar.spend import Spend
from codesolve.sstar.stop import StopSwitch
from codesolve.sstar.trace import Recorder, Solution, StopReason, Trace
from codesolve.tasks.base import DebugTurn, Extracted, Task, TestReport

__all__ = ["Candidate", "Engine", "Progress", "Spend"]

Progress = Callable[[str], None]
"""Receives one short line per noteworthy step (the CLI prints them on stderr)."""


class Engine:
    """Drives one task through generate → debug → select."""

    def __init__(
        self,
        task: Task,
        llm: LLM,
        config: EngineConfig,
        progress: Progress | None = None,
        stop: StopSwitch | None = None,
    ) -> None:
        self.task = task
        self.stop = stop or StopSwitch()
        self.llm = llm
        self.config = config
        self.progress = progress or (lambda _line: None)
        self.recorder = Recorder(task.task_id)
        self.spend = Spend(config.budget)
        self.candidates: list[Candidate] = []
        self.public_total = task.public_count
        # Sampled candidates are often the very same program: run each distinct one once.
        self.public_runs: OnceEach[str, TestReport] = OnceEach(keep=lambda report: not report.infra_error)
        self.free_rows = FreeRows(task, config)

    async def solve(self) -> tuple[Solution, Trace]:
        """Run the whole loop and return the solution and its trace."""
        stopped: StopReason | None = None
        pick: Pick | None = None
        with anyio.move_on_after(self.config.budget.max_wall_s or math.inf) as scope, self.stop.watch() as halt:
            try:
                async with self.free_rows.running():
                    extra_inputs = 0
                    if self.config.adaptive:
                        extra_inputs = await waves(self, self.context())
                    else:
                        await self.generate_while_preparing(self.config.n)
                        await self.debug_all(self.candidates)
                    pick = await select(self.context(), self.candidates, extra_inputs)
            except BudgetExceeded as exc:
                stopped = StopReason(kind="budget", detail=str(exc))
            except LLMError as exc:
                # Keep what was computed: the endpoint failing mid-run is a stop, not a crash.
                stopped = StopReason(kind="model", detail=str(exc))
        if scope.cancelled_caught:
            stopped = StopReason(kind="budget", detail=f"wall-time cap {self.config.budget.max_wall_s:g}s reached")
        if halt.cancelled_caught:
            stopped = StopReason(kind="interrupted", detail=self.stop.reason or "stopped")
        if pick is None:
            pick = fallback(self.candidates, str(stopped) if stopped else "no selection ran")
        solution = self.solution(pick, stopped)
        self.recorder.trace.solution = solution
        return solution, self.recorder.trace

    async def ask(
        self,
        role: Role,
        messages: list[Message],
        phase: str,
        n: int = 1,
        seed_key: str = "",
        temperature: float | None = None,
    ) -> list[Completion]:
        """One model call, budget-checked, counted and recorded in the trace."""
        self.spend.charge(role)
        temp = self.config.debug_temperature if temperature is None else temperature
        completions = await self.llm.complete(
            role, messages, n=n, temperature=temp, max_tokens=self.config.max_tokens, phase=phase, seed_key=seed_key
        )
        self.spend.add(completions)
        self.recorder.add(
            "llm",
            phase,
            role=role,
            seed_key=seed_key,
            messages=[{"role": m.role, "content": m.content} for m in messages],
            completions=[
                {
                    "text": c.text,
                    "finish_reason": c.finish_reason,
                    "prompt_tokens": c.prompt_tokens,
                    "completion_tokens": c.completion_tokens,
                    "latency_s": round(c.latency_s, 4),
                    "cached": c.cached,
                    "cost_usd": c.cost_usd,
                }
                for c in completions
            ],
        )
        return completions

    def context(self) -> SelectionContext:
        """The narrow view of this solve that selection works through."""

        async def ask(role: Role, messages: list[Message], phase: str) -> list[Completion]:
            return await self.ask(role, messages, phase)

        return SelectionContext(
            self.task, ask, self.recorder.add, self.spend, self.config, self.rng(), self.free_rows, self.progress
        )

    async def generate_while_preparing(self, count: int) -> list[Candidate]:
        """Generate while the task gets ready (containers start during the model call), then makes
        its LLM-free inputs (which may depend on what preparing gathered)."""
        stopped: list[BudgetExceeded | LLMError] = []
        made: list[Candidate] = []

        async def prepare() -> None:
            await self.task.prepare()
            self.free_rows.make_inputs_ahead()

        async with anyio.create_task_group() as group:
            group.start_soon(prepare)
            try:
                made = await self.generate(count)
            except (BudgetExceeded, LLMError) as exc:
                stopped.append(exc)  # raised bare below, not wrapped in an exception group
                group.cancel_scope.cancel()
        if stopped:
            raise stopped[0]
        return made

    async def generate(self, count: int, wave: int = 0) -> list[Candidate]:
        """Phase 1: ``count`` candidates from one sampling call (the client splits it where it must).

        Each wave of an adaptive run is its own request (``seed_key``), so a
        cached first wave is never served again as the second.
        """
        completions = await self.ask(
            "generator",
            self.task.generation_messages(),
            "generate",
            n=count,
            seed_key=f"wave{wave}" if wave else "",
            temperature=self.config.temperature,
        )
        made: list[Candidate] = []
        for extracted in await self.extract_all([c.text for c in completions]):
            index = len(self.candidates)
            made.append(Candidate(index=index, code=extracted.code))
            self.candidates.append(made[-1])
            if extracted.code is None:
                self.recorder.add("note", "generate", note=f"candidate {index}: {extracted.problem}")
        self.progress(f"generated {len(self.candidates)} candidates")
        return made

    async def debug_all(self, candidates: Sequence[Candidate]) -> None:
        """Phase 2: the given candidates debugged concurrently against the public tests."""
        interrupted: list[BudgetExceeded | LLMError] = []

        async def guarded(candidate: Candidate) -> None:
            # A cap or a model failure stops this candidate's debugging, not its siblings'
            # results: they are kept, and the stop is re-raised once all have settled.
            try:
                await self.debug_one(candidate)
            except (BudgetExceeded, LLMError) as exc:
                interrupted.append(exc)

        async with anyio.create_task_group() as group:
            for candidate in candidates:
                group.start_soon(guarded, candidate)
        if interrupted:
            raise interrupted[0]
        passing = sum(1 for c in self.candidates if c.report is not None and c.report.all_passed)
        self.progress(f"debugging done: {passing}/{len(self.candidates)} pass the public tests")

    async def debug_one(self, candidate: Candidate) -> None:
        """Run, and while failing, ask the debugger for a fix, up to ``rounds`` times."""
        for round_no in range(self.config.rounds + 1):
            report = await self.evaluate(candidate)
            candidate.history.append(DebugTurn(candidate.code or "", report))
            if report.all_passed and candidate.code is not None:
                self.free_rows.passed(candidate.key, candidate.code)
            if report.all_passed or report.infra_error or round_no == self.config.rounds:
                return
            [reply] = await self.ask(
                "debugger",
                self.task.debug_messages(candidate.history),
                "debug",
                seed_key=f"{candidate.index}:{round_no}",
            )
            extracted = await self.extract(reply.text)
            if extracted.code is not None:
                candidate.code = extracted.code
            else:
                # Keep the old code; the next feedback says the reply had none.
                candidate.history[-1] = DebugTurn(
                    candidate.code or "",
                    replace(report, feedback=no_code_report(report.total, extracted.problem).feedback),
                )

    async def extract(self, text: str) -> Extracted:
        """The task's extraction of ``text`` (see :meth:`extract_all`)."""
        [extracted] = await self.extract_all([text])
        return extracted

    async def extract_all(self, texts: Sequence[str]) -> list[Extracted]:
        """The task's extraction of each text, all in one go.

        Parsing a reply is CPU work on endpoint-controlled text. A large one runs in a worker
        thread, so a deadline or Ctrl-C cancels the solve at once instead of waiting for it (the
        thread is abandoned; extraction is linear and the reply capped); a small one, where the
        task's extraction only scans the text, here: the hop to a worker cost more, and the
        candidates' public tests start that much sooner (:func:`codesolve.llm.parse_reply`).
        """

        def each() -> list[Extracted]:
            return [self.task.extract(text) for text in texts]

        if not self.task.extract_scans:
            return await anyio.to_thread.run_sync(each, abandon_on_cancel=True)
        return await parse_reply(sum(map(len, texts)), each)

    async def evaluate(self, candidate: Candidate) -> TestReport:
        """Public tests of the current code (a missing program fails them all without running)."""
        code = candidate.code
        if code is None:
            return no_code_report(self.public_total, "no code block found")
        report, ran = await self.public_runs.get(candidate.key, lambda: self.task.run_public(code))
        self.recorder.add(
            "exec",
            "debug",
            candidate.key[:12],
            passed=report.passed,
            total=report.total,
            verdicts=list(report.verdicts),
            shared=not ran,
        )
        return report

    def solution(self, pick: Pick, stopped: StopReason | None) -> Solution:
        """Assemble the result record."""
        report = pick.candidate.report if pick.candidate is not None else None
        return Solution(
            task_id=self.task.task_id,
            code=pick.candidate.code if pick.candidate is not None else None,
            candidate=pick.candidate.key[:12] if pick.candidate is not None else None,
            selector=self.config.selector,
            why=pick.why,
            public_passed=report.passed if report else 0,
            public_total=report.total if report else self.public_total,
            public_verdicts=list(report.verdicts) if report else [],
            stopped_by=stopped,
            candidates=len(self.candidates),
            survivors=pick.survivors,
            clusters=pick.clusters,
            judge_calls=self.spend.judge_calls,
            tokens=self.spend.tokens,
            cost_usd=None if self.spend.cost is None else round(self.spend.cost, 6),
            wall_s=round(self.recorder.elapsed(), 3),
        )

    def rng(self) -> random.Random:
        """Seeded by config and task, so the ``random`` selector is reproducible."""
        return random.Random(f"{self.config.seed}:{self.task.task_id}")
