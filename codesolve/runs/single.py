"""Solving one problem end to end: sandbox + model + engine, with the trace saved."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from codesolve.errors import UsageError
from codesolve.llm import LLM, LLMConfig
from codesolve.sstar import Engine, EngineConfig, Progress, Solution, Trace
from codesolve.sstar.engine import Candidate
from codesolve.tasks.competitive import CompetitiveTask
from codesolve.tasks.models import CompetitiveProblem, Problem
from sandbox import Sandbox


@dataclass(frozen=True)
class SolveResult:
    """A solution, its trace, and where they were written."""

    solution: Solution
    trace: Trace
    trace_path: Path | None
    candidates: tuple[Candidate, ...] = ()
    """Every candidate with its debug history (code and public-test report per round)."""


def task_for(problem: Problem, sandbox: Sandbox, config: EngineConfig) -> CompetitiveTask:
    """The engine task for a problem (competitive problems for now)."""
    if not isinstance(problem, CompetitiveProblem):
        raise UsageError(f"problem {getattr(problem, 'id', '?')}: solving {problem.kind} tasks is not supported yet")
    return CompetitiveTask(problem, sandbox, history_chars=config.history_chars)


def safe_name(task_id: str) -> str:
    """A file name for a problem id (``HumanEval/0`` → ``HumanEval_0``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", task_id).strip("_") or "problem"


async def solve_one(
    problem: Problem,
    sandbox: Sandbox,
    llm: LLM,
    config: EngineConfig,
    out: Path | None = None,
    progress: Progress | None = None,
) -> SolveResult:
    """Run the engine on one problem; write ``<out>/<id>.trace.json`` and ``.solution.json``."""
    engine = Engine(task_for(problem, sandbox, config), llm, config, progress)
    solution, trace = await engine.solve()
    path = None
    if out is not None:
        path = out / f"{safe_name(solution.task_id)}.trace.json"
        trace.save(path)
        (out / f"{safe_name(solution.task_id)}.solution.json").write_text(solution.model_dump_json(indent=1))
    return SolveResult(solution, trace, path, tuple(engine.candidates))


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
