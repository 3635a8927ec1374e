"""Hostile programs against the real sandbox, for attack classes the other hostile corpora leave out.

Same conventions as ``test_hostile.py``: an attack prints ``PWNED: <what>`` for every way it got
through and ``SAFE`` when nothing did, so a failed attack reads as AC on the expected output
``SAFE``; an attack that succeeds today is a BUG, held as ``xfail(strict=True, reason="BUG: ...")``.

Covered here: raw bytes a program prints (NUL, invalid UTF-8, overlong encodings, a lone carriage
return, terminal escapes) under each built-in checker and under a checker program; standard streams
a test leaves non-blocking, closed, redirected or merged; FIFOs, sockets, self-links and locked
directories under names that are not UTF-8 (or hold a newline or an escape) left for the wipe;
system calls refused by our seccomp profile tried with arguments the kernel itself would take (so
that the refusal seen is the profile's); a compiler or syntax check run out of memory or recursion;
the kernel-wide files of ``/proc`` the engine masks; and the float checker's cost on a long run of
digits that is not a number.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence

import anyio
import pytest

from sandbox import CheckerKind, CheckerSpec, Limits, Program, Sandbox, TestCase, TestOutcome, Verdict
from sandbox._docker import seccomp
from tests.sandbox.test_hostile import LIMITS, any_box, assert_pool_healthy, assert_safe, attack, describe, run

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
__all__ = ["any_box"]  # the fixture, used here under its own name


# ================================================================ raw output bytes
#
# A test's stdout is bytes; the checkers compare text. The driver decodes it with
# surrogateescape (sandbox/runtime/verdicts.py), so a byte that is not UTF-8 stays a character of
# its own that equals no real one, and the token rule splits on ASCII white space only (C's
# isspace: space, \t, \n, \v, \f, \r). So: a NUL is no separator, a Latin-1 "é" or an overlong
# space is not the character it imitates, a carriage return is a separator (a bare one that would
# overwrite "99" with "42" on a terminal hides nothing from the checker), and byte-exact means it.

ECHO_HEX = Program.single("python", "import os, sys\nos.write(1, bytes.fromhex(sys.stdin.read().strip()))\n")
"""Prints exactly the bytes its stdin spells in hex (nothing the interpreter could re-encode)."""

RAW_CASES: dict[CheckerKind, list[tuple[bytes, str, Verdict]]] = {
    "tokens": [
        (b"42\x00\n", "42\n", Verdict.WA),  # a NUL glued to the answer
        (b"4\x002\n", "4 2\n", Verdict.WA),  # a NUL is not white space
        (b"42\n\x00\n", "42\n", Verdict.WA),  # nor is a line holding one a blank line
        (b"\xe9\n", "\u00e9\n", Verdict.WA),  # Latin-1 é is not UTF-8 é
        (b"\xc3\xa9\n", "\u00e9\n", Verdict.AC),  # (the real one is)
        (b"42 \xff\xfe\n", "42\n", Verdict.WA),  # bytes no decoder takes: a token all the same
        (b"4\xc0\xa02\n", "4 2\n", Verdict.WA),  # an overlong encoding of the space is no space
        (b"42\r\n", "42\n", Verdict.AC),  # CRLF: CR is white space, as for C's isspace
        (b"4\r2\n", "4 2\n", Verdict.AC),  # a lone CR separates tokens like a space
        (b"99\r42\n", "42\n", Verdict.WA),  # a CR that would hide "99" on a terminal hides nothing here
        (b"\x1b[2K\r42\n", "42\n", Verdict.WA),  # erase-line, then CR: the escape is a token
        (b"\x1b]52;c;cHduZWQ=\x07\x1b[2J42\n", "42\n", Verdict.WA),  # clipboard write (OSC 52), clear screen
    ],
    "exact": [
        (b"42\n", "42\n", Verdict.AC),
        (b"42\r\n", "42\n", Verdict.WA),
        (b"42\n\x00", "42\n", Verdict.WA),
        (b"42\xff\n", "42\n", Verdict.WA),
    ],
    "float": [
        (b"4.0\x00\n", "4\n", Verdict.WA),
        (b"4.0\r\n", "4\n", Verdict.AC),
        (b"\xd9\xa4\n", "4\n", Verdict.WA),  # ARABIC-INDIC DIGIT FOUR: strtod reads ASCII digits only
        (b"4\xff\n", "4\n", Verdict.WA),
    ],
}


def _inert(text: str) -> bool:
    """Whether ``text`` holds no C0/C1 control character but tab and newline, and encodes as UTF-8."""
    text.encode("utf-8")  # (raises on a lone surrogate: printing or storing it would fail)
    return not any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) < 0xA0 for c in text)


@pytest.mark.parametrize("kind", list(RAW_CASES))
async def test_raw_output_bytes_get_the_checkers_own_verdict(any_box: Sandbox, kind: CheckerKind) -> None:
    """Each printed byte string gets the verdict the checker's rule gives it, never SE; the
    verdict's message quotes the output with its control characters escaped (it is shown to
    people and models), and the captured text is valid UTF-8."""
    cases = RAW_CASES[kind]
    tests = [TestCase(stdin=raw.hex(), expected=exp, name=f"c{i}") for i, (raw, exp, _) in enumerate(cases)]
    checker = CheckerSpec(kind="float", abs_tol=1e-6, rel_tol=1e-6) if kind == "float" else CheckerSpec(kind=kind)
    outcomes = await any_box.run_tests(ECHO_HEX, tests, LIMITS, checker)
    assert [o.verdict for o in outcomes] == [v for _, _, v in cases], describe(outcomes)
    for outcome, (raw, _, _) in zip(outcomes, cases, strict=True):
        assert _inert(outcome.message), describe([outcome])
        outcome.stdout.text.encode("utf-8")
        assert outcome.stdout.size == len(raw), describe([outcome])


BYTES_CHECKER = Program.single(
    "python",
    "import sys\nout, ans = (open(path, 'rb').read() for path in sys.argv[2:4])\nsys.exit(0 if out == ans else 1)\n",
)
"""A testlib checker (argv: input output answer) that accepts byte-identical output only."""

ODD_BYTES = b"4\x002 \xff\xfe\r\n\x1b]0;title\x07\xc0\xa0\xed\xa0\x80\n"


async def test_a_checker_program_is_handed_the_bytes_printed(any_box: Sandbox) -> None:
    """A checker program reads the output the program wrote, byte for byte: nothing replaced,
    dropped or re-encoded on the way (and one byte changed is seen)."""
    answer = ODD_BYTES.decode("utf-8", "surrogateescape")  # what these bytes are as expected text
    changed = ODD_BYTES.replace(b"\xff", b"\xfd")
    tests = [TestCase(stdin=data.hex(), expected=answer, name=n) for n, data in (("same", ODD_BYTES), ("one", changed))]
    checker = CheckerSpec(kind="program", program=BYTES_CHECKER)
    outcomes = await any_box.run_tests(ECHO_HEX, tests, LIMITS, checker)
    assert [o.verdict for o in outcomes] == [Verdict.AC, Verdict.WA], describe(outcomes)


# ================================================================ standard streams left odd

STREAMS_PY = """
import fcntl
import os
import sys

