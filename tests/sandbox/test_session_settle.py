"""The host's wait for an agent's clean mark has one deadline, whatever the agent writes meanwhile."""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from sandbox._docker.session import STDERR, STDOUT, AgentSession
from sandbox.runtime.agent import CLEAN_MARK, END_MARK


def test_an_agent_that_keeps_writing_cannot_hold_settle_past_its_deadline() -> None:
    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def chatter() -> None:
        frame = struct.pack(">BxxxL", STDERR, 5) + b"noise"
        while not stop.is_set():
            try:
                theirs.sendall(frame)
            except OSError:
                return
            time.sleep(0.01)  # always well inside any per-read timeout

    writer = threading.Thread(target=chatter, daemon=True)
    writer.start()
    session = AgentSession(ours)
    session.unsettled = "nonce"
    started = time.monotonic()
    try:
        assert session.settle(0.5) is False
        assert time.monotonic() - started < 3.0
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
