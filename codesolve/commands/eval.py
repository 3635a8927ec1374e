"""``codesolve eval RUN``: run each problem's selected program and candidates on its hidden tests."""

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


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve eval``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _eval(args, interrupts))
