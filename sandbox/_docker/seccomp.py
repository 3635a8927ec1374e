"""The sandbox containers' own seccomp profile, as data.

It follows the structure of the engine's default profile (an allow-list, everything else
refused with EPERM, per-architecture names) as it applies to a container with every
capability dropped, and refuses more:

* ``io_uring_*``: a large kernel surface no judged program needs;
* native AIO (``io_setup`` and the calls that use its contexts): every context holds part of
  ``fs.aio-max-nr``, a limit of the whole machine, so one test could take all of it and leave
  the host (and every other container) without AIO while it ran;
* ``ptrace``, ``process_vm_readv``/``writev``, ``kcmp``, ``pidfd_getfd``: reaching into
  another process (the runtime's processes run as the same uid);
* ``modify_ldt``: x86 segment descriptors of a process's own, for 16- and 32-bit code (no judged
  program runs any: see the 32-bit calls below), and a past source of kernel bugs;
* changing the scheduling state or rlimits of *another* process (``setpriority``,
  ``sched_set*``, ``ioprio_set``, ``prlimit64`` are allowed on the caller only, pid 0): a
  test could otherwise slow every later batch down by renicing the agent;
* changing RLIMIT_CORE at all (``setrlimit``, ``prlimit64`` with a new value): containers
  start at 1, which skips core dumps of both kinds; at 0, a host whose ``kernel.core_pattern``
  pipes dumps to a crash handler runs that handler, on the host, for every crash of a test;
* sockets other than Unix ones (IPv4, IPv6, netlink) where the engine's cgroups are version 1:
  there the memory limit does not count what the kernel holds in their buffers (one process
  held over a gigabyte of loopback TCP buffers, another ~0.5 GB of netlink replies, under a
  64 MB limit); version 2 counts it, and those sockets stay open there;
* 32-bit system calls (``int 0x80`` on x86-64, the x32 ABI, 32-bit ARM): the rules above
  read arguments in registers, but the 32-bit multiplexers (``socketcall``, ``ipc``) and the
  old ``mmap`` take theirs from memory, where no rule can see them. A test on a version-1 engine
  made an IPv4 socket through ``socketcall`` where ``socket`` was refused. Only the machine's
  own architecture is listed, so every 32-bit call is refused (no judged program is 32-bit);
* huge pages from the host's reserved pool (``mmap`` with ``MAP_HUGETLB``, ``memfd_create`` with
  ``MFD_HUGETLB``): no memory limit counts them (version 1, nor version 2 unless mounted with
  ``memory_hugetlb_accounting``), so one test under a 64 MB limit took all 128 MB a host had
  reserved, from the host and every other container. (``shmget`` with ``SHM_HUGETLB`` is
  refused by the kernel itself to a user outside ``vm.hugetlb_shm_group``, as ours is);
* ``clone`` with namespace flags, ``clone3`` (ENOSYS, so that the C library falls back to
  ``clone``), sockets other than Unix, IPv4/6 and netlink, ``personality`` other than the
  usual values; ``remap_file_pages``, ``memfd_secret``, ``userfaultfd``, ``bpf``,
  ``perf_event_open``, key management, mounts and namespaces are not allowed at all.

Names the running kernel does not know are skipped by the runtime, as with the default
profile. ``tests/sandbox/test_hostile_state.py`` checks that C++ and Python (threads,
subprocesses, multiprocessing) still work under it and that the refused calls are refused.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

_ALLOWED = """
accept accept4 access alarm arch_prctl bind brk cachestat capget capset chdir chmod chown chown32
clock_getres clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64
close close_range connect copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl
epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat fchmodat2 fchown
fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64
futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr
inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
io_pgetevents io_pgetevents_time64 ioprio_get io_setup io_submit ipc kill lchown lchown32 lgetxattr link
linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise
map_shadow_stack membarrier mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall
modify_ldt mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock
munlockall munmap nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal
pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg rename renameat renameat2 restart_syscall rmdir rseq
rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam
sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid
setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setregid setregid32 setresgid
setresgid32 setresuid setresuid32 setreuid setreuid32 set_robust_list setsid setsockopt
set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack
signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete
timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64
ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4
waitid waitpid write writev
"""
REFUSED = ("io_uring_setup", "io_uring_enter", "io_uring_register", "io_setup", "io_destroy", "io_submit",
           "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ptrace", "process_vm_readv",
           "process_vm_writev", "kcmp", "pidfd_getfd", "modify_ldt")  # fmt: skip
"""Calls the engine's default profile allows (to a container without capabilities) and ours does not."""
_SELF_ONLY = {"setpriority": 1, "ioprio_set": 1, "sched_setaffinity": 0, "sched_setscheduler": 0,
              "sched_setparam": 0, "sched_setattr": 0}  # fmt: skip
