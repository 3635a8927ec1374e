"""The container's agent: one long-lived driver that runs batch after batch.

Standard library only. The Docker backend starts it once per container
(``python3 -I agent.py``, one ``docker exec`` with stdin attached) and then
sends it batches on stdin, so a batch costs no Docker API call, no interpreter
start and no re-import of the runtime.

Request on stdin: an 8-byte big-endian length, a JSON header
``{"root": ..., "spec": {...}, "files": [[relative path, size], ...]}``, then
the files' bytes in that order. While a batch runs the host may send one thing more,
:data:`YIELD` (8 bytes): a batch whose spec says ``yieldable`` then stops after the test
running, says ``yielded``, and ends as usual (the host runs the rest as a new batch, after
the urgent one it made room for: :mod:`sandbox._docker.queue`). A token that comes
too late for its batch is skipped before the next request. Answer: the driver's event lines on stdout
(the last is ``done``), then a line of :data:`END_MARK` + the batch nonce, which
tells the host's reader the batch is over without it reading any further. It
goes to stdout too: Docker forwards stdout and stderr independently, so a mark
on stderr could overtake the last events. Once the batch is taken down and
checked gone, a :data:`CLEAN_MARK` line follows; the host sends nothing more
before it has seen that line.

Each batch's fork server is forked by the container's PID 1, a pristine interpreter that
never sees batch data nor runs candidate code (the *zygote*: :mod:`sandbox.runtime.zygote`),
rather than started as a new interpreter, which cost most of a one-test batch's CPU.

Why a long-lived process is as safe as a process per batch:

* before any candidate runs it has imported everything it will ever run, then
  deleted its files and dropped their directory from ``sys.path`` (so nothing
  a test writes can be imported later);
* it is not dumpable: no test can read its memory (where earlier batches'
  expected outputs were) or ptrace it;
* every batch ends with ``kill(-1)`` and a wipe of every writable place (after
  its results are sent, before the next request is read), then a check that
  nothing of it is alive or on disk; if anything is, the agent exits and the
  host drops the container. The host sends the next batch only after the
  agent's word that the check passed;
* its stdin (where the next batch's spec arrives) is moved off fd 0 before
  anything runs, so no compiler or checker it starts can read it;
* a test that kills or stops it ends its stream without ``done``: the host
  then drops the whole container;
* each batch still gets a fork server of its own, a fresh fork of the zygote,
  which is no closer to earlier batches than a new interpreter: nothing of a batch
  ever reaches PID 1, no test can reach its socket (it accepted one connection,
  ours, before any test ran), and it forks no more once a test changed its
  limits or scheduling state (we then start fork servers as new interpreters).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import struct
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.runtime.wire import AgentRequest, Spec

_RT = Path(__file__).resolve().parents[2]
HEADER = struct.Struct(">Q")
END_MARK = "\x1ecodesolve-batch-end "
"""After a batch's last event. Starts with a control character that JSON never leaves
unescaped: no event line can hold it."""
CLEAN_MARK = "\x1ecodesolve-batch-clean "
"""After the end mark, once the batch is taken down and nothing of it is left."""
READY = {"event": "ready"}
ZYGOTE_FLAG = "--zygote"
"""Given by the Docker backend, whose containers' PID 1 is our zygote (see :mod:`sandbox.runtime.zygote`)."""
_MAX_HEADER = 256 << 20
YIELD = HEADER.pack((1 << 64) - 1)
"""The host's word that a running batch should stop after its current test (never a request's
length: a header that long is refused)."""


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


def read_request(fd: int) -> AgentRequest | None:
    """The next request with its files written under its root, or None at the end of input."""
    from sandbox.runtime.nearby import near  # (not at the top: see serve)

    head = read_exactly(fd, HEADER.size)
    while head == YIELD:  # (sent for a batch that had ended already)
        head = read_exactly(fd, HEADER.size)
    if head is None:
        return None
    (length,) = HEADER.unpack(head)
    if length > _MAX_HEADER:
        raise ValueError(f"request header of {length} bytes")
    body = read_exactly(fd, length)
    if body is None:
        return None
    request: AgentRequest = json.loads(body)
    root = Path(request["root"])
    # Never an existing directory: the last wipe left nothing, and a root that
    # is already there would be something a test prepared for this batch.
    os.mkdir(near(root), 0o700)
    for rel, size in request["files"]:
        data = read_exactly(fd, int(size)) if size else b""
        if data is None:
            return None
        write_file(root / rel, data)
    return request