how = sys.stdin.readline().strip()
if how == "nonblock":  # O_NONBLOCK and O_APPEND on the three descriptions the test was handed
    for fd in (0, 1, 2):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK | os.O_APPEND)
elif how == "devnull":  # stdout closed and reopened onto /dev/null: the answer goes nowhere
    os.close(1)
    if os.open("/dev/null", os.O_WRONLY) != 1:
        os._exit(3)
elif how == "merged":  # stderr made stdout: the noise is output
    os.dup2(1, 2)
    os.write(2, b"noise\\n")
elif how == "swapped":  # stdout made stderr: the answer is not output
    os.dup2(2, 1)
elif how == "reopened":  # a second description of stdout, truncating it, and stdin closed
    fd = os.open("/proc/self/fd/1", os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"junk\\n")
    os.close(fd)
    os.close(0)
elif how == "closed":  # all three closed, then a clean exit
    for fd in (0, 1, 2):
        os.close(fd)
    os._exit(0)
os.write(1, b"42\\n")
"""

STREAMS_CPP = r"""
#include <fcntl.h>
#include <string>
#include <unistd.h>

// The same odd things, from an exec'd program (the Python one above runs in the fork server's child).
int main() {
    char word[16] = {0};
    if (read(0, word, sizeof word - 1) < 0) return 2;
    std::string how(word);
    how = how.substr(0, how.find('\n'));
    long ignored = 0;
    if (how == "nonblock") {
        for (int fd = 0; fd < 3; fd++) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK | O_APPEND);
    } else if (how == "devnull") {
        close(1);
        if (open("/dev/null", O_WRONLY) != 1) _exit(3);
    } else if (how == "merged") {
        dup2(1, 2);
        ignored += write(2, "noise\n", 6);
    } else if (how == "swapped") {
        dup2(2, 1);
    } else if (how == "reopened") {
        int fd = open("/proc/self/fd/1", O_WRONLY | O_TRUNC);
        ignored += write(fd, "junk\n", 5);
        close(fd);
        close(0);
    } else if (how == "closed") {
        close(0);
        close(1);
        close(2);
        _exit(0);
    }
    ignored += write(1, "42\n", 3);
    return ignored < 0;
}
"""

ODD_STREAMS = {
    "nonblock": Verdict.AC,
    "devnull": Verdict.WA,
    "merged": Verdict.WA,
    "swapped": Verdict.WA,
    "reopened": Verdict.WA,
    "closed": Verdict.WA,
}


@pytest.mark.parametrize("language", ["python", "cpp"])
async def test_standard_streams_a_test_left_odd_do_not_reach_the_next(any_box: Sandbox, language: str) -> None:
    """Each odd test gets the verdict of what it wrote where the sandbox reads it, and the plain
    test after it (same batch, same fork server) is judged right: every test gets descriptions of
    its own, whatever flags, closes or duplications the one before it made."""
    plan: list[tuple[str, Verdict]] = []
    for odd, verdict in ODD_STREAMS.items():
        plan += [(odd, verdict), ("plain", Verdict.AC)]
    tests = [TestCase(stdin=f"{how}\n", expected="42\n", name=f"{i}-{how}") for i, (how, _) in enumerate(plan)]
    program = Program.single(language, STREAMS_PY if language == "python" else STREAMS_CPP)
    outcomes = await any_box.run_tests(program, tests, LIMITS)
    assert [o.verdict for o in outcomes] == [verdict for _, verdict in plan], describe(outcomes)
    seen = {o.name.split("-", 1)[1]: o for o in outcomes if not o.name.endswith("-plain")}
    assert seen["merged"].stdout.text == "noise\n42\n", describe(outcomes)
    assert seen["swapped"].stderr.text == "42\n", describe(outcomes)
    assert seen["reopened"].stdout.text == "42\nk\n", describe(outcomes)  # the first description's offset stood
    assert all(o.stdout.text == "42\n" for o in outcomes if o.name.endswith("-plain")), describe(outcomes)


# ============================================================ calls refused, with good arguments
#
# test_hostile.py and test_hostile_more.py try keyctl, add_key, request_key, bpf, perf_event_open,
# userfaultfd, fanotify_init, name_to_handle_at and open_by_handle_at with null or zero arguments,
# and count any negative result as a refusal: the kernel fails most of those calls on their
# arguments alone (EFAULT, EINVAL), profile or not. Here each is made as an unprivileged process
# would make it for real (on this kernel add_key, keyctl, perf_event_open on a software clock of
# its own, userfaultfd in user mode only, fanotify_init reporting file ids and name_to_handle_at all
# succeed unprivileged; bpf and open_by_handle_at need privileges a container lacks anyway, so for
# them the check of the profile's rules is what shows the refusal is ours) and must fail with the
# profile's EPERM. Keyrings are counted per uid by the kernel (a quota of 200 keys and 20,000 bytes),
# so they would also be a way to starve the uid's other users, as test_hostile_more.py's per-uid
# section explains for other counters.

REFUSED_PROBE = """
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = {
    "x86_64": {"add_key": 248, "request_key": 249, "keyctl": 250, "perf_event_open": 298, "userfaultfd": 323,
               "bpf": 321, "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304,
               "pidfd_open": 434},
    "aarch64": {"add_key": 217, "request_key": 218, "keyctl": 219, "perf_event_open": 241, "userfaultfd": 282,
                "bpf": 280, "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
                "pidfd_open": 434},
}[os.uname().machine]


