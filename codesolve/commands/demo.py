"""``codesolve demo``: every phase of the engine, offline, on the real sandbox.

The model is a SCRIPTED OpenAI-compatible server on loopback (fixed replies
matched by rules), and the demo says so plainly. Everything else is real: the
openai client, the Docker (or local) sandbox, the verdicts, the selection.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from codesolve.commands.common import add_sandbox_flags, progress_printer, sandbox_config
from codesolve.commands.demo_swe import demo_swe
from codesolve.commands.interrupt import Interrupts
from codesolve.errors import UsageError
from codesolve.llm import LLM, LLMConfig, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.evaluate import evaluate
from codesolve.runs.single import solve_one
from codesolve.sstar import EngineConfig
from codesolve.tasks import load_problems
from codesolve.tasks.models import CompetitiveProblem
from sandbox import open_sandbox

EXAMPLES = Path(__file__).resolve().parents[2] / "problems" / "examples"
BANNER = (
    "codesolve demo — the model here is a SCRIPTED stand-in (fixed replies from {scenario}),\n"
    "served over loopback HTTP and called through the real openai client. The sandbox, the\n"
    "verdicts and the selection are real."
)


def register(subparsers: Any) -> None:
    """Add ``demo``."""
    p = subparsers.add_parser("demo", help="run the bundled examples end to end with a scripted model (offline)")
    p.add_argument("set", nargs="?", choices=["examples", "swe"], default="examples", help="what to run")
    p.add_argument("--out", type=Path, help="where traces go (default out/demo; swe: the current directory)")
    p.add_argument("-n", type=int, help="candidates per problem (default 4; swe: 2)")
    add_sandbox_flags(p)
    p.set_defaults(func=run)


async def _demo(args: argparse.Namespace) -> int:
    if args.set == "swe":
        return await demo_swe(args)
    args.out = args.out if args.out is not None else Path("out/demo")
    args.n = args.n if args.n is not None else 4
    problems_file, scenario_file = EXAMPLES / "examples.yaml", EXAMPLES / "demo_scenario.yaml"
    if not problems_file.exists():
        raise UsageError(f"{problems_file} not found: the demo runs from a source checkout")
    problems = [p for p in load_problems(problems_file) if isinstance(p, CompetitiveProblem)]
    print(BANNER.format(scenario=scenario_file), file=sys.stderr)
    config = EngineConfig(n=args.n, rounds=2)
    failures = 0
    with ScriptedServer(Scenario.from_file(scenario_file)) as server:
        llm_config = LLMConfig(default=scripted_endpoint(server, timeout_s=30))
        async with LLM(llm_config, env=server.env) as llm, open_sandbox(await sandbox_config(args)) as box:
            print(f"sandbox: {box.isolation}", file=sys.stderr)
            for problem in problems:
                print(f"\n== {problem.id}: {problem.title}", file=sys.stderr)
                result = await solve_one(problem, box, llm, config, args.out, progress_printer(llm))
                failures += await _report(problem, result.solution.code, result.solution.why, box)
            print(f"\nmodel requests: {len(server.chat_requests)}; traces in {args.out}", file=sys.stderr)
    return 1 if failures else 0


async def _report(problem: CompetitiveProblem, code: str | None, why: str, box: Any) -> int:
    print(f"   selected: {why}", file=sys.stderr)
    if code is None:
        print("   no program selected", file=sys.stderr)
        return 1
    print("   " + code.rstrip().replace("\n", "\n   "))
    hidden = await evaluate(problem, code, box, "hidden")
    verdicts = " ".join(o.verdict.value for o in hidden.outcomes)
    print(f"   hidden tests (never shown to the solver): {hidden.passed}/{hidden.total} [{verdicts}]", file=sys.stderr)
    return 0 if hidden.all_passed else 1


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve demo``."""
    return Interrupts().run(lambda: _demo(args))
