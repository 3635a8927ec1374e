"""The local backend: the same driver on the host, in a temporary directory.

Weaker than Docker: rlimits and a private network namespace where the kernel
lets us make one, but the program sees the host's files as the invoking user
would. It says so once, and choosing it while Docker is reachable takes an
explicit ``allow_weaker``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from anyio.abc import ByteReceiveStream, Process

from sandbox._bundle import EXEC_LIMITS, BatchFiles, exec_batch, exec_deadlines, exec_files, test_batch, test_spec
from sandbox._protocol import LocalConfig
from sandbox._stream import DriverStream, read_events
from sandbox._types import CheckerSpec, ExecResult, Limits, Program, TestCase, TestOutcome
from sandbox.deadlines import batch_deadline
from sandbox.runtime.procs import descendants, restore_sched, sched_state

if TYPE_CHECKING:
    from sandbox.runtime.wire import Options

log = logging.getLogger("sandbox")

AS_SLACK = 256 << 20
"""Address-space headroom over the memory limit: interpreters reserve more than they touch."""
STACK_CAP = 64 << 20
"""Stack limit on the host: glibc reserves this much address space per thread."""


@cache
def warn_weaker() -> None:
    """Say once per process that the local backend isolates less than Docker."""
    log.warning("sandbox: using the LOCAL backend: rlimits only, programs can read your files; prefer Docker")


def write_files(root: Path, files: Sequence[tuple[str, bytes]]) -> None:
    """Materialise a batch under ``root``."""
    for rel, data in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class LocalSandbox:
    """Runs batches with the host's Python, one driver process per batch."""

    def __init__(self, config: LocalConfig, slots: int | None = None) -> None:
        self.config = config
        self._slots = anyio.CapacityLimiter(slots or os.cpu_count() or 1)
        self._isolation = "local: rlimits (network isolation not probed yet)"
        self._sched = sched_state()
        """Our scheduling state, which every driver inherits: a test (our uid) can change it."""
        warn_weaker()

    @property
    def isolation(self) -> str:
        """How programs are isolated, as last reported by the driver."""
        return self._isolation

    def _options(self) -> Options:
        # The host's interpreter (the one running us) is the "python3" programs get.
        path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
        return {"container": False, "isolate_net": True, "as_slack": AS_SLACK, "path": path, "stack_cap": STACK_CAP}

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """See :class:`sandbox.Sandbox`."""
        checker = checker or CheckerSpec()
        async with self._slots:
            holder = self._holder()
            root = holder / "b"
            try:
                spec = test_spec(str(root), program, tests, limits, checker, fail_fast, self._options())
                batch = test_batch(str(root), program, checker, spec)
                first_wait = batch_deadline(limits, 0, program, checker)
                deadline = batch_deadline(limits, len(tests), program, checker)
                stream, fault = await self._drive(root, batch, deadline, limits.wall, first_wait)
                return stream.outcomes(tests, fail_fast, fault)
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(shutil.rmtree, holder, True)

    def _holder(self) -> Path:
        """A new private directory holding the batch's root one level down: a test that
        renames the root (it runs as our uid) leaves it where the batch's removal finds it."""
        holder = Path(tempfile.mkdtemp(prefix="codesolve-", dir=self.config.workdir))
        (holder / "b").mkdir(mode=0o700)
        return holder

    async def warm(self, limits: Limits) -> None:
        """See :class:`sandbox.Sandbox`: nothing to start ahead of time here."""
        del limits

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
        async with self._slots:
            holder = self._holder()
            root = holder / "b"
            try:
                batch = exec_batch(str(root), command, payload, limits, collect, self._options())
                stream, fault = await self._drive(root, batch, *exec_deadlines(limits))
                return stream.exec_result(fault)
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(shutil.rmtree, holder, True)

    async def _drive(
        self, root: Path, batch: BatchFiles, deadline: float, wall: float, first_wait: float
    ) -> tuple[DriverStream, str]:
        files, argv = batch.one_shot(sys.executable)
        await anyio.to_thread.run_sync(write_files, root, files)
        stream = DriverStream(batch.nonce)
        ours, theirs = socket.socketpair()
        try:
            process = await anyio.open_process(list(argv), stdin=theirs.fileno(), start_new_session=True)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        fault = ""
        try:
            with anyio.fail_after(deadline):
                # The spec goes on a socket, never on disk: see sandbox._bundle.
                await anyio.to_thread.run_sync(_send_spec, ours, batch.spec, abandon_on_cancel=True)
                await self._read(process, stream, wall, first_wait)
                if stream.stalled:
                    return stream, ""
                await process.wait()
                if process.stderr is not None and not stream.done:
                    stream.stderr = await _drain(process.stderr)
        except TimeoutError:
            fault = f"sandbox batch exceeded its {deadline:.0f}s deadline"
        finally:
            ours.close()
            with anyio.CancelScope(shield=True):
                await _stop(process)
            if sched_state() != self._sched and not restore_sched(self._sched):
                log.error("sandbox: a test changed this process's scheduling state, which cannot be set back")
        for event in stream.events:
            if event["event"] == "hello":
                self._isolation = f"local: rlimits, network={event['isolation']}"
        return stream, fault

    async def _read(self, process: Process, stream: DriverStream, wall: float, first_wait: float) -> None:
        """Events as they come (see :func:`read_events`)."""
        stdout = process.stdout
        assert stdout is not None

        async def receive() -> bytes | None:
            try:
                return await stdout.receive()
            except anyio.EndOfStream:
                return None

        await read_events(stream, receive, wall, first_wait)

    async def aclose(self) -> None:
        """Nothing is kept between batches."""


def _send_spec(sock: socket.socket, spec: bytes) -> None:
    try:
        sock.sendall(spec)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the driver died first: its stream says so


async def _drain(pipe: ByteReceiveStream, limit: int = 65536) -> bytes:
    data = b""
    try:
        while len(data) < limit:
            data += await pipe.receive()
    except (anyio.EndOfStream, anyio.ClosedResourceError):
        pass
    return data


async def _stop(process: Process) -> None:
    if process.returncode is None:
        # Tests run in sessions of their own: killing the driver's group would miss
        # them, so take down its whole tree first (the driver is their subreaper).
        for pid in descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        await process.wait()
    await process.aclose()