def call(name, *args):
    ctypes.set_errno(0)
    result = libc.syscall(NR[name], *args)
    return result, ctypes.get_errno()


perf = (ctypes.c_uint64 * 16)()  # struct perf_event_attr, PERF_ATTR_SIZE_VER1 (72 bytes) and more
perf[0] = 1 | (72 << 32)  # type PERF_TYPE_SOFTWARE, size
perf[1] = 1  # config PERF_COUNT_SW_TASK_CLOCK
perf[5] = (1 << 5) | (1 << 6)  # exclude_kernel, exclude_hv: what perf_event_paranoid 2 allows
bpf_attr = (ctypes.c_uint32 * 32)(2, 4, 4, 1)  # BPF_MAP_TYPE_ARRAY, key 4, value 4, one entry
handle = (ctypes.c_uint32 * 34)(128)  # struct file_handle: handle_bytes 128
mount_id = ctypes.c_int(0)
root = os.open("/", os.O_RDONLY)
attempts = {
    "add_key(user key in the process keyring)": ("add_key", b"user", b"codesolve-probe", b"x", 1, -2),
    "keyctl(JOIN_SESSION_KEYRING)": ("keyctl", 1, None),
    "request_key(user)": ("request_key", b"user", b"codesolve-probe", None, 0),
    "perf_event_open(own task clock)": ("perf_event_open", perf, 0, -1, -1, 8),
    "userfaultfd(UFFD_USER_MODE_ONLY)": ("userfaultfd", 1 | os.O_CLOEXEC),
    "bpf(BPF_MAP_CREATE)": ("bpf", 0, bpf_attr, ctypes.sizeof(bpf_attr)),
    "fanotify_init(FAN_REPORT_FID)": ("fanotify_init", 0x200, 0),
    "name_to_handle_at(/)": ("name_to_handle_at", -100, b"/", handle, ctypes.byref(mount_id), 0),
    "open_by_handle_at": ("open_by_handle_at", root, handle, 0),
}
found = []
for what, (name, *args) in attempts.items():
    result, err = call(name, *args)
    if result >= 0 or err != errno.EPERM:
        found.append(f"{what}: not refused by the profile ({result}, {errno.errorcode.get(err, err)})")
