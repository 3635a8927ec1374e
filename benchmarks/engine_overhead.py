"""Engine overhead: wall time against the critical path, and judge calls against all-pairs.

The scripted model answers every call after a fixed latency L. The bundled example problems
are solved as one concurrent batch with N=8, R=2, and the script prints, side by side:

* the batch's wall time against its critical path: the longest chain of dependent model calls
  of any problem (generation → its longest debug chain → synthesis → each knockout comparison's
  distinguishing input and its verdicts) times L. Goal: within 1.1x (issue 17) at L = 0.25 s and 1 s.
* the same batch run sequentially (one model call at a time, one problem at a time).
* judge calls per problem of our selection against an all-pairs tournament on the same
  candidate pools (3 calls per pair: a distinguishing input and both orderings).

``--timeline`` also prints every sandbox batch of the concurrent run (when it was asked for,
when it ended, its size) and every model call's completion, on one clock: where the time
between the critical path's model calls went. ``--repeat K`` solves the batch K times on the
same pool (each with a new scripted server and client) and prints every ratio and the median:
one run on a shared 2-core machine says little. (Later repeats find the same programs already
checked in the pool's containers, so they may read lower than separate runs: for old-vs-new
figures, repeat in both trees or run each tree several times, taking turns.)

Two flags take the ratio apart. ``--replay`` records every batch's outcomes in the first run
and answers the same batches of later repeats from that record at once, taking no container:
those repeats measure the engine and the model client alone, as if the sandbox cost nothing
(a batch the first run never asked for still runs, and is counted). ``--only ID`` solves one
of the problems alone: its own chain, with no other problem's work beside it. ``--stretches``
prints where the longest chain's time beyond its calls' latencies went, read back from its trace
(:mod:`codesolve.sstar.chain`): the wait before each step of the chain and how long each step took
beyond L, medians over the repeats (the replayed ones only, with ``--replay``).

    .venv/bin/python benchmarks/engine_overhead.py [--latency 0.5] [--n 8] [--rounds 2] [--skip-sequential] [--cold]
        [--timeline] [--repeat 1] [--pool 2] [--replay] [--only examples/second-largest]
        [--stretches] [--no-judge-ahead] [--floor]

``--floor`` also solves, after each concurrent batch, its longest-chain problem alone on the same
pool and prints that ratio beside the batch's: no order of the batch's work can make the batch
beat it, so when it is over the goal the goal is below what this machine can do that day.

``--no-judge-ahead`` turns off asking the judge's first call beside synthesis
(:mod:`codesolve.sstar.ahead`): the chain then has one more step, as before it existed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import anyio.lowlevel
from hostspeed import summary

from codesolve.llm import LLM, LLMConfig, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.heap import freeze_startup_heap
from codesolve.runs.single import solve_one
from codesolve.sstar import EngineConfig, Solution, Trace
from codesolve.sstar.chain import chain, stretches
from codesolve.tasks import load_problems
from codesolve.tasks.models import CompetitiveProblem
from sandbox import (
    CheckerSpec,
    DockerConfig,
    Limits,
    Program,
    Sandbox,
    TestCase,
    TestOutcome,
    open_sandbox,
)
from sandbox.forwarding import Forwarding

EXAMPLES = Path(__file__).resolve().parents[1] / "problems" / "examples"


class Timeline(Forwarding):
    """A sandbox that notes when each batch was asked for and when it ended (it runs them all
    on the sandbox it wraps, which its owner closes)."""

    def __init__(self, box: Sandbox) -> None:
        super().__init__(box, owns=False)
        self.start = time.monotonic()
        self.batches: list[tuple[float, float, int, str]] = []

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """Run on the wrapped sandbox, noting the times."""
        asked = time.monotonic() - self.start
        try:
            return await super().run_tests(program, tests, limits, checker, fail_fast)
        finally:
            name = str(abs(hash(program.files)) % 10_000)
            self.batches.append((asked, time.monotonic() - self.start, len(tests), f"{program.language} #{name}"))

    def print(self, results: list[tuple[Solution, Trace]], solve_start: float) -> None:
        """Every batch and every model call's completion, in time order (seconds from the start)."""
        rows = [(a, f"  {a:6.3f} -> {b:6.3f}  sandbox {n:3d} tests  {what}") for a, b, n, what in self.batches]
        offset = solve_start - self.start
        for solution, trace in results:
            for event in trace.events:
                if event.kind == "llm":
                    at = event.at + offset  # (each problem's recorder starts when its solve does)
                    rows.append((at, f"  {at:6.3f}            model call done  {event.phase:<10} {solution.task_id}"))
        print("timeline (s; a model call is placed from its problem's solve start, within a millisecond):")
        for _, row in sorted(rows):
            print(row)


