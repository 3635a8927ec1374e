"""``codesolve eval RUN``: run each problem's selected program and candidates on its hidden tests.

On a ``codesolve swe`` run it grades the stored predictions like SWE-bench instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from codesolve.commands.common import add_sandbox_flags, sandbox_config
from codesolve.commands.interrupt import Interrupted, Interrupts
from codesolve.runs.evalrun import evaluate_run
from codesolve.runs.metrics import compute
from codesolve.runs.progress import printable
from codesolve.runs.report_text import summary_lines
from codesolve.runs.store import RunStore
from codesolve.runs.swe import SweSettings
from codesolve.runs.swe_batch import grade_pending
from codesolve.runs.swe_report import export, is_swe_run, report_lines
from sandbox import DockerConfig, open_sandbox


def register(subparsers: Any) -> None:
    """Add ``eval``."""
    p = subparsers.add_parser("eval", help="judge a run's programs on the hidden tests and print its metrics")
    p.add_argument("run", type=Path, help="run directory (e.g. runs/NAME)")
    p.add_argument("--concurrency", "-k", type=int, default=4, help="problems evaluated at once (default 4)")
    p.add_argument("--pool-size", type=int, help="warm sandbox containers (default: min(concurrency, CPUs))")
    add_sandbox_flags(p)
    p.set_defaults(func=run)


def _say(line: str) -> None:
    print(printable(line, 1000), file=sys.stderr, flush=True)


async def _eval(args: argparse.Namespace, interrupts: Interrupts) -> int:
    store = RunStore.existing(args.run)
    if is_swe_run(args.run):
        return await _eval_swe(store, args, interrupts)
    box_config = await sandbox_config(args)
    if isinstance(box_config, DockerConfig):
        pool = args.pool_size or min(max(args.concurrency, 1), os.cpu_count() or 2)
        box_config = box_config.model_copy(update={"pool_size": pool, "run_id": f"eval-{store.root.name}"[:60]})
    stop = interrupts.graceful(_say)
    async with open_sandbox(box_config) as box:
        tally = await evaluate_run(store, box, args.concurrency, _say, stop)
    _say(f"evaluated {tally.evaluated} problems ({tally.skipped} already evaluated, {tally.errors} could not be)")
    if tally.interrupted:
        raise Interrupted("interrupted")
    with store.read() as db:
        for line in summary_lines(compute(db)):
            print(line)
    return 0


async def _eval_swe(store: RunStore, args: argparse.Namespace, interrupts: Interrupts) -> int:
    # A ``codesolve swe`` run: each stored patch without a grade is graded like SWE-bench.
    swe = store.config().swe
    assert swe is not None
    settings = SweSettings(Path(swe.repos), store.root.resolve(), Path(swe.specs) if swe.specs else None)
    stop = interrupts.graceful(_say)
    tally = await grade_pending(store, settings, max(args.concurrency, 1), _say, stop)
    _say(f"graded {tally.evaluated} instances ({tally.skipped} already graded, {tally.errors} could not be)")
    if tally.interrupted:
        raise Interrupted("interrupted")
    for line in report_lines(export(store), store):
        print(line)
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve eval``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _eval(args, interrupts))
