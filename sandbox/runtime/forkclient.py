"""The driver's handle on its fork server (:mod:`sandbox.runtime.forkserver`). Standard library only.

The fork server runs code compiled once, when this module is imported (before any candidate
code runs). In the Docker backend's containers PID 1 forks it (the zygote: see
:mod:`sandbox.runtime.zygoteclient`); elsewhere, or once the zygote is given up, it is a new
interpreter in isolated mode. A ``setup`` message later gives it its batch, so it can be
started ahead of time.
"""

from __future__ import annotations

import marshal
import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sandbox.runtime import zygoteclient
from sandbox.runtime.forkserver import RUN, stdlib_names
from sandbox.runtime.nearby import near
from sandbox.runtime.zygoteclient import ForkedProcess

if TYPE_CHECKING:
    from sandbox.runtime.wire import QuitRequest, RunParameters, RunReport, RunRequest, SetupRequest, Spec, ZygoteFork

_FUTURE = "from __future__ import annotations\n"
_SERVER_MODULES = ("nearby.py", "procs.py", "rlimits.py", "children.py", "forkserver.py")
SERVER_SOURCE = _FUTURE + "".join(
    Path(__file__).with_name(name).read_text().replace(_FUTURE, "") for name in _SERVER_MODULES
)
"""Read once, at start-up, before any candidate code runs: the fork server's modules as one
script (each imports the ones before it only when it is not that script), so that it imports
nothing from disk."""
_HARNESS_MODULES = ("harness.py", "remote.py", "crossing.py")
HARNESS_SOURCE = _FUTURE + "".join(
    Path(__file__).with_name(name).read_text().replace(_FUTURE, "") for name in _HARNESS_MODULES
)
"""How a test child runs Python (:mod:`sandbox.runtime.harness`, then :mod:`sandbox.runtime.remote`
and :mod:`sandbox.runtime.crossing` in the same namespace), read with the fork server's source."""
SERVER_CODE = marshal.dumps(
    (compile(SERVER_SOURCE, "<fork server>", "exec"), compile(HARNESS_SOURCE, "<sandbox harness>", "exec"))
)
"""Both compiled once, here: a fork server then starts without compiling anything (it is started
for every batch, on the container's one CPU, and compiling its source was a fifth of that)."""
BOOT = (
    "import _socket,marshal,os,sys\n"
    "_sock=_socket.socket(fileno=int(sys.argv[1]))\n"
    "_code,_harness=marshal.loads(_sock.recv(1<<20))\n"
    "exec(_code)\n"
    "_status=main(_sock,_harness,sys.argv[2:])\n"
    "sys.stderr.flush()\n"
    "os._exit(_status)\n"
)
"""What the fork server's interpreter runs: it takes its code from the socket (see :data:`SERVER_CODE`).
Once its work is done (its tests' processes killed) it leaves with ``os._exit``: the interpreter's
own finalization was most of the 3 ms the agent waited for it after every batch."""
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_GRACE_S = 10.0
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import|import[ \t]+([\w., \t]+))", re.MULTILINE)
_SOURCE_CAP = 1 << 20
"""How much of the entry file is read for its imports."""


