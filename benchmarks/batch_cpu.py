"""CPU per warm one-test batch: what it costs the container (its cgroup) and the host process.

Wall-clock latency moves 20-30x with the load of other jobs on a shared machine; the CPU a
batch costs moves far less, so this shows what a change to the per-batch path saved even when
the latency figures cannot. One container (a pool of one), 30 batches of a one-test Python
program 50 ms apart, the same program and a new one each batch; the container's CPU is read
from its cgroup (``cpuacct``, cgroup v1, or ``cpu.stat``, v2) before and after, so it holds
everything the batches caused there: agent, fork server start, test, clean-up.
``--old PATH`` measures another checkout too (``git worktree add --detach PATH <commit>``),
the two taking turns ``--rounds`` times.

    .venv/bin/python benchmarks/batch_cpu.py [--old PATH] [--rounds 2] [--batches 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
HERE = Path(__file__).resolve().parents[1]


def container_cpu_ms(cid: str) -> float:
    """The container's CPU so far, in ms (cgroup v1 or v2, as Docker lays them out)."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e6
    v2_places = (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope", f"/sys/fs/cgroup/docker/{cid}")
    for v2 in (Path(place) / "cpu.stat" for place in v2_places):
        if v2.exists():
            return int(v2.read_text().split()[1]) / 1e3
    raise SystemExit("the container's cgroup was not found (run on the Docker host)")


async def measure(batches: int) -> str:
    """Child mode: one pool of one container, both cases; one line of figures."""
    import anyio

    from sandbox import DockerConfig, Limits, Program, TestCase, open_sandbox

    test = [TestCase(stdin="3 4 5 2\n", expected="11\n", name="0")]
    async with open_sandbox(DockerConfig(pool_size=1)) as box:
        await box.warm(Limits())
        # Every container of the backend (which one a batch lands in is the backend's choice;
        # an express container, tried for a while, made that more than one); an idle one costs ~nothing.
        cids = [slot.container.id for slot in box._all]  # type: ignore[attr-defined]
        cells = []
        for kind in ("same", "new"):
            for i in range(3):  # unmeasured: the program's first batches, the pool settling
                await box.run_tests(Program.single("python", f"{PY}# warm {kind} {i}\n"), test, Limits())
            await anyio.sleep(0.3)
            cpu, host = sum(map(container_cpu_ms, cids)), time.process_time()
            for i in range(batches):
                source = PY if kind == "same" else f"{PY}# {i} {time.time()}\n"
                await box.run_tests(Program.single("python", source), test, Limits())
                await anyio.sleep(0.05)
            await anyio.sleep(0.3)  # the last batch's clean-up and next fork server start
            per_container = (sum(map(container_cpu_ms, cids)) - cpu) / batches
            per_host = (time.process_time() - host) * 1000 / batches
            cells.append(f"{kind} program: container {per_container:6.2f} ms, host {per_host:5.2f} ms")
        return " | ".join(cells)


def main() -> None:
    """Parse flags; run each tree's child in turn; print one line per run with the load."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import anyio

        print(anyio.run(measure, args.batches))
        return
    trees = [("new", HERE)] + ([("old", args.old.resolve())] if args.old else [])
    print(f"CPU per one-test batch ({args.batches} batches, 50 ms apart, a pool of one)")
    for _ in range(args.rounds):
        for name, tree in trees:
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            env = {**os.environ, "PYTHONPATH": str(tree)}
            argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--batches", str(args.batches)]
            out = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=True).stdout
            print(f"  {name} (load {load}): {out.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
