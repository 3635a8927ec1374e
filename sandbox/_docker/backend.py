"""The Docker backend: a warm pool of locked-down containers, each with a running agent."""

from __future__ import annotations

import itertools
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import docker.errors

from sandbox._bundle import (
    EXEC_LIMITS,
    BatchFiles,
    check_program,
    exec_batch,
    exec_deadlines,
    exec_files,
    test_batch,
    test_spec,
)
from sandbox._docker import containers
from sandbox._docker.containers import WIPE, WORK, Shape
from sandbox._docker.engine import Engine, connect
from sandbox._docker.placement import Placement
from sandbox._docker.queue import BACKGROUND, SMALL, Holder, SlotQueue, Ticket
from sandbox._docker.session import start_agent
from sandbox._docker.slots import Slot, compiled_key, settled
from sandbox._protocol import DockerConfig
from sandbox._shards import shard_count, split
from sandbox._stream import DriverStream, read_events
from sandbox._types import CheckerSpec, ExecResult, Limits, Program, TestCase, TestOutcome, Verdict
from sandbox.deadlines import batch_deadline
from sandbox.errors import ImageMissing, SandboxFault
from sandbox.image.recipe import image_tag

if TYPE_CHECKING:
    from sandbox.runtime.wire import Options

_AGENT_READY_S = 30.0
_SETTLE_S = 60.0
"""How long an agent may take to clean up after a batch (a test may have filled the disk)."""