class Replay(Forwarding):
    """A sandbox that records each batch's outcomes and, once :attr:`replaying`, answers a batch
    it has seen from the record at once (no container taken); an unseen one runs and is counted."""

    def __init__(self, box: Sandbox) -> None:
        super().__init__(box, owns=False)
        self.replaying = False
        self.unseen = 0
        self.record: dict[tuple[object, ...], list[TestOutcome]] = {}

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """The recorded outcomes when replaying a batch seen before; else run and record them."""
        key = (program, tuple(tests), limits, checker, fail_fast)
        if self.replaying:
            if key in self.record:
                await anyio.lowlevel.checkpoint()  # a batch is still an await, as the real one is
                return list(self.record[key])
            self.unseen += 1
        outcomes = await super().run_tests(program, tests, limits, checker, fail_fast)
        self.record[key] = list(outcomes)
        return outcomes


def chain_length(trace: Trace) -> int:
    """Dependent model calls on this problem's longest path (see :mod:`codesolve.sstar.chain`)."""
    return len(chain(trace))


def longest(results: list[tuple[Solution, Trace]]) -> tuple[Solution, Trace]:
    """The result whose chain is longest (the first by problem id among equals)."""
    return max(sorted(results, key=lambda r: r[0].task_id), key=lambda r: chain_length(r[1]))


def longest_stretches(results: list[tuple[Solution, Trace]], latency: float) -> list[tuple[str, float]]:
    """Where the longest chain's time beyond its calls' latencies went."""
    _, trace = longest(results)
    return stretches(chain(trace), latency, max(e.at for e in trace.events))


async def alone_ratio(
    problem: CompetitiveProblem, box: Sandbox, scenario: Scenario, config: EngineConfig, latency: float
) -> float:
    """One problem solved with nothing beside it: wall time over its own chain's latencies."""
    wall, [(_, trace)], _ = await run_batch([problem], box, scenario, config, sequential=False)
    return wall / (chain_length(trace) * latency)


def print_floor(ratios: list[float], alone: list[tuple[str, float]]) -> None:
    """The batch's ratios beside its longest-chain problem's alone (which, named), taken in turns."""
    alone_ratios = [r for _, r in alone]
    print(f"  floor: {', '.join(sorted({i for i, _ in alone}))} alone after each batch, taking turns with it")
    print(f"    batch  {', '.join(f'{r:.2f}' for r in ratios)}: median {statistics.median(ratios):.2f}x")
    print(f"    alone  {', '.join(f'{r:.2f}' for r in alone_ratios)}: median {statistics.median(alone_ratios):.2f}x")
    verdict = "over" if statistics.median(alone_ratios) > 1.1 else "within"
    print(f"    the longest chain alone is {verdict} the 1.1x goal (no order of the batch's work beats it)")


def print_stretches(runs: list[list[tuple[str, float]]]) -> None:
    """Each stretch's median over the runs (those whose chain has the first run's shape)."""
    same = [run for run in runs if [n for n, _ in run] == [n for n, _ in runs[0]]]
    medians = [(name, statistics.median(run[i][1] for run in same)) for i, (name, _) in enumerate(runs[0])]
    print(f"  the longest chain beyond its calls' latencies, ms (medians of {len(same)} runs):")
    print("    " + " | ".join(f"{name} {seconds * 1000:.1f}" for name, seconds in medians))
    print(f"    sum {sum(t for _, t in medians) * 1000:.0f} ms")


