"""Hostile programs against state that outlives a test without being a file or a process:
IPC objects, the scheduling state the runtime hands down, and calls our seccomp profile refuses.

Same conventions as ``test_hostile.py``: an attack prints ``PWNED: <what>`` for every way it
got through and ``SAFE`` otherwise.
"""

from __future__ import annotations

import os
import platform
import textwrap
from collections.abc import AsyncIterator

import pytest

from sandbox import DockerConfig, Limits, Program, Sandbox, TestCase, Verdict, make_sandbox
from sandbox._docker import seccomp
from tests.sandbox.test_hostile import LIMITS, SAFE, any_box, assert_safe, attack, cpp, describe, run

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
__all__ = ["any_box"]  # the fixture, used here under its own name

BIG = Limits(cpu_seconds=5, wall_seconds=30, memory_mb=256, output_bytes=1 << 20)
"""Generous time limits: the verdicts must not depend on how busy the machine is."""

IPC = attack(
    """
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    try:
        rt = ctypes.CDLL(None, use_errno=True)
        rt.mq_open
    except AttributeError:
        rt = ctypes.CDLL("librt.so.1", use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmdt.argtypes = [ctypes.c_void_p]
    CREATE, PRIVATE = 0o1000 | 0o666, 0
    KEYS = [0x5EED, 0x5EEE, 0x7FFFFFFF, 1]
    QUEUES = [b"/codesolve-leak", b"/x"]

    class Message(ctypes.Structure):
        _fields_ = [("mtype", ctypes.c_long), ("text", ctypes.c_char * 32)]

    def make(mb):
        for key in KEYS + [PRIVATE, PRIVATE]:
            sid = libc.shmget(key, mb << 20, CREATE)
            if sid < 0:
                continue
            addr = libc.shmat(sid, None, 0)
            if addr not in (None, ctypes.c_void_p(-1).value):
                ctypes.memset(addr, 7, mb << 20)
                libc.shmdt(addr)
            qid = libc.msgget(key, CREATE)
            msg = Message(1, b"secret from an earlier test")
            libc.msgsnd(qid, ctypes.byref(msg), 32, 0o4000)
            libc.semget(key, 4, CREATE)
        for name in QUEUES:
            rt.mq_open(name, os.O_CREAT | os.O_RDWR, 0o666, None)
        print("SAFE")

    def probe():
        found = []
        for kind in ("shm", "msg", "sem"):
            with open(f"/proc/sysvipc/{kind}") as fh:
                rows = [row for row in fh.read().splitlines()[1:] if row.strip()]
            if rows:
                found.append(f"{len(rows)} {kind} objects left: {rows[0][:80]}")
        for key in KEYS:
            for what, ident in (("shm", libc.shmget(key, 0, 0)), ("msg", libc.msgget(key, 0)),
                                ("sem", libc.semget(key, 0, 0))):
                if ident >= 0:
                    found.append(f"{what} key {key:#x} still there")
        for name in QUEUES:
            if rt.mq_open(name, os.O_RDONLY, 0, None) >= 0:
                found.append(f"POSIX queue {name!r} still there")
        try:
            if any(entry.startswith("codesolve") for entry in os.listdir("/dev/mqueue")):
                found.append("/dev/mqueue holds our queue")
        except OSError:
            pass
        report(found)

    words = sys.stdin.read().split()
    make(int(words[1])) if words[0] == "make" else probe()
    """
)


async def test_ipc_objects_do_not_survive_a_test(any_box: Sandbox) -> None:
    """Shared memory (named keys and IPC_PRIVATE), message queues, semaphore sets and POSIX
    queues made by one test are gone for the next."""
    outcomes = await run(any_box, IPC, ["make 4", "probe", "make 1", "probe"], limits=BIG)
    assert_safe(outcomes, 4)


