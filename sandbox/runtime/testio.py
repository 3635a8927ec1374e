"""The descriptors one test runs with, and what is read back from them. Standard library only.

* :class:`TestIO`: fresh memory files for stdin, stdout and stderr, plus, for
  call and check tests, the **result channel** (see :mod:`sandbox.runtime.harness`).
* :class:`Interaction`: an interactive test. The program's stdin and stdout are
  pipes to an **interactor** (Kattis protocol: ``interactor INPUT ANSWER
  FEEDBACK_DIR``, exit 42 accepts, 43 rejects), started by the driver once the
  sandbox is wiped for the test and before the program starts. The fork server
  times the program alone; the interactor has a wall limit of its own.
"""

from __future__ import annotations

import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.runtime.guard import write_all

if TYPE_CHECKING:
    from sandbox.runtime.wire import Outcome, TestWire

INTERACTOR_GRACE_S = 10.0
"""How long the interactor may take to finish once the program is done."""
FEEDBACK_MODE = 0o700
"""The mode of the interactor's feedback directory, as the driver makes it."""
INTERACTOR_START_S = 20.0
"""How long a Python interactor may take to say it is no longer dumpable."""

UNDUMPABLE = (
    "import ctypes, os, runpy, sys\n"
    "if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:\n"  # PR_SET_DUMPABLE, 0
    "    sys.exit('the interactor could not make itself undumpable')\n"
    "os.write(int(sys.argv[1]), b'!')\n"
    "os.close(int(sys.argv[1]))\n"
    "sys.argv = sys.argv[2:]\n"
    "sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)
"""How a Python interactor starts: not dumpable, then its script as ``__main__``.

The program runs beside the interactor as the same uid. A dumpable interactor's ``/proc``
files are the program's to read (``fd/N``: the test's input and answer) and its memory the
program's to write. Making it undumpable needs the interpreter's own ``prctl``: an ``execve``
makes a process dumpable again unless the file it runs is unreadable to it (how a compiled
interactor is kept so: see ``custom_checker.prepare``). The program starts only once the
interactor has said it is undumpable."""


def undumpable(argv: list[str], ready_fd: int) -> tuple[list[str], bool]:
    """The command that starts ``argv`` undumpable, and whether it says so on ``ready_fd``: a
    Python interactor (the language's run command, ``python3 ENTRY``) through :data:`UNDUMPABLE`;
    a compiled one as it is (execute-only, it is undumpable from its ``execve`` on). Either way
    the driver then checks (:func:`is_undumpable`)."""
    if len(argv) >= 2 and Path(argv[0]).name.startswith("python") and not argv[1].startswith("-"):
        return [argv[0], "-c", UNDUMPABLE, str(ready_fd), *argv[1:]], True
    return argv, False


def await_ready(fd: int, timeout_s: float) -> bool:
    """Whether the interactor said it is ready on ``fd`` within ``timeout_s``."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000)) and os.read(fd, 1) == b"!"


def is_undumpable(pid: int) -> bool:
    """Whether process ``pid`` is not dumpable, as far as this process can tell: its ``/proc``
    files (``fd`` among them; not the directory itself) then belong to root, not to its uid.
    Root (the local backend run as root) cannot tell, and could read any process anyway: True
    for it."""
    uid = os.getuid()
    try:
        return uid == 0 or os.stat(f"/proc/{pid}/fd").st_uid != uid
    except OSError:
        return False


def memfd_with(data: bytes, name: str) -> int:
    """A memory file holding ``data``, positioned at its start."""
    fd = os.memfd_create(name)
    write_all(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def read_fd(fd: int, limit: int) -> tuple[bytes, int]:
    """Up to ``limit`` bytes from the start of ``fd``, and its full size."""
    size = os.fstat(fd).st_size
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    left = min(size, limit)
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks), size


class TestIO:
    """Memory files for one test's standard streams, and its result channel if it has one."""

    __test__ = False  # not a pytest class

    def __init__(self, stdin: bytes, result: bool = False) -> None:
        self.nonce = secrets.token_hex(16) if result else ""
        """The secret the harness's record must carry (empty: no result channel)."""
        self.stdio = [memfd_with(stdin, "stdin"), os.memfd_create("stdout"), os.memfd_create("stderr")]
        self.result = os.memfd_create("result") if result else None

    @classmethod
    def of_test(cls, test: TestWire, call: bool) -> TestIO:
        """The I/O of a test of the driver's spec: a call's arguments (or the stdin) as stdin,
        and a result channel for a call or check test."""
        check = test.get("check") is not None
        stdin = test["call"] if call and not check else test["stdin"]
        return cls((stdin or "").encode("utf-8", "surrogateescape"), call or check)

    def begin(self) -> None:
        """Called once the sandbox is wiped for the test, just before it starts."""

    def fds(self, cwd_fd: int) -> list[int]:
        """What the fork server is handed: stdin, stdout, stderr, working directory[, result channel]."""
        return [*self.stdio, cwd_fd, *([self.result] if self.result is not None else [])]

    def collect(self, cap: int) -> tuple[bytes, int, bytes, bytes | None]:
        """stdout (up to ``cap``), its full size, stderr (up to ``cap``) and the result channel's bytes."""
        stdout, out_size = read_fd(self.stdio[1], cap)
        stderr, _ = read_fd(self.stdio[2], cap)
        result = read_fd(self.result, cap)[0] if self.result is not None else None
        return stdout, out_size, stderr, result

    def close(self) -> None:
        """Close every descriptor of ours."""
        for fd in (*self.stdio, *([self.result] if self.result is not None else [])):
            os.close(fd)
        self.stdio, self.result = [], None


class Interaction(TestIO):
    """An interactive test: the program talks to the interactor over two pipes."""

    def __init__(self, argv: list[str], workdir: str, test: TestWire, env: dict[str, str], wall: float) -> None:
        super().__init__(b"")
        self.argv, self.workdir, self.test, self.env, self.wall = argv, workdir, test, env, wall
        self.proc: subprocess.Popen[bytes] | None = None
        self.failed = "the interactor never started"
        """Why :attr:`proc` is None, once :meth:`begin` found it could not run the interactor."""
        self.tmp: Path | None = None
        self.log = os.memfd_create("interactor-stderr")
        # program stdin <- to_program <- interactor stdout; program stdout -> to_judge -> interactor stdin
        self.to_program = os.pipe()
        self.to_judge = os.pipe()

    def begin(self) -> None:
        """Start the interactor on the test's input and answer (files the wipe did not see)."""
        self.tmp = Path(tempfile.mkdtemp(dir=self.workdir))
        (self.tmp / "feedback").mkdir(mode=FEEDBACK_MODE)
        os.chmod(self.tmp / "feedback", FEEDBACK_MODE)  # (whatever the umask)
        # The input and answer are memory files the interactor inherits, never files in a
        # place the program (same uid, running alongside) could list and read.
        texts = [str(self.test[key] or "").encode("utf-8", "surrogateescape") for key in ("stdin", "expected")]
        secret = [memfd_with(text, "judge") for text in texts]
        ready, told = os.pipe()
        try:
            self._start(secret, ready, told, self.tmp / "feedback")
        finally:
            for fd in (*secret, ready):
                os.close(fd)
            # Only the program's ends stay with us, until the fork server has them.
            for fd in (self.to_judge[0], self.to_program[1]):
                os.close(fd)

    def _start(self, secret: list[int], ready: int, told: int, feedback: Path) -> None:
        # A failure to start leaves proc None: the verdict says why the interactor never started.
        paths = [f"/proc/self/fd/{fd}" for fd in secret]
        argv, handshake = undumpable([*self.argv, *paths, str(feedback)], told)
        try:  # (``told`` closed here whatever happens: the read end sees the end if the interactor dies)
            proc = subprocess.Popen(
                argv,
                stdin=self.to_judge[0],
                stdout=self.to_program[1],
                stderr=self.log,
                pass_fds=[*secret, *([told] if handshake else [])],
                cwd=self.tmp,
                env=self.env,
                start_new_session=True,
            )
        except OSError as exc:
            self.failed = f"the interactor could not start: {exc}"
            return
        finally:
            os.close(told)
        if (not handshake or await_ready(ready, INTERACTOR_START_S)) and is_undumpable(proc.pid):
            self.proc = proc
            return
        # Dumpable still (or silent): the program must never run beside it.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        said = read_fd(self.log, 300)[0].decode("utf-8", "replace").strip()
        self.failed = f"the interactor could not be made undumpable{': ' + said if said else ''}"

    def fds(self, cwd_fd: int) -> list[int]:
        """The program reads what the interactor writes and writes what it reads."""
        return [self.to_program[0], self.to_judge[1], self.stdio[2], cwd_fd]

    def collect(self, cap: int) -> tuple[bytes, int, bytes, bytes | None]:
        """The program's stderr (its stdout went to the interactor)."""
        stderr, _ = read_fd(self.stdio[2], cap)
        return b"", 0, stderr, None

    def verdict(self) -> tuple[int | None, str, str]:
        """Wait for the interactor (the program is done): its exit status (None: killed at its
        wall limit, or never started), what it said (feedback file, else stderr), and how the
        program spoiled its work, if it did (see :func:`interactive_verdict`)."""
        # The program's ends closed: an interactor still reading sees end of file.
        self._close_program_ends()
        if self.proc is None:
            return None, self.failed, ""
        spoiled = ""
        try:
            status = self.proc.wait(self.wall + INTERACTOR_GRACE_S)
        except subprocess.TimeoutExpired:
            if process_state(self.proc.pid) in ("T", "t"):
                spoiled = "the program stopped the interactor"
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return None, f"the interactor ran past {self.wall + INTERACTOR_GRACE_S:.0f}s", spoiled
        said = read_feedback(self.tmp / "feedback") if self.tmp is not None else ""
        said = said or read_fd(self.log, 4096)[0].decode("utf-8", "replace")
        return status, said.strip()[:500], self._spoiled()

    def _spoiled(self) -> str:
        """How the program spoiled the place the interactor writes its verdict, if it did: it
        runs as the same uid and may change the directory, plant links or files it cannot write
        in it, fill its disk (blocks or inodes)."""
        if self.tmp is None:
            return ""
        feedback = self.tmp / "feedback"
        try:
            st = os.lstat(feedback)
            if not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) != FEEDBACK_MODE:
                return "the program changed the interactor's feedback directory"
            with os.scandir(feedback) as entries:
                for entry in entries:
                    if not entry.is_file(follow_symlinks=False):
                        return "the program put links or special files in the interactor's feedback directory"
                    if not entry.stat(follow_symlinks=False).st_mode & stat.S_IWUSR:
                        return "the program left a file the interactor cannot write in its feedback directory"
            return disk_filled(os.statvfs(feedback))
        except OSError:
            return "the program made the interactor's feedback directory unreadable"

    def _close_program_ends(self) -> None:
        for fd in (self.to_program[0], self.to_judge[1]):
            try:
                os.close(fd)
            except OSError:
                pass  # already closed
        self.to_program = self.to_judge = (-1, -1)

    def close(self) -> None:
        """Close everything and remove the interactor's files (killing it if it still runs)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._close_program_ends()
        os.close(self.log)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        super().close()


def read_feedback(folder: Path) -> str:
    """The interactor's ``judgemessage.txt``, if it is a regular file in the directory itself:
    never through a link, never blocking (a FIFO), at most 4 KiB; "" for anything else (the
    program may have put it there)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        where = os.open(folder, flags | os.O_DIRECTORY)
    except OSError:
        return ""
    try:
        fd = os.open("judgemessage.txt", flags, dir_fd=where)
    except OSError:
        return ""
    finally:
        os.close(where)
    try:
        return os.read(fd, 4096).decode("utf-8", "replace") if stat.S_ISREG(os.fstat(fd).st_mode) else ""
    except OSError:
        return ""
    finally:
        os.close(fd)


