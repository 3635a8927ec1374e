"""Threads on the local backend, where the address space stands in for the memory limit.

glibc reserves 64 MB of address space for each thread's malloc arena. With a 128 MB limit
(384 MB of address space) and four 64 MB thread stacks, a C++ program of four threads failed
to start one of them (``std::system_error``: resource temporarily unavailable) in about one
run in two on a quiet machine: the golden corpus's ``cpp_ac_threads`` flaked on the local
backend. Candidates there now get ``MALLOC_ARENA_MAX=1``; in a container (a cgroup limits
memory, not the address space) their environment is as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import Limits, Program, Sandbox, TestCase, Verdict

pytestmark = pytest.mark.anyio

THREADS = (Path(__file__).parent / "corpus" / "cpp_ac_threads.cpp").read_text(encoding="utf-8")
LIMITS = Limits(cpu_seconds=1, wall_seconds=2, memory_mb=128)
SHOW_ARENAS = 'import os\nprint(os.environ.get("MALLOC_ARENA_MAX", "unset"))\n'


async def test_a_program_of_four_threads_starts_them_every_time_on_the_local_backend(local_box: Sandbox) -> None:
    # 24 runs: before, each failed with probability ~1/2 on a quiet machine (~1/15 under load),
    # in one process (`-n 0`). In an xdist worker the old failure did not show (why is not known),
    # so the next test pins the environment itself.
    tests = [TestCase(name=str(i), expected="499500\n") for i in range(24)]
    outcomes = await local_box.run_tests(Program.single("cpp", THREADS), tests, LIMITS)
    assert [o.verdict for o in outcomes] == [Verdict.AC] * 24, [o.stderr.text[-120:] for o in outcomes]


async def test_one_malloc_arena_where_the_address_space_is_limited_only(
    local_box: Sandbox, docker_box: Sandbox
) -> None:
    program = Program.single("python", SHOW_ARENAS)
    [local] = await local_box.run_tests(program, [TestCase()], LIMITS)
    [docker] = await docker_box.run_tests(program, [TestCase()], LIMITS)
    assert (local.stdout.text, docker.stdout.text) == ("1\n", "unset\n")
