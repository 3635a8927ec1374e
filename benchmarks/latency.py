"""Latency of a small batch: what the engine's own traffic looks like, side by side.

Every debugging round runs one candidate on its 1-3 public tests, and every distinguishing
input is a one-test batch, so the latency of a one-test batch (not the throughput of a big
one) sets how far the engine is from its critical path at fast model latencies. Measured end
to end through the public ``Sandbox.run_tests`` on a warm Docker pool (default: 2 containers):

* Python, the same program again (the engine re-runs a candidate on synthesized inputs);
* Python, a new program every batch (a debugging round's fixed candidate);
* a call-based Python function, the same program again (LeetCode-style problems: the
  arguments are a literal, the answer a value);
* C++, the same program again (already compiled), and a new program every batch (a compile).

Each is run with batches back to back, and with ``--gap`` seconds between them (the engine's
batches are separated by model calls). ``--old PATH`` runs the same measurement on another
checkout (e.g. ``git worktree add --detach /tmp/old <commit>``) in a second child process, the
two taking turns every ``--block`` batches, so that both see the same load.

    .venv/bin/python benchmarks/latency.py [--batches 40] [--block 5] [--gap 0.1] [--old PATH]
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

from hostspeed import summary

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
CPP = (
    '#include <cstdio>\nint main(){int n;long long s=0,x;if(scanf("%d",&n)!=1)return 1;'
    'for(int i=0;i<n;i++){scanf("%lld",&x);s+=x;}printf("%lld\\n",s);}\n'
)
CALL = "def total(xs):\n    return sum(xs)\n"
"""A call-based program (a LeetCode-style function): its arguments are a literal, its answer a value."""
CASES = ("python same", "python new", "call same", "cpp same", "cpp new")
HERE = Path(__file__).resolve().parents[1]


async def serve() -> None:
    """Child mode: run the batches the parent asks for, one JSON command a line on stdin
    (``[case, spacing, count, salt]``), answering each with the milliseconds of each batch."""
    import anyio

    from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, open_sandbox

    test = [TestCase(stdin="3 4 5 2\n", expected="11\n", name="0")]
    call_test = [TestCase(call_args="[[4, 5, 2]]", expected="11", name="0")]
    async with open_sandbox(DockerConfig()) as box:
        await box.warm(Limits())
        print(json.dumps("ready"), flush=True)
        while line := await anyio.to_thread.run_sync(sys.stdin.readline):
            case, spacing, count, salt = json.loads(line)
            language, kind = case.split()
            source = {"python": PY, "call": CALL}.get(language, CPP)
            tests = call_test if language == "call" else test
            times: list[float] = []
            for i in range(count):
                mark = f"// {salt} {i}\n" if language == "cpp" else f"# {salt} {i}\n"
                text = source if kind == "same" else source + mark
                if language == "call":
                    program = Program.single("python", text, function="total")
                else:
                    program = Program.single(language, text)
                await anyio.sleep(spacing)
                start = time.perf_counter()
                outcomes = await box.run_tests(program, tests, Limits())
                times.append((time.perf_counter() - start) * 1000)
                assert outcomes[0].verdict is Verdict.AC, outcomes
            print(json.dumps(times), flush=True)


class Side:
    """One tree's measuring child process."""

    def __init__(self, name: str, tree: Path) -> None:
        self.name = name
        env = {**os.environ, "PYTHONPATH": str(tree)}
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve"]
        self.proc = subprocess.Popen(argv, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ask_line()

    def ask_line(self, command: object = None) -> object:
        """Send a command (if any) and read the answer line."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} side died")
        return json.loads(line)

    def close(self) -> None:
        """End the child (it closes its pool)."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(120)


def load() -> str:
    """The machine's load average (other jobs share it)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    """Parse flags; measure the trees in alternating blocks of ``--block`` batches; print medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--block", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.1)
    parser.add_argument("--old", type=Path, default=None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        import anyio

        anyio.run(serve)
        return
    before = load()
    host = summary()
    sides = [Side("new", HERE)] + ([Side("old", args.old.resolve())] if args.old else [])
    times: dict[tuple[str, str, float], list[float]] = {}
    salt = 0
    try:
        for case in CASES:
            count = args.batches if case.endswith("same") or case.startswith("python") else max(4, args.batches // 5)
            for spacing in (0.0, args.gap):
                for side in sides:  # unmeasured: each pool's first batches of this program
                    side.ask_line([case, spacing, 2, salt])
                done = 0
                while done < count:
                    block = min(args.block, count - done)
                    for side in sides if done % (2 * args.block) == 0 else sides[::-1]:
                        salt += 1
                        got = side.ask_line([case, spacing, block, salt])
                        assert isinstance(got, list)
                        times.setdefault((side.name, case, spacing), []).extend(got)
                    done += block
    finally:
        for side in sides:
            side.close()
    print(f"one-test batch, ms: median / p90 / max; sides alternate every {args.block} batches")
    print(f"load average {before} -> {load()}; goal: python same <= 10 ms median")
    print(host)
    for case in CASES:
        for spacing in (0.0, args.gap):
            label = f"{case:<12} {'back to back' if spacing == 0 else f'{spacing} s apart':<13}"
            cells = []
            for side in sides:
                got = sorted(times[(side.name, case, spacing)])
                p90 = got[int(0.9 * (len(got) - 1))]
                cells.append(f"{side.name} {statistics.median(got):6.1f} / {p90:6.1f} / {got[-1]:7.1f}")
            print(f"  {label} " + "   ".join(cells))


if __name__ == "__main__":
    main()