FULL_BYTES = 1 << 20
FULL_INODES = 64


def disk_filled(fs: os.statvfs_result) -> str:
    """Why a file system counts as filled (under 1 MiB or 64 inodes left), "" if it does not.
    One that reports no size at all (a tmpfs without limits) is never full."""
    if fs.f_blocks and fs.f_bavail * fs.f_frsize < FULL_BYTES:
        return "the program filled the disk the interactor writes its verdict on"
    if fs.f_files and fs.f_favail < FULL_INODES:
        return "the program used up the inodes of the disk the interactor writes its verdict on"
    return ""


def process_state(pid: int) -> str:
    """The state letter of a process (``R``, ``S``, ``T`` stopped...), "" when unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[0].decode()
    except (OSError, IndexError):
        return ""


SELF_INFLICTED = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT, signal.SIGSYS, signal.SIGTRAP}
    | {signal.SIGXCPU, signal.SIGXFSZ, signal.SIGALRM, signal.SIGVTALRM, signal.SIGPROF, signal.SIGPIPE}
)
"""Signals a process may get from its own doing: faults, limits, its own timers, a write to a
pipe whose reader left (SIGPIPE: the interactor should have ignored it; a correct program may
exit before reading a last line). Killed by any other, the interactor was killed by someone: the
program beside it is the only other process that may signal it (the driver's kill at its wall
limit is told apart). The program may send one of these too: that stays SE, as it cannot be told
from the interactor's own fault."""