@pytest.fixture
async def lone_box(docker_available: bool, anyio_backend: str) -> AsyncIterator[Sandbox]:
    """A pool of one container: every batch meets what the batches before it left."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    box = await make_sandbox(DockerConfig(pool_size=1, run_id="pytest-lone"))
    try:
        yield box
    finally:
        await box.aclose()


async def test_ipc_memory_left_by_a_batch_cannot_make_a_later_one_mle(lone_box: Sandbox) -> None:
    """3 x 150 MB of shared memory left by one batch (its tests AC) must not be charged to a
    correct program of a later batch in the same container, nor be found by it."""
    made = await run(lone_box, IPC, ["make 150"], limits=BIG)
    assert_safe(made)
    heavy = Program.single("python", "data = bytearray(200 << 20)\ndata[::4096] = b'x' * len(data[::4096])\nprint(7)\n")
    outcomes = await run(lone_box, heavy, [""], expected="7\n", limits=BIG)
    assert [o.verdict for o in outcomes] == [Verdict.AC], describe(outcomes)
    assert_safe(await run(lone_box, IPC, ["probe"], limits=BIG))


SCHED = attack(
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    IOPRIO_SET = {"x86_64": 251, "aarch64": 30}.get(os.uname().machine)
    def targets():
        # The processes whose state a test inherits: its ancestors (fork server, driver or
        # agent, and on the local backend the host process), never anything else of the host.
        chain, pid = [], os.getppid()
        while pid > 1 and len(chain) < 3:
            chain.append(pid)
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rpartition(")")[2].split()[1])
        return chain

    def state():
        # How many CPUs, not which: the pool's containers are pinned to different CPUs, and a
        # later batch may land in another one; narrowing the set is what an attack does.
        return f"{os.getpriority(os.PRIO_PROCESS, 0)} {os.sched_getscheduler(0)} {len(os.sched_getaffinity(0))}"

    word = sys.stdin.read().strip()
    if word.startswith("attack"):
        one = {min(os.sched_getaffinity(0))}
        for pid in targets():
            changes = [lambda: os.sched_setaffinity(pid, one)]
            if word == "attack":  # (what an unprivileged host process could never set back)
                changes += [lambda: os.setpriority(os.PRIO_PROCESS, pid, 19),
                            lambda: os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))]
            for change in changes:
                try:
                    change()
                except OSError:
                    pass
            if IOPRIO_SET is not None:
                libc.syscall(IOPRIO_SET, 1, pid, (3 << 13))  # the idle I/O class
        print("SAFE")
    else:
        print(state())
    """
)


async def test_scheduling_state_changed_by_a_test_is_not_inherited(any_box: Sandbox) -> None:
    """A test that renices, sets SCHED_IDLE, narrows the CPUs of (or idles the I/O of) the
    runtime's processes leaves later tests, and later batches, as they were."""
    ours = (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), os.sched_getaffinity(0))
    # Locally the host process is a target too, and without privileges a raised nice value or
    # SCHED_IDLE cannot be undone (the README says so): there, only what can be.
    attack_word = "attack-unprivileged" if "local" in any_box.isolation and os.geteuid() != 0 else "attack"
    before = await run(any_box, SCHED, ["state"], expected=None)
    assert before[0].verdict is Verdict.AC, describe(before)
    baseline = before[0].stdout.text
    assert baseline.count(" ") >= 2, describe(before)
    plan = [(attack_word, SAFE), ("state", baseline), (attack_word, SAFE), ("state", baseline)]
    tests = [TestCase(stdin=s, expected=e, name=f"t{i}") for i, (s, e) in enumerate(plan)]
    outcomes = await any_box.run_tests(SCHED, tests, LIMITS)
    assert [o.verdict for o in outcomes] == [Verdict.AC] * 4, describe(outcomes)
    for _ in range(3):  # later batches, whichever container of the pool they land in
        after = await run(any_box, SCHED, ["state"], expected=baseline)
        assert after[0].verdict is Verdict.AC, describe(after)
    # On the local backend the host process (this one) was a target too: it is set back.
    assert (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), os.sched_getaffinity(0)) == ours


