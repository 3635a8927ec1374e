"""The host's end of a container's agent (:mod:`sandbox.runtime.agent`).

One ``docker exec`` per container, with stdin attached, starts the agent; each
batch is then a write of its request and a read of the exec's multiplexed
output up to the agent's end mark. A batch is sent and read on the event loop
(:meth:`AgentSession.run_async`: no thread, and no hop back to the loop per piece
of output), and so is the wait for the agent's word that it cleaned up after it
(:meth:`AgentSession.settle`); the start-up calls block: the backend runs them in worker
threads and bounds them with its own deadlines.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
from collections.abc import Callable
from typing import Any

import anyio

from sandbox._bundle import runtime_files
from sandbox._docker.containers import WORK, tar_of
from sandbox.errors import SandboxFault
from sandbox.image.recipe import SANDBOX_UID
from sandbox.runtime.agent import CLEAN_MARK, END_MARK, READY, YIELD, ZYGOTE_FLAG

_PYTHON = "/usr/bin/python3"
_BOOT = "boot"
_MUX = struct.Struct(">BxxxL")
"""Docker's multiplexed stream: one byte for the stream (1 stdout, 2 stderr), three zero bytes, the size."""
STDOUT, STDERR = 1, 2
_STDERR_CAP = 65536


class AgentSession:
    """A running agent: send it a batch, read the batch's output, nothing more."""

    def __init__(self, sdk_socket: Any) -> None:
        # The SDK's wrapper owns the HTTP connection: keep it alive with us.
        self._sdk_socket = sdk_socket
        self._sock = getattr(sdk_socket, "_sock", sdk_socket)
        self._buffer = bytearray()
        self._tail = b""
        """The end of the stdout read so far, where a mark may have begun."""
        self._early = b""
        """Stdout that came in the frame of the last mark, after it (read before it was asked for)."""
        self.unsettled: str | None = None
        """Nonce of the last batch until the agent says it is cleaned up (see :meth:`settle`)."""

    def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                return False
            self._buffer += chunk
        return True

    def frame(self) -> tuple[int, bytes] | None:
        """The next frame of output as (stream, bytes), or None when the exec ended."""
        if not self._fill(_MUX.size):
            return None
        kind, size = _MUX.unpack_from(self._buffer)
        if not self._fill(_MUX.size + size):
            return None
        payload = bytes(self._buffer[_MUX.size : _MUX.size + size])
        del self._buffer[: _MUX.size + size]
        return kind, payload

    def wait_ready(self, timeout_s: float) -> None:
        """Block until the agent says it is ready; SandboxFault if it does not."""
        self._sock.settimeout(timeout_s)
        out, err = bytearray(), bytearray()
        try:
            while b"\n" not in out:
                frame = self.frame()
                if frame is None:
                    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
                    raise SandboxFault(f"the sandbox agent did not start: {tail[0][:300]}")
                (out if frame[0] == STDOUT else err).extend(frame[1])
        except (TimeoutError, OSError) as exc:
            raise SandboxFault(f"the sandbox agent did not start: {exc}") from exc
        finally:
            self._sock.settimeout(None)
        try:
            ready = json.loads(out.split(b"\n")[0]) == READY
        except ValueError:
            ready = False
        if not ready:
            raise SandboxFault(f"the sandbox agent said {bytes(out[:200])!r} instead of being ready")

    async def run_async(
        self,
        request: bytes,
        nonce: str,
        forward: Callable[[bytes], None],
        stderr: bytearray,
        on_sent: Callable[[], None] = lambda: None,
    ) -> bool:
        """Send one batch and forward its stdout up to the agent's end mark for it, on the
        event loop: the socket is read whenever it is readable (the reads are resumable: see
        :meth:`settled_now`), so ``forward`` is called on the loop itself. Cancelling it leaves
        the stream anywhere: the caller then drops the container.

        ``on_sent`` is called once the whole request is written (from then on :meth:`ask_yield`
        may be). Returns True at that mark, False when the output ended first (the agent
        died). The agent's own stderr goes to ``stderr`` (capped).
        """

        def keep_stderr(data: bytes) -> None:
            stderr.extend(data[: max(0, _STDERR_CAP - len(stderr))])

        self._sock.setblocking(False)
        try:
            view = memoryview(request)
            while view:
                try:
                    view = view[self._sock.send(view) :]
                except (BlockingIOError, InterruptedError):
                    await anyio.wait_writable(self._sock)
        finally:
            self._sock.setblocking(True)
        on_sent()
        if not await self._read_async((END_MARK + nonce + "\n").encode(), forward, keep_stderr):
            return False
        self.unsettled = nonce
        return True

    async def _read_async(
        self,
        mark: bytes,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        deadline: float | None = None,
    ) -> bool:
        """:meth:`_read_past` on the event loop: read whatever is waiting, then wait until the
        socket is readable again (the reads are resumable: a frame read in part is kept)."""
        self._sock.setblocking(False)
        try:
            while True:
                try:
                    return self._read_past(mark, on_stdout, on_stderr, deadline)
                except (BlockingIOError, InterruptedError):
                    await anyio.wait_readable(self._sock)
        finally:
            self._sock.setblocking(True)

    def ask_yield(self) -> bool:
        """Ask the running batch to stop after its current test (see ``runtime.agent.YIELD``);
        whether the word went out. Only between a request written whole and the batch's end
        mark: anything else on the channel then would break it. Never blocks the event loop: a
        send buffer still full of the request takes nothing (the queue asks again later)."""
        blocking = self._sock.getblocking()
        try:
            self._sock.setblocking(False)
            sent = self._sock.send(YIELD)
            if sent < len(YIELD):  # (8 bytes into a buffer with room for fewer: finish them)
                self._sock.setblocking(True)
                self._sock.sendall(YIELD[sent:])
            return True
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False  # the agent is gone: the batch's reader finds out
        finally:
            with contextlib.suppress(OSError):
                self._sock.setblocking(blocking)

    def settled_now(self) -> bool:
        """Whether the agent's word that the last batch is taken down is already here: reads
        only what is waiting on the socket, never blocks (so the event loop may call it)."""
        if self.unsettled is None:
            return True
        self._sock.setblocking(False)
        try:
            found = self._read_past((CLEAN_MARK + self.unsettled + "\n").encode(), _ignore, _ignore)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return False  # settle() finds out what is wrong
        finally:
            self._sock.setblocking(True)
        if found:
            self.unsettled = None
        return found

    async def settle(self, timeout_s: float) -> bool:
        """Wait, on the event loop, for the agent's word that the last batch is taken down and
        nothing of it is left; False when it does not come within ``timeout_s`` (the agent gave
        up on a dirty container, or died). (A worker thread used to wait for it: on a busy
        machine the hop there and back cost more than the wait, ~1.5 ms, itself.)"""
        if self.settled_now():
            return True
        assert self.unsettled is not None  # (settled_now says so when there is nothing to wait for)
        mark = (CLEAN_MARK + self.unsettled + "\n").encode()
        # One deadline for the whole wait, not per read: an agent that keeps writing
        # (a stream of stderr frames, never a pause to wait in) must not hold the container past it.
        with anyio.move_on_after(timeout_s):
            try:
                found = await self._read_async(mark, _ignore, _ignore, time.monotonic() + timeout_s)
            except OSError:  # TimeoutError included
                return False
            if found:
                self.unsettled = None
            return found
        return False

    def _read_past(
        self,
        mark: bytes,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        deadline: float | None = None,
    ) -> bool:
        """Hand on frames until ``mark`` went by on stdout (True) or the output ended (False).

        With a ``deadline`` (monotonic), TimeoutError once it has passed, whatever arrives meanwhile.
        """
        while True:
            payload = self._next_stdout(on_stderr, deadline)
            if payload is None:
                return False
            # The mark may be split across frames: look at the seam too (kept across calls:
            # settled_now() may stop between two frames).
            seam = self._tail + payload
            at = seam.find(mark)
            if at < 0:
                on_stdout(payload)
                self._tail = seam[-len(mark) :]
                continue
            end = at + len(mark)
            on_stdout(payload[: max(0, end - len(self._tail))])
            # What came after the mark in the same frame is the next read's: the daemon may
            # deliver the end mark and the clean mark in one frame (losing the second stalled
            # the next batch for the whole settle timeout).
            self._early, self._tail = seam[end:], b""
            return True

    def _next_stdout(self, on_stderr: Callable[[bytes], None], deadline: float | None) -> bytes | None:
        """The next piece of stdout (stderr frames go to ``on_stderr``), or None at the end."""
        if self._early:
            early, self._early = self._early, b""
            return early
        while (frame := self.frame()) is not None:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("the agent did not settle in time")
            kind, payload = frame
            if kind == STDOUT:
                return payload
            on_stderr(payload)
        return None

    def close(self) -> None:
        """Close our end (the agent sees the end of its input and exits)."""
        try:
            self._sock.close()
        finally:
            close = getattr(self._sdk_socket, "close", None)
            if close is not None:
                close()


def _ignore(_data: bytes) -> None:
    """Output read only to get past it."""


def start_agent(api: Any, container_id: str, ready_timeout_s: float, uid: int = SANDBOX_UID) -> AgentSession:
    """Ship the runtime into a fresh container and start its agent as ``uid``, the container's
    user (blocking)."""
    archive = tar_of(runtime_files(), _BOOT, uid)
    if not api.put_archive(container_id, WORK, archive):
        raise SandboxFault("could not copy the sandbox runtime into the container")
    argv = [_PYTHON, "-I", f"{WORK}/{_BOOT}/rt/sandbox/runtime/agent.py", ZYGOTE_FLAG]
    exec_id = api.exec_create(container_id, argv, stdin=True, user=f"{uid}", workdir=WORK)["Id"]
    session = AgentSession(api.exec_start(exec_id, socket=True))
    try:
        session.wait_ready(ready_timeout_s)
    except BaseException:
        session.close()
        raise
    return session
