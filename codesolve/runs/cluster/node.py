"""The long-lived worker on each node: that node's warm sandbox pool and model client, kept across problems.

One :class:`NodeWorker` actor per node solves the problems the driver sends
it with :func:`codesolve.runs.lanes.solve_item`, the same code a local batch
runs. Its model client asks the driver's limiter for a lease per request and
reads and writes the driver's response cache; its sandbox drives the node's
own Docker engine. A result goes back as the store's record (JSON), which the
driver alone writes.

A node that cannot reach Docker is *broken*: when that is found at start it
gets no work; when found after a problem failed, that problem (and any other
in flight there) is recorded SE with the reason, and the node takes no more.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from codesolve.errors import LLMError
from codesolve.llm import LLM, LLMConfig
from codesolve.runs.cluster.services import RemoteCache, RemoteGate, normal_priority
from codesolve.runs.collect import failed_result
from codesolve.runs.lanes import solve_item
from codesolve.sstar import EngineConfig
from codesolve.tasks import Item
from sandbox import DockerConfig, Sandbox, SandboxError, docker_reachable, make_sandbox
from sandbox.admin import reap_containers

MAX_POOL = 64
"""The sandbox's own ceiling on warm containers."""
STOP_WAIT_S = 30.0
"""How long a stopping node waits for its cancelled solves to give their containers back."""


@dataclass(frozen=True)
class NodeSpec:
    """What the driver tells every node."""

    llm: LLMConfig
    env: dict[str, str]
    """The API keys the endpoints name (the driver's, so nodes need none of their own)."""
    box: DockerConfig
    engine: EngineConfig
    pool_size: int | None = None
    """Warm containers; ``None`` follows the node's CPUs."""


@dataclass(frozen=True)
class NodeStart:
    """How a node came up."""

    host: str
    slots: int
    """Warm sandbox containers (0 when broken)."""
    broken: str = ""
    """Why the node takes no work (it cannot reach Docker), or empty."""


@dataclass(frozen=True)
class Reply:
    """One problem's record (``ProblemResult`` JSON) and whether the node takes more work."""

    result_json: str
    broken: str = ""
    never_answered: str = ""
    """The endpoint never answered this node (the batch stops, as a local one does), or empty."""


class NodeWorker:
    """A node's sandbox pool and model client, solving one problem per call (many calls at once)."""

    def __init__(self, node: str, cpus: int, spec: NodeSpec, limiter: Any | None, cache: Any | None) -> None:
        """Remember the spec; nothing is opened until :meth:`start` (no ``limiter``: no global limits)."""
        normal_priority()
        self.node = node
        self.cpus = cpus
        self.spec = spec
        self.limiter = limiter
        self.cache = cache
        self.box: Sandbox | None = None
        self.llm: LLM | None = None
        self.broken = ""
        self.solving: set[anyio.CancelScope] = set()
        """The solves in flight, cancelled by :meth:`stop` before the pool closes (their containers go first)."""

    async def start(self) -> NodeStart:
        """Open the warm pool (one container per CPU of the node, unless told) and the model client."""
        slots = min(self.spec.pool_size or max(self.cpus, 1), MAX_POOL)
        try:
            self.box = await make_sandbox(self.spec.box.model_copy(update={"pool_size": slots}))
        except SandboxError as exc:
            self.broken = f"node {socket.gethostname()} ({self.node[:8]}) cannot run sandboxes: {exc}"
            return NodeStart(socket.gethostname(), 0, self.broken)
        gate = RemoteGate(self.limiter, self.node) if self.limiter is not None else None
        cache = RemoteCache(self.cache) if self.cache is not None else None
        self.llm = LLM(self.spec.llm, env=self.spec.env, gate=gate, cache=cache)
        return NodeStart(socket.gethostname(), slots)

    async def solve(self, seq: int, item: Item) -> Reply:
        """Solve one problem here; a node that lost Docker records it SE and says so."""
        if self.broken or self.box is None or self.llm is None:
            return self._sandbox_failure(seq, item)
        with anyio.CancelScope() as scope:
            self.solving.add(scope)
            try:
                result = await solve_item(seq, item, self.box, self.llm, self.spec.engine)
            except LLMError as exc:
                return Reply("", never_answered=str(exc))
            finally:
                self.solving.discard(scope)
        if scope.cancelled_caught:  # the batch is stopping; nobody waits for this reply
            return Reply(
                failed_result(seq, item.source, item.id, "interrupted", "stopped with the batch").model_dump_json()
            )
        if result.problem.status == "failed" and not await anyio.to_thread.run_sync(docker_reachable):
            self.broken = f"node {socket.gethostname()} ({self.node[:8]}) lost its Docker engine"
            return self._sandbox_failure(seq, item)
        return Reply(result.model_dump_json())

    def _sandbox_failure(self, seq: int, item: Item) -> Reply:
        reason = f"SE: {self.broken or 'node not started'}"
        problem_json = item.problem.model_dump_json() if item.problem is not None else None
        result = failed_result(seq, item.source, item.id, "sandbox", reason, problem_json)
        return Reply(result.model_dump_json(), reason)

    async def reap(self) -> int:
        """Remove stale containers on this node's engine (those of a dead worker on this host, say)."""
        try:
            return await anyio.to_thread.run_sync(reap_containers)
        except SandboxError:
            return 0

    async def stop(self) -> None:
        """Stop the solves in flight, then close the pool and the client (the containers go with the pool).

        Without the first step a solve still holding a container when the actor is killed would
        leave it behind, with an owner that was alive when the nodes reaped.
        """
        with anyio.CancelScope(shield=True):
            for scope in list(self.solving):
                scope.cancel()
            with anyio.move_on_after(STOP_WAIT_S):
                while self.solving:
                    await anyio.sleep(0.05)
            if self.box is not None:
                await self.box.aclose()
                self.box = None
            if self.llm is not None:
                await self.llm.aclose()
                self.llm = None