# The control: an allowed call made the same way works (the refusals above are not the probe's).
result, err = call("pidfd_open", os.getpid(), 0)
if result < 0:
    found.append(f"the control call pidfd_open failed: errno {err}: the probe is broken")
report(found)
"""

REFUSED_NAMES = {
    "add_key", "request_key", "keyctl", "perf_event_open", "userfaultfd", "bpf", "fanotify_init", "fanotify_mark",
    "name_to_handle_at", "open_by_handle_at",
}  # fmt: skip


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="system call numbers for x86-64 and arm64")
async def test_calls_the_profile_refuses_are_refused_with_arguments_the_kernel_takes(docker_box: Sandbox) -> None:
    """Keyrings, perf events, userfaultfd, BPF, fanotify and file handles: EPERM from a
    container, for calls that would succeed unprivileged; and no rule of the profile allows them."""
    allowed = {
        name
        for inet in (False, True)
        for rule in seccomp.profile(inet)["syscalls"]
        if rule["action"] == "SCMP_ACT_ALLOW"
        for name in rule["names"]
    }
    assert not REFUSED_NAMES & allowed
    assert_safe(await run(docker_box, attack(REFUSED_PROBE)))


# =================================================================== compile-time exhaustion
#
# A compiler runs before any test, outside the tests' limits (a minute of CPU, no memory limit
# but the container's): a file that includes /dev/zero makes cc1plus read zeros until the
# container's OOM killer takes it. Python is syntax-checked in the first test child, where an
# expression nested 100,000 deep runs the parser out of memory and a 100,000-term sum the compiler
# out of recursion. Each is the program's own CE, never SE, and the container serves the next batch.

COMPILER_EXHAUSTION = {
    "cpp-includes-dev-zero": Program.single("cpp", '#include "/dev/zero"\nint main() { return 0; }\n'),
    "python-deep-unary": Program.single("python", "x = " + "-" * 100_000 + "1\nprint('SAFE')\n"),
    "python-long-sum": Program.single("python", "x = 1" + " + 1" * 100_000 + "\nprint('SAFE')\n"),
}


@pytest.mark.parametrize("name", list(COMPILER_EXHAUSTION))
async def test_a_compile_that_runs_out_of_memory_or_recursion_is_CE(docker_box: Sandbox, name: str) -> None:
    outcomes = await run(docker_box, COMPILER_EXHAUSTION[name], ["", ""])
    assert [o.verdict for o in outcomes] == [Verdict.CE, Verdict.CE], describe(outcomes)
    await assert_pool_healthy(docker_box)


# ================================================================ odd files left for the wipe
#
# Between tests and at the end of a batch every writable place is emptied. What a test leaves there
# need not be a regular file with a tame name: FIFOs (an open() for reading blocks until a writer
# comes), bound Unix sockets, links to themselves, directories with no permission holding more,
# a hard link to the program, all under names that are not UTF-8 or hold a newline, an escape
# sequence or a leading dash. The next test and the next batch find every place empty.

ODD_FILES = """
import socket

