"""Real CodeGen-16B samples end to end: replay, batch, eval, and agreement with the dataset's labels.

The recorded samples of ../shared/data/samples/ are served by the scripted
OpenAI-compatible server on loopback; ``codesolve batch`` (rounds 0, selector
``first``), ``codesolve eval`` and ``codesolve report`` run as the user runs
them. Then every candidate's hidden verdict is compared with its label, and
pass@1 and oracle with what the labels say for the same samples.

    .venv/bin/python benchmarks/replay_samples.py [--tasks 164] [-n 10] [-k 8]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codesolve.llm import SCRIPTED_KEY_ENV, ScriptedServer
from codesolve.runs.samples import codet_replay, label_agreement

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SAMPLES = DATA / "samples" / "codet_HumanEval_codegen16B_100samples.jsonl"
LABELS = DATA / "samples" / "codet_HumanEval_codegen16B_100samples.LABELS.jsonl"
HUMANEVAL = DATA / "function" / "HumanEval.jsonl.gz"


def codesolve(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would."""
    env = {**os.environ, SCRIPTED_KEY_ENV: "replay"}
    cmd = [sys.executable, "-m", "codesolve.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=3600)


def main() -> int:
    """Replay, batch, eval, report; print the agreement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=164, help="first N HumanEval tasks of the samples file")
    parser.add_argument("-n", type=int, default=10, help="samples per task (of 100)")
    parser.add_argument("-k", type=int, default=8, help="batch concurrency")
    parser.add_argument("--runs-dir", type=Path, default=None)
    args = parser.parse_args()
    ids = [json.loads(line)["task_id"] for line in LABELS.read_text().splitlines()[: args.tasks]]
    scenario, labels = codet_replay(SAMPLES, LABELS, HUMANEVAL, set(ids), args.n)
    runs_dir = args.runs_dir or Path(tempfile.mkdtemp(prefix="codesolve-replay-"))
    with ScriptedServer(scenario) as server:
        started = time.monotonic()
        batch = codesolve(
            "batch", str(HUMANEVAL), "--id", ",".join(ids), "--model", "codegen-16b-replay", "--base-url",
            server.base_url, "--api-key-env", SCRIPTED_KEY_ENV, "-n", str(args.n), "--rounds", "0",
            "--selector", "first", "-k", str(args.k), "--run", "replay", "--runs-dir", str(runs_dir),
            "--progress", "plain", "--new-run",
        )  # fmt: skip
        solved_s = time.monotonic() - started
    print(batch.stderr[-2000:], file=sys.stderr)
    started = time.monotonic()
    evaluated = codesolve("eval", str(runs_dir / "replay"), "-k", str(args.k))
    eval_s = time.monotonic() - started
    report = codesolve("report", str(runs_dir / "replay"), "--html", str(runs_dir / "replay.html"))
    print(report.stdout)
    with sqlite3.connect(runs_dir / "replay" / "run.sqlite") as db:
        found = label_agreement(db, labels)
    print(f"tasks {len(labels)}, samples per task {args.n}; batch {solved_s:.1f}s (exit {batch.returncode}), "
          f"eval {eval_s:.1f}s (exit {evaluated.returncode})")  # fmt: skip
    for line in found.disagreements:
        print(f"  disagree: {line}")
    print(f"candidates {found.candidates}, verdicts agreeing with labels {found.candidates - len(found.disagreements)}")
    print(f"pass@1  ours {found.pass_at_1:.4f}  labels {found.pass_at_1_labels:.4f}")
    print(f"oracle  ours {found.oracle:.4f}  labels {found.oracle_labels:.4f}")
    print(f"report: {runs_dir / 'replay.html'}")
    return 0 if found.matches else 1


if __name__ == "__main__":
    sys.exit(main())
