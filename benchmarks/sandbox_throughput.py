"""Sandbox throughput, four ways, side by side in one run.

One 100-test stdin/stdout problem (Python and C++), run as:

  (a) the warm Docker backend (default pool of 2): the batch goes to the containers' agents
      (a large one spread over both), a fork per test;
      Also shown: the same with a pool of one container (no spreading);
  (b) the local backend: the same driver on the host;
  (c) a fresh host process per test (``python3`` / the compiled binary): the naive floor;
  (d) ``docker run --rm`` per test: what naive harnesses do (fewer tests: it is slow).

Prints the median per-test cost of each and the ratios the goals are about:
(c)/(a) >= 10 and batch(a)/batch(b) <= 1.5. For the batch backends the per-test cost is
(whole batch - a batch of one test) / (tests - 1), medians of ``--repeat`` batches; the slope
between the whole batch and its first half (both spread over the pool alike) is shown too.

    .venv/bin/python benchmarks/sandbox_throughput.py [--tests 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from sandbox import DockerConfig, Limits, LocalConfig, Program, SandboxConfig, TestCase, Verdict, open_sandbox
from sandbox.image import image_tag

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
CPP = (
    '#include <cstdio>\nint main(){int n;long long s=0,x;if(scanf("%d",&n)!=1)return 1;'
    'for(int i=0;i<n;i++){scanf("%lld",&x);s+=x;}printf("%lld\\n",s);}\n'
)


def make_tests(count: int) -> list[TestCase]:
    """Small sum-of-numbers tests with their answers."""
    tests = []
    for i in range(count):
        nums = [i * 7 + j for j in range(1, 6)]
        tests.append(TestCase(stdin=f"5\n{' '.join(map(str, nums))}\n", expected=f"{sum(nums)}\n", name=str(i)))
    return tests


async def batch_seconds(
    config: SandboxConfig, program: Program, tests: list[TestCase], repeat: int
) -> tuple[float, float, float]:
    """Median wall times of the whole batch, of its first half and of its first test alone
    (after warming the pool up)."""
    async with open_sandbox(config) as box:
        await box.warm(Limits())  # the whole pool, as a solve does while its model answers
        await box.run_tests(program, tests[:5], Limits())
        full: list[float] = []
        half: list[float] = []
        single: list[float] = []
        for _ in range(repeat):
            for batch, times in ((tests, full), (tests[: len(tests) // 2], half), (tests[:1], single)):
                start = time.perf_counter()
                outcomes = await box.run_tests(program, batch, Limits())
                times.append(time.perf_counter() - start)
                assert all(o.verdict is Verdict.AC for o in outcomes), {o.verdict for o in outcomes}
        return statistics.median(full), statistics.median(half), statistics.median(single)


def marginal(full: float, _half: float, single: float, count: int) -> float:
    """Cost of one more test in a batch: the whole batch minus a batch of one test.

    Conservative where the pool spreads a large batch: the one-test batch is not spread,
    so what spreading costs (a second container's start-up, compilation) counts as tests.
    """
    return (full - single) / max(count - 1, 1)


def slope(full: float, half: float, _single: float, count: int) -> float:
    """Cost of one more test, from the whole batch against its first half: both are spread
    over the pool alike, so the difference is tests alone (but it is a noisier figure)."""
    return (full - half) / max(count - count // 2, 1)


def per_process(argv: list[str], tests: list[TestCase]) -> list[float]:
    """Seconds per test with one fresh process each."""
    times = []
    for test in tests:
        start = time.perf_counter()
        proc = subprocess.run(argv, input=test.stdin.encode(), capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        assert proc.stdout.decode() == test.expected, proc.stderr
    return times


def docker_run_argv(workdir: Path, run: list[str]) -> list[str]:
    """``docker run --rm`` with the same image and no network."""
    return ["docker", "run", "--rm", "-i", "--network", "none", "-v", f"{workdir}:/w:ro", "-w", "/w", image_tag(), *run]


def row(label: str, per_test: float, batch: tuple[float, float, float] | None = None) -> str:
    """One table row: per-test cost and, for a batch backend, the whole batch and a batch of one test."""
    extra = f"   batch {batch[0] * 1000:4.0f} ms, 1 test {batch[2] * 1000:4.0f} ms" if batch else ""
    # A batch spread over the pool compiles once per container, in parallel: for C++ the
    # difference between a whole batch and one test can be within the compiler's noise.
    shown = f"{per_test * 1000:8.2f}" if per_test > 0 else "   noise"
    return f"  {label:<44} {shown} ms/test{extra}"


def fresh_python() -> str:
    """The fastest-starting host Python (the real interpreter, not a version-manager shim)."""
    candidates = [Path(sys.executable).resolve(), Path("/usr/bin/python3")]
    timed = []
    for exe in candidates:
        if exe.exists():
            start = time.perf_counter()
            for _ in range(5):
                subprocess.run([str(exe), "-c", "pass"], check=True)
            timed.append((time.perf_counter() - start, str(exe)))
    return min(timed)[1]


def compile_host(source: str, workdir: Path) -> Path:
    """The C++ program compiled on the host (for the per-process floor)."""
    src = workdir / "main.cpp"
    src.write_text(source)
    binary = workdir / "main.bin"
    subprocess.run(["g++", "-O2", "-std=gnu++17", "-o", str(binary), str(src)], check=True)
    return binary


def measure(language: str, source: str, args: argparse.Namespace, workdir: Path) -> None:
    """All four ways for one language; prints the table and the ratios."""
    tests = make_tests(args.tests)
    program = Program.single(language, source)
    workdir.chmod(0o755)  # the image's unprivileged user reads the bind mount in (d)
    docker_b = anyio.run(batch_seconds, DockerConfig(), program, tests, args.repeat)
    single_b = anyio.run(batch_seconds, DockerConfig(pool_size=1), program, tests, args.repeat)
    local_b = anyio.run(batch_seconds, LocalConfig(allow_weaker=True), program, tests, args.repeat)
    if language == "python":
        (workdir / "main.py").write_text(source)
        fresh_argv, run = [fresh_python(), str(workdir / "main.py")], ["python3", "main.py"]
    else:
        fresh_argv, run = [str(compile_host(source, workdir))], ["./main.bin"]
    fresh = per_process(fresh_argv, tests)
    naive = per_process(docker_run_argv(workdir, run), tests[: args.docker_run_tests])
    a, b = marginal(*docker_b, len(tests)), marginal(*local_b, len(tests))
    c, d = statistics.median(fresh), statistics.median(naive)
    print(f"\n{language}: {len(tests)} tests, medians of {args.repeat} batches")
    print(row("(a) warm Docker backend", a, docker_b))
    print(row("    ... one container (pool of 1)", marginal(*single_b, len(tests)), single_b))
    print(row("(b) local backend", b, local_b))
    print(row(f"(c) fresh process per test ({fresh_argv[0]})", c))
    print(row(f"(d) docker run --rm per test (n={len(naive)})", d))
    a_slope = slope(*docker_b, len(tests))
    if a > 0 and a_slope > 0:
        print(f"  per test (c)/(a) = {c / a:6.1f}x   goal >= 10   (by the slope: {c / a_slope:.1f}x)")
        print(f"  per test (d)/(a) = {d / a:6.1f}x")
    print(f"  batch    (a)/(b) = {docker_b[0] / local_b[0]:6.2f}    goal <= 1.5")


def main(argv: list[str] | None = None) -> None:
    """Parse flags and run both languages."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--docker-run-tests", type=int, default=15)
    args = parser.parse_args(argv)
    measures: list[Callable[[Path], None]] = [
        lambda w: measure("python", PY, args, w),
        lambda w: measure("cpp", CPP, args, w),
    ]
    for job in measures:
        with tempfile.TemporaryDirectory() as tmp:
            job(Path(tmp))


if __name__ == "__main__":
    main()
