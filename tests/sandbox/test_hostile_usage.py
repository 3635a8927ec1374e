"""Hostile programs against the accounting and the per-test path: children a test never waits
for must count against its CPU and memory limits, and nothing a program writes (or leaves
full) may crash the runtime into SE for itself or the tests after it.
"""

from __future__ import annotations

import textwrap

import anyio
import pytest

from sandbox import CheckerSpec, Limits, Program, Sandbox, TestCase, TestOutcome, Verdict
from tests.sandbox.test_hostile import LIMITS, any_box, assert_safe, attack, cpp, describe, run

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
__all__ = ["any_box"]  # the fixture, used here under its own name

MEM = Limits(cpu_seconds=4, wall_seconds=20, memory_mb=256, output_bytes=1 << 20, processes=16)
CPU = Limits(cpu_seconds=1, wall_seconds=20, memory_mb=256, output_bytes=1 << 20, processes=16)
# Generous wall limits: the figures must not depend on how busy the machine is.

HOG = """
import os
import sys
import time

ready_r, ready_w = os.pipe()


def hog(mb):
    data = bytearray(mb << 20)
    data[::4096] = b"x" * len(data[::4096])
    os.write(ready_w, b"!")
    time.sleep(30)
    os._exit(0)


def spawn(count, mb, nested):
    for _ in range(count):
        if os.fork() == 0:
            if nested and os.fork() != 0:
                os._exit(0)  # the child leaves at once: its child is an orphan, the fork server's
            hog(mb)


mode = sys.stdin.read().strip()
spawn(3, 150, mode == "grandchildren")
got = b""
while len(got) < 3:  # all three hold their memory now; none is ever waited for
    got += os.read(ready_r, 3)
time.sleep(0.5)
print(7)
"""


@pytest.mark.parametrize("mode", ["children", "grandchildren"])
async def test_memory_of_children_never_waited_for_counts(any_box: Sandbox, mode: str) -> None:
    """Three processes of 150 MB at once (children, or orphaned grandchildren) under a 256 MB limit: MLE."""
    outcomes = await run(any_box, Program.single("python", HOG), [mode], expected="7\n", limits=MEM)
    assert [o.verdict for o in outcomes] == [Verdict.MLE], describe(outcomes)
    assert outcomes[0].memory_kb > 256 * 1024, describe(outcomes)


SPIN_CPP = """
#include <cstdio>
#include <ctime>
#include <unistd.h>
static double cpu() { return (double)clock() / CLOCKS_PER_SEC; }
int main() {
    int done[2];
    pipe(done);
    for (int i = 0; i < 3; i++) {
        if (fork() == 0) {
            if (fork() != 0) _exit(0);   // orphan the spinner
            close(done[0]);
            while (cpu() < 0.6) {}
            _exit(0);                    // its end of the pipe closes with it
        }
    }
    close(done[1]);
    char byte;
    while (read(done[0], &byte, 1) > 0) {}  // until every spinner is gone; reaps nobody
    printf("7\\n");
}
"""


@pytest.mark.parametrize("language", ["python", "cpp"])
async def test_cpu_of_children_never_waited_for_counts(any_box: Sandbox, language: str) -> None:
    """3 x 0.6 s of CPU in processes the test never waits for (zombies of its own, or orphans),
    under a 1 s CPU limit: TLE, with the true CPU time reported."""
    py = """
    import os, time
    done_r, done_w = os.pipe()
    for _ in range(3):
        if os.fork() == 0:
            os.close(done_r)
            while time.process_time() < 0.6:
                pass
            os._exit(0)  # a zombie of ours: never reaped by the test
    os.close(done_w)
    while os.read(done_r, 1):
        pass  # until every spinner is gone
    print(7)
    """
    program = cpp(SPIN_CPP) if language == "cpp" else Program.single("python", textwrap.dedent(py))
    outcomes = await run(any_box, program, [""], expected="7\n", limits=CPU)
    assert [o.verdict for o in outcomes] == [Verdict.TLE], describe(outcomes)
    assert outcomes[0].cpu_seconds > 1.0, describe(outcomes)


async def test_workers_sharing_memory_are_not_counted_twice(any_box: Sandbox) -> None:
    """A correct program that forks workers after building 100 MB they share (and waits for
    them) uses 100 MB, not 300: AC."""
    program = """
    import os, time
    data = bytearray(100 << 20)
    data[::4096] = b"x" * len(data[::4096])
    kids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            time.sleep(0.4)
            os._exit(sum(data[::1 << 20]) & 1)
        kids.append(pid)
    print(sum(os.waitpid(pid, 0)[1] for pid in kids))
    """
    outcomes = await run(any_box, Program.single("python", textwrap.dedent(program)), [""], "0\n", MEM)
    assert [o.verdict for o in outcomes] == [Verdict.AC], describe(outcomes)
    assert outcomes[0].memory_kb < 200 * 1024, describe(outcomes)


BIG = "9" * 5000