def child_env(home: str, path: str | None = None, *, one_arena: bool = False) -> dict[str, str]:
    """The whole environment a candidate sees: nothing from the host leaks in.

    ``one_arena`` where the address space stands in for the memory limit (the local backend):
    glibc reserves 64 MB of address space for each thread's malloc arena, so a C++ program of
    four threads (four 64 MB stacks already) failed to start its threads in ~1 run in 2 with a
    128 MB limit. With one arena the reservation goes; malloc is merely shared between threads.
    """
    env = {
        "PATH": path or SAFE_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    if one_arena:
        env["MALLOC_ARENA_MAX"] = "1"
    return env


class ForkServer:
    """Handle on the fork server process (started before it knows its batch: see :meth:`setup`)."""

    def __init__(self, home: Path, isolate_net: bool = False, path: str | None = None) -> None:
        # The fork server's stdout must not be ours: a test child could open
        # /proc/<its parent>/fd/1 and forge driver events. Its stderr, only ever a
        # diagnostic, goes to a memory file of ours: no test can reach it (a log
        # in the work dir could be filled up to the file-size limit by a test,
        # so that the next fork server died on its first warning).
        self.log = os.memfd_create("fork-server-stderr")
        self.origin: Literal["zygote", "exec"] = "zygote"
        """Where the fork server came from: ``zygote`` (forked by PID 1) or ``exec`` (a new interpreter)."""
        self.isolation = ""
        """How the fork server isolates tests, once it said hello (see :meth:`ready`)."""
        try:
            started = self.forked(home, path, isolate_net) or self.started(home, path, isolate_net)
        except BaseException:
            os.close(self.log)
            raise
        self.proc: subprocess.Popen[bytes] | ForkedProcess = started[0]
        self.sock = started[1]

    def forked(self, home: Path, path: str | None, isolate_net: bool) -> tuple[ForkedProcess, socket.socket] | None:
        """The fork server forked by the container's zygote, and our end of its socket, if there
        is a zygote (and the fork server needs no network namespace of its own: only the local
        backend asks for one)."""
        zygote = zygoteclient.active()
        if zygote is None or isolate_net:
            return None
        request: ZygoteFork = {"op": "fork", "env": child_env(str(home), path), "cwd": str(home), "argv": []}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            return zygote.fork(theirs.fileno(), self.log, request), ours
        except (OSError, RuntimeError, ValueError) as exc:  # socket.timeout among them (an OSError on 3.9)
            ours.close()  # (a fork that happened after all talks to no one)
            zygoteclient.give_up(f"{exc!r}")
            return None
        finally:
            theirs.close()

    def started(self, home: Path, path: str | None, isolate_net: bool) -> tuple[subprocess.Popen[bytes], socket.socket]:
        """The fork server as a new interpreter, and our end of its socket."""
        self.origin = "exec"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # From the source read when the driver started, never from disk again (a
        # test could have rewritten the file), in isolated mode so that nothing
        # in the program's directory can shadow a module the fork server imports.
        argv = [sys.executable, "-I", "-c", BOOT, str(theirs.fileno())]
        if isolate_net:
            argv.append("--isolate-net")
        try:
            proc = subprocess.Popen(
                argv,
                pass_fds=[theirs.fileno()],
                env=child_env(str(home), path),
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.log,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        try:
            ours.send(SERVER_CODE)
        except OSError:
            pass  # it died at once: ready() says so
        return proc, ours

    def ready(self) -> None:
        """Wait for the fork server's hello (not at start: a spare boots while the agent reads
        its next batch); RuntimeError if it does not come."""
        if self.isolation:
            return
        hello = self.recv(_GRACE_S)
        if hello is None:
            raise RuntimeError(f"the fork server could not start: {self.last_words()}")
        self.isolation = str(hello.get("isolation", "unknown"))

    def last_words(self) -> str:
        """The last line the fork server wrote on stderr."""
        try:
            size = os.fstat(self.log).st_size
            tail = os.pread(self.log, 4096, max(0, size - 4096)).decode(errors="replace").strip().splitlines()[-1:]
        except OSError:
            tail = []
        return (tail or ["no output"])[0][:300]

    def setup(self, spec: Spec, warm: bool, run: RunParameters, precompile: bool = False) -> None:
        """Give the fork server its batch: work dir, environment, the program's imports to warm,
        and ``run``, the parameters every test shares. With ``precompile`` it compiles the
        entry file at once (it passed a syntax check in a limited child before: see
        :mod:`sandbox.runtime.artefacts`)."""
        self.ready()
        request: SetupRequest = {
            "op": "setup",
            "cwd": spec["prog"],
            "env": child_env(spec["work"], spec.get("path"), one_arena=bool(spec.get("as_slack"))),
            "warm": warm_list(run) if warm else [],
            "run": run,
            "precompile": precompile,
        }
        try:
            self.sock.send(marshal.dumps(dict(request)))
        except OSError as exc:
            raise RuntimeError(f"the fork server is unreachable: {exc}") from exc
        if self.recv(_GRACE_S) is None:
            raise RuntimeError(f"the fork server could not be set up: {self.last_words()}")

    def recv(self, timeout: float) -> Any:
        """One message (a :class:`~sandbox.runtime.wire.Hello` or ``RunReport``), or None when
        the fork server is gone or silent past ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, OSError):
            return None
        return marshal.loads(data) if data else None

    def run(self, request: RunRequest, fds: list[int], wall: float) -> tuple[RunReport | None, str]:
        """Run one request; return the fork server's report, or None and why."""
        try:
            socket.send_fds(self.sock, [marshal.dumps(dict(request)) if request else RUN], fds)
        except OSError as exc:
            return None, f"fork server unreachable: {exc}"
        report: RunReport | None = self.recv(wall + _GRACE_S)
        if report is None:
            return None, "fork server died during the test"
        return report, ""

    def close(self) -> None:
        """Ask the fork server to quit, then make sure it did."""
        try:
            quit: QuitRequest = {"op": "quit"}
            self.sock.send(marshal.dumps(dict(quit)))
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        os.close(self.log)


def stdlib_imports(source: str) -> list[str]:
    """Standard-library modules a program imports at top level (found by a regex, not by running it)."""
    names: list[str] = []
    for match in _IMPORT.finditer(source):
        for part in (match.group(1) or match.group(2) or "").split(","):
            top = part.strip().split(" ")[0].split(".")[0]
            if top in stdlib_names() and top not in names:
                names.append(top)
    return names


def warm_list(run: RunParameters) -> list[str]:
    """The standard modules a fork server should import for a batch: the program's own, read
    from its entry file (a call's arguments need none: ``harness.literal`` reads them)."""
    try:
        # Never blocking on a FIFO nor following a link a test left where the program was.
        fd = os.open(near(run["entry"]), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            source = os.read(fd, _SOURCE_CAP) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        finally:
            os.close(fd)
    except OSError:
        source = b""
    return stdlib_imports(source.decode("utf-8", "replace"))


def spare_fork_server(directory: Path) -> ForkServer | None:
    """A fork server started now for a batch still to come (None if it cannot start; one that
    dies booting is found when the batch sets it up)."""
    try:
        return ForkServer(directory)
    except (RuntimeError, OSError):
        return None