phase = sys.stdin.read().strip()
places = [os.getcwd(), "/tmp", "/dev/shm"]
names = [b"\\xff\\xfe", b"a\\nb", b"\\x1b[2J", b"-rf", b" ", b"*"]
found = []
if phase == "plant":
    held = []
    for place in map(os.fsencode, places):
        for name in names:
            os.mkfifo(os.path.join(place, name + b".fifo"))
            server = socket.socket(socket.AF_UNIX)
            server.bind(os.path.join(place, name + b".sock"))
            held.append(server)
            os.symlink(b"loop-" + name, os.path.join(place, b"loop-" + name))
            locked = os.path.join(place, name + b".dir")
            os.mkdir(locked)
            os.mkfifo(os.path.join(locked, name))
            os.chmod(locked, 0)
    os.link(os.path.join(batch_root(), "prog", "main.py"), "hard-link-to-the-program")
    print("planted", len(os.listdir("/tmp")), file=sys.stderr)
else:
    for place in places:
        left = os.listdir(os.fsencode(place))
        if left:
            found.append(f"{place} still holds {left[:3]}")
with open("/etc/hostname") as fh:
    print("container", fh.read().strip(), file=sys.stderr)
report(found)
"""


async def test_special_files_with_odd_names_are_wiped(docker_box: Sandbox) -> None:
    program = attack(ODD_FILES)
    planted = await run(docker_box, program, ["plant\n", "probe\n"])
    assert_safe(planted, count=2)
    assert "planted 24" in planted[0].stderr.text, describe(planted)  # (6 names x 4 entries in /tmp)
    later: list[TestOutcome] = []

    async def probe() -> None:
        later.extend(await run(docker_box, program, ["probe\n"]))

    # Two at once: each of the pool's two containers serves one, the planter's among them.
    async with anyio.create_task_group() as group:
        group.start_soon(probe)
        group.start_soon(probe)
    assert_safe(later, count=2)
    containers = {o.stderr.text.split()[-1] for o in later}
    assert planted[0].stderr.text.split()[-1] in containers, "no later batch ran in the planter's container"


# =================================================================== kernel-wide files of /proc
#
# Some /proc files are the whole machine's, whatever the namespaces: /proc/timer_list and
# /proc/sched_debug name every task of the host (other containers' candidates, the host's own
# processes) with their pids, /proc/keys lists keys of the host's users, /proc/kcore is the
# kernel's memory. The engine masks them (an empty file, or none) unless a container is made with
# masking off (privileged, or `systempaths=unconfined`); the host's sockets (containerd's shim
# listened on abstract ones that containers on the host's network could reach) are in the host's
# network namespace, not ours.

MASKED = """
found = []
for path in ("/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/kcore", "/proc/latency_stats",
             "/proc/timer_stats"):
    try:
        with open(path, "rb") as fh:
            data = fh.read(4096)
    except OSError:
        continue
    if data:
        found.append(f"read {len(data)} bytes of {path}: {data[:60]!r}")
