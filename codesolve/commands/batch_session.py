"""What both executors of ``codesolve batch`` set up alike: the model config, the progress display, the ETA's total."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import anyio

from codesolve.commands.solve import llm_config
from codesolve.llm import LLMConfig
from codesolve.runs.batch import finished_ids
from codesolve.runs.progress import Gauges, PlainProgress, RichProgress
from codesolve.runs.records import RunConfig
from codesolve.runs.store import RunStore
from codesolve.tasks import count_records


def batch_llm_config(args: argparse.Namespace, store: RunStore) -> LLMConfig:
    """The model client's config: the run's response cache, the per-endpoint request limit."""
    return llm_config(args, store.cache_path, max(args.llm_concurrency, 1))


async def release_when(progress: PlainProgress, ready: Callable[[], bool]) -> None:
    """Print the progress's held line as soon as ``ready()`` is true (checked ten times a second)."""
    while not ready():
        await anyio.sleep(0.1)
    progress.release()


def make_progress(args: argparse.Namespace, gauges: Gauges) -> PlainProgress:
    """The live display the flags (and the terminal) ask for."""
    rich = args.progress == "rich" or (args.progress == "auto" and sys.stderr.isatty())
    return RichProgress(gauges, sys.stderr) if rich else PlainProgress(gauges, sys.stderr)


def _session_total(config: RunConfig, paths: list[Path]) -> int | None:
    # For the ETA: --id, else the records in the files (JSONL: counted, not parsed), capped by --limit.
    if config.ids is not None:
        return len(config.ids)
    counted = count_records(paths)
    if counted is None or config.limit is None:
        return counted if counted is not None else config.limit
    return min(counted, config.limit)


def session_total(config: RunConfig, store: RunStore, args: argparse.Namespace) -> int | None:
    """Problems this session has to do, when known (what earlier sessions finished is skipped)."""
    total = _session_total(config, args.problems)
    return None if total is None else max(total - len(finished_ids(store, args.retry_failed)), 0)