"""Calls allowed only on the calling process: the index of their pid argument, which must be 0
(``prlimit64`` too, with its own rules: see :func:`profile`)."""
_RLIMIT_CORE = 4
_LOCAL_FAMILIES = (1,)
"""AF_UNIX (its buffers count against the memory limit everywhere)."""
_NET_FAMILIES = (2, 10, 16)
"""AF_INET, AF_INET6, AF_NETLINK: only where the memory limit counts their buffers (see above)."""
_NAMESPACE_FLAGS = 0x7E020000
"""CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET."""
_HUGETLB_FLAG = {"mmap": (3, 0x40000), "memfd_create": (1, 0x4)}
"""Calls that take huge pages when a flag is set: the index of their flags argument, and the flag
(``MAP_HUGETLB``, ``MFD_HUGETLB``; the same values on x86-64 and arm64)."""
_PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
_ERRNO_ENOSYS = 38


def _eq(index: int, value: int) -> dict[str, Any]:
    return {"index": index, "value": value, "op": "SCMP_CMP_EQ"}


def _ne(index: int, value: int) -> dict[str, Any]:
    return {"index": index, "value": value, "op": "SCMP_CMP_NE"}


def _clear(index: int, bits: int) -> dict[str, Any]:
    return {"index": index, "value": bits, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}


def _allow(names: list[str], *args: dict[str, Any]) -> dict[str, Any]:
    return {"names": names, "action": "SCMP_ACT_ALLOW", "args": list(args)}


@cache
def profile(inet: bool = True) -> dict[str, Any]:
    """The profile, as the engine takes it (``inet``: Internet and netlink sockets allowed)."""
    allowed = sorted(set(_ALLOWED.split()) - set(REFUSED))
    rules = [_allow(allowed)]
    rules += [_allow([name], _eq(index, 0)) for name, index in sorted(_SELF_ONLY.items())]
    # Its own rlimits, RLIMIT_CORE only read (no new value: a null pointer), never set.
    rules += [_allow(["prlimit64"], _eq(0, 0), _ne(1, _RLIMIT_CORE)), _allow(["prlimit64"], _eq(0, 0), _eq(2, 0))]
    rules.append(_allow(["setrlimit"], _ne(0, _RLIMIT_CORE)))
    families = _LOCAL_FAMILIES + (_NET_FAMILIES if inet else ())
    rules += [_allow(["socket"], _eq(0, family)) for family in families]
    rules += [_allow(["personality"], _eq(0, persona)) for persona in _PERSONAS]
    rules += [_allow([name], _clear(index, flag)) for name, (index, flag) in sorted(_HUGETLB_FLAG.items())]
    rules.append(_allow(["clone"], _clear(0, _NAMESPACE_FLAGS)))
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ERRNO_ENOSYS})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        # The machine's own architecture only: no 32-bit calls (see the module docstring).
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": []},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []},
        ],
        "syscalls": rules,
    }


def security_opt(inet: bool = True) -> str:
    """The ``security_opt`` entry that applies the profile (the engine takes it inline)."""
    return "seccomp=" + json.dumps(profile(inet), separators=(",", ":"))
