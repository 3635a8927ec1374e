"""More hostile programs against the real sandbox: attacks the other hostile corpora do not try.

Same conventions as ``test_hostile.py``: an attack prints ``PWNED: <what>`` for every way it
got through and ``SAFE`` when nothing did (an interactive one, whose stdout is the judge's,
says so on stderr), so a failed attack reads as AC on the expected output ``SAFE``. An attack
that succeeds today is a sandbox BUG: its test is marked ``xfail(strict=True, reason="BUG: ...")``.

Covered here: the interactor of an interactive problem (it runs beside the program, as the
same uid: read, killed, its feedback spoiled), a flood of compiler diagnostics, the agent's
stream marks printed by a test, checker files changed in place without a visible write, the
OOM killer steered at the runtime, IPv6 and raw sockets, namespace, mount and kernel calls our
seccomp profile must refuse, every directory of the image, files past the file-size limit, an
inode flood in /dev/shm, a listener on an abstract socket left for later tests and batches, and
check-mode tests passed without passing, and what the kernel counts per uid (inotify instances,
queued real-time signals) used up for a test running at the same moment in another container.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import docker
import pytest
from anyio.abc import SocketAttribute, SocketStream

from sandbox import CheckerSpec, DockerConfig, Limits, Program, Sandbox, TestCase, TestOutcome, Verdict, open_sandbox
from sandbox._docker import seccomp
from sandbox.runtime.agent import CLEAN_MARK, END_MARK
from tests.sandbox.test_hostile import (
    CORPUS,
    LIMITS,
    PRELUDE,
    SAFE,
    any_box,
    assert_pool_healthy,
    assert_safe,
    attack,
    cpp,
    describe,
    run,
)

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
__all__ = ["any_box"]  # the fixture, used here under its own name

ROOMY = Limits(cpu_seconds=2, wall_seconds=5, memory_mb=128, output_bytes=1 << 20)
"""For attacks that do a little work before they report (a walk of the file system...)."""


# ================================================================ the interactor
#
# In an interactive test the problem's interactor runs beside the program, started by the
# driver as a new process of the same uid; it holds the test's input (for the guessing game:
# the secret) and answer as memory files it was handed, named to it as /proc/self/fd/N.

GUESS = CheckerSpec(
    kind="program",
    program=Program.single("python", (CORPUS / "checkers" / "guess_interactor.py").read_text()),
    protocol="kattis_interactive",
)

FIND_INTERACTOR = '''
def interactor():
    """The interactor's pid and argv (it reads its input and answer through /proc/self/fd)."""
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\\0")[:-1]
        except OSError:
            continue
        if any(b"/proc/self/fd/" in arg for arg in argv) and any(b"/chk/" in arg for arg in argv):
            return int(pid), [arg.decode() for arg in argv]
    return None, []


def tell(found):
    """Breaches go to stderr: stdout is the interactor's."""
    for item in found:
        print("PWNED:", item, file=sys.stderr)
    sys.stderr.flush()