def all_pairs_calls(solution: Solution) -> int:
    """Judge calls of a tournament over every pair of distinct survivors."""
    m = solution.survivors
    return 3 * m * (m - 1) // 2


async def run_batch(
    problems: list[CompetitiveProblem], box: Sandbox, scenario: Scenario, config: EngineConfig, sequential: bool
) -> tuple[float, list[tuple[Solution, Trace]], float]:
    """Solve every problem (concurrently unless ``sequential``); return wall time, results, and
    when the solves started (``time.monotonic``)."""
    results: list[tuple[Solution, Trace]] = []
    with ScriptedServer(scenario) as server:
        endpoint = scripted_endpoint(server, timeout_s=60, max_concurrency=1 if sequential else 64)
        async with LLM(LLMConfig(default=endpoint), env=server.env) as llm:
            start, started = time.perf_counter(), time.monotonic()

            async def one(problem: CompetitiveProblem) -> None:
                result = await solve_one(problem, box, llm, config)
                results.append((result.solution, result.trace))

            if sequential:
                for problem in problems:
                    await one(problem)
            else:
                async with anyio.create_task_group() as group:
                    for problem in problems:
                        group.start_soon(one, problem)
            return time.perf_counter() - start, results, started


async def main_async(args: argparse.Namespace) -> None:
    """Run both batches and print the comparison."""
    problems = [p for p in load_problems(EXAMPLES / "examples.yaml") if isinstance(p, CompetitiveProblem)]
    if args.only:
        problems = [p for p in problems if p.id == args.only]
        if not problems:
            raise SystemExit(f"--only: no example problem {args.only!r}")
    base = Scenario.from_file(EXAMPLES / "demo_scenario.yaml")
    scenario = base.model_copy(update={"rules": [r.model_copy(update={"latency_s": args.latency}) for r in base.rules]})
    config = EngineConfig(n=args.n, rounds=args.rounds, judge_ahead=not args.no_judge_ahead)
    host = summary()  # before the pool: its containers' start-up would be in the figures
    async with open_sandbox(DockerConfig(pool_size=args.pool)) as box:
        if not args.cold:
            # As a long-running service (or a batch after its first problems) has it: the
            # containers' start-up is not the engine's overhead, and at L = 0.25 s it is
            # longer than the first model call it hides behind.
            first = problems[0]
            await box.warm(Limits(cpu_seconds=first.time_limit_s, memory_mb=max(first.memory_mb, 64)))
        ratios: list[float] = []
        walls: list[float] = []
        parts: list[list[tuple[str, float]]] = []
        alone: list[tuple[str, float]] = []
        replay = Replay(box)
        for repeat in range(args.repeat):
            replay.replaying = args.replay and repeat > 0
            inner: Sandbox = replay if args.replay else box
            timeline = Timeline(inner)
            wall, results, solve_start = await run_batch(
                problems, timeline if args.timeline else inner, scenario, config, sequential=False
            )
            steps = max(chain_length(trace) for _, trace in results)
            critical = steps * args.latency
            ratios.append(wall / critical)
            walls.append(wall)
            parts.append(longest_stretches(results, args.latency))
            if len(ratios) == 1:
                pool = f"{'cold' if args.cold else 'warm'} pool of {args.pool}"
                pool += " (containers started in the measured time)" if args.cold else ""
                print(f"{len(problems)} problems, N={args.n}, R={args.rounds}, model latency L={args.latency}s, {pool}")
                print(f"  {host}")
            if args.timeline:
                timeline.print(results, solve_start)
            print(f"  batch wall time            {wall:7.2f} s")
            print(f"  critical path ({steps} calls x L) {critical:7.2f} s   ratio {ratios[-1]:5.2f}x   goal <= 1.1x")
            if replay.replaying:
                print(f"  (sandbox replayed from the first run; batches it had not seen, run: {replay.unseen})")
            if args.floor:
                [slowest] = [p for p in problems if p.id == longest(results)[0].task_id]
                alone.append((slowest.id, await alone_ratio(slowest, box, scenario, config, args.latency)))
        seq_wall = 0.0 if args.skip_sequential else (await run_batch(problems, box, scenario, config, True))[0]
    print_summary(args, Runs(ratios, walls, parts, alone, seq_wall), results)


