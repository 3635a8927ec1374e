"""Store headroom: how many finished problems per second the driver's single store writer absorbs.

On a cluster every result comes back to the driver as the store's record in
JSON; the driver parses it (``ProblemResult.model_validate_json``, as a Ray
lane does) and its one writer applies it in one transaction and writes the
problem's trace file. This feeds the writer as fast as it takes results, for
problems shaped like an S* solve with N candidates (N candidates × 2 rounds of
code, N + 10 executions, 2N + 10 trace events of ~1.5 KB each, as the engine
records), and prints results per second. Goal: >= 200/s, so that the store is
not the bottleneck below hundreds of nodes.

    .venv/bin/python benchmarks/store_headroom.py [--count 400] [-n 8 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio

from codesolve import __version__
from codesolve.runs.records import (
    CandidateRound,
    EventRow,
    Execution,
    ProblemResult,
    ProblemRow,
    RunConfig,
    Selection,
    UsageRow,
)
from codesolve.runs.store import RunStore, open_writer
from codesolve.sstar import EngineConfig

CODE = "import sys\n" + "\n".join(f"x{i} = sum(map(int, sys.stdin.readline().split()))  # step {i}" for i in range(12))


def shaped(i: int, n: int) -> str:
    """One problem's result (JSON, as a node sends it) with ``n`` candidates."""
    pid = f"bench/{i:05d}"
    candidates = [
        CandidateRound(problem=pid, index=c, round=r, key=f"{c:012x}", code=CODE, passed=2, total=3,
                       verdicts=["AC", "AC", "WA"])
        for c in range(n) for r in range(2)
    ]  # fmt: skip
    executions = [
        Execution(problem=pid, seq=s, phase="public", candidate=f"{s:012x}", passed=3, total=3, verdicts=["AC"] * 3)
        for s in range(n + 10)
    ]
    events = [
        EventRow(problem=pid, seq=s, at=float(s), kind="llm" if s % 2 else "exec", phase="generate",
                 data={"prompt": "Read two integers. " * 40, "completion": CODE, "verdicts": ["AC"] * 3})
        for s in range(2 * n + 10)
    ]  # fmt: skip
    selection = Selection(problem=pid, candidate_key="0" * 12, candidate_index=0, code=CODE, selector="sstar",
                          why="one behaviour cluster", survivors=n, clusters=1)  # fmt: skip
    usage = [UsageRow(problem=pid, role="generator", phase="generate", calls=1, samples=n, prompt_tokens=900)]
    row = ProblemRow(id=pid, seq=i, source=f"bench.jsonl: line {i + 1}", status="done", wall_s=3.0, tokens=9000)
    result = ProblemResult(problem=row, problem_json='{"statement": "' + "Read two integers. " * 100 + '"}',
                           candidates=candidates, executions=executions, selection=selection, usage=usage,
                           events=events)  # fmt: skip
    return result.model_dump_json()


async def absorb(store: RunStore, replies: list[str]) -> float:
    """Seconds for the driver to parse and store every reply (until the writer has applied the last)."""
    started = time.perf_counter()
    async with open_writer(store) as writer:
        for reply in replies:
            await writer.put(ProblemResult.model_validate_json(reply))
        await writer.flush()
    return time.perf_counter() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400, help="results written per size")
    parser.add_argument("-n", type=int, nargs="+", default=[8, 64], help="candidates per problem")
    args = parser.parse_args()
    for n in args.n:
        replies = [shaped(i, n) for i in range(args.count)]
        size = sum(map(len, replies)) / len(replies)
        with tempfile.TemporaryDirectory() as tmp:
            config = RunConfig(name="headroom", version=__version__, problems=[], model="m", engine=EngineConfig())
            store = RunStore.create_or_resume(Path(tmp), config)
            wall = anyio.run(absorb, store, replies)
            db_mb = store.db_path.stat().st_size / 1e6
        rate = args.count / wall
        print(
            f"N={n:3d}: {args.count} results of {size / 1e3:.0f} KB JSON in {wall:.2f}s = {rate:.0f} results/s "
            f"(goal >= 200: {'met' if rate >= 200 else 'NOT met'}); store {db_mb:.1f} MB"
        )


if __name__ == "__main__":
    main()
