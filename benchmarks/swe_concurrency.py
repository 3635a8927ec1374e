"""``codesolve swe -k K`` against ``-k 1`` on the same instances, side by side in one run.

    .venv/bin/python benchmarks/swe_concurrency.py [INSTANCES REPOS] [--k 3] [--mode gold|empty] [--rounds 2]

Each round runs the batch at ``-k 1`` then at ``-k K`` (fresh run folders; the environment
images are cached after the first build, so the first round is a warm-up and is not counted),
and prints both wall times, their ratio and the load average around the pair. The default set is
the bundled mini set (``problems/swe``) with the gold patches: environment, checkout, grading
— everything but the model.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def batch(instances: Path, repos: Path, mode: str, k: int, out: Path) -> float:
    """Wall seconds of one ``codesolve swe`` session (it must resolve or grade every instance)."""
    command = [sys.executable, "-m", "codesolve.cli", "swe", str(instances), "--repos", str(repos),
               f"--{mode}", "-k", str(k), "--out", str(out), "--progress", "plain"]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"-k {k} failed: {done.stderr[-2000:]}")
    return took


def main() -> None:
    """Warm-up, then ``--rounds`` pairs; one line per pair and the median ratio."""
    p = argparse.ArgumentParser()
    p.add_argument("instances", type=Path, nargs="?", default=ROOT / "problems/swe/instances.jsonl")
    p.add_argument("repos", type=Path, nargs="?", default=ROOT / "problems/swe/repos")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--mode", choices=["gold", "empty"], default="gold")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        batch(args.instances, args.repos, args.mode, args.k, Path(tmp) / "warm")
        for n in range(args.rounds):
            load = os.getloadavg()[0]
            one = batch(args.instances, args.repos, args.mode, 1, Path(tmp) / f"k1-{n}")
            many = batch(args.instances, args.repos, args.mode, args.k, Path(tmp) / f"kk-{n}")
            ratios.append(one / many)
            print(f"round {n + 1}: -k 1 {one:6.1f}s  -k {args.k} {many:6.1f}s  speed-up {one / many:4.2f}x"
                  f"  (load average {load:.1f} → {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")  # fmt: skip
    ratios.sort()
    print(f"median speed-up of -k {args.k} over -k 1: {ratios[len(ratios) // 2]:.2f}x")


if __name__ == "__main__":
    main()
