"""The Ray executor: a batch's lanes spread over the nodes of a Ray cluster.

:func:`open_cluster` connects to (or starts) Ray, puts the driver's services
(model limiter, response cache) on the driver's node, starts one
:class:`~codesolve.runs.cluster.node.NodeWorker` on every alive node, and
gives the batch ``concurrency`` lanes per working node. The batch itself
(queue, store writer, resume) is the local one: :func:`codesolve.runs.batch.run_batch`.

Nodes that join the cluster during the batch are noticed (:meth:`Cluster.grow`
polls the cluster's alive nodes every :data:`POLL_S`), get their own worker and
pool, and their lanes join the batch.

A lane whose node dies hands its problem back (the batch redoes it on another
node), takes the dead node's model leases back from the limiter, and closes.
On exit every node closes its pool and reaps stale containers on its engine
(a dead worker's, when it shared the host), and Ray is shut down if it was
started here.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from codesolve.errors import LLMError, UsageError
from codesolve.runs.cluster.node import NodeSpec, NodeStart, NodeWorker, Reply
from codesolve.runs.cluster.services import CacheService, LimiterService, Limits
from codesolve.runs.collect import failed_result
from codesolve.runs.records import ProblemResult
from codesolve.tasks import Item

START_S = 300.0
"""Deadline for a node to warm its pool (first image pull aside, seconds are usual)."""
STOP_S = 60.0
PROBE_S = 10.0
"""Deadline for the cluster's address to accept a connection."""
POLL_S = 2.0
"""How often a batch looks for nodes that joined the cluster."""
PROBLEM_S = 6 * 3600.0
"""Deadline of one problem on a node when the engine has no wall budget of its own."""


def import_ray() -> Any:
    """The ``ray`` module, or a one-line UsageError saying how to get it."""
    try:
        import ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'codesolve[ray]'") from None
    return ray


@dataclass
class NodeStats:
    """One node as the progress display shows it."""

    node: str
    host: str
    slots: int
    lanes: int
    in_flight: int = 0
    done: int = 0
    failed: int = 0
    lost: bool = False
    broken: str = ""
    began: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        """``host/ab12cd34: 3/4 lanes, 4 slots, 12 done (6.1/min)``."""
        per_min = (self.done + self.failed) * 60 / max(time.monotonic() - self.began, 1e-9)
        state = " LOST" if self.lost else (" BROKEN" if self.broken else "")
        return (
            f"{self.host}/{self.node[:8]}{state}: {self.in_flight}/{self.lanes} lanes, {self.slots} slots, "
            f"{self.done + self.failed} finished ({per_min:.1f}/min)"
        )


@dataclass(frozen=True)
class Services:
    """What a node's worker is started with: the spec and the driver's services."""

    spec: NodeSpec
    limiter: Any
    cache: Any | None
    concurrency: int
    """Lanes per working node."""
    note: Callable[[str], None]


@dataclass
class Cluster:
    """The lanes a batch runs on, and what the display shows of the nodes."""

    ray: Any
    services: Services
    nodes: list[NodeStats] = field(default_factory=list)
    actors: dict[str, Any] = field(default_factory=dict)
    lanes: list[RayLane] = field(default_factory=list)
    problem_s: float = PROBLEM_S

    @property
    def limiter(self) -> Any:
        """The driver's model limiter."""
        return self.services.limiter

    def lines(self) -> list[str]:
        """One line per node."""
        return [n.line() for n in self.nodes]

    async def lost(self, stats: NodeStats) -> None:
        """A node died: its leases go back to the limiter (it will never release them)."""
        if not stats.lost:
            stats.lost = True
            with anyio.move_on_after(STOP_S):
                await self.limiter.drop_holder.remote(stats.node)

    async def start(self, nodes: list[tuple[str, int]]) -> list[RayLane]:
        """Start a worker on each of ``nodes`` (id, CPUs); the lanes of those that can work."""
        ray, sv = self.ray, self.services
        worker = ray.remote(NodeWorker)
        fresh = {
            node: worker.options(**_pinned(node), max_restarts=0, max_concurrency=10_000).remote(
                node, cpus, sv.spec, sv.limiter, sv.cache
            )
            for node, cpus in nodes
        }
        self.actors.update(fresh)  # before any await: a stop in between still closes them
        starts: dict[str, NodeStart] = {}

        async def start(node: str, actor: Any) -> None:
            try:
                with anyio.fail_after(START_S):
                    starts[node] = await actor.start.remote()
            except (ray.exceptions.RayError, TimeoutError) as exc:
                sv.note(f"node {node[:8]} did not start: {' '.join(str(exc).split())[:200]}")

        async with anyio.create_task_group() as group:
            for node, actor in fresh.items():
                group.start_soon(start, node, actor)
        lanes: list[RayLane] = []
        for node, begun in starts.items():
            stats = NodeStats(node, begun.host, begun.slots, 0 if begun.broken else sv.concurrency, broken=begun.broken)
            self.nodes.append(stats)
            if begun.broken:
                sv.note(f"{begun.broken}: it gets no work")
            lanes += [RayLane(self, stats, self.actors[node]) for _ in range(stats.lanes)]
        self.lanes += lanes
        return lanes

    async def grow(self, add: Callable[[RayLane], None], every: float = POLL_S) -> None:
        """Until cancelled: start workers on nodes that joined the cluster, and ``add`` their lanes to the batch."""
        while True:
            await anyio.sleep(every)
            alive: list[tuple[str, int]] = []
            with anyio.move_on_after(PROBE_S):  # the GCS not answering this once is no reason to stop
                alive = await anyio.to_thread.run_sync(_alive_nodes, self.ray, abandon_on_cancel=True)
            joined = [(node, cpus) for node, cpus in alive if node not in self.actors]
            if not joined:
                continue
            known = len(self.nodes)
            lanes = await self.start(joined)
            for stats in self.nodes[known:]:
                self.services.note(f"node {stats.host}/{stats.node[:8]} joined the batch with {stats.lanes} lanes")
            for lane in lanes:
                add(lane)