async def test_our_seccomp_profile_refuses_risky_calls(docker_box: Sandbox) -> None:
    """io_uring, native AIO (its contexts are a limit of the whole machine), ptrace,
    process_vm_readv and modify_ldt are refused; scheduling calls on another process too."""
    program = attack(
        """
        import ctypes
        import errno

        libc = ctypes.CDLL(None, use_errno=True)
        NR = {"x86_64": {"io_uring_setup": 425, "ptrace": 101, "process_vm_readv": 310, "pidfd_getfd": 438,
                         "io_setup": 206, "modify_ldt": 154},
              "aarch64": {"io_uring_setup": 425, "ptrace": 117, "process_vm_readv": 270, "pidfd_getfd": 438,
                          "io_setup": 0}}
        found = []
        params = ctypes.create_string_buffer(120)
        # Each of these succeeds (or fails otherwise than EPERM) under the engine's default profile.
        context = ctypes.c_ulong(0)
        for name, args in (("io_uring_setup", (8, params)), ("io_setup", (65536, ctypes.byref(context))),
                           ("ptrace", (0, 0, 0, 0)),
                           ("process_vm_readv", (os.getpid(), 0, 0, 0, 0, 0)), ("pidfd_getfd", (0, 0, 0)),
                           ("modify_ldt", (0, params, 16))):
            if name not in NR[os.uname().machine]:
                continue  # (x86 only)
            ctypes.set_errno(0)
            result = libc.syscall(NR[os.uname().machine][name], *args)
            if result >= 0 or ctypes.get_errno() != errno.EPERM:
                found.append(f"{name} not refused: {result} errno {ctypes.get_errno()}")
        try:
            os.setpriority(os.PRIO_PROCESS, os.getppid(), 10)
            found.append("reniced another process")
        except PermissionError:
            pass
        os.setpriority(os.PRIO_PROCESS, 0, 1)  # itself: allowed
        report(found)
        """
    )
    assert_safe(await run(docker_box, program))
    assert {"io_uring_setup", "io_setup", "ptrace"} <= set(seccomp.REFUSED)


async def test_huge_pages_of_the_host_cannot_be_taken(docker_box: Sandbox) -> None:
    """No memory limit counts huge pages (cgroup v1, nor v2 by default): ``mmap`` with
    ``MAP_HUGETLB`` and ``memfd_create`` with ``MFD_HUGETLB`` are refused (EPERM), so a test
    cannot take the host's reserved pool. (Under the engine's default profile, on a host with
    none reserved, the first fails with ENOMEM and the second succeeds.)"""
    program = attack(
        """
        import ctypes
        import errno
        import mmap

        libc = ctypes.CDLL(None, use_errno=True)
        found = []
        try:
            mmap.mmap(-1, 2 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)
            found.append("mmap with MAP_HUGETLB succeeded")
        except OSError as exc:
            if exc.errno != errno.EPERM:
                found.append(f"mmap with MAP_HUGETLB not refused: {exc}")
        ctypes.set_errno(0)
        fd = libc.memfd_create(b"huge", 0x4 | 0x1)
        if fd >= 0 or ctypes.get_errno() != errno.EPERM:
            found.append(f"memfd_create with MFD_HUGETLB not refused: {fd} errno {ctypes.get_errno()}")
        plain = mmap.mmap(-1, 1 << 20)  # ordinary mappings and memfds still work
        plain[0] = 1
        os.close(os.memfd_create("plain"))
        report(found)
        """
    )
    assert_safe(await run(docker_box, program))


INT80_CPP = r"""
#include <cstdio>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
// 32-bit system calls from a 64-bit process: what seccomp rules written for registers miss
// (socketcall reads the socket's family from memory).
static long call32(long nr, long a, long b) {
    long ret;
    asm volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
    return ret;
}
static unsigned int *args;
static long attempt(int which) {
    if (which == 0) return call32(20, 0, 0);                 // i386 getpid
    if (which == 1) return call32(102, 1, (long)args);       // i386 socketcall(SOCKET, {AF_INET, ...})
    return syscall(0x40000000 + SYS_getpid);                 // the x32 ABI's getpid
}
static long in_child(int which) {  // the call's result, or -1 when the child was killed
    int out[2];
    if (pipe(out) != 0) return -1;
    pid_t child = fork();
    if (child == 0) {
        long got = attempt(which);
        if (write(out[1], &got, sizeof got) != sizeof got) _exit(1);
        _exit(0);
    }
    close(out[1]);
    long got = -1;
    if (read(out[0], &got, sizeof got) != sizeof got) got = -1;
    waitpid(child, nullptr, 0);
    close(out[0]);
    return got;
}
int main() {
    args = (unsigned int *)mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    args[0] = AF_INET; args[1] = SOCK_STREAM; args[2] = 0;
    const char *what[] = {"a 32-bit getpid ran", "an IPv4 socket through 32-bit socketcall", "an x32 getpid ran"};
    bool safe = true;
    for (int which = 0; which < 3; which++) {
        long got = in_child(which);
        if (got >= 0) { printf("PWNED: %s (%ld)\n", what[which], got); safe = false; }
    }
    if (safe) printf("SAFE\n");
}
"""


