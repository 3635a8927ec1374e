"""``--adaptive`` against a fixed N on the same problems: tokens spent and pass@1 of both.

The model is real recorded output: CodeGen-16B's HumanEval samples, replayed by
the scripted OpenAI-compatible server (each generation request gets the task's
next recorded samples, in order). ``codesolve batch`` runs twice on the same
tasks, once with ``-n N`` and once with ``-n N --adaptive`` (first wave 4), with
the ``majority`` selector on LLM-free inputs and no debugging (the recorded
samples have no debug replies); ``codesolve eval`` judges both on the hidden
tests.

    .venv/bin/python benchmarks/adaptive_budget.py [--tasks 40] [-n 16] [-k 4]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from codesolve.llm import SCRIPTED_KEY_ENV, ScriptedServer
from codesolve.runs.metrics import compute
from codesolve.runs.samples import codet_replay

sys.path.insert(0, str(Path(__file__).resolve().parent))
from replay_samples import HUMANEVAL, LABELS, SAMPLES, codesolve


def run(ids: list[str], n: int, k: int, runs_dir: Path, name: str, extra: list[str]) -> tuple[float, int, float]:
    """Batch + eval one configuration on a fresh replay; (pass@1, tokens, seconds)."""
    scenario, _ = codet_replay(SAMPLES, LABELS, HUMANEVAL, set(ids), 100)
    started = time.monotonic()
    with ScriptedServer(scenario) as server:
        batch = codesolve(
            "batch", str(HUMANEVAL), "--id", ",".join(ids), "--model", "codegen-16b-replay", "--base-url",
            server.base_url, "--api-key-env", SCRIPTED_KEY_ENV, "-n", str(n), "--rounds", "0", "--selector",
            "majority", "-k", str(k), "--run", name, "--runs-dir", str(runs_dir), "--progress", "plain", "--new-run",
            *extra,
        )  # fmt: skip
    if batch.returncode not in (0, 1):
        raise SystemExit(f"batch {name} failed: {batch.stderr[-2000:]}")
    evaluated = codesolve("eval", str(runs_dir / name), "-k", str(k))
    if evaluated.returncode not in (0, 1):
        raise SystemExit(f"eval {name} failed: {evaluated.stderr[-2000:]}")
    with sqlite3.connect(runs_dir / name / "run.sqlite") as db:
        metrics = compute(db)
    return (metrics.pass_at_1 or 0.0), metrics.tokens, time.monotonic() - started


def main() -> int:
    """Fixed N, then adaptive, on the same tasks; print tokens saved and pass@1 of both."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40, help="first N HumanEval tasks of the samples file")
    parser.add_argument("-n", type=int, default=16, help="candidates of the fixed run (the adaptive run's cap)")
    parser.add_argument("-k", type=int, default=4, help="batch concurrency")
    args = parser.parse_args()
    ids = [json.loads(line)["task_id"] for line in LABELS.read_text().splitlines()[: args.tasks]]
    runs_dir = Path(tempfile.mkdtemp(prefix="codesolve-adaptive-"))
    fixed = run(ids, args.n, args.k, runs_dir, "fixed", [])
    adaptive = run(ids, args.n, args.k, runs_dir, "adaptive", ["--adaptive"])
    print(f"tasks {len(ids)}, N = {args.n}, selector majority (LLM-free inputs), rounds 0; runs in {runs_dir}")
    for name, (p1, tokens, seconds) in (("fixed", fixed), ("adaptive", adaptive)):
        print(f"  {name:<9} pass@1 {100 * p1:6.2f}%   tokens {tokens:>9}   {seconds:6.1f}s")
    saved = 1 - adaptive[1] / fixed[1] if fixed[1] else 0.0
    print(f"tokens saved by --adaptive: {100 * saved:.1f}%; pass@1 change {100 * (adaptive[0] - fixed[0]):+.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
