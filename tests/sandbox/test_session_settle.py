"""The host's wait for an agent's clean mark has one deadline, whatever the agent writes meanwhile."""

from __future__ import annotations

import socket
import struct
import threading
import time

import anyio
import pytest

from sandbox._docker.session import STDERR, STDOUT, AgentSession
from sandbox.runtime.agent import CLEAN_MARK, END_MARK


@pytest.mark.anyio
@pytest.mark.parametrize("pause_s", [0.01, 0.0], ids=["with-pauses", "without-a-pause"])
async def test_an_agent_that_keeps_writing_cannot_hold_settle_past_its_deadline(pause_s: float) -> None:
    """Frames that keep coming (with pauses between them, or so fast that a read never has to
    wait) do not hold the wait past its deadline."""
    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def chatter() -> None:
        frame = struct.pack(">BxxxL", STDERR, 5) + b"noise"
        while not stop.is_set():
            try:
                theirs.sendall(frame)
            except OSError:
                return
            time.sleep(pause_s)

    writer = threading.Thread(target=chatter, daemon=True)
    writer.start()
    session = AgentSession(ours)
    session.unsettled = "nonce"
    started = time.monotonic()
    try:
        assert await session.settle(0.5) is False
        assert time.monotonic() - started < 3.0
        assert session.unsettled == "nonce"
    finally:
        stop.set()
        ours.close()
        theirs.close()
        writer.join(5)


def _frame(kind: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", kind, len(data)) + data


@pytest.mark.anyio
async def test_a_clean_mark_in_the_same_frame_as_the_end_mark_is_not_lost() -> None:
    """The daemon may deliver both marks in one frame; the clean mark used to be read and dropped
    with the batch's output, and the next batch then waited the whole settle timeout (60 s)."""
    ours, theirs = socket.socketpair()
    event = b'{"event": "done", "nonce": "n1"}\n'
    theirs.sendall(_frame(STDOUT, event + f"{END_MARK}n1\n{CLEAN_MARK}n1\n".encode()))
    session = AgentSession(ours)
    seen = bytearray()
    try:
        assert await session.run_async(b"", "n1", seen.extend, bytearray()) is True
        assert bytes(seen).startswith(event)
        assert CLEAN_MARK.encode() not in seen
        assert session.settled_now() is True
        assert session.unsettled is None
    finally:
        ours.close()
        theirs.close()


def test_settled_now_never_blocks_and_finds_a_mark_split_across_frames() -> None:
    ours, theirs = socket.socketpair()
    session = AgentSession(ours)
    session.unsettled = "n2"
    mark = f"{CLEAN_MARK}n2\n".encode()
    try:
        started = time.monotonic()
        assert session.settled_now() is False  # nothing there yet: answered at once
        theirs.sendall(_frame(STDOUT, b"x" + mark[:7]) + _frame(STDOUT, mark[7:])[:5])  # half a frame
        assert session.settled_now() is False
        theirs.sendall(_frame(STDOUT, mark[7:])[5:])
        assert session.settled_now() is True
        assert time.monotonic() - started < 1.0
    finally:
        ours.close()
        theirs.close()


@pytest.mark.anyio
async def test_settle_waits_on_the_event_loop_and_finds_a_mark_that_comes_late_in_pieces() -> None:
    """The wait for the clean mark takes no thread: the loop runs other tasks meanwhile, and a
    mark that comes later, split across frames and with stderr between, ends it."""
    ours, theirs = socket.socketpair()
    session = AgentSession(ours)
    session.unsettled = "n3"
    mark = f"{CLEAN_MARK}n3\n".encode()
    ticks = 0
    result: list[bool] = []

    async def wait() -> None:
        result.append(await session.settle(5))

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(wait)
            for _ in range(10):  # the loop is free while the agent is silent
                await anyio.sleep(0.01)
                ticks += 1
            assert not result, "nothing was said yet"
            theirs.sendall(_frame(STDOUT, b"late output " + mark[:6]) + _frame(STDERR, b"noise"))
            await anyio.sleep(0.02)
            theirs.sendall(_frame(STDOUT, mark[6:])[:7])  # half a frame
            await anyio.sleep(0.02)
            assert not result
            theirs.sendall(_frame(STDOUT, mark[6:])[7:])
        assert result == [True]
        assert ticks == 10
        assert session.unsettled is None
    finally:
        ours.close()
        theirs.close()
