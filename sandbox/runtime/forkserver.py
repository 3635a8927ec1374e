"""The fork server: one warmed interpreter that forks a child per test.

Standard library only; it runs inside the sandbox. It never sees expected
outputs (those stay in the driver, which is not dumpable), so a hostile test
child, which is a copy of this process, finds nothing worth reading here.

Protocol on the ``SOCK_SEQPACKET`` socket it is given (one :mod:`marshal`-ed
dict per packet, file descriptors attached with SCM_RIGHTS; call arguments travel on the
child's stdin, so packets stay small):

* ``{"op": "setup", "cwd": ..., "env": {...}, "warm": ..., "run": {...}}``
  → ``{"ready": true}``: adopt a batch (its work dir, environment, and the run
  parameters every test shares: limits, runner, entry...) and import, once, the
  standard modules its program names. It is separate from start-up so that a
  fork server can be started ahead of its batch, while the sandbox is idle;
* :data:`RUN`, or ``{"op": "run"}`` + any run parameter to override, + fds
  ``[stdin, stdout, stderr, working directory]`` → ``{"exit_code": ..., "signal": ..., "cpu": ..., "timed_out": ...}``;
* ``{"op": "quit"}``.

After every run it kills whatever the test left behind: it is a child
subreaper, so orphans of the test come back to it and can be found.
"""

from __future__ import annotations

import _ast
import _socket
import errno
import gc
import marshal
import os
import sys
import types

# Every byte this process holds is mapped into each test child and torn down
# with it, so it imports only C modules and small ones: not `socket` or `signal`
# (their enums pull in collections and functools), not `typing`, `re` or `json`.
_signal: Any = __import__("_signal")  # the C core of `signal`, which has no stubs of its own
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from sandbox.runtime.wire import Hello, SetupRequest
if __name__ != "__main__":  # in the fork server, these run first, in this same namespace
    from sandbox.runtime.children import SERVER, reap_test, start_child
    from sandbox.runtime.nearby import beneath
    from sandbox.runtime.procs import LIBC, kill_descendants, watch_children
    from sandbox.runtime.rlimits import limit_batch, plan_limits

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
_MSG = 65536
_ANCILLARY = _socket.CMSG_SPACE(8 * 4)


def isolate_network() -> str:
    """Move into a fresh network namespace (no interfaces but a down loopback) and IPC namespace
    (then each test child makes one of its own: no IPC object outlives its test).

    Returns the isolation reached: ``netns``, ``userns+netns`` or ``none``, + ``+ipc``.
    """
    for flags, name in ((0, "netns"), (CLONE_NEWUSER, "userns+netns")):
        for ipc in (CLONE_NEWIPC, 0):
            if LIBC.unshare(flags | CLONE_NEWNET | ipc) == 0:
                SERVER.private_ipc = ipc
                return name + ("+ipc" if ipc else "")
    return "none"


def load_harness(code: types.CodeType) -> Any:
    """The harness as a module of its own, from the code the driver compiled at start-up."""
    module = types.ModuleType("_sandbox_harness")
    exec(code, module.__dict__)
    return module


def stdio() -> tuple[IO[str], IO[str], IO[str]]:
    """Text streams on fds 0, 1 and 2, as ``python3 main.py`` would have them."""
    return (
        open(0, encoding="utf-8", errors="surrogateescape", closefd=False),
        open(1, "w", encoding="utf-8", errors="surrogateescape", closefd=False),
        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False),
    )


RUN = b"R"
"""A run request with nothing to override: the common case, sent without encoding anything."""
_STDLIB: frozenset[str] | None = None


def stdlib_names() -> frozenset[str]:
    """Top-level names of the standard library: ``sys.stdlib_module_names`` (Python 3.10+);
    on older images (the Python 3.9 variant) the interpreter's own library folders, listed."""
    global _STDLIB
    if _STDLIB is None:
        names = getattr(sys, "stdlib_module_names", None)
        _STDLIB = frozenset(names) if names is not None else _listed_stdlib()
    return _STDLIB


