"""The container's agent: one long-lived driver that runs batch after batch.

Standard library only. The Docker backend starts it once per container
(``python3 -I agent.py``, one ``docker exec`` with stdin attached) and then
sends it batches on stdin, so a batch costs no Docker API call, no interpreter
start and no re-import of the runtime.

Request on stdin: an 8-byte big-endian length, a JSON header
``{"root": ..., "spec": {...}, "files": [[relative path, size], ...]}``, then
the files' bytes in that order. Answer: the driver's event lines on stdout
(the last is ``done``), then a line of :data:`END_MARK` + the batch nonce, which
tells the host's reader the batch is over without it reading any further. It
goes to stdout too: Docker forwards stdout and stderr independently, so a mark
on stderr could overtake the last events.

Why a long-lived process is as safe as a process per batch:

* before any candidate runs it has imported everything it will ever run, then
  deleted its files and dropped their directory from ``sys.path`` (so nothing
  a test writes can be imported later);
* it is not dumpable: no test can read its memory (where earlier batches'
  expected outputs were) or ptrace it;
* every batch ends with ``kill(-1)`` and a wipe of every writable place (done
  after its results are sent, before the next request is read), so nothing of
  one batch is alive or on disk when the next one starts;
* a test that kills or stops it ends its stream without ``done``: the host
  then drops the whole container.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import sys
from pathlib import Path
from typing import Any

_RT = Path(__file__).resolve().parents[2]
HEADER = struct.Struct(">Q")
END_MARK = "\x1ecodesolve-batch-end "
"""Starts with a control character that JSON never leaves unescaped: no event line can hold it."""
READY = {"event": "ready"}
_MAX_HEADER = 256 << 20


def read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None when it ends first."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_request(fd: int) -> dict[str, Any] | None:
    """The next request with its files written under its root, or None at the end of input."""
    head = read_exactly(fd, HEADER.size)
    if head is None:
        return None
    (length,) = HEADER.unpack(head)
    if length > _MAX_HEADER:
        raise ValueError(f"request header of {length} bytes")
    body = read_exactly(fd, length)
    if body is None:
        return None
    request: dict[str, Any] = json.loads(body)
    root = Path(request["root"])
    for rel, size in request["files"]:
        data = read_exactly(fd, int(size)) if size else b""
        if data is None:
            return None
        write_file(root / rel, data)
    return request


def write_file(path: Path, data: bytes) -> None:
    """Write one batch file, private to the sandbox user (as the tar of the one-shot path)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def forget_runtime_on_disk() -> None:
    """From here on, nothing is imported from the (test-writable) work dir."""
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _RT]
    shutil.rmtree(_RT, ignore_errors=True)


def serve() -> int:
    """Answer requests until stdin ends."""
    # Imported here, not at the top: the host imports this module for its constants.
    from sandbox.runtime import driver

    forget_runtime_on_disk()
    driver.harden()
    out = sys.stdout
    out.write(json.dumps(READY) + "\n")
    out.flush()
    # Each batch's fork server is started ahead of it, while the host is busy
    # elsewhere: a batch then only has to give it its directory.
    spare = driver.spare_zygote(Path.cwd())
    while True:
        request = read_request(0)
        if request is None:
            return 0
        spec: dict[str, Any] = request["spec"]
        batch = driver.run_spec(spec, out, spare)
        # The results are final: let the host go on while we clean up. The next
        # request is only read once every process of this batch is gone and
        # every writable place is empty.
        driver.write_event(out, spec, {"event": "done"})
        out.write(END_MARK + str(spec.get("nonce", "")) + "\n")
        out.flush()
        driver.clean_up(spec, batch, spare)
        spare = driver.spare_zygote(Path.cwd())


if __name__ == "__main__":
    sys.path.insert(0, str(_RT))
    sys.exit(serve())