for path in ("/sys/firmware", "/proc/acpi", "/proc/scsi", "/sys/kernel/debug", "/sys/kernel/security"):
    try:
        names = os.listdir(path)
    except OSError:
        continue
    if names:
        found.append(f"{path} lists {names[:3]}")
with open("/proc/net/unix") as fh:
    sockets = fh.read()
for word in ("containerd", "docker", "runc", "dbus", "systemd"):
    if word in sockets:
        found.append(f"a socket of the host in /proc/net/unix ({word})")
with open("/proc/self/status") as fh:  # the control: /proc itself is readable
    if "NoNewPrivs" not in fh.read():
        found.append("could not read /proc/self/status: the probe is broken")
report(found)
"""


async def test_kernel_wide_files_of_proc_are_masked(docker_box: Sandbox) -> None:
    assert_safe(await run(docker_box, attack(MASKED)))


# ====================================================== the float checker on a long digit run

DIGITS = """
import os
import sys
import time

count, tail = (sys.stdin.read().split() + [""])[:2]
print(time.monotonic(), file=sys.stderr)  # when this test started: the gap after the last one is its checking
os.write(1, b"1" * int(count) + tail.encode() + b"\\n")
"""


def _starts(outcomes: Sequence[TestOutcome]) -> list[float]:
    return [float(o.stderr.text.split()[0]) for o in outcomes]


async def test_a_long_digit_run_that_is_no_number_is_judged_at_once(docker_box: Sandbox) -> None:
    """A 12,000-digit token that is not a number (an ``x`` after the digits) is WA, judged as fast
    as a 12,000-digit integer: the next test starts as soon after it. (The float checker's pattern
    for a decimal used to try every split of such a run: ~2 s here; 40,000 digits, one 40 KB line,
    left the driver silent past the host's patience, the test RE, the rest of the batch SE and
    the container dropped.)"""
    program = Program.single("python", DIGITS)
    checker = CheckerSpec(kind="float", abs_tol=1e-6, rel_tol=1e-6)
    stdins = ["12000", "1", "12000 x", "1"]  # an integer (the baseline), then the token that is none
    tests = [TestCase(stdin=s, expected="1\n", name=f"t{i}") for i, s in enumerate(stdins)]
    outcomes = await docker_box.run_tests(program, tests, Limits(cpu_seconds=1, wall_seconds=5), checker)
    assert [o.verdict for o in outcomes] == [Verdict.WA, Verdict.AC, Verdict.WA, Verdict.AC], describe(outcomes)
    starts = _starts(outcomes)
    baseline, hostile = starts[1] - starts[0], starts[3] - starts[2]
    assert hostile < baseline + 0.5, (
        f"judging took {hostile:.2f}s after the junk token, {baseline:.2f}s after the number"
    )
