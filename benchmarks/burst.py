"""A burst of small batches: what the engine's generation round asks of the pool, side by side.

When a generation reply is in, every distinct candidate of every problem runs its public tests
at once: at ``engine_overhead.py``'s scale, eleven one- or two-test batches of eleven programs
on a pool of two containers. Each batch pays the sandbox's fixed cost (a fresh fork server,
the batch's clean-up and checks, the host's round trip), which a test inside a batch does not.
This prints, for ``--programs`` new programs of one test each asked for at once, the wall time
of the burst against the same number of tests of one program asked for as one batch per
container (the least the pool could take for that many tests), and the ratio: how much of the
burst is the batches' fixed cost. A third shape, one program (checked already) in as many
one-test batches, tells that cost apart: the batch boundary itself, or the program being new to
the container (its syntax check). ``--rounds`` bursts, medians printed.

    .venv/bin/python benchmarks/burst.py [--programs 11] [--rounds 15] [--pool 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio

from sandbox import DockerConfig, Limits, Program, Sandbox, TestCase, open_sandbox

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
TEST = TestCase(stdin="3 4 5 2\n", expected="11\n", name="0")


async def timed(box: Sandbox, batches: list[tuple[Program, int]]) -> float:
    """Wall seconds for ``batches`` (program, number of tests) asked for at once."""
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for program, tests in batches:
            group.start_soon(box.run_tests, program, [TEST] * tests, Limits())
    return time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> None:
    """Alternate the three shapes ``--rounds`` times on one warm pool; print medians and the ratio."""
    burst: list[float] = []
    packed: list[float] = []
    same: list[float] = []
    async with open_sandbox(DockerConfig(pool_size=args.pool)) as box:
        await box.warm(Limits())
        for round_no in range(args.rounds + 1):
            # New programs every round, as a generation round's candidates are (each is checked once).
            programs = [Program.single("python", f"{PY}# {round_no} {i} {time.time()}\n") for i in range(args.programs)]
            share, extra = divmod(args.programs, args.pool)
            one_each = [(program, 1) for program in programs]
            per_container = [(programs[i], share + (1 if i < extra else 0)) for i in range(args.pool)]
            first, second = await timed(box, one_each), await timed(box, per_container)
            third = await timed(box, [(programs[0], 1)] * args.programs)  # (checked by now in both containers)
            if round_no:  # the first round is a warm-up (the pool's first batches)
                burst.append(first)
                packed.append(second)
                same.append(third)
            await anyio.sleep(0.1)
    b, p = statistics.median(burst), statistics.median(packed)
    print(f"{args.programs} new Python programs, one test each, on a warm pool of {args.pool} ({args.rounds} rounds)")
    print(f"  {args.programs} one-test batches at once               median {1000 * b:6.1f} ms")
    print(f"  the same tests, one batch per container  median {1000 * p:6.1f} ms")
    print(f"  one checked program, {args.programs} one-test batches median {1000 * statistics.median(same):6.1f} ms")
    # Burst: programs/pool batches in a row per container; packed: one batch of as many tests.
    fixed = (b - p) * args.pool / (args.programs - args.pool)
    print(f"  ratio {b / p:4.2f}x  (a new program's batch costs ~{1000 * fixed:.1f} ms beyond its test)")


def main() -> None:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pool", type=int, default=2)
    args = parser.parse_args()
    if args.programs <= args.pool or args.rounds < 1:
        parser.error("--programs must be more than --pool, and --rounds at least 1")
    anyio.run(main_async, args)


if __name__ == "__main__":
    main()