def write_file(path: Path, data: bytes) -> None:
    """Write one batch file, private to the sandbox user (as the tar of the one-shot path)."""
    from sandbox.runtime.nearby import near

    path = Path(near(path))
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class YieldProbe:
    """Whether the host asked the running batch to yield: a look at the request channel that
    never blocks (between two tests, so ~2 us a test)."""

    def __init__(self, channel: int) -> None:
        self.channel = channel

    def __call__(self) -> bool:
        """True once a :data:`YIELD` token is waiting (and takes it), or the host has gone."""
        if not select.select([self.channel], [], [], 0)[0]:
            return False
        token = read_exactly(self.channel, HEADER.size)
        if token is None:
            return True  # the host closed the channel: nobody reads the rest
        if token != YIELD:
            # The host sends nothing else before the batch's clean mark: the channel is broken.
            raise RuntimeError(f"unexpected bytes on the request channel during a batch: {token!r}")
        return True


def forget_runtime_on_disk() -> None:
    """From here on, nothing is imported from the (test-writable) work dir."""
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _RT]
    shutil.rmtree(_RT, ignore_errors=True)


def take_requests_channel() -> int:
    """Our stdin, moved to a private descriptor; fd 0 becomes /dev/null.

    Nothing we start (a compiler, a checker) may inherit the channel the host
    sends the next batch's spec on.
    """
    channel = os.dup(0)  # not inheritable
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return channel


def serve() -> int:
    """Answer requests until stdin ends."""
    # Imported here, not at the top: the host imports this module for its constants.
    from sandbox.runtime import driver, forkclient, zygoteclient
    from sandbox.runtime.artefacts import ArtefactCache
    from sandbox.runtime.nearby import work_from_here
    from sandbox.runtime.procs import sched_state

    forget_runtime_on_disk()
    driver.harden()
    channel = take_requests_channel()
    if ZYGOTE_FLAG in sys.argv:
        # In a container: the work dir is the mount point we run in (see runtime.nearby).
        work_from_here()
        # Before we say we are ready, so before any test can run: PID 1 accepts one connection.
        zygoteclient.start(forkclient.SERVER_CODE)
    out = sys.stdout
    out.write(json.dumps(READY) + "\n")
    out.flush()
    # Each batch's fork server is started ahead of it, while the host is busy
    # elsewhere: a batch then only has to give it its directory.
    spare = forkclient.spare_fork_server(Path.cwd())
    # Our limits and scheduling state (nice, policy, CPUs, I/O priority) pass to every fork
    # server we start: a test (our uid) could lower or change them for the batches of other
    # programs to come. Checked after each batch (and neither can be set back without privileges).
    limits = [*driver.all_rlimits(), sched_state()]
    artefacts = ArtefactCache()
    should_yield = YieldProbe(channel)
    while True:
        request = read_request(channel)
        if request is None:
            return 0
        spec = request["spec"]
        nonce = str(spec.get("nonce", ""))
        batch = driver.run_spec(spec, out, spare, artefacts, should_yield)
        # The results are final: let the host go on while we clean up.
        driver.write_event(out, spec, {"event": "done"})
        out.write(END_MARK + nonce + "\n")
        out.flush()
        settle(driver, spec, batch, spare, nonce, out, limits)
        spare = forkclient.spare_fork_server(Path.cwd())


def settle(
    driver: Any, spec: Spec, batch: Any, spare: Any, nonce: str, out: Any, limits: list[Any] | None = None
) -> None:
    """Take the batch down, check nothing of it is left, and say so (:data:`CLEAN_MARK`).

    The host sends the next batch only after that line. If anything survived
    (a process, a file the wipe could not remove) we exit instead: the host then
    drops the container, and no later batch can meet what this one left.
    """
    from sandbox.runtime.procs import sched_state

    try:
        driver.clean_up(spec, batch, spare)
        if limits is not None and [*driver.all_rlimits(), sched_state()] != limits:
            raise RuntimeError("a test changed the agent's rlimits or scheduling state")
    except BaseException as exc:
        sys.stderr.write(f"sandbox agent: cleanup failed, leaving: {exc!r}\n"[:2000])
        sys.stderr.flush()
        os._exit(1)
    out.write(CLEAN_MARK + nonce + "\n")
    out.flush()


if __name__ == "__main__":
    sys.path.insert(0, str(_RT))
    sys.exit(serve())