class DockerSandbox:
    """Runs batches through the agent of a warm container (one ``exec`` per container).

    Containers are made on demand up to ``pool_size`` at once, kept warm
    between batches, and dropped (removed) whenever a batch did not end cleanly.
    A batch is one write to the agent's stdin and a read of its output: no
    Docker API call at all on the warm path.
    """

    def __init__(self, config: DockerConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.image = config.image or image_tag()
        self.run_id = config.run_id or uuid.uuid4().hex[:12]
        self.slots = SlotQueue(config.pool_size)  # who gets the next free container: see _docker.queue
        self._idle: dict[Shape, list[Slot]] = {}
        self._all: set[Slot] = set()
        self._seq = itertools.count(1)
        self._warming = 0
        self.placement = Placement(engine, config, self.image, self.run_id)
        """Where and how a new container is made (its CPU, its uid, the settings the engine takes)."""

    @classmethod
    async def open(cls, config: DockerConfig) -> DockerSandbox:
        """Connect, check the image, and reap containers left by crashed runs."""
        client = await anyio.to_thread.run_sync(connect, config.api_timeout_s)
        engine = Engine(client, config.docker_threads, config.api_timeout_s, config.api_retries)
        self = cls(config, engine)
        try:
            await engine.call("image lookup", client.images.get, self.image)
        except docker.errors.NotFound:
            raise ImageMissing(
                f"sandbox image {self.image} is missing; build it with: codesolve sandbox build"
            ) from None
        await engine.call("reap", containers.reap, client)
        self.placement.adopt(await engine.call("engine info", client.info))
        return self

    @property
    def isolation(self) -> str:
        """How programs are isolated."""
        rules = self.placement.rules
        return f"docker: no network, read-only root, all capabilities dropped, non-root, pids/memory capped, {rules}"

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """See :class:`sandbox.Sandbox`.

        A large batch is spread over the pool's idle containers (contiguous
        shards, each in its own container, so tests that run at once share
        nothing); the outcomes come back in test order all the same.
        """
        checker = checker or CheckerSpec()
        check_program(program)  # refused here, once, not inside each shard
        # Unnamed tests are named by position in the whole batch (not in a shard or a re-run).
        named = [test if test.name else replace(test, name=str(i)) for i, test in enumerate(tests)]
        shards = shard_count(len(named), int(self.slots.available_tokens), fail_fast)
        if shards == 1:
            return await self._run_tests(program, named, limits, checker, fail_fast)
        parts = split(named, shards)
        results: list[list[TestOutcome]] = [[] for _ in parts]

        async def one(index: int) -> None:
            results[index] = await self._run_tests(program, parts[index], limits, checker, False)

        async with anyio.create_task_group() as group:
            for index in range(len(parts)):
                group.start_soon(one, index)
        return [outcome for part in results for outcome in part]

    async def _run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec,
        fail_fast: bool,
        eager: bool = False,
        ticket: Ticket | None = None,
    ) -> list[TestOutcome]:
        root = f"{WORK}/b{next(self._seq)}"
        # A bulk batch may be asked to make room for an urgent one (see _docker.queue).
        yieldable = not eager and not fail_fast and len(tests) > SMALL
        options: Options = {**self._options(), "lazy_events": not eager, "yieldable": yieldable}
        spec = test_spec(root, program, tests, limits, checker, fail_fast, options)
        batch = test_batch(root, program, checker, spec)
        shape = Shape.for_limits(limits.memory_mb, limits.output_bytes, limits.processes)
        first_wait = batch_deadline(limits, 0, program, checker)
        ticket = ticket or self.slots.ticket()
        stream, fault = await self._run(
            shape,
            batch,
            batch_deadline(limits, len(tests), program, checker),
            limits.wall,
            first_wait,
            compiled_key(program),
            size=len(tests),
            ticket=ticket,
            yieldable=yieldable,
        )
        if stream.yielded and stream.done and not fault:
            # It made room for an urgent batch: the rest queues again, where it was in line.
            done = stream.reported()
            rest = await self._run_tests(program, tests[done:], limits, checker, fail_fast, ticket=ticket)
            return stream.outcomes(tests[:done], fail_fast) + rest
        if not eager and not fault and stream.looping and not stream.done:
            # The driver died (or froze) holding results not yet sent: the first
            # missing test may not be the one that killed it. Run the rest again,
            # every result sent as it comes, so the blame falls where it belongs.
            done = stream.reported()
            head = stream.outcomes(tests[:done], fail_fast)
            stopped = fail_fast and head and head[-1].verdict is not Verdict.AC
            if done < len(tests) and not stopped:
                return head + await self._run_tests(program, tests[done:], limits, checker, fail_fast, eager=True)
        return stream.outcomes(tests, fail_fast, fault)

    async def exec(
        self,
        command: Sequence[str],
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
        directory: Path | None = None,
        collect: Sequence[str] = (),
    ) -> ExecResult:
        """See :class:`sandbox.Sandbox`."""
        limits = limits or EXEC_LIMITS
        payload = await anyio.to_thread.run_sync(exec_files, files, directory)
        root = f"{WORK}/b{next(self._seq)}"
        batch = exec_batch(root, command, payload, limits, collect, self._options())
        shape = Shape.for_limits(limits.memory_mb, limits.output_bytes, limits.processes)
        stream, fault = await self._run(shape, batch, *exec_deadlines(limits))
        return stream.exec_result(fault)

    def _options(self) -> Options:
        return {"container": True, "wipe": list(WIPE), "isolate_net": False, "as_slack": 0}

    async def _run(
        self,
        shape: Shape,
        batch: BatchFiles,
        deadline: float,
        wall: float,
        first_wait: float,
        compiled: str = "",
        size: int = 1,
        ticket: Ticket | None = None,
        yieldable: bool = False,
    ) -> tuple[DriverStream, str]:
        """Run one batch on a container of the pool, in line at ``ticket`` (a yielded batch's
        rest: where it was); a ``yieldable`` one may be asked to yield (:mod:`sandbox._docker.queue`)."""
        stream = DriverStream(batch.nonce)
        async with self.slots.place(size, ticket) as holder:
            try:
                slot = await self._acquire(shape, compiled)
            except SandboxFault as exc:
                return stream, str(exc)
            clean = False
            try:
                yielding = holder if yieldable else None
                fault, ended = await self._watch(slot, batch, stream, deadline, wall, first_wait, yielding)
                clean = stream.done and ended
                if clean and compiled:
                    slot.remember(compiled)
                return stream, fault if clean else fault or await containers.fault(self.engine, slot.container)
            finally:
                with anyio.CancelScope(shield=True):
                    await self._release(shape, slot, clean)

    async def _watch(
        self,
        slot: Slot,
        batch: BatchFiles,
        stream: DriverStream,
        deadline: float,
        wall: float,
        first_wait: float,
        holder: Holder | None = None,
    ) -> tuple[str, bool]:
        """Send the batch to the agent and read its events as they come.

        A driver silent for longer than a test could take (a program can
        SIGSTOP it: same uid) is given up on: the running test is blamed, not
        the infrastructure. Returns an infrastructure fault (or "") and whether
        the agent marked the batch's end (so it is ready for the next one).
        """
        send, receive = anyio.create_memory_object_stream[bytes | None](max_buffer_size=math.inf)
        errors: list[str] = []
        ended: list[bool] = []
        stderr = bytearray()
        async with anyio.create_task_group() as group:
            group.start_soon(self._pump, slot, batch, send, errors, ended, stderr, holder)
            with anyio.move_on_after(deadline) as overall:
                await read_events(stream, receive.receive, wall, first_wait)
            group.cancel_scope.cancel()
        stream.finish()
        stream.stderr = bytes(stderr)
        if overall.cancelled_caught:
            return f"sandbox batch exceeded its {deadline:.0f}s deadline", False
        return (errors[0] if errors and not stream.events else ""), bool(ended and ended[0])

    async def _pump(
        self,
        slot: Slot,
        batch: BatchFiles,
        send: Any,
        errors: list[str],
        ended: list[bool],
        stderr: bytearray,
        holder: Holder | None,
    ) -> None:
        agent = slot.agent
        assert agent is not None

        def sent() -> None:  # from now until its end mark the batch may be asked to yield
            if holder is not None:
                self.slots.arm(holder, agent.ask_yield)

        # On the event loop, not in a thread: a one-test batch is a few small reads, and a
        # thread cost a hop to start it plus one back to the loop for each of them.
        try:
            ended.append(await agent.run_async(batch.request(), batch.nonce, send.send_nowait, stderr, sent))
        except OSError as exc:
            errors.append(f"sandbox agent connection failed: {exc}")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the reader gave up on us (stall, deadline)
        finally:
            if holder is not None:
                self.slots.arm(holder, None)
        try:
            send.send_nowait(None)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    async def warm(self, limits: Limits) -> None:
        """See :class:`sandbox.Sandbox`: start containers of this shape up to the pool size."""
        shape = Shape.for_limits(limits.memory_mb, limits.output_bytes, limits.processes)

        async def one() -> None:
            try:
                async with self.slots.place(BACKGROUND):
                    if len(self._all) >= self.config.pool_size:
                        return  # filled meanwhile: never evict a warm container to warm another
                    await self._release(shape, await self._create(shape), True)
            except (SandboxFault, docker.errors.DockerException):
                pass  # the batches that need a container will say what is wrong
            finally:
                self._warming -= 1  # also when cancelled while waiting for a slot

        # Several tasks may warm one pool at once: count the containers already coming.
        missing = self.config.pool_size - len(self._all) - self._warming
        self._warming += max(0, missing)
        async with anyio.create_task_group() as group:
            for _ in range(missing):
                group.start_soon(one)

    async def _acquire(self, shape: Shape, compiled: str = "") -> Slot:
        idle = self._idle.get(shape, [])
        while idle:
            # A container that compiled this program already (a compile costs far more than
            # waiting for it to settle); else the longest idle: it has had the most time to
            # settle and start its next fork server (the one just released is still doing both).
            slot = next((s for s in idle if compiled and compiled in s.compiled), idle[0])
            idle.remove(slot)
            if await self._settled(slot):
                return slot
            await self._drop(slot)  # its agent found something of the last batch left, and quit
        return await self._create(shape)

    async def _settled(self, slot: Slot) -> bool:
        return await settled(slot, _SETTLE_S)

    async def _create(self, shape: Shape) -> Slot:
        # Shielded (every call in it has a deadline): a container made but not yet
        # recorded when a cancellation arrived would be left running.
        with anyio.CancelScope(shield=True):
            slot = await self._start_container(shape)
        return slot  # noqa: RET504  (outside the scope: mypy reads a cancel scope as maybe swallowing errors)

    async def _start_container(self, shape: Shape) -> Slot:
        await self._trim_idle()
        container, cpu, uid = await self.placement.make(shape)
        slot = Slot(container, cpu=cpu, uid=uid)
        self._all.add(slot)
        try:
            api, cid = self.engine.client.api, container.id
            slot.agent = await self.engine.call(
                "start agent", start_agent, api, cid, _AGENT_READY_S, uid, timeout_s=_AGENT_READY_S + 5, retries=0
            )
        except BaseException:
            await self._drop(slot)
            raise
        return slot

    async def _trim_idle(self) -> None:
        # Keep at most pool_size containers alive: drop idle ones of other shapes first.
        while len(self._all) >= self.config.pool_size:
            victim = next((slot for pool in self._idle.values() for slot in pool), None)
            if victim is None:
                return
            for pool in self._idle.values():
                if victim in pool:
                    pool.remove(victim)
            await self._drop(victim)

    async def _release(self, shape: Shape, slot: Slot, clean: bool) -> None:
        if clean:
            self._idle.setdefault(shape, []).append(slot)
        else:
            await self._drop(slot)

    async def _drop(self, slot: Slot) -> None:
        if slot in self._all:
            self.placement.forget(slot.cpu, slot.uid)
        self._all.discard(slot)
        try:
            await self.engine.call("remove container", containers.remove, slot.container)
        except SandboxFault:
            pass  # the TTL and the reaper get it later; nothing else can be done now
        if slot.agent is not None:
            slot.agent.close()

    async def aclose(self) -> None:
        """Remove every container of this pool (shielded: runs even when cancelled)."""
        with anyio.CancelScope(shield=True):
            for slot in list(self._all):
                await self._drop(slot)
            self._idle.clear()
