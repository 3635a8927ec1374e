"""Batch throughput and memory: ``codesolve batch`` against a scripted model at a fixed latency.

Problems: the bundled sets' problems with a Python reference and public tests
(``problems/function``, ``problems/leetcode``), repeated under new ids and titles
(so every prompt, and so every cache key, is distinct) up to the count asked.
The scripted model answers each generation with N copies of the reference in
two spellings (two distinct programs that behave alike), so each problem's
critical path is: generation (L) → public tests → synthesis (L) → behaviour
runs → one cluster, no judge.

1. Critical path: the median per-problem wall time of a batch run one problem
   at a time (K = 1).
2. Throughput: 100 problems at concurrency K; its wall time (the store's
   batch session) against the ideal, problems × critical path ÷ K.
3. Memory: peak RSS of the whole ``codesolve batch`` process at 100 and at
   1,000 problems (a short latency, same K).

    .venv/bin/python benchmarks/batch_throughput.py [--latency 1.0] [-k 8] [--skip-memory]
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codesolve.llm import SCRIPTED_KEY_ENV, Rule, Scenario, ScriptedServer
from codesolve.tasks import dump_problems, load_problems
from codesolve.tasks.models import CompetitiveProblem

ROOT = Path(__file__).resolve().parents[1]
SETS = [ROOT / "problems" / "function" / "problems.jsonl.gz", ROOT / "problems" / "leetcode" / "problems.jsonl.gz"]
N = 4


def base_problems() -> list[tuple[CompetitiveProblem, str]]:
    """Bundled problems with a Python reference and public tests, with that reference."""
    found = []
    for path in SETS:
        for p in load_problems(path):
            ref = next((s for s in getattr(p, "solutions", []) if s.label == "reference"), None)
            if isinstance(p, CompetitiveProblem) and ref is not None and p.public_tests:
                found.append((p, ref.code))
    return found


def problem_set(count: int, path: Path, spellings: int = 2) -> Scenario:
    """Write ``count`` problems to ``path``; the scenario answering them (``spellings`` distinct programs each)."""
    base = base_problems()
    problems, rules, seen = [], [], set()
    for i in range(count):
        p, code = base[i % len(base)]
        copy = i // len(base)
        problems.append(p.model_copy(update={"id": f"{p.id}#{copy}", "title": f"{p.title or p.id} (copy {copy})"}))
        key = p.statement.strip()[:120]
        if key not in seen:
            seen.add(key)
            replies = [f"```python\n{code.rstrip()}\n```", f"```python\n{code.rstrip()}\n# second spelling\n```"]
            rules.append(Rule(match=re.escape(key), content=[replies[i % spellings] for i in range(N)]))
    dump_problems(problems, path)
    return Scenario(rules=[Rule(match="VALID test inputs", content="No further inputs."), *rules])


POOL: list[str] = []
"""Extra flags for every batch (``--pool-size``)."""


def run_batch(problems: Path, runs: Path, name: str, url: str, k: int) -> tuple[float, int, float]:
    """One batch in a child process: (process wall seconds, peak RSS in KiB of the batch process, session wall)."""
    cmd = [
        sys.executable, "-m", "codesolve.cli", "batch", str(problems), "--model", "scripted", "--base-url", url,
        "--api-key-env", SCRIPTED_KEY_ENV, "-n", str(N), "--rounds", "0", "-k", str(k), "--run", name,
        "--runs-dir", str(runs), "--progress", "plain", "--llm-concurrency", str(max(16, 2 * k)), *POOL,
    ]  # fmt: skip
    # A fresh wrapper per batch, so RUSAGE_CHILDREN's peak is this batch's alone.
    wrapper = (
        "import resource, subprocess, sys\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = {**os.environ, SCRIPTED_KEY_ENV: "bench"}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env, check=True)
    wall = time.monotonic() - started
    rc, rss = (int(x) for x in out.stdout.split())
    with sqlite3.connect(runs / name / "run.sqlite") as db:
        failed = db.execute("SELECT COUNT(*) FROM problems WHERE status != 'done'").fetchone()[0]
        session = db.execute("SELECT SUM(ended - started) FROM sessions WHERE kind = 'batch'").fetchone()[0]
    if rc != 0 or failed:
        print(f"  note: {name} exited {rc} with {failed} problems not done", file=sys.stderr)
    return wall, rss, float(session)


def critical_path(runs: Path, name: str) -> float:
    """Median per-problem wall time of a run."""
    with sqlite3.connect(runs / name / "run.sqlite") as db:
        return statistics.median(w for (w,) in db.execute("SELECT wall_s FROM problems WHERE status = 'done'"))


def main() -> int:
    """Measure and print side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model reply (default 1)")
    parser.add_argument("-k", type=int, default=8, help="problems at once (default 8)")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--memory-latency", type=float, default=0.05)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--pool-size", type=int, help="warm containers (default: the batch's own)")
    args = parser.parse_args()
    if args.pool_size:
        POOL.extend(["--pool-size", str(args.pool_size)])
    tmp = Path(tempfile.mkdtemp(prefix="codesolve-bench-"))
    load = os.getloadavg()[0]
    print(f"sandbox: Docker; L = {args.latency:g} s, K = {args.k}, N = {N}; load average {load:.1f}; runs in {tmp}")
    scenario = problem_set(args.problems, tmp / "p100.jsonl")
    with ScriptedServer(scenario.model_copy(update={"rules": [
        r.model_copy(update={"latency_s": args.latency}) for r in scenario.rules]})) as server:  # fmt: skip
        problem_set(10, tmp / "p10.jsonl")  # the first 10 of the same problems; the scenario answers them
        run_batch(tmp / "p10.jsonl", tmp, "alone", server.base_url, 1)
        cp = critical_path(tmp, "alone")
        wall, _rss, session = run_batch(tmp / "p100.jsonl", tmp, "many", server.base_url, args.k)
    ideal = args.problems * cp / args.k
    print(f"critical path (median of 10 problems solved alone): {cp:.2f} s  (2 model calls = {2 * args.latency:g} s)")
    print(f"{args.problems} problems at K={args.k}: batch session {session:.1f} s (process {wall:.1f} s), "
          f"ideal {ideal:.1f} s -> {session / ideal:.2f}x (process {wall / ideal:.2f}x)  goal <= 1.3x")  # fmt: skip
    if args.skip_memory:
        return 0
    results = {}
    for count in (100, 1000):
        # one program per problem: the sandbox (2 CPUs) is the slow part, and memory is what is measured
        scenario = problem_set(count, tmp / f"m{count}.jsonl", spellings=1)
        fast = scenario.model_copy(
            update={"rules": [r.model_copy(update={"latency_s": args.memory_latency}) for r in scenario.rules]}
        )
        with ScriptedServer(fast) as server:
            results[count] = run_batch(tmp / f"m{count}.jsonl", tmp, f"mem{count}", server.base_url, args.k)
    (w1, r1, _), (w2, r2, _) = results[100], results[1000]
    print(f"peak RSS: 100 problems {r1 / 1024:.1f} MiB ({w1:.0f} s), 1000 problems {r2 / 1024:.1f} MiB ({w2:.0f} s) "
          f"-> {r2 / r1:.2f}x  goal <= 1.5x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
