"""``codesolve solve PROBLEM_FILE``: S* on one problem against a real endpoint."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from codesolve.commands.common import (
    add_engine_flags,
    add_model_flags,
    add_sandbox_flags,
    progress_printer,
    sandbox_config,
)
from codesolve.commands.interrupt import Interrupted, Interrupts
from codesolve.errors import LLMError, UsageError
from codesolve.llm import EndpointConfig, LLMConfig, Price, Role
from codesolve.runs.output import OutputError
from codesolve.runs.single import open_llm, save_result, solve_one, summary_lines
from codesolve.sstar import Budget, EngineConfig
from codesolve.tasks import load_problem
from sandbox import open_sandbox


def register(subparsers: Any) -> None:
    """Add ``solve``."""
    p = subparsers.add_parser("solve", help="generate, debug and select a program for one problem")
    p.add_argument("problem", type=Path, help="problem file (any supported format)")
    p.add_argument("--id", help="problem id within a multi-problem file")
    p.add_argument("--format", help="problem file format (detected when omitted)")
    add_model_flags(p)
    add_engine_flags(p)
    p.add_argument("--out", type=Path, default=Path("out"), help="directory for the trace, solution and cache")
    p.add_argument("--no-cache", action="store_true", help="do not replay cached responses; fresh ones replace them")
    add_sandbox_flags(p)
    p.set_defaults(func=run)


def parse_prices(specs: list[str]) -> dict[str, Price]:
    """``MODEL=IN,OUT`` flags into a price table."""
    prices: dict[str, Price] = {}
    for spec in specs:
        model, _, numbers = spec.partition("=")
        try:
            prompt, completion = (float(x) for x in numbers.split(","))
        except ValueError:
            raise UsageError(f"--price {spec!r}: expected MODEL=IN,OUT in USD per million tokens") from None
        prices[model] = Price(prompt_per_m=prompt, completion_per_m=completion)
    return prices


def llm_config(
    args: argparse.Namespace, cache_path: Path | None = None, max_concurrency: int | None = None
) -> LLMConfig:
    """The model configuration from the model flags (``cache_path``: default ``--out``/cache.sqlite)."""
    default = EndpointConfig(
        model=args.model,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        timeout_s=args.timeout,
        max_retries=args.max_retries,
    )
    if max_concurrency is not None:
        default = default.model_copy(update={"max_concurrency": max_concurrency})
    roles: dict[Role, EndpointConfig] = {}
    if args.judge_model:
        judge = default.model_copy(update={"model": args.judge_model})
        roles = {"judge": judge, "synthesizer": judge}
    return LLMConfig(
        default=default,
        roles=roles,
        prices=parse_prices(args.price),
        cache_path=cache_path or args.out / "cache.sqlite",
        use_cache=not args.no_cache,
    )


def check_keys(args: argparse.Namespace) -> None:
    """A missing API key: one line, before a command makes a run folder or runs anything."""
    llm_config(args, Path(os.devnull)).api_keys(os.environ)  # the cache path is not opened here


def engine_config(args: argparse.Namespace) -> EngineConfig:
    """The engine configuration from flags (pydantic validates ranges)."""
    if args.n < 1 or args.rounds < 0:
        raise UsageError("-n must be >= 1 and --rounds >= 0")
    budget = Budget(max_usd=args.budget_usd, max_tokens=args.budget_tokens, max_wall_s=args.budget_seconds)
    return EngineConfig(
        n=args.n,
        rounds=args.rounds,
        selector=args.selector,
        temperature=args.temperature,
        budget=budget,
        synth=args.synth,
        adaptive=args.adaptive,
        judge_ahead=not args.no_judge_ahead,
        lang=args.lang,
    )


async def _solve(args: argparse.Namespace, interrupts: Interrupts) -> int:
    problem = load_problem(args.problem, args.id, args.format)
    config = engine_config(args)
    async with open_llm(llm_config(args)) as llm, open_sandbox(await sandbox_config(args)) as box:
        result = await solve_one(problem, box, llm, config, None, progress_printer(llm), interrupts.switch)
    solution = result.solution
    stopped = solution.stopped_by
    if stopped is not None and stopped.kind == "model" and not result.candidates:
        # Nothing was computed (a dead endpoint, a bad key, an unknown model): one line, no summary.
        raise LLMError(stopped.detail)
    result = save_result(result, args.out)
    if solution.code is not None:
        sys.stdout.write(solution.code)
    for line in summary_lines(solution):
        print(line, file=sys.stderr)
    if result.write_error is not None:
        raise OutputError(result.write_error)
    print(f"trace: {result.trace_path}", file=sys.stderr)
    if interrupts.pressed:
        raise Interrupted("interrupted")
    if solution.code is None and stopped is not None and stopped.kind == "model":
        raise LLMError(stopped.detail)
    return 0 if solution.public_passed == solution.public_total and solution.code else 1


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve solve``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _solve(args, interrupts))