def interactive_verdict(outcome: Outcome, status: int | None, said: str, spoiled: str = "") -> None:
    """Decide an interactive test, as problemtools does: the interactor's rejection stands
    first (unless the program ran out of time first), then the program's own failures,
    then the interactor's acceptance. An interactor that crashed, hung or answered anything
    but 42/43 is a judge fault (SE), unless the program is why: it killed the interactor (any
    signal but :data:`SELF_INFLICTED`), stopped it, or spoiled where it writes its verdict
    (``spoiled``). Then the program's own failure stands, and if it had none, the test is RE."""
    killed = status is not None and status < 0 and -status not in SELF_INFLICTED
    if killed or (spoiled and status not in (42, 43)):
        if outcome["verdict"] == "AC":
            why = spoiled or f"the interactor was killed by signal {-(status or 0)} (by the program)"
            outcome["verdict"], outcome["message"] = "RE", why
    elif status is None or status not in (42, 43):
        outcome["verdict"], outcome["message"] = "SE", f"interactor failed (status {status}): {said[:200]}"
    elif status == 43 and outcome["verdict"] != "TLE":
        outcome["verdict"], outcome["message"] = "WA", said or "rejected by the interactor"
    elif outcome["verdict"] == "AC":
        outcome["message"] = said or "accepted by the interactor"