def _listed_stdlib() -> frozenset[str]:
    # The folder of `os` is the stdlib's, root-owned in the image: nothing a program wrote.
    # Debian keeps third-party packages elsewhere (dist-packages), so none is listed here.
    lib = os.path.dirname(os.__file__)
    found = set(sys.builtin_module_names)
    for folder in (lib, os.path.join(lib, "lib-dynload")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            name = entry.split(".", 1)[0]
            module = entry.endswith((".py", ".so")) or os.path.isfile(os.path.join(folder, entry, "__init__.py"))
            if module and name.isidentifier():
                found.add(name)
    return frozenset(found - {"sitecustomize", "usercustomize"})  # site's hooks, not the library


def receive(sock: _socket.socket) -> tuple[Any, list[int]]:
    """The next request (a :class:`~sandbox.runtime.wire.Run`, ``SetupRequest`` or ``QuitRequest``)
    and the descriptors that came with it; ``(None, [])`` when the driver is gone."""
    msg, ancillary, _, _ = sock.recvmsg(_MSG, _ANCILLARY)
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += memoryview(data)[: len(data) - len(data) % 4].cast("i").tolist()
    if not msg:
        return None, fds
    # marshal, not json: it is built in (json would add a megabyte to every
    # fork), and both ends are ours, neither reachable by a test.
    return (SERVER.batch if msg == RUN else {**SERVER.batch, **marshal.loads(msg)}), fds


def serve(sock: _socket.socket) -> None:
    """Answer run requests until told to quit or the driver goes away."""
    while True:
        req, fds = receive(sock)
        if req is None:
            return
        op = req.get("op", "run")
        if op == "quit":
            return
        if op == "setup":
            setup(req)
            ready: Hello = {"ready": True}
            sock.send(marshal.dumps(dict(ready)), _socket.MSG_NOSIGNAL)
            continue
        if req.get("precompile"):
            precompile(req["entry"])
        read_end, write_end = os.pipe() if req.get("compile_first") else (-1, -1)
        pid = os.fork()
        if pid == 0:
            start_child(req, fds, write_end)
        for fd in [*fds, write_end]:
            if fd >= 0:
                os.close(fd)
        try:
            report = reap_test(pid, req, read_end)
        finally:
            if read_end >= 0:
                os.close(read_end)
        sock.send(marshal.dumps(dict(report)), _socket.MSG_NOSIGNAL)


def precompile(entry: str) -> None:
    """Compile the entry file once for every later child: it passed its syntax check in a
    limited child, and the driver has just restored it to the bytes checked (a failure here
    only means each child compiles it itself)."""
    try:
        SERVER.compiled[entry] = SERVER.harness.load_code(entry, beneath_here(entry))
    except Exception:
        SERVER.compiled.pop(entry, None)


def beneath_here(path: str) -> str:
    """``path`` relative to our working directory when it lies beneath it, else as given: it
    names the same file (the working directory is at ``path``'s start right now), and on some
    Docker engines a walk from ``/`` is a round trip to a FUSE daemon (see runtime.nearby)."""
    here = os.getcwd()
    return beneath(path, here) if here != "/" else path


def setup(req: SetupRequest) -> None:
    """Adopt a batch: its directory and environment (inherited by every test child), its imports."""
    run = req["run"]
    SERVER.batch = dict(run)
    limit_batch(plan_limits(run["limits"], int(run["as_slack"]), int(run["nproc"])))
    os.chdir(beneath_here(req["cwd"]))
    os.environ.clear()
    os.environ.update(req["env"])
    warm(list(req["warm"]))
    if req["precompile"]:
        # The same source passed a syntax check in a limited child, in an earlier batch.
        precompile(run["entry"])
    # Made once, never used here: each child finds them ready, on its own fds 0-2
    # (its memfds, after dup2), with empty buffers. Cheaper than three per child.
    SERVER.stdio = stdio()
    SERVER.home = os.path.dirname(os.path.abspath(run["entry"]))
    # Everything alive now is shared with every child: keep the children's
    # collector off it, so it does not copy those pages on write.
    gc.freeze()


def warm(names: list[str]) -> None:
    """Import, once, what every test child would otherwise import again.

    Only standard-library modules named by the program are imported here (the
    driver picks them: see ``forkclient.stdlib_imports``): the fork server must
    never run the candidate's own code (that happens only in limited children).
    """
    for name in names:
        if name not in stdlib_names():
            continue
        try:
            __import__(name)
        except Exception:  # a module failing here fails in the child too, with a traceback
            pass


_REHEARSAL = "import sys\nfor line in sys.stdin:\n    print(sum(map(int, line.split())), end='')\n"
"""A small program, compiled once at boot and never run (see :func:`rehearse`)."""


def rehearse() -> None:
    """Pay at boot, off every batch's path, what a fresh interpreter pays on first use: its
    first ``compile`` costs ~1 ms (later ones of a small program ~20 us), its first text
    file a little more. A batch's set-up compiles the program, and a new program's first
    test child compiles it too: each fork inherits a warmed interpreter. Nothing of the
    candidate's is touched: the source is ours, the file is /dev/null."""
    compile(_REHEARSAL, "<rehearsal>", "exec")
    # A call's arguments are read as a tree (``harness.literal``): the first such compile sets up
    # the interpreter's node types (~0.6 ms), done here once instead of in every test child.
    compile("[0]", "<rehearsal>", "eval", _ast.PyCF_ONLY_AST)
    with open(os.devnull, encoding="utf-8") as fh:
        fh.read()


def main(sock: _socket.socket, harness: types.CodeType, argv: list[str]) -> int:
    """Entry point, called by the boot line (``forkclient.BOOT``) with the socket, the harness's
    code and the flags (``[--isolate-net]``); a ``setup`` message then gives it its batch."""
    prepare(harness)
    return start(sock, argv)


def prepare(harness: types.CodeType) -> None:
    """What every fork server does first, whatever its batch: done once in the container's
    zygote (``runtime.zygote``), whose forks then start from :func:`start`."""
    SERVER.harness = load_harness(harness)
    rehearse()


def start(sock: _socket.socket, argv: list[str]) -> int:
    """Isolate, harden, say hello, and serve the driver until it says quit (see :func:`main`)."""
    isolation = isolate_network() if "--isolate-net" in argv else "container"
    LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    watch_children()
    # Inherited by every test child: under memory pressure the kernel kills a
    # test (the largest of them) rather than the driver. Set once here, since a
    # write to /proc per child costs more than the rest of the fork.
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("1000")
    # Only now (a non-dumpable process's /proc entries belong to root): from here
    # on, no test can ptrace the fork server or read its memory.
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    hello: Hello = {"ready": True, "isolation": isolation}
    sock.send(marshal.dumps(dict(hello)))
    try:
        serve(sock)
    except (BrokenPipeError, ConnectionResetError):
        pass
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
    kill_descendants(os.getpid())
    return 0
