"""Latency of a small batch: what the engine's own traffic looks like, side by side.

Every debugging round runs one candidate on its 1-3 public tests, and every distinguishing
input is a one-test batch, so the latency of a one-test batch (not the throughput of a big
one) sets how far the engine is from its critical path at fast model latencies. Measured end
to end through the public ``Sandbox.run_tests`` on a warm Docker pool (default: 2 containers):

* Python, the same program again (the engine re-runs a candidate on synthesized inputs);
* Python, a new program every batch (a debugging round's fixed candidate);
* C++, the same program again (already compiled), and a new program every batch (a compile).

Each is run with batches back to back, and with ``--gap`` seconds between them (the engine's
batches are separated by model calls). ``--old PATH`` runs the same measurement on another
checkout (e.g. ``git worktree add --detach /tmp/old <commit>``), alternating with this one.

    .venv/bin/python benchmarks/latency.py [--batches 40] [--gap 0.1] [--old PATH] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
CPP = (
    '#include <cstdio>\nint main(){int n;long long s=0,x;if(scanf("%d",&n)!=1)return 1;'
    'for(int i=0;i<n;i++){scanf("%lld",&x);s+=x;}printf("%lld\\n",s);}\n'
)
CASES = ("python same", "python new", "cpp same", "cpp new")
HERE = Path(__file__).resolve().parents[1]


async def measure(batches: int, gap: float) -> dict[str, list[float]]:
    """Milliseconds per one-test batch, per case and spacing (run inside the tree measured)."""
    import anyio

    from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, open_sandbox

    test = [TestCase(stdin="3 4 5 2\n", expected="11\n", name="0")]
    out: dict[str, list[float]] = {}
    async with open_sandbox(DockerConfig()) as box:
        await box.warm(Limits())
        for case in CASES:
            language, kind = case.split()
            source = PY if language == "python" else CPP
            count = batches if kind == "same" or language == "python" else max(4, batches // 5)
            for spacing in (0.0, gap):
                times: list[float] = []
                for i in range(count + 2):  # two unmeasured: the pool's first batches of this program
                    text = source + (f"// {i} {spacing}\n" if language == "cpp" else f"# {i} {spacing}\n")
                    program = Program.single(language, source if kind == "same" else text)
                    await anyio.sleep(spacing)
                    start = time.perf_counter()
                    outcomes = await box.run_tests(program, test, Limits())
                    took = (time.perf_counter() - start) * 1000
                    assert outcomes[0].verdict is Verdict.AC, outcomes
                    if i >= 2:
                        times.append(took)
                out[f"{case}|{spacing}"] = times
    return out


def child(batches: int, gap: float) -> None:
    """Measure in this process and print the figures as JSON (the parent reads them)."""
    import anyio

    print(json.dumps(anyio.run(measure, batches, gap)))


def run_tree(tree: Path, batches: int, gap: float) -> dict[str, list[float]]:
    """Measure the code of ``tree`` in a child process."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--batches", str(batches), "--gap", str(gap)]
    proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, list[float]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def load() -> str:
    """The machine's load average (other jobs share it)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    """Parse flags, measure each tree ``--rounds`` times (alternating), print medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.1)
    parser.add_argument("--old", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.batches, args.gap)
        return
    trees = [("new", HERE)] + ([("old", args.old.resolve())] if args.old else [])
    runs: dict[str, list[dict[str, list[float]]]] = {name: [] for name, _ in trees}
    for _ in range(args.rounds):
        for name, tree in trees:
            before = load()
            runs[name].append(run_tree(tree, args.batches, args.gap))
            print(f"  measured {name} (load average {before} -> {load()})", file=sys.stderr)
    print(f"one-test batch, ms (median / p90 / max over {args.rounds} run(s)); goal: python same <= 10 ms")
    for key in runs["new"][0]:
        case, spacing = key.split("|")
        label = f"{case:<12} {'back to back' if float(spacing) == 0 else f'{spacing} s apart':<13}"
        cells = []
        for name, _ in trees:
            times = [t for run in runs[name] for t in run[key]]
            cut = sorted(times)[int(0.9 * (len(times) - 1))]
            cells.append(f"{name} {statistics.median(times):6.1f} / {cut:6.1f} / {max(times):7.1f}")
        print(f"  {label} " + "   ".join(cells))


if __name__ == "__main__":
    main()
