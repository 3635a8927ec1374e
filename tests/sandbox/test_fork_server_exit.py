"""The fork server's boot and exit: it says hello having rehearsed its first compile, and on
``quit`` it leaves at once with status 0, having killed what its tests left behind."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

from sandbox.runtime.events import EventSink
from sandbox.runtime.forkclient import BOOT, ForkServer


def test_a_fork_server_quits_at_once_with_status_zero(tmp_path: Path) -> None:
    server = ForkServer(tmp_path)
    try:
        server.ready()
        assert server.isolation == "container"
    finally:
        started = time.monotonic()
        server.close()
    assert server.proc.returncode == 0
    # os._exit, not the interpreter's finalization: well under the close's 2 s patience.
    assert time.monotonic() - started < 1.5


def test_the_boot_line_leaves_with_os_exit_after_flushing_stderr() -> None:
    lines = BOOT.splitlines()
    assert lines[-2:] == ["sys.stderr.flush()", "os._exit(_status)"]


def test_a_fork_server_killed_before_quit_is_still_reaped(tmp_path: Path) -> None:
    server = ForkServer(tmp_path)
    server.ready()
    server.proc.kill()
    server.close()
    assert server.proc.returncode is not None
    assert not os.path.exists(f"/proc/{server.proc.pid}")


def _sink(lazy: bool) -> tuple[EventSink, io.StringIO]:
    out = io.StringIO()
    return EventSink(out, {"nonce": "n", "lazy_events": lazy}), out  # type: ignore[typeddict-item]


def test_a_lazy_batch_leaves_its_last_result_to_travel_with_done() -> None:
    sink, _ = _sink(lazy=True)
    assert sink.flush_due({"verdict": "AC"}, last=True) is False
    assert sink.flush_due({"verdict": "WA"}, last=True) is False
    assert sink.flush_due({"verdict": "WA"}, last=False) is True


def test_an_eager_batch_flushes_every_result() -> None:
    sink, out = _sink(lazy=False)
    assert sink.flush_due({"verdict": "AC"}, last=True) is True
    assert sink.flush_due({"verdict": "AC"}, last=False) is True
    sink.emit({"event": "test", "verdict": "AC"})  # type: ignore[typeddict-item]
    assert json.loads(out.getvalue()) == {"event": "test", "verdict": "AC", "nonce": "n"}
