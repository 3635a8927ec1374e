"""``codesolve batch PROBLEMS…``: solve many problems into a resumable run store."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio

from codesolve import __version__
from codesolve.commands.batch_session import batch_llm_config, make_progress, release_when, session_total
from codesolve.commands.common import add_engine_flags, add_model_flags, add_sandbox_flags, sandbox_config
from codesolve.commands.interrupt import Interrupted, Interrupts
from codesolve.commands.solve import check_keys, engine_config
from codesolve.errors import UsageError
from codesolve.runs.batch import Batch, Selection, Tally, run_batch
from codesolve.runs.progress import Gauges
from codesolve.runs.records import RunConfig
from codesolve.runs.single import open_llm
from codesolve.runs.store import RunStore
from codesolve.tasks import check_sources, stream_problems
from sandbox import DockerConfig, open_sandbox


def register(subparsers: Any) -> None:
    """Add ``batch``."""
    p = subparsers.add_parser("batch", help="solve many problems into a resumable run store")
    p.add_argument("problems", type=Path, nargs="+", help="problem files or package directories")
    add_model_flags(p)
    add_engine_flags(p)
    p.add_argument("--format", help="problem file format (detected per file when omitted)")
    p.add_argument(
        "--concurrency", "-k", type=int, default=8, help="problems solved at once (default 8; per node with ray)"
    )
    p.add_argument("--llm-concurrency", type=int, default=16, help="model requests in flight per endpoint")
    p.add_argument("--pool-size", type=int, help="warm sandbox containers (default: min(concurrency, CPUs))")
    p.add_argument("--run", help="run name (default: first problem file's name and the model)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="where runs live (default ./runs)")
    p.add_argument("--limit", type=int, help="only the first N problems")
    p.add_argument(
        "--id", "--ids", dest="ids", action="extend", nargs="+", metavar="ID",
        help="only these problem ids (several, or comma-separated; --ids is the same)",
    )  # fmt: skip
    p.add_argument("--new-run", action="store_true", help="start the named run over (its cache is kept)")
    p.add_argument("--retry-failed", action="store_true", help="redo problems an earlier session recorded as failed")
    p.add_argument("--no-cache", action="store_true", help="do not replay cached responses")
    p.add_argument("--progress", choices=["auto", "rich", "plain"], default="auto", help="progress display")
    p.add_argument(
        "--executor", choices=["local", "ray"], default="local", help="where problems are solved (default local)"
    )
    p.add_argument("--ray-address", help="Ray cluster to join: auto, or HOST:PORT (default: start one here)")
    p.add_argument("--llm-rpm", type=int, help="model requests per minute per endpoint, cluster-wide (ray)")
    p.add_argument("--llm-tpm", type=int, help="model tokens per minute per endpoint, cluster-wide (ray)")
    add_sandbox_flags(p)
    p.set_defaults(func=run)


def run_name(args: argparse.Namespace) -> str:
    """The run's name: ``--run``, else the first problem file's stem and the model."""
    if args.run:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", args.run):
            raise UsageError(f"--run {args.run!r}: use letters, digits, '.', '_' and '-' (at most 100)")
        return str(args.run)
    stem = args.problems[0].name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{stem}-{args.model}").strip("-.")[:100] or "run"


def run_config(args: argparse.Namespace) -> RunConfig:
    """The run's config from the flags (what a resumed run must repeat)."""
    if args.concurrency < 1 or (args.limit is not None and args.limit < 1):
        raise UsageError("--concurrency and --limit must be at least 1")
    ids = sorted({i.strip() for arg in args.ids for i in arg.split(",") if i.strip()}) if args.ids else None
    if args.ids is not None and not ids:
        raise UsageError("--id: no id given")
    return RunConfig(
        name=run_name(args),
        version=__version__,
        problems=[str(p.resolve()) for p in args.problems],
        format=args.format,
        ids=ids,
        limit=args.limit,
        model=args.model,
        judge_model=args.judge_model,
        base_url=args.base_url,
        engine=engine_config(args),
    )


async def _batch(args: argparse.Namespace, interrupts: Interrupts) -> int:
    config = run_config(args)
    check_sources(args.problems, args.format)  # bad input fails here, in one line, before anything runs
    if args.executor == "ray":
        from codesolve.commands.batch_ray import check_ray_flags

        check_ray_flags(args)  # no Ray installed, --sandbox local: one line, before the store is touched
    elif args.ray_address or args.llm_rpm or args.llm_tpm:
        raise UsageError("--ray-address, --llm-rpm and --llm-tpm apply to --executor ray")
    check_keys(args)
    store = RunStore.create_or_resume(args.runs_dir, config, args.new_run)
    which = Selection(frozenset(config.ids) if config.ids else None, config.limit, args.retry_failed)
    stop = interrupts.graceful(lambda line: print(f"codesolve: {line}", file=sys.stderr))
    if args.executor == "ray":
        from codesolve.commands.batch_ray import on_cluster

        tally = await on_cluster(args, config, store, which, stop)
    else:
        tally = await _locally(args, config, store, which, stop)
    print(
        f"run {config.name}: {tally.done} done, {tally.failed} failed, {tally.skipped} already finished "
        f"(store {store.db_path})" + (f"; {tally.requeued} redone on another node" if tally.requeued else ""),
        file=sys.stderr,
    )
    if tally.interrupted:
        raise Interrupted("interrupted")
    if tally.missing_ids:
        raise UsageError(f"--id: no problem with id {', '.join(tally.missing_ids[:10])}")
    if tally.stranded:
        print(f"run {config.name}: no node left to run on; resume to finish it", file=sys.stderr)
        return 1
    return 1 if tally.failed or _failed_before(store) else 0


async def _locally(
    args: argparse.Namespace, config: RunConfig, store: RunStore, which: Selection, stop: anyio.Event
) -> Tally:
    box_config = await sandbox_config(args)
    if isinstance(box_config, DockerConfig):
        pool = args.pool_size or min(args.concurrency, os.cpu_count() or 2)
        box_config = box_config.model_copy(update={"pool_size": pool, "run_id": f"batch-{config.name}"[:60]})
    async with open_llm(batch_llm_config(args, store)) as llm, open_sandbox(box_config) as box:
        gauges = Gauges(llm, box, config.engine.n, session_total(config, store, args))
        progress = make_progress(args, gauges)
        # Held until the model has answered once (or anything else is printed): a dead endpoint, a
        # refused key or an unknown model is then the batch's only line, as for every command.
        progress.hold(f"run {config.name}: {store.root} (sandbox: {box.isolation})")
        try:
            async with anyio.create_task_group() as display:
                display.start_soon(progress.run)
                display.start_soon(release_when, progress, lambda: llm.reached)
                batch = Batch(store, llm, box, config.engine, progress)
                items = stream_problems(args.problems, args.format)
                tally = await run_batch(batch, items, which, args.concurrency, stop)
                progress.release()  # a session served from the cache alone says it too
                display.cancel_scope.cancel()
        finally:
            progress.close()
    return tally


def _failed_before(store: RunStore) -> bool:
    with store.read() as db:
        return db.execute("SELECT 1 FROM problems WHERE status = 'failed' LIMIT 1").fetchone() is not None


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve batch``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _batch(args, interrupts))
