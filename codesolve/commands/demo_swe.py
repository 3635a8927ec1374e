"""``codesolve demo swe``: the whole SWE path offline, on the bundled mini set, with a scripted model.

The current directory (or ``--out``) becomes the run folder: its store, the
traces, and the exports ``predictions.jsonl`` (the SWE-bench harness format),
``results.jsonl`` and ``report.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codesolve import __version__
from codesolve.errors import UsageError
from codesolve.llm import LLM, LLMConfig, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.batch import Selection
from codesolve.runs.progress import Gauges, PlainProgress, printable
from codesolve.runs.records import RunConfig, SweRunConfig
from codesolve.runs.store import RunStore
from codesolve.runs.swe import SweSettings
from codesolve.runs.swe_batch import SweJob, run_swe
from codesolve.runs.swe_report import PREDICTIONS, REPORT, export, load_instances, report_lines
from codesolve.runs.swe_solve import SolveSettings, engine_patches
from codesolve.sstar import EngineConfig
from codesolve.tasks import stream_problems

MINI = Path(__file__).resolve().parents[2] / "problems" / "swe"
BANNER = (
    "codesolve demo swe — the model here is a SCRIPTED stand-in (fixed replies from {scenario}),\n"
    "served over loopback HTTP and called through the real openai client. The checkouts, the sandbox,\n"
    "the tests, the selection and the SWE-bench style grading are real."
)


def _say(line: str) -> None:
    print(printable(line, 1000), file=sys.stderr, flush=True)


def demo_config(out: Path, engine: EngineConfig, instances_file: Path) -> RunConfig:
    """The demo run's config (a rerun in the same folder resumes it)."""
    swe = SweRunConfig(repos=str(MINI / "repos"), patches="model", model_name_or_path="scripted-demo")
    return RunConfig(
        name=out.name or "demo-swe", version=__version__, problems=[str(instances_file)], format="swebench",
        model="scripted-demo", engine=engine, swe=swe,
    )  # fmt: skip


async def demo_swe(args: argparse.Namespace) -> int:
    """Solve and grade the mini set; 0 when every instance resolves."""
    instances_file, scenario_file = MINI / "instances.jsonl", MINI / "demo_scenario.yaml"
    if not instances_file.exists():
        raise UsageError(f"{instances_file} not found: the demo runs from a source checkout")
    out = (args.out if args.out is not None else Path(".")).resolve()
    print(BANNER.format(scenario=scenario_file), file=sys.stderr)
    instances = load_instances(instances_file)
    engine = EngineConfig(n=args.n if args.n else 2, rounds=2)
    store = RunStore.open_at(out, demo_config(out, engine, instances_file))
    settings = SweSettings(MINI / "repos", out)
    with ScriptedServer(Scenario.from_file(scenario_file)) as server:
        async with LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=30)), env=server.env) as llm:
            job = SweJob(store, settings, engine_patches(llm, SolveSettings(engine)), llm=llm, engine_config=engine)
            progress = PlainProgress(Gauges(llm, job, engine.n, len(instances)), sys.stderr)
            await run_swe(job, stream_problems([instances_file], "swebench"), Selection(), progress)
        _say(f"model requests: {len(server.chat_requests)}")
    report = export(store)
    for line in report_lines(report, store):
        print(line)
    print(f"predictions: {out / PREDICTIONS}; report: {out / REPORT}", file=sys.stderr)
    return 0 if report["resolved_instances"] == len(instances) else 1