@pytest.mark.parametrize(
    ("printed", "verdict"),
    [(BIG, Verdict.AC), ("+" + BIG, Verdict.AC), ("000" + BIG, Verdict.AC), (BIG[:-1] + "8", Verdict.WA),
     ("-" + BIG, Verdict.WA), ("1e5000", Verdict.WA), ("9.99e4999", Verdict.WA), ("x" * 6000, Verdict.WA)],
    ids=["same", "plus", "zeros", "off-by-one", "negative", "inf", "float", "junk"],
)  # fmt: skip
async def test_huge_numbers_under_the_float_checker_get_their_own_verdict(
    any_box: Sandbox, printed: str, verdict: Verdict
) -> None:
    """A 5,000-digit integer (or anything else) never crashes the float checker; the test after it still runs."""
    program = Program.single("python", "import sys\nsys.set_int_max_str_digits(0)\nprint(input())\n")
    tests = [TestCase(stdin=printed + "\n", expected=BIG + "\n", name="big"), TestCase(stdin="2.5\n", expected="2.5\n")]
    checker = CheckerSpec(kind="float", abs_tol=1e-6, rel_tol=1e-6)
    outcomes = await any_box.run_tests(program, tests, LIMITS, checker)
    assert [o.verdict for o in outcomes] == [verdict, Verdict.AC], describe(outcomes)


CHECKER = """
import sys
inp, out, ans = (open(p).read().split() for p in sys.argv[1:4])
sys.exit(0 if out == ans else 1)
"""

FILL = """
import os, sys

def fill(where):
    os.chdir(where)  # relative names: resolving a long absolute path per file costs 5x the CPU
    chunk = b"x" * (1 << 20)
    try:
        for k in range(1000):  # files under the file-size limit, until the disk is full
            with open(f"fill-{k}", "wb") as fh:
                for _ in range(8):
                    fh.write(chunk)
    except OSError:
        pass
    try:
        for i in range(1 << 20):  # and every inode
            open(f"f{i}", "w").close()
    except OSError:
        pass

fill(os.getcwd())
for name in os.listdir(batch_root() + "/prog"):  # and the program itself, to be restored
    try:
        os.unlink(os.path.join(batch_root(), "prog", name))
    except OSError:
        pass
print(sys.stdin.read().strip())
"""


async def test_a_full_disk_cannot_make_the_checker_or_the_restore_fail(docker_box: Sandbox) -> None:
    """A test that fills its own directory (where the checker's inputs were written) to the
    last block and inode, and deletes its program: each test is still judged by the checker,
    none is SE."""
    program = attack(FILL)
    checker = CheckerSpec(kind="program", program=Program.single("python", CHECKER), protocol="testlib")
    tests = [TestCase(stdin=s, expected="42\n", name=f"t{i}") for i, s in enumerate(["42", "41", "42"])]
    limits = Limits(cpu_seconds=5, wall_seconds=20, memory_mb=256, output_bytes=1 << 20)
    outcomes = await docker_box.run_tests(program, tests, limits, checker)
    assert [o.verdict for o in outcomes] == [Verdict.AC, Verdict.WA, Verdict.AC], describe(outcomes)


async def test_a_concurrent_batch_cannot_read_another_batchs_spec(local_box: Sandbox) -> None:
    """On the host, batches run side by side as one uid: a test that watches for other batches'
    files while they start must never find their spec (expected outputs and nonce)."""
    spy = attack(
        """
        import glob, time
        found = []
        marker = ("expected-" + "marker-7f3a").encode()
        holders = os.path.dirname(os.path.dirname(batch_root()))
        end = time.monotonic() + 1.5
        while time.monotonic() < end and not found:
            for path in glob.glob(f"{holders}/codesolve-*/b/*") + glob.glob(f"{holders}/codesolve-*/b/*/*"):
                try:
                    with open(path, "rb") as fh:
                        if marker in fh.read(1 << 20):
                            found.append(path)
                except OSError:
                    continue
        report(found)
        """
    )
    victim = Program.single("python", "print(input())\n")
    secret = [TestCase(stdin="expected-marker-7f3a\n", expected="expected-marker-7f3a\n")]
    spied: list[list[TestOutcome]] = []

    async def watch() -> None:
        spied.append(await run(local_box, spy, [""], limits=Limits(cpu_seconds=3, wall_seconds=5)))

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        for _ in range(12):
            assert [o.verdict for o in await local_box.run_tests(victim, secret, LIMITS)] == [Verdict.AC]
    assert_safe(spied[0])


INODE_FLOOD = """
os.chdir("/tmp" if sys.stdin.read().strip() == "tmp" else os.getcwd())
made = 0
try:
    for made in range(1 << 20):  # empty files cost no blocks: only an inode count stops them
        open(f"e{made}", "w").close()
except OSError as exc:
    print("stopped", made, exc.errno)
"""


@pytest.mark.parametrize("where", ["workdir", "tmp"])
async def test_an_inode_flood_stops_at_the_tmpfs_inode_count(docker_box: Sandbox, where: str) -> None:
    """Empty files use no blocks, so a size limit alone lets a test pin kernel memory with
    millions of inodes: both writable tmpfs mounts stop it with ENOSPC (errno 28) well before."""
    limits = Limits(cpu_seconds=10, wall_seconds=30, memory_mb=256, output_bytes=1 << 20)
    outcomes = await run(docker_box, attack(INODE_FLOOD), [where], expected=None, limits=limits)
    words = outcomes[0].stdout.text.split()
    assert words[:1] == ["stopped"], describe(outcomes)
    assert words[2:] == ["28"], describe(outcomes)
    assert int(words[1]) < 100_000, describe(outcomes)