@dataclass
class RayLane:
    """One problem at a time on one node."""

    cluster: Cluster
    stats: NodeStats
    actor: Any

    @property
    def open(self) -> bool:
        """Closed once the node died or lost Docker."""
        return not (self.stats.lost or self.stats.broken)

    async def solve(self, seq: int, item: Item) -> ProblemResult | None:
        """Send the problem to the node; ``None`` if the node died with it."""
        errors = self.cluster.ray.exceptions
        self.stats.in_flight += 1
        try:
            with anyio.fail_after(self.cluster.problem_s):
                reply: Reply = await self.actor.solve.remote(seq, item)
        except errors.RayTaskError as exc:  # our actor method raised: a bug, recorded like an engine crash
            problem_json = item.problem.model_dump_json() if item.problem else None
            return failed_result(seq, item.source, item.id, "crash", f"node worker failed: {exc}", problem_json)
        except (errors.RayError, TimeoutError):  # the node (or its worker) is gone
            await self.cluster.lost(self.stats)
            return None
        finally:
            self.stats.in_flight -= 1
        if reply.never_answered:
            raise LLMError(reply.never_answered)
        self.stats.broken = self.stats.broken or reply.broken
        result = ProblemResult.model_validate_json(reply.result_json)
        if result.problem.status == "done":
            self.stats.done += 1
        else:
            self.stats.failed += 1
        return result


def probe_address(address: str) -> None:
    """A one-line UsageError unless HOST:PORT accepts a connection within :data:`PROBE_S`.

    ``ray.init`` retries an unreachable address for minutes; this fails first, with a deadline.
    """
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--ray-address {address!r}: expected auto or HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as exc:
        raise UsageError(f"--ray-address {address}: no Ray cluster answers there ({exc.strerror or exc})") from None


def _connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` (or start one here when None); True when started here."""
    if ray.is_initialized():
        return False
    if address is not None and address != "auto":
        probe_address(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no prompt, no phoning home from a batch
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a new local cluster"
        detail = " ".join(str(exc).split())[:300]
        raise UsageError(f"--ray-address {where}: cannot join the Ray cluster: {detail}") from None
    return True


def _alive_nodes(ray: Any) -> list[tuple[str, int]]:
    return [(n["NodeID"], int(n.get("Resources", {}).get("CPU", 1))) for n in ray.nodes() if n.get("Alive")]


def _pinned(node: str) -> dict[str, Any]:
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # num_cpus=0: the actors only coordinate; the node's CPUs are its sandbox's.
    return {"num_cpus": 0, "scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=False)}


@asynccontextmanager
async def open_cluster(
    address: str | None,
    spec: NodeSpec,
    limits: Limits,
    concurrency: int,
    cache_path: Path | None,
    note: Callable[[str], None],
) -> AsyncIterator[Cluster]:
    """The cluster's lanes (``concurrency`` per working node); everything started here is stopped on exit."""
    ray = import_ray()
    started_here = await anyio.to_thread.run_sync(_connect, ray, address)
    services: list[Any] = []
    cluster: Cluster | None = None
    try:
        here = ray.get_runtime_context().get_node_id()
        limiter = ray.remote(LimiterService).options(**_pinned(here)).remote(limits)
        cache = ray.remote(CacheService).options(**_pinned(here)).remote(cache_path) if cache_path else None
        services = [limiter] + ([cache] if cache is not None else [])
        wall = spec.engine.budget.max_wall_s
        sv = Services(spec, limiter, cache, concurrency, note)
        cluster = Cluster(ray, sv, problem_s=PROBLEM_S if wall is None else wall + 600)
        await cluster.start(await anyio.to_thread.run_sync(_alive_nodes, ray))
        if not cluster.lanes:
            raise UsageError("no node of the Ray cluster can run sandboxes (see the notes above)")
        yield cluster
    finally:
        with anyio.CancelScope(shield=True):
            if cluster is not None:
                await _stop_nodes(cluster)
            for service in services:
                ray.kill(service)
            if started_here:
                await anyio.to_thread.run_sync(ray.shutdown)


async def _stop_nodes(cluster: Cluster) -> None:
    # Close every live node's pool, then reap stale containers on each engine (a dead worker's on
    # a shared host); a node that does not answer is left to its containers' TTL.
    errors = cluster.ray.exceptions
    lost = {n.node for n in cluster.nodes if n.lost}
    live = {node: actor for node, actor in cluster.actors.items() if node not in lost}

    async def stop(actor: Any) -> None:
        try:
            with anyio.fail_after(STOP_S):
                await actor.stop.remote()
                await actor.reap.remote()
        except (errors.RayError, TimeoutError):
            pass
        cluster.ray.kill(actor)

    async with anyio.create_task_group() as group:
        for actor in live.values():
            group.start_soon(stop, actor)
    for node in lost:
        cluster.ray.kill(cluster.actors[node])