@dataclass(frozen=True)
class Runs:
    """What the runs measured: one entry per concurrent batch, then the sequential run."""

    ratios: list[float]
    walls: list[float]
    parts: list[list[tuple[str, float]]]
    alone: list[tuple[str, float]]
    """With ``--floor``: the longest-chain problem (its id) and its ratio alone, after each batch."""
    sequential: float
    """The sequential run's wall time (0: not run)."""


def print_summary(args: argparse.Namespace, runs: Runs, results: list[tuple[Solution, Trace]]) -> None:
    """Medians over the repeats, the floor and stretches if asked, the sequential run's wall time
    (0: not run) against the last concurrent one, and each problem's judge calls."""
    ratios, walls, parts, alone, sequential = runs.ratios, runs.walls, runs.parts, runs.alone, runs.sequential
    if len(ratios) > 1:
        print(f"  ratios {', '.join(f'{r:.2f}' for r in ratios)}: median {statistics.median(ratios):.2f}x")
        print(f"  wall times {', '.join(f'{w:.2f}' for w in walls)} s: median {statistics.median(walls):.2f} s")
    if args.replay and len(ratios) > 1:
        print(f"  replayed repeats only: median {statistics.median(ratios[1:]):.2f}x")
    if alone:
        print_floor(ratios, alone)
    if args.stretches:
        print_stretches(parts[1:] if args.replay and len(parts) > 1 else parts)
    if sequential:
        print(f"  sequential run             {sequential:7.2f} s   speed-up {sequential / walls[-1]:5.1f}x")
    print("  judge calls per problem: ours vs all-pairs tournament on the same survivors")
    for solution, trace in sorted(results, key=lambda r: r[0].task_id):
        print(
            f"    {solution.task_id:<28} survivors {solution.survivors}  clusters {solution.clusters}  "
            f"ours {solution.judge_calls:3d}  all-pairs {all_pairs_calls(solution):3d}  chain {chain_length(trace)}"
        )


def main() -> None:
    """Parse flags and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-sequential", action="store_true", help="only the concurrent batch")
    parser.add_argument("--cold", action="store_true", help="start the containers inside the measured time")
    parser.add_argument("--timeline", action="store_true", help="print every batch and model call of the run")
    parser.add_argument("--repeat", type=int, default=1, help="concurrent batches to measure on the same pool")
    parser.add_argument("--pool", type=int, default=2, help="containers in the sandbox pool")
    parser.add_argument("--replay", action="store_true", help="repeats after the first replay its batches at once")
    parser.add_argument("--only", default="", help="solve only this example problem (e.g. examples/mean)")
    parser.add_argument("--stretches", action="store_true", help="where the longest chain's time went (medians)")
    parser.add_argument(
        "--no-judge-ahead", action="store_true", help="the judge's first call only after the whole table (as before)"
    )
    parser.add_argument("--floor", action="store_true", help="the longest-chain problem alone after each batch")
    args = parser.parse_args()
    if args.repeat < 1 or args.pool < 1:
        parser.error("--repeat and --pool must be at least 1")
    if args.floor and args.replay:
        parser.error("--floor runs the sandbox for real: not with --replay")
    freeze_startup_heap()  # as every command of the CLI does before its event loop
    anyio.run(main_async, args)


if __name__ == "__main__":
    main()
