"""``codesolve batch … --executor ray``: the same batch, its problems solved on the nodes of a Ray cluster.

Imported only when ``--executor ray`` is asked for; Ray itself is imported
when the cluster is opened (:func:`codesolve.runs.cluster.executor.import_ray`).
"""

from __future__ import annotations

import argparse
import os

import anyio

from codesolve.commands.batch_session import batch_llm_config, make_progress, session_total
from codesolve.errors import UsageError
from codesolve.runs.batch import Batch, Selection, Tally, run_batch
from codesolve.runs.cluster.executor import import_ray, open_cluster, probe_address
from codesolve.runs.cluster.node import NodeSpec
from codesolve.runs.cluster.services import Limits
from codesolve.runs.progress import Gauges
from codesolve.runs.records import RunConfig
from codesolve.runs.store import RunStore
from codesolve.tasks import stream_problems
from sandbox import DockerConfig


def check_ray_flags(args: argparse.Namespace) -> None:
    """Ray is installed and the flags make sense for a cluster (one-line UsageError otherwise)."""
    import_ray()
    if args.ray_address is not None and args.ray_address != "auto":
        probe_address(args.ray_address)
    if args.sandbox == "local":
        raise UsageError("--executor ray runs Docker sandboxes on every node; --sandbox local is not for clusters")
    for flag, value in (("--llm-rpm", args.llm_rpm), ("--llm-tpm", args.llm_tpm), ("--pool-size", args.pool_size)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1")


async def on_cluster(
    args: argparse.Namespace, config: RunConfig, store: RunStore, which: Selection, stop: anyio.Event
) -> Tally:
    """Run the batch on the cluster's lanes; the store stays here, with its single writer."""
    llm = batch_llm_config(args, store)
    # The driver's keys go to the nodes (inside the cluster) so that nodes need no secrets of their own.
    env = llm.api_keys(os.environ)
    spec = NodeSpec(
        llm=llm.model_copy(update={"cache_path": None}),
        env=env,
        box=DockerConfig(run_id=f"batch-{config.name}"[:60]),
        engine=config.engine,
        pool_size=args.pool_size,
    )
    limits = Limits(max(args.llm_concurrency, 1), args.llm_rpm, args.llm_tpm)
    gauges = Gauges(None, None, config.engine.n, session_total(config, store, args))
    progress = make_progress(args, gauges)
    try:
        async with open_cluster(args.ray_address, spec, limits, args.concurrency, llm.cache_path, progress.note) as c:
            gauges.nodes = c.lines
            progress.note(f"run {config.name}: {store.root} on {len(c.nodes)} Ray nodes, {len(c.lanes)} lanes")
            async with anyio.create_task_group() as display:
                display.start_soon(progress.run)
                batch = Batch(store, None, None, config.engine, progress)
                items = stream_problems(args.problems, args.format)
                tally = await run_batch(batch, items, which, args.concurrency, stop, lanes=c.lanes, grow=c.grow)
                display.cancel_scope.cancel()
            for line in c.lines():
                progress.note(line)
    finally:
        progress.close()
    return tally
