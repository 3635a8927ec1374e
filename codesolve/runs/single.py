"""Solving one problem end to end: sandbox + model + engine, with the trace saved."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from codesolve.errors import UsageError
from codesolve.llm import LLM, LLMConfig
from codesolve.runs.output import OutputError, file_stem, new_run_id, write_new
from codesolve.sstar import Engine, EngineConfig, Progress, Solution, Trace
from codesolve.sstar.engine import Candidate
from codesolve.sstar.stop import StopSwitch
from codesolve.tasks.competitive import CompetitiveTask
from codesolve.tasks.models import CompetitiveProblem, Problem, SweInstance
from sandbox import Sandbox, SandboxConfig, open_sandbox


@dataclass(frozen=True)
class SolveResult:
    """A solution, its trace, and where they were written."""

    solution: Solution
    trace: Trace
    trace_path: Path | None
    write_error: str | None = None
    """Why the files could not be written (the result itself is intact), or None."""
    candidates: tuple[Candidate, ...] = ()
    """Every candidate with its debug history (code and public-test report per round)."""


def task_for(problem: Problem, sandbox: Sandbox, config: EngineConfig) -> CompetitiveTask:
    """The engine task for a problem (competitive problems for now)."""
    if isinstance(problem, SweInstance):
        # Its lane needs repositories and an environment per instance: the SWE lanes of the same runner.
        raise UsageError(f"{problem.id}: SWE instances are solved with codesolve swe INSTANCES --repos DIR")
    if not isinstance(problem, CompetitiveProblem):
        raise UsageError(f"problem {getattr(problem, 'id', '?')}: solving {problem.kind} tasks is not supported yet")
    return CompetitiveTask(problem.public_view(), sandbox, history_chars=config.history_chars, lang=config.lang)


async def solve_one(
    problem: Problem,
    sandbox: Sandbox,
    llm: LLM,
    config: EngineConfig,
    out: Path | None = None,
    progress: Progress | None = None,
    stop: StopSwitch | None = None,
) -> SolveResult:
    """Run the engine on one problem; write ``<out>/<stem>.<run>.trace.json`` and ``.solution.json``.

    ``stop`` ends the solve early (Ctrl-C): the partial result is still
    returned and written. A write that fails never loses the result: it is
    returned with ``write_error`` set, for the caller to show and report.
    """
    engine = Engine(task_for(problem, sandbox, config), llm, config, progress, stop)
    solution, trace = await engine.solve()
    result = SolveResult(solution, trace, None, candidates=tuple(engine.candidates))
    return result if out is None else save_result(result, out)


def save_result(result: SolveResult, out: Path) -> SolveResult:
    """Write ``<out>/<stem>.<run>.trace.json`` and ``.solution.json``; the result with its paths.

    A write that fails never loses the result: it comes back with ``write_error`` set.
    """
    base = out / f"{file_stem(result.solution.task_id)}.{new_run_id()}"
    path = base.with_name(base.name + ".trace.json")
    try:
        write_new(path, _json(result.trace))
        write_new(base.with_name(base.name + ".solution.json"), _json(result.solution))
    except OutputError as exc:
        return replace(result, write_error=str(exc))
    return replace(result, trace_path=path)


def _json(record: BaseModel) -> str:
    # A lone surrogate (an odd problem file) cannot be UTF-8 encoded; escaped, it is still kept.
    try:
        return record.model_dump_json(indent=1)
    except PydanticSerializationError:
        return json.dumps(record.model_dump(mode="python"), indent=1, default=str)


async def solve(
    problem: Problem,
    llm: LLMConfig,
    engine: EngineConfig | None = None,
    sandbox: SandboxConfig | None = None,
    *,
    out: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> SolveResult:
    """Solve one problem: open the model client and the sandbox, run the engine, close both.

    ``sandbox`` defaults to Docker; ``env`` is where API keys are read (default ``os.environ``);
    with ``out`` the trace and solution are written there too. Raises
    :class:`codesolve.errors.LLMConfigError` (e.g. a missing key) before any work, and
    :class:`sandbox.errors.SandboxUnavailable` when the sandbox cannot start.
    """
    async with open_llm(llm, env) as client, open_sandbox(sandbox) as box:
        return await solve_one(problem, box, client, engine or EngineConfig(), out)


def open_llm(config: LLMConfig, env: Mapping[str, str] | None = None) -> LLM:
    """The model client (raises LLMConfigError, e.g. for a missing key, before any request)."""
    return LLM(config, env=env)


def summary_lines(solution: Solution) -> list[str]:
    """Human summary of a solution: verdicts, selection, spend."""
    verdicts = " ".join(solution.public_verdicts) or "-"
    cost = "unknown" if solution.cost_usd is None else f"${solution.cost_usd:.4f}"
    lines = [
        f"public tests: {solution.public_passed}/{solution.public_total} passed [{verdicts}]",
        f"selected by {solution.selector}: {solution.why}",
        f"candidates {solution.candidates}, survivors {solution.survivors}, clusters {solution.clusters}, "
        f"judge calls {solution.judge_calls}",
        f"tokens {solution.tokens}, cost {cost}, wall {solution.wall_s:.1f}s",
    ]
    if solution.stopped_by:
        lines.append(f"stopped early: {solution.stopped_by}")
    return lines
