"""The host's wait for an agent's clean mark has one deadline, whatever the agent writes meanwhile."""

from __future__ import annotations

import socket
import struct
import threading
import time

from sandbox._docker.session import STDERR, AgentSession


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
