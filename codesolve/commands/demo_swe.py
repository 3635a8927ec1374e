"""``codesolve demo swe``: the whole SWE path offline, on the bundled mini set, with a scripted model.

Writes ``predictions.jsonl`` (the SWE-bench harness format), ``results.jsonl``
and ``report.json`` into the current directory (or ``--out``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codesolve.commands.common import progress_printer
from codesolve.errors import UsageError
from codesolve.llm import LLM, LLMConfig, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.progress import printable
from codesolve.runs.swe import Prepared, SweSettings, run_batch
from codesolve.runs.swe_report import RUN_FILE, load_instances, report_lines
from codesolve.runs.swe_solve import SolveSettings, make_patch
from codesolve.sstar import EngineConfig
from sandbox import Sandbox

MINI = Path(__file__).resolve().parents[2] / "problems" / "swe"
BANNER = (
    "codesolve demo swe — the model here is a SCRIPTED stand-in (fixed replies from {scenario}),\n"
    "served over loopback HTTP and called through the real openai client. The checkouts, the sandbox,\n"
    "the tests, the selection and the SWE-bench style grading are real."
)


def _say(line: str) -> None:
    print(printable(line, 1000), file=sys.stderr, flush=True)


async def demo_swe(args: argparse.Namespace) -> int:
    """Solve and grade the mini set; 0 when every instance resolves."""
    instances_file, scenario_file = MINI / "instances.jsonl", MINI / "demo_scenario.yaml"
    if not instances_file.exists():
        raise UsageError(f"{instances_file} not found: the demo runs from a source checkout")
    out = (args.out if args.out is not None else Path(".")).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(BANNER.format(scenario=scenario_file), file=sys.stderr)
    instances = load_instances(instances_file)
    (out / RUN_FILE).write_text(
        f'{{"kind": "swe", "instances": "{instances_file}", "repos": "{MINI / "repos"}", "specs": null, '
        f'"ids": [], "model_name_or_path": "scripted-demo"}}\n'
    )
    settings = SweSettings(MINI / "repos", out, "scripted-demo")
    solve = SolveSettings(EngineConfig(n=args.n if args.n else 2, rounds=2), traces=out / "traces")
    with ScriptedServer(Scenario.from_file(scenario_file)) as server:
        async with LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=30)), env=server.env) as llm:
            show = progress_printer(llm)

            async def engine(prepared: Prepared, box: Sandbox) -> str:
                _say(f"== {prepared.instance.instance_id}: {prepared.instance.problem_statement.splitlines()[0]}")
                return await make_patch(prepared, box, llm, solve, show)

            report = await run_batch(instances, settings, engine, _say)
        _say(f"model requests: {len(server.chat_requests)}")
    for line in report_lines(report, out):
        print(line)
    print(f"predictions: {out / 'predictions.jsonl'}; report: {out / 'report.json'}", file=sys.stderr)
    return 0 if report["resolved_instances"] == len(instances) else 1