'''

READ_THE_JUDGE = """
found, secret = [], None
pid, argv = interactor()
print("judge found" if pid is not None else "judge not found", file=sys.stderr)
try:
    fds = os.listdir(f"/proc/{pid}/fd") if pid is not None else []
except OSError:
    fds = []
for fd in fds:
    try:
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        if not target.startswith("/memfd:"):
            continue  # (its pipes: a read there would block)
        with open(f"/proc/{pid}/fd/{fd}", "rb") as fh:
            data = fh.read(64)
    except OSError:
        continue
    if data.strip().isdigit():
        secret = secret or data.split()[0].decode()
        found.append(f"read the judge's {target} (pid {pid} fd {fd})")
if pid is not None:
    try:
        os.close(os.open(f"/proc/{pid}/mem", os.O_RDWR))
        found.append(f"opened the judge's memory for writing (pid {pid})")
    except OSError:
        pass
tell(found)
# Without the secret this program cannot win: it guesses 1 until the judge gives up.
for _ in range(10):
    print(secret or 1, flush=True)
    if input().strip() == "=":
        break
"""


def judge_attack(body: str) -> Program:
    """A Python attack on the interactor: the prelude, the helpers above, then ``body``."""
    return Program.single("python", PRELUDE + FIND_INTERACTOR + body)


GUESS_CPP = CheckerSpec(
    kind="program",
    program=Program.single("cpp", (CORPUS / "checkers" / "guess_interactor.cpp").read_text()),
    protocol="kattis_interactive",
)


@pytest.mark.parametrize("judge", [GUESS, GUESS_CPP], ids=["python-interactor", "compiled-interactor"])
async def test_an_interactive_program_cannot_read_or_write_its_interactor(
    docker_box: Sandbox, judge: CheckerSpec
) -> None:
    """The interactor holds the test's input and answer: not dumpable, its /proc files (fd/N,
    mem) are not the program's to open, though the program runs beside it as the same uid."""
    tests = [TestCase(stdin=f"{secret}\n", expected="", name=f"s{secret}") for secret in (737, 262)]
    outcomes = await docker_box.run_tests(judge_attack(READ_THE_JUDGE), tests, LIMITS, judge)
    assert len(outcomes) == 2, describe(outcomes)
    for outcome in outcomes:
        assert "judge found" in outcome.stderr.text, describe(outcomes)  # (the attack got as far as that)
        assert "PWNED" not in outcome.stderr.text, describe(outcomes)
        assert outcome.verdict is Verdict.WA, describe(outcomes)


DISTURB_THE_JUDGE = """
import signal
import time

how = "HOW"  # (stdin is the interactor's)
pid, argv = interactor()
feedback = argv[-1] if argv else "/nonexistent"
try:
    if how.startswith("SIG"):
        name, _, then = how.partition("-then-")
        os.kill(pid, getattr(signal, name))
        for _ in range(300):  # until it is dead (a zombie: the driver reaps it only once we are done)
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    if fh.read().rpartition(")")[2].split()[0] in ("Z", "X"):
                        break
            except OSError:
                break
            time.sleep(0.01)
        if then == "write":
            print(1, flush=True)  # into the dead judge's pipe: SIGPIPE
    else:
        if how == "unwritable-feedback":
            os.chmod(feedback, 0)  # where the interactor writes its verdict message
        elif how == "readonly-message":  # the file the interactor writes its verdict to, made first
            with open(os.path.join(feedback, "judgemessage.txt"), "w"):
                pass
            os.chmod(os.path.join(feedback, "judgemessage.txt"), 0)
        elif how == "linked-feedback":
            os.symlink("/proc/self/mem", os.path.join(feedback, "judgemessage.txt"))
        elif how == "full-disk":  # the feedback directory is on the program's disk
            chunk = b"x" * (1 << 20)
            try:
                for k in range(1000):
                    with open(f"fill-{k}", "wb") as fh:
                        for _ in range(8):
                            fh.write(chunk)
            except OSError:
                pass
        print(1, flush=True)  # one wrong guess, then gone
except (OSError, TypeError):
    print("could not", how, file=sys.stderr)
"""


DISTURBANCES = {
    "SIGTERM": "killed by signal 15",
    "SIGKILL": "killed by signal 9",
    "SIGUSR1": "killed by signal 10",
    "SIGHUP": "killed by signal 1",
    "SIGKILL-then-write": "",  # the program's own death (SIGPIPE, writing to it) stands
    "unwritable-feedback": "changed the interactor's feedback directory",
    "readonly-message": "a file the interactor cannot write",
    "linked-feedback": "links or special files",
    "full-disk": "filled the disk",
}


@pytest.mark.parametrize("how", list(DISTURBANCES))
async def test_disturbing_the_interactor_is_the_programs_fault(docker_box: Sandbox, how: str) -> None:
    """A program that kills its interactor, or spoils where it writes its verdict, gets a
    verdict of its own (the program's fault), never SE."""
    program = judge_attack(DISTURB_THE_JUDGE.replace("HOW", how))
    outcomes = await docker_box.run_tests(program, [TestCase(stdin="737\n", expected="")], LIMITS, GUESS)
    assert len(outcomes) == 1, describe(outcomes)
    assert "could not" not in outcomes[0].stderr.text, describe(outcomes)
    assert outcomes[0].verdict.is_program_fault, describe(outcomes)
    if DISTURBANCES[how]:
        assert outcomes[0].verdict is Verdict.RE, describe(outcomes)
        assert DISTURBANCES[how] in outcomes[0].message, describe(outcomes)


# ========================================================================= compiling

# 2^11 copies of a 100 KB #warning, by a file including itself twice per level: ~400 MB of
# diagnostics from a dozen lines, in a few seconds. The program compiles (warnings only).
DIAGNOSTICS_FLOOD = (
    "#if __INCLUDE_LEVEL__ < 11\n#include __FILE__\n#include __FILE__\n#else\n#warning "
    + "w" * 100_000
    + '\n#endif\n#if __INCLUDE_LEVEL__ == 0\n#include <cstdio>\nint main() { std::puts("SAFE"); }\n#endif\n'
)


async def test_a_flood_of_compiler_diagnostics_is_not_a_system_error(docker_box: Sandbox) -> None:
    outcomes = await run(docker_box, Program.single("cpp", DIAGNOSTICS_FLOOD))
    await assert_pool_healthy(docker_box)
    assert [o.verdict for o in outcomes] == [Verdict.AC], describe(outcomes)


# ================================================================ the agent's stream


async def test_printed_stream_marks_change_nothing(docker_box: Sandbox) -> None:
    """The agent's end and clean marks (and forged events), printed on stdout and stderr with
    guessed nonces, are the program's output like any other: the batch and the next one run."""
    marks = [f"{mark}{nonce}" for mark in (END_MARK, CLEAN_MARK) for nonce in ("", "0" * 32, "f" * 32)]
    forged = [*marks, '{"event": "done"}', '{"event": "test", "name": "t1", "verdict": "AC"}']
    program = attack(
        f"""
        lines = {forged!r}
        where = sys.stdin.readline().strip()
        for line in lines:
            os.write(2, (line + "\\n").encode())
            if where == "stdout":
                os.write(1, (line + "\\n").encode())
        os.write(1, b"SAFE\\n")
        """
    )
    outcomes = await run(docker_box, program, ["stderr\n", "stdout\n", "stderr\n"])
    assert [o.verdict for o in outcomes] == [Verdict.AC, Verdict.WA, Verdict.AC], describe(outcomes)
    assert END_MARK in outcomes[1].stdout.text, describe(outcomes)  # reported as printed
    assert CLEAN_MARK in outcomes[1].stderr.text, describe(outcomes)
    await assert_pool_healthy(docker_box)


# ========================================================= the checker, changed in place

TOKENS_CHECKER = Program.single(
    "python",
    "import sys\ninp, out, ans = (open(p).read().split() for p in sys.argv[1:4])\nsys.exit(0 if out == ans else 1)\n",
)

REWRITE_THE_CHECKER = attack(
    """
    import mmap

    how = sys.stdin.readline().strip()
    root = batch_root()
    path = os.path.join(root, "chk", "main.py") if root else "/nonexistent"
    # At once: in the same clock tick as the restore before this test, if the clock is coarse.
    try:
        fd = os.open(path, os.O_RDWR)
        st = os.fstat(fd)
        evil = b"import sys\\nsys.exit(0)\\n"
        evil += b"#" * (st.st_size - len(evil) - 1) + b"\\n"  # same size, same inode, same mode
        if how == "mmap":  # no write(2): through a shared mapping
            view = mmap.mmap(fd, st.st_size)
            view[:] = evil
            view.close()
        else:
            os.pwrite(fd, evil, 0)
            os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the modification time set back
        os.close(fd)
    except OSError as exc:
        print("could not rewrite the checker:", exc, file=sys.stderr)
    print("wrong")
    """
)


async def test_a_checker_changed_in_place_is_restored(any_box: Sandbox) -> None:
    """The checker's source rewritten through a shared mapping, or by pwrite with its mtime set
    back (same size, inode and mode): the real checker judges every test."""
    checker = CheckerSpec(kind="program", program=TOKENS_CHECKER)
    stdins = ["mmap\n", "pwrite\n", "mmap\n", "pwrite\n"]
    outcomes = await run(any_box, REWRITE_THE_CHECKER, stdins, expected="right\n", checker=checker)
    assert [o.verdict for o in outcomes] == [Verdict.WA] * 4, describe(outcomes)
    assert all("could not" not in o.stderr.text for o in outcomes), describe(outcomes)


# ========================================================== the OOM killer, steered

OOM_STEERING = r"""
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <unistd.h>

// The fork server gives tests an OOM score of 1000, so that the kernel kills a test rather
// than the runtime; but that is no floor: a test may set its own back to 0. Then it fills
// every tmpfs (memory of the container that is no process's) and holds ~100 MB in processes
// each smaller than the agent, all within its limits: the container's OOM killer must choose.
int main() {
    char word[16] = {0};
    if (scanf("%15s", word) != 1 || strcmp(word, "attack") != 0) { puts("SAFE"); return 0; }
    if (FILE* adj = fopen("/proc/self/oom_score_adj", "w")) { fputs("0", adj); fclose(adj); }
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    for (const char* top : {"/dev/shm", "/tmp", "/sandbox"}) {
        for (int k = 0; k < 1000; k++) {
            std::string path = std::string(top) + "/fill-" + std::to_string(k);
            int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0) break;
            bool full = false;
            for (int i = 0; i < 8 && !full; i++) full = write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk;
            close(fd);
            if (full) break;
        }
    }
    int ready[2];
    if (pipe(ready) != 0) return 1;
    for (int i = 0; i < 14; i++) {
        if (fork() == 0) {
            size_t size = 7 << 20;
            char* p = (char*)malloc(size);
            for (size_t j = 0; j < size; j += 4096) p[j] = 1;
            if (write(ready[1], "!", 1) != 1) _exit(1);
            sleep(3);
            _exit(0);
        }
    }
    close(ready[1]);  // (a child the OOM killer takes before it is ready ends the wait, not the wall limit)
    char c;
    for (int i = 0; i < 14; i++) if (read(ready[0], &c, 1) != 1) break;
    usleep(500000);
    puts("SAFE");
}
"""


async def test_a_test_that_steers_the_oom_killer_is_blamed_and_the_pool_recovers(docker_box: Sandbox) -> None:
    """Whatever the OOM killer takes (the test's processes: MLE; the agent: RE, as when a test
    kills it), the test is blamed, never the infrastructure (PID 1, hence the container,
    survives), and the pool recovers."""
    tests = [TestCase(stdin="attack\n", expected=SAFE, name="attack"), TestCase(stdin="x\n", expected=SAFE, name="x")]
    limits = Limits(cpu_seconds=3, wall_seconds=6, memory_mb=128, output_bytes=1 << 20, processes=32)
    outcomes = await docker_box.run_tests(cpp(OOM_STEERING), tests, limits)
    assert len(outcomes) == 2, describe(outcomes)
    assert outcomes[0].verdict in {Verdict.MLE, Verdict.RE, Verdict.TLE}, describe(outcomes)
    await assert_pool_healthy(docker_box)


# ======================================================================== network


def host_ipv6_addresses() -> list[str]:
    """This host's IPv6 addresses of global or unique-local scope, and ::1."""
    found = {"::1"}
    try:
        rows = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return sorted(found)
    for row in rows:
        fields = row.split()
        if len(fields) >= 4 and fields[3] == "00":  # scope: global (link-local ones need an interface)
            hexa = fields[0]
            found.add(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(hexa)))
    return sorted(found)


async def test_ipv6_and_raw_sockets_reach_nothing(any_box: Sandbox) -> None:
    """No TCP over IPv6 to a listener of ours on every host address, no UDP over IPv6 to a
    public resolver; in a container, no packet or raw socket at all."""
    accepted: list[str] = []

    async def handle(stream: SocketStream) -> None:
        accepted.append(str(stream.extra(SocketAttribute.remote_address)))
        await stream.aclose()

    try:
        listener = await anyio.create_tcp_listener(local_host="::", local_port=0)
    except OSError:
        pytest.skip("this host has no IPv6")
    port = listener.extra(SocketAttribute.local_port)
    targets = "".join(f"{addr} {port}\n" for addr in host_ipv6_addresses()) + "2606:4700:4700::1111 53\n"
    program = attack(
        """
        import socket

        found = []
        for line in sys.stdin.read().splitlines():
            host, port = line.split()
            try:  # (a socket refused, as on cgroup v1 engines, reaches nothing either)
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                    s.settimeout(0.3)
                    s.connect((host, int(port)))
                    found.append(f"tcp connect to [{host}]:{port}")
            except OSError:
                pass
        query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
        try:
            u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            u.settimeout(0.3)
            u.sendto(query, ("2606:4700:4700::1111", 53))
            u.recvfrom(512)
            found.append("udp answer over IPv6")
        except OSError:
            pass
        if os.getcwd().startswith("/sandbox/"):  # in a container (the local backend may own a user namespace)
            kinds = {"packet": (17, socket.SOCK_RAW, 0x0300), "raw ipv4": (socket.AF_INET, socket.SOCK_RAW, 1),
                     "raw ipv6": (socket.AF_INET6, socket.SOCK_RAW, 58)}
            for what, args in kinds.items():
                try:
                    socket.socket(*args).close()
                    found.append(f"opened a {what} socket")
                except OSError:
                    pass
        try:
            names = [name for _, name in socket.if_nameindex()]
        except OSError:  # no netlink socket (cgroup v1 engines): the interfaces are in /proc/net/dev
            with open("/proc/net/dev") as fh:
                names = [row.split(":")[0].strip() for row in fh.read().splitlines()[2:]]
        if names != ["lo"]:
            found.append(f"interfaces {names}")
        report(found)
        """
    )
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        outcomes = await run(any_box, program, [targets], limits=Limits(cpu_seconds=1, wall_seconds=3))
        await anyio.sleep(0.2)
        tg.cancel_scope.cancel()
    assert not accepted, f"the sandbox reached a host listener over IPv6 from {accepted}"
    assert_safe(outcomes)


# ==================================================================== system calls


async def test_namespace_mount_and_kernel_calls_are_refused(docker_box: Sandbox) -> None:
    """Calls our profile must refuse that the other corpora do not try: clone and clone3 with
    namespace flags, unshare of any namespace, the new mount API, the kernel log, the persona
    switches that turn ASLR off, and more."""
    program = attack(
        """
        import ctypes
        import errno

        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        NS = {"user": 0x10000000, "pid": 0x20000000, "net": 0x40000000, "mount": 0x00020000,
              "ipc": 0x08000000, "uts": 0x04000000, "cgroup": 0x02000000}
        SIGCHLD = 17
        found = []

        def call(nr, *args):
            ctypes.set_errno(0)
            result = libc.syscall(nr, *args)
            if result == 0 and nr in (56, 435):
                os._exit(0)  # we are a child that should never have been made
            return result, ctypes.get_errno()

        for name, flag in NS.items():
            result, err = call(56, flag | SIGCHLD, 0, 0, 0, 0)  # clone
            if result >= 0 or err != errno.EPERM:
                found.append(f"clone(CLONE_NEW{name.upper()}): {result} errno {err}")
            if call(272, flag)[0] == 0:  # unshare
                found.append(f"unshare(CLONE_NEW{name.upper()})")
        clone_args = (ctypes.c_uint64 * 11)(NS["user"], 0, 0, 0, SIGCHLD)
        result, err = call(435, ctypes.byref(clone_args), ctypes.sizeof(clone_args))
        if result >= 0 or err != errno.ENOSYS:
            found.append(f"clone3 is not ENOSYS: {result} errno {err}")
        log = ctypes.create_string_buffer(4096)
        calls = {
            "fsopen": (430, b"tmpfs", 0), "open_tree": (428, -100, b"/", 1), "fspick": (433, -100, b"/", 0),
            "mount_setattr": (442, -100, b"/", 0, 0, 0), "move_mount": (429, -100, b"/tmp", -100, b"/mnt", 0),
            "syslog(READ_ALL)": (103, 3, log, 4096), "syslog(SIZE_BUFFER)": (103, 10, 0, 0),
            "personality(ADDR_NO_RANDOMIZE)": (135, 0x0040000), "personality(READ_IMPLIES_EXEC)": (135, 0x0400000),
            "name_to_handle_at": (303, -100, b"/etc/passwd", log, log, 0), "memfd_secret": (447, 0),
            "process_vm_writev": (311, os.getppid(), 0, 0, 0, 0, 0), "kcmp": (312, os.getpid(), os.getppid(), 0, 0, 0),
            "quotactl": (179, 0, b"/", 0, 0), "lookup_dcookie": (212, 0, log, 4096),
            "request_key": (249, b"user", b"x", 0, 0), "fanotify_init": (300, 0, 0),
            "iopl": (172, 3), "ioperm": (173, 0, 1024, 1), "vhangup": (153,), "uselib": (134, b"/etc/passwd"),
            "clock_settime": (227, 0, log), "settimeofday": (164, log, 0), "sethostname": (170, b"pwned", 5),
        }
        for name, (nr, *args) in calls.items():
            result, err = call(nr, *args)
            if result >= 0:
                found.append(f"{name} returned {result}")
        # Whatever the persona calls did, turn it back (a failed call changed nothing).
        libc.syscall(135, 0)
        try:
            os.mknod("/tmp/null-again", 0o20666, os.makedev(1, 3))
            found.append("made a device node")
        except OSError:
            pass
        report(found)
        """
    )
    assert_safe(await run(docker_box, program))


# ============================================================== the file system


async def test_no_writable_place_but_the_wiped_ones(docker_box: Sandbox) -> None:
    """Every directory of the image, walked: none but the wiped places takes a new entry, and
    no file outside them (but the usual devices) is writable."""
    program = attack(
        """
        wiped = ("/sandbox", "/tmp", "/dev/shm", "/dev/mqueue")
        devices = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx",
                   "/dev/pts/ptmx"}
        found, walked = [], 0
        # Files are probed only on read-write mounts (on a read-only one none is writable):
        # asking each file of the image walks the engine's FUSE root, seconds on a busy host.
        rw = set()
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                fields = line.split()
                if "rw" in fields[5].split(","):
                    rw.add(fields[4])

        def on_rw_mount(path):
            mount = max((m for m in rw if path == m or path.startswith(m.rstrip("/") + "/")), key=len, default="")
            return bool(mount)

        for top in sorted(os.listdir("/")):
            if top in ("proc", "sys"):
                continue
            for folder, subdirs, files in os.walk("/" + top):
                if folder in wiped or folder.startswith(tuple(w + "/" for w in wiped)):
                    subdirs[:] = []
                    continue
                walked += 1
                probe = os.path.join(folder, ".probe-left-by-a-test")
                try:
                    os.mkdir(probe)
                    os.rmdir(probe)
                    found.append(f"made a directory in {folder}")
                except OSError:
                    pass
                probe_all = on_rw_mount(folder)
                for name in files:
                    path = os.path.join(folder, name)
                    if not probe_all and path not in rw:  # (a file bind-mounted read-write: /etc/hosts...)
                        continue
                    if path not in devices and not os.path.islink(path) and os.access(path, os.W_OK):
                        found.append(f"{path} is writable")
        if walked < 500:
            found.append(f"walked only {walked} directories: the walk itself failed")
        report(found)
        """
    )
    assert_safe(await run(docker_box, program, limits=ROOMY))


FILE_SIZE = """
import signal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
found = []
places = [os.getcwd()] + (["/tmp", "/dev/shm"] if os.getcwd().startswith("/sandbox") else [])
for place in places:
    path = os.path.join(place, "sparse")
    for what, grow in (("truncate to 1 TB", lambda fd: os.ftruncate(fd, 1 << 40)),
                       ("fallocate 1 GB", lambda fd: os.posix_fallocate(fd, 0, 1 << 30)),
                       ("pwrite at 1 TB", lambda fd: os.pwrite(fd, b"x", 1 << 40))):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            grow(fd)
            found.append(f"{what} in {place}: {os.fstat(fd).st_size} bytes")
        except OSError:
            pass
        finally:
            os.close(fd)
            os.unlink(path)
report(found)
"""


async def test_no_file_grows_past_the_file_size_limit(any_box: Sandbox) -> None:
    """Sparse files count: no truncate, fallocate or far pwrite past the limit (16 MB here)."""
    assert_safe(await run(any_box, attack(FILE_SIZE)))


SHM_INODES = """
os.chdir("/dev/shm")
made, found = 0, []
try:
    while made < 100_000:  # empty files: no blocks, only inodes (kernel memory, and the wipe's time)
        open(f"e{made}", "w").close()
        made += 1
    found.append(f"made {made} empty files in /dev/shm: no inode cap there")
except OSError as exc:
    if exc.errno != 28:
        found.append(f"stopped after {made} files by errno {exc.errno}, not ENOSPC")
report(found)
"""


async def test_an_inode_flood_in_dev_shm_stops_at_an_inode_count(docker_box: Sandbox) -> None:
    limits = Limits(cpu_seconds=5, wall_seconds=20, memory_mb=128, output_bytes=1 << 20)
    assert_safe(await run(docker_box, attack(SHM_INODES), limits=limits))


# ============================================================ between tests and batches

LISTENER = """
import socket

NAME = b"\\0codesolve-hostile-listener"
phase = sys.stdin.readline().strip()
found = []
if phase == "plant":
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:  # a daemon, in a session of its own, serving an abstract socket
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(NAME)
            server.listen(8)
            os.write(ready_w, b"!")
            while True:
                conn, _ = server.accept()
                conn.sendall(b"hello from an earlier test")
                conn.close()
        os._exit(0)
    os.read(ready_r, 1)


def ask():
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(1)
    try:
        client.connect(NAME)
        return client.recv(64)
    except OSError:
        return None
    finally:
        client.close()


if phase == "plant":
    print("the daemon answers:", ask(), file=sys.stderr)  # (the probe works)
else:
    answer = ask()
    if answer is not None:
        found.append(f"an earlier test's listener answered: {answer!r}")
    with open("/proc/net/unix") as fh:
        if "@codesolve-hostile-listener" in fh.read():
            found.append("the abstract name is still bound")
with open("/etc/hostname") as fh:
    print("container", fh.read().strip(), file=sys.stderr)
report(found)
"""


@pytest.fixture
async def lone_box(docker_available: bool, anyio_backend: str) -> AsyncIterator[Sandbox]:
    """A pool of one container: every batch meets what the batches before it left."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    async with open_sandbox(DockerConfig(pool_size=1, run_id="pytest-hostile-more")) as box:
        yield box


async def test_a_listener_left_on_an_abstract_socket_dies_with_its_test(lone_box: Sandbox) -> None:
    """A daemon serving an abstract-namespace socket (no file: no wipe removes it) answers
    neither the next test nor the next batch, which runs in the same container."""
    program = attack(LISTENER)
    first = await run(lone_box, program, ["plant\n", "probe\n"])
    assert_safe(first, count=2)
    assert "the daemon answers: b'hello" in first[0].stderr.text, describe(first)
    later = await run(lone_box, program, ["probe\n"])
    assert_safe(later)

    def container(outcome: TestOutcome) -> str:
        return outcome.stderr.text.split()[-1]

    assert container(later[0]) == container(first[0]), "the next batch ran in another container"


# ===================================================================== check mode

ALWAYS_EQUAL = """
class Anything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def add(a, b):
    return Anything()
"""

FORGED_PASS = """
import os
import sys

# The harness's nonce is a local of a frame above the module's: found, it forges a pass.
frame = sys._getframe(0)
while frame is not None:
    nonce = frame.f_locals.get("nonce")
    if isinstance(nonce, str) and nonce:
        os.write(200, f"{nonce} 4\\npass".encode())
        os._exit(0)
    frame = frame.f_back


def add(a, b):
    return a - b
"""


CHECK_SWAPPED = """
import builtins

# The harness compiles the check with the builtin compile(), which the program may replace.
_compile = builtins.compile


def swapped(source, name, *rest, **kw):
    return _compile("pass" if name == "<check>" else source, name, *rest, **kw)


builtins.compile = swapped


def add(a, b):
    return a - b
"""


EXEC_SWAPPED = """
import builtins

builtins.exec = lambda *args, **kwargs: None  # the check, run by it, would do nothing


def add(a, b):
    return a - b
"""

SORTED_SHADOWED = """
def sorted(*args, **kwargs):
    return [3]


def add(a, b):
    return [a - b]
"""

HARNESS_PATCHED = """
import sys

frame = sys._getframe(0)
while frame is not None:
    if "_EXEC" in frame.f_globals:
        frame.f_globals["_EXEC"] = lambda *args, **kwargs: None
    frame = frame.f_back


def add(a, b):
    return a - b
"""

SORTED_SWAPPED = """
import builtins

# A check that reads the result through a builtin (sorted, len, abs...) reads what module code says.
builtins.sorted = lambda *args, **kwargs: [3]


def add(a, b):
    return [a - b]
"""


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(ALWAYS_EQUAL, id="always-equal"),
        pytest.param(FORGED_PASS, id="nonce-from-frames"),
        pytest.param(SORTED_SHADOWED, id="builtin-shadowed-at-module-level"),
        pytest.param(HARNESS_PATCHED, id="harness-names-patched-from-a-frame"),
        pytest.param(CHECK_SWAPPED, id="compile-replaced"),
        pytest.param(EXEC_SWAPPED, id="exec-replaced"),
        pytest.param(SORTED_SWAPPED, id="builtin-the-check-uses-replaced"),
    ],
)
async def test_a_check_is_passed_only_by_passing_it(docker_box: Sandbox, source: str) -> None:
    tests = [TestCase(check="assert add(1, 2) == 3 or sorted(add(1, 2)) == [3]\n", name="c0")]
    tests.append(TestCase(check="assert add(2, 2) == 4 or sorted(add(2, 2)) == [4]\n"))
    outcomes = await docker_box.run_tests(Program.single("python", source), tests, LIMITS)
    assert len(outcomes) == 2, describe(outcomes)
    assert all(o.verdict is not Verdict.AC for o in outcomes), describe(outcomes)


# ================================================================ per-uid kernel accounting
#
# The kernel counts some things per user (uid), not per container: inotify instances, queued
# real-time signals, POSIX message queue bytes. Containers that ran as one uid shared those
# counts, so a test could use up its uid's share and make a test running at the same moment in
# another container (another batch, another candidate) fail. Each container has a uid of its own.

PER_UID = """
import ctypes
import errno
import time

SIGRT = 40
libc = ctypes.CDLL(None, use_errno=True)
libc.pthread_sigmask.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
mask = (ctypes.c_ulong * 16)()
mask[0] = 1 << (SIGRT - 1)
libc.pthread_sigmask(0, mask, None)  # SIG_BLOCK: the signals queued below stay queued
rt = ctypes.CDLL("librt.so.1", use_errno=True)
rt.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
"""

HOG = PER_UID + """
held = 0
while libc.inotify_init1(0) >= 0:  # every inotify instance the uid may have
    held += 1
queued = 0
while queued < 200000 and libc.sigqueue(os.getpid(), SIGRT, ctypes.c_void_p(0)) == 0:
    queued += 1  # every real-time signal the uid may have queued
queues = 0
while queues < 64 and rt.mq_open(f"/hog{queues}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None) >= 0:
    queues += 1  # message queues until the uid's bytes are used up
print(f"held {held} inotify instances, queued {queued} signals, {queues} queues", file=sys.stderr, flush=True)
time.sleep(3)
print("SAFE")
"""

VICTIM = PER_UID + """
time.sleep(1.5)  # while the hog holds its uid's share
found = []
if libc.inotify_init1(0) < 0:
    found.append(f"inotify_init1 refused: errno {errno.errorcode.get(ctypes.get_errno())}")
if libc.sigqueue(os.getpid(), SIGRT, ctypes.c_void_p(0)) != 0:
    found.append(f"sigqueue refused: errno {errno.errorcode.get(ctypes.get_errno())}")
if rt.mq_open(b"/mine", os.O_CREAT | os.O_RDWR, 0o600, None) < 0:
    found.append(f"mq_open refused: errno {errno.errorcode.get(ctypes.get_errno())}")
report(found)
"""


async def test_a_test_cannot_use_up_what_the_kernel_counts_per_uid_for_another_container(
    docker_available: bool,
) -> None:
    """Two batches at once on a pool of two: the hog's uid-wide use leaves the other alone."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    slow = Limits(cpu_seconds=4, wall_seconds=8, memory_mb=256, output_bytes=1 << 20)
    outcomes: dict[str, list[TestOutcome]] = {}
    async with open_sandbox(DockerConfig(pool_size=2, run_id="pytest-uids")) as box:
        await box.warm(slow)

        async def one(name: str, body: str) -> None:
            outcomes[name] = await run(box, attack(body), limits=slow)

        async with anyio.create_task_group() as group:
            group.start_soon(one, "hog", HOG)
            group.start_soon(one, "victim", VICTIM)
    assert outcomes["hog"][0].verdict is Verdict.AC, describe(outcomes["hog"])
    assert "held" in outcomes["hog"][0].stderr.text, describe(outcomes["hog"])
    assert_safe(outcomes["victim"])


# ================================================================ socket buffers past the memory limit
#
# On an engine whose cgroups are version 1, the memory limit does not count what the kernel
# holds in TCP, UDP and netlink socket buffers: one process held 1.26 GB of TCP buffers on
# loopback, ~0.7 GB of UDP ones and ~0.5 GB of unread netlink replies, under a 64 MB limit (and
# a test may run 64 processes). Our profile refuses those sockets there (version 2 counts
# socket memory against the limit); Unix sockets' buffers count on both.

MEMINFO = """
import socket
import struct
import time

def meminfo():
    fields = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    return int(fields["MemAvailable"].split()[0]) >> 10

found = []
before = meminfo()
held = []
"""

SOCKET_HOG = MEMINFO + """
try:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(512)
    blob = b"x" * (1 << 20)
    for _ in range(100):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 24)
        client.connect(server.getsockname())
        peer, _ = server.accept()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        client.setblocking(False)
        try:
            while True:
                client.send(blob)
        except BlockingIOError:
            pass
        held.append((client, peer))
except OSError:
    pass  # refused (no Internet sockets), or a limit: either way, what was held is measured
taken = before - meminfo()
if taken > 256:
    found.append(f"{taken} MB held in {len(held)} loopback connections under a 64 MB limit")
report(found)
"""

NETLINK_HOG = MEMINFO + """
dump = struct.pack("=LHHLLBxxxiII", 32, 18, 0x301, 1, 0, 0, 0, 0, 0)  # RTM_GETLINK, a dump
started = time.monotonic()
try:
    while len(held) < 200 and time.monotonic() - started < 5:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        s.bind((0, 0))
        s.setblocking(False)
        for _ in range(3000):  # replies never read: they queue in the socket
            s.send(dump)
        held.append(s)
except OSError:
    pass
taken = before - meminfo()
if taken > 256:
    found.append(f"{taken} MB held in {len(held)} netlink sockets' unread replies under a 64 MB limit")
report(found)
"""


@pytest.mark.parametrize("hog", [SOCKET_HOG, NETLINK_HOG], ids=["loopback-tcp", "netlink-replies"])
async def test_socket_buffers_do_not_take_memory_past_the_limit(docker_box: Sandbox, hog: str) -> None:
    """A test that fills loopback TCP connections, or netlink sockets with unread replies, stays
    within its memory limit (or has no such sockets at all): MLE or refused, never the
    gigabyte the limit does not see."""
    limits = Limits(cpu_seconds=8, wall_seconds=12, memory_mb=64, output_bytes=1 << 20)
    outcomes = await run(docker_box, attack(hog), limits=limits)
    assert "PWNED" not in outcomes[0].stdout.text, describe(outcomes)
    assert outcomes[0].verdict in (Verdict.AC, Verdict.MLE), describe(outcomes)


def test_network_sockets_are_allowed_only_where_the_memory_limit_counts_their_buffers() -> None:
    def families(inet: bool) -> set[int]:
        rules = seccomp.profile(inet)["syscalls"]
        return {rule["args"][0]["value"] for rule in rules if rule["names"] == ["socket"]}

    assert families(False) == {socket.AF_UNIX}
    assert families(True) == {socket.AF_UNIX, socket.AF_NETLINK, socket.AF_INET, socket.AF_INET6}


async def test_no_pseudo_terminal_to_take_from_other_containers(docker_box: Sandbox) -> None:
    """Every container shares the kernel's pool of pseudo-terminals (kernel.pty.max less the
    host's reserve: 3,072 here); a test of 64 processes could take them all, and their buffers
    sit outside the memory limit. A test has none to open."""
    program = attack(
        """
        import pty

        found = []
        try:
            pty.openpty()
            found.append("opened a pseudo-terminal")
        except OSError:
            pass
        try:
            os.close(os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY))
            found.append("opened /dev/ptmx")
        except OSError:
            pass
        report(found)
        """
    )
    assert_safe(await run(docker_box, program))


# ================================================================ work done outside the container


def _daemon_cpu_s(name: str) -> float:
    """CPU seconds used so far by this host's processes called ``name``."""
    ticks = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        if f"({name})" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@pytest.mark.xfail(
    strict=True,
    reason="BUG (the engine's storage driver, out of our reach): on fuse-overlayfs every path lookup of a test "
    "is served by a host daemon outside the container's CPU limit and pinning; a test's 1.5 s of stat() cost "
    "the daemon ~1.75 s more, slowing every other container's tests (their wall time, not their CPU verdicts)",
)
async def test_path_lookups_cost_the_host_nothing_beyond_the_test(docker_box: Sandbox) -> None:
    """A test that spends its CPU on path lookups in the image makes no host process spend as much again."""
    if docker.from_env().info().get("Driver") != "fuse-overlayfs":
        pytest.skip("only an engine whose storage driver is fuse-overlayfs serves lookups from a host daemon")
    program = Program.single(
        "python",
        "import os, time\nstart = time.process_time()\nwhile time.process_time() - start < 1.5:\n"
        "    for path in ('/usr/lib/python3.11/os.py', '/usr/bin/g++', '/etc/passwd'):\n        os.stat(path)\n"
        "print('SAFE')\n",
    )
    before = _daemon_cpu_s("fuse-overlayfs")
    outcomes = await run(docker_box, program, limits=Limits(cpu_seconds=3, wall_seconds=8))
    spent = _daemon_cpu_s("fuse-overlayfs") - before
    assert outcomes[0].verdict is Verdict.AC, describe(outcomes)
    used = outcomes[0].cpu_seconds
    assert spent < 0.5 * used, f"fuse-overlayfs spent {spent:.2f}s for the test's {used:.2f}s"


async def test_a_crash_makes_no_core_dump_of_any_kind(docker_box: Sandbox) -> None:
    """RLIMIT_CORE stays 1, which skips a core file and a run of the host's crash handler alike
    (where ``kernel.core_pattern`` pipes dumps to one, 0 does not: the kernel ran it on the host
    for every crash, 300 for one test's 300 crashing children); a test may read it, not change it."""
    program = attack(
        """
        import ctypes
        import resource

        found = []
        if resource.getrlimit(resource.RLIMIT_CORE) != (1, 1):
            found.append(f"RLIMIT_CORE is {resource.getrlimit(resource.RLIMIT_CORE)}")
        for value in ((0, 0), (0, 1)):
            try:
                resource.setrlimit(resource.RLIMIT_CORE, value)
                found.append(f"set RLIMIT_CORE to {value}")
            except (OSError, ValueError):
                pass
        libc = ctypes.CDLL(None, use_errno=True)
        zero = (ctypes.c_ulonglong * 2)(0, 0)
        if libc.prlimit(0, resource.RLIMIT_CORE, zero, None) == 0:
            found.append("prlimit set RLIMIT_CORE to 0")
        child = os.fork()
        if child == 0:
            ctypes.string_at(0)  # a crash
            os._exit(0)
        os.waitpid(child, 0)
        if [name for name in os.listdir(".") if name.startswith("core")]:
            found.append("a core file")
        report(found)
        """
    )
    assert_safe(await run(docker_box, program))