@pytest.mark.skipif(platform.machine() != "x86_64", reason="int 0x80 is x86's 32-bit entry")
async def test_32_bit_system_calls_are_refused(docker_box: Sandbox) -> None:
    """``int 0x80`` from a 64-bit program is refused outright (the calling process is killed):
    through 32-bit ``socketcall`` a test made an IPv4 socket where our profile refuses ``socket``
    for IPv4 (a version-1 engine), its arguments being in memory where no rule sees them."""
    assert_safe(await run(docker_box, cpp(INT80_CPP), limits=BIG))


THREADS_CPP = """
#include <cstdio>
#include <thread>
#include <vector>
#include <atomic>
#include <future>
#include <unistd.h>
#include <sys/wait.h>
int main() {
    std::atomic<long> total{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; t++) pool.emplace_back([&total, t] { for (int i = 0; i < 1000; i++) total += t; });
    for (auto& th : pool) th.join();
    auto fut = std::async(std::launch::async, [] { return 2; });
    pid_t child = fork();
    if (child == 0) _exit(3);
    int status = 0;
    waitpid(child, &status, 0);
    printf("%ld %d %d\\n", total.load(), fut.get(), WEXITSTATUS(status));
}
"""

THREADS_PY = """
import concurrent.futures
import multiprocessing
import subprocess
import sys
import threading

def square(x):
    return x * x

box = []
workers = [threading.Thread(target=box.append, args=(i,)) for i in range(4)]
for w in workers:
    w.start()
for w in workers:
    w.join()
with concurrent.futures.ThreadPoolExecutor(2) as pool:
    threaded = sum(pool.map(square, range(4)))
with multiprocessing.get_context("fork").Pool(2) as procs:
    forked = sum(procs.map(square, range(4)))
echoed = subprocess.run([sys.executable, "-c", "print(5)"], capture_output=True, text=True).stdout.strip()
print(sorted(box), threaded, forked, echoed)
"""


@pytest.mark.parametrize(
    ("program", "expected"),
    [(cpp(THREADS_CPP), "6000 2 3\n"), (Program.single("python", THREADS_PY), "[0, 1, 2, 3] 14 14 5\n")],
    ids=["cpp", "python"],
)
async def test_threads_and_processes_work_under_our_profile(any_box: Sandbox, program: Program, expected: str) -> None:
    """C++ (threads, std::async, fork) and Python (threads, a thread pool, a fork pool, a
    subprocess) work under the seccomp profile and the IPC limits."""
    limits = Limits(cpu_seconds=5, wall_seconds=10, memory_mb=256, processes=32)
    outcomes = await run(any_box, program, [""], expected=expected, limits=limits)
    assert [o.verdict for o in outcomes] == [Verdict.AC], describe(outcomes)


def test_profile_is_well_formed() -> None:
    """Every rule names calls and an action; refused calls are in no allow rule."""
    profile = seccomp.profile()
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    allowed = {name for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for name in rule["names"]}
    assert not allowed & set(seccomp.REFUSED)
    assert {"read", "write", "mmap", "clone", "futex", "execve", "wait4", "rseq"} <= allowed
    assert all(not arch["subArchitectures"] for arch in profile["archMap"])  # no 32-bit calls
    unconditional = {name for rule in profile["syscalls"] if not rule.get("args") for name in rule["names"]}
    assert not {"mmap", "memfd_create", "socket", "clone"} & unconditional  # each has a rule on a flag
    assert textwrap.dedent(seccomp.security_opt()).startswith("seccomp={")
