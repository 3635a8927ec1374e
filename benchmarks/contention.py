"""Stalls under contention: the worst batch of many, while another process uses the engine.

The case of issue 17: three concurrent batches of 100 tests on a pool of two containers, while
a second codesolve process on the same Docker engine runs batches of its own. A round is the
three batches at once (so one of them waits for a free container: a queue, never a timeout);
the script runs ``--rounds`` rounds and prints the median and the worst batch and round, and
their ratio (goal: no batch over 5x the median). Every verdict must be right. Docker API calls
that time out are logged by the sandbox (``sandbox`` logger, shown here).

    .venv/bin/python benchmarks/contention.py [--rounds 40] [--tests 100] [--no-rival]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio

from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, open_sandbox

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
CPP = (
    '#include <cstdio>\nint main(){int n;long long s=0,x;if(scanf("%d",&n)!=1)return 1;'
    'for(int i=0;i<n;i++){scanf("%lld",&x);s+=x;}printf("%lld\\n",s);}\n'
)


def make_tests(count: int, salt: int = 0) -> list[TestCase]:
    """Sum-of-numbers tests with their answers."""
    tests = []
    for i in range(count):
        nums = [i * 7 + j + salt for j in range(1, 6)]
        tests.append(TestCase(stdin=f"5\n{' '.join(map(str, nums))}\n", expected=f"{sum(nums)}\n", name=str(i)))
    return tests


async def rounds(count: int, tests: int, seconds: float = 0.0) -> tuple[list[float], list[float]]:
    """Run rounds of three concurrent batches (Python, Python, C++); batch and round wall times.
    With ``seconds``, run for that long instead of ``count`` rounds (the rival process)."""
    batch_times: list[float] = []
    round_times: list[float] = []
    programs = [Program.single("python", PY), Program.single("python", PY + "# b\n"), Program.single("cpp", CPP)]
    async with open_sandbox(DockerConfig(pool_size=2)) as box:
        await box.warm(Limits())
        stop = time.monotonic() + seconds
        index = 0
        while (index < count) if not seconds else (time.monotonic() < stop):
            cases = [make_tests(tests, salt=index + k) for k in range(3)]
            start = time.perf_counter()

            async def one(program: Program, batch: list[TestCase]) -> None:
                began = time.perf_counter()
                outcomes = await box.run_tests(program, batch, Limits())
                batch_times.append(time.perf_counter() - began)
                wrong = [o for o in outcomes if o.verdict is not Verdict.AC]
                assert len(outcomes) == len(batch), len(outcomes)
                assert not wrong, wrong[:3]

            async with anyio.create_task_group() as group:
                for program, batch in zip(programs, cases, strict=True):
                    group.start_soon(one, program, batch)
            round_times.append(time.perf_counter() - start)
            index += 1
    return batch_times, round_times


def summary(name: str, times: list[float]) -> str:
    """Median, 95th percentile, worst, and worst over median."""
    median = statistics.median(times)
    p95 = sorted(times)[int(0.95 * (len(times) - 1))]
    return (
        f"  {name:<7} n={len(times):4d}  median {median * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms  "
        f"worst {max(times) * 1000:8.0f} ms  worst/median {max(times) / median:5.2f}x"
    )


def main(argv: list[str] | None = None) -> None:
    """Start the rival process, run the rounds, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--no-rival", action="store_true")
    parser.add_argument("--rival-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.rival_seconds:
        # Stopped with SIGINT: the pool has removed its containers by the time the interrupt
        # leaves anyio.run, so there is nothing to say (no traceback on the shared terminal).
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(rounds, 0, args.tests, args.rival_seconds)
        return
    rival = None
    if not args.no_rival:
        argv_rival = [sys.executable, str(Path(__file__).resolve()), "--rival-seconds", "36000", "--tests", "100"]
        rival = subprocess.Popen(argv_rival, stdout=subprocess.DEVNULL)
        time.sleep(3.0)  # its pool warm and busy
    before = os.getloadavg()[0]
    try:
        batch_times, round_times = anyio.run(rounds, args.rounds, args.tests)
    finally:
        if rival is not None:
            # SIGINT, not SIGTERM: Python then unwinds, and the rival's pool removes its
            # containers (a SIGTERM killed it outright and left them to the reaper and the TTL).
            rival.send_signal(signal.SIGINT)
            try:
                rival.wait(60)
            except subprocess.TimeoutExpired:
                rival.kill()
                rival.wait()
    print(
        f"{args.rounds} rounds of 3 concurrent batches of {args.tests} tests (python, python, cpp) on a pool of 2; "
        f"rival process: {'no' if rival is None else 'yes'}; load average {before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(summary("batch", batch_times))
    print(summary("round", round_times))
    worst = max(batch_times) / statistics.median(batch_times)
    print(f"  goal: no batch over 5x the median: {'met' if worst <= 5 else 'NOT met'} ({worst:.2f}x)")


if __name__ == "__main__":
    main()
