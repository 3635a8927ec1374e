"""``codesolve swe INSTANCES --repos DIR``: SWE-bench instances solved and graded, offline.

``--gold`` grades the dataset's own patches (the harness check the official
harness calls validation: every verified instance must resolve); ``--empty``
grades empty patches (none may resolve). With ``--model`` the engine makes the
patches. The run folder (``--out``) is a batch run store: a rerun resumes and
never redoes a finished instance; ``predictions.jsonl`` (the SWE-bench harness
format), ``results.jsonl`` and ``report.json`` are exported from it.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Literal

import anyio

from codesolve import __version__
from codesolve.commands.batch_session import make_progress
from codesolve.commands.common import add_engine_flags, add_model_flags
from codesolve.commands.interrupt import Interrupted, Interrupts
from codesolve.commands.solve import check_keys, engine_config, llm_config
from codesolve.errors import UsageError
from codesolve.runs.batch import Selection, Tally, finished_ids
from codesolve.runs.progress import Gauges
from codesolve.runs.records import RunConfig, SweRunConfig
from codesolve.runs.single import open_llm
from codesolve.runs.store import RunStore
from codesolve.runs.swe import Prepared, SweSettings
from codesolve.runs.swe_batch import SweJob, run_swe
from codesolve.runs.swe_lane import PatchSource
from codesolve.runs.swe_report import export, load_instances, report_lines
from codesolve.runs.swe_solve import SolveSettings, engine_patches
from codesolve.sstar import EngineConfig
from codesolve.tasks import stream_problems
from sandbox import Sandbox


def register(subparsers: Any) -> None:
    """Add ``swe``."""
    p = subparsers.add_parser("swe", help="solve and grade SWE-bench style instances offline")
    p.add_argument("instances", type=Path, help="SWE-bench instances (JSON or JSONL)")
    p.add_argument("--repos", type=Path, required=True, help="folder of local mirrors (owner__name.git[.tar.xz])")
    p.add_argument("--id", action="extend", nargs="+", default=[], help="only these instance ids")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--gold", action="store_true", help="grade the dataset's gold patches")
    what.add_argument("--empty", action="store_true", help="grade empty patches (none may resolve)")
    p.add_argument("--public-tests", action="store_true", help="show FAIL_TO_PASS to the solver (hidden by default)")
    p.add_argument("--no-grade", action="store_true", help="write predictions only (grade later with codesolve eval)")
    add_model_flags(p)
    for action in p._actions:
        if action.dest == "model":
            action.required = False  # --gold / --empty need no model; checked in _swe()
    add_engine_flags(p)
    p.add_argument("--concurrency", "-k", type=int, default=1, help="instances solved side by side (default 1)")
    p.add_argument("--llm-concurrency", type=int, default=16, help="model requests in flight per endpoint")
    p.add_argument("--pool-size", type=int, help="sandbox runs at once across instances (default: min(k, CPUs))")
    p.add_argument("--no-cache", action="store_true", help="do not replay cached model responses")
    p.add_argument("--specs", type=Path, help="folder of extra build specs (<owner>__<name>.yaml)")
    p.add_argument("--out", type=Path, default=Path("swe-run"), help="run folder (default swe-run)")
    p.add_argument("--new-run", action="store_true", help="start the run in --out over (its cache is kept)")
    p.add_argument("--retry-failed", action="store_true", help="redo instances an earlier session recorded as failed")
    p.add_argument("--progress", choices=["auto", "rich", "plain"], default="auto", help="progress display")
    p.set_defaults(func=run)


def run_config(args: argparse.Namespace) -> RunConfig:
    """The run's config from the flags (what a resumed run must repeat)."""
    patches: Literal["model", "gold", "empty"] = "model" if args.model else "gold" if args.gold else "empty"
    swe = SweRunConfig(
        repos=str(args.repos.resolve()),
        specs=str(args.specs.resolve()) if args.specs else None,
        patches=patches,
        model_name_or_path=args.model or patches,
        public_tests=bool(args.public_tests),
    )
    return RunConfig(
        name=args.out.resolve().name or "swe-run",
        version=__version__,
        problems=[str(args.instances.resolve())],
        format="swebench",
        ids=sorted(set(args.id)) or None,
        model=args.model or patches,
        judge_model=args.judge_model if args.model else None,
        base_url=args.base_url if args.model else None,
        engine=engine_config(args) if args.model else EngineConfig(),
        swe=swe,
    )


def _check(args: argparse.Namespace) -> None:
    if not args.repos.is_dir():
        raise UsageError(f"--repos {args.repos}: not a directory")
    load_instances(args.instances, args.id)  # bad input fails here, in one line, before anything runs
    if args.model and (args.gold or args.empty):
        raise UsageError("--model cannot be combined with --gold or --empty")
    if not (args.model or args.gold or args.empty):
        raise UsageError("say what makes the patches: --model NAME, --gold or --empty")
    if args.concurrency < 1 or (args.pool_size is not None and args.pool_size < 1):
        raise UsageError("--concurrency and --pool-size must be at least 1")


async def _gold(prepared: Prepared, _box: Sandbox) -> str:
    return prepared.instance.patch


async def _empty(_prepared: Prepared, _box: Sandbox) -> str:
    return ""


async def _swe(args: argparse.Namespace, interrupts: Interrupts) -> int:
    _check(args)
    config = run_config(args)
    if args.model:
        check_keys(args)
    store = RunStore.open_at(args.out.resolve(), config, args.new_run)
    settings = SweSettings(args.repos.resolve(), store.root, args.specs.resolve() if args.specs else None)
    which = Selection(frozenset(config.ids) if config.ids else None, None, args.retry_failed)
    stop = interrupts.graceful(lambda line: print(f"codesolve: {line}", file=sys.stderr))
    async with AsyncExitStack() as stack:
        llm = None
        patches: PatchSource = _gold if args.gold else _empty
        if args.model:
            llm = await stack.enter_async_context(
                open_llm(llm_config(args, store.cache_path, max(args.llm_concurrency, 1)))
            )
            patches = engine_patches(llm, SolveSettings(config.engine, args.public_tests))
        pool = args.pool_size or min(args.concurrency, os.cpu_count() or 2)
        job = SweJob(store, settings, patches, not args.no_grade, args.concurrency, pool, llm, config.engine)
        tally = await _session(args, job, config, which, stop)
    print(
        f"run {store.root}: {tally.done} done, {tally.failed} failed, {tally.skipped} already finished",
        file=sys.stderr,
    )
    if tally.interrupted:
        raise Interrupted("interrupted")
    if tally.missing_ids:
        raise UsageError(f"--id: no instance {', '.join(tally.missing_ids[:10])}")
    for line in report_lines(export(store), store):
        print(line)
    return 0


async def _session(
    args: argparse.Namespace, job: SweJob, config: RunConfig, which: Selection, stop: anyio.Event
) -> Tally:
    total = len(config.ids) if config.ids else len(load_instances(args.instances))
    left = max(total - len(finished_ids(job.store, args.retry_failed)), 0)
    gauges = Gauges(job.llm, job, config.engine.n, left)  # the job's ``slots``: the shared limit
    progress = make_progress(args, gauges)
    try:
        async with anyio.create_task_group() as display:
            display.start_soon(progress.run)
            items = stream_problems([args.instances], "swebench")
            tally = await run_swe(job, items, which, progress, stop)
            display.cancel_scope.cancel()
    finally:
        progress.close()
    return tally


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve swe``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _swe(args, interrupts))
