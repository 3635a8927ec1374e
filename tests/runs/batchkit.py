"""Shared pieces of the batch tests: a family of small problems, the scripted model for them, store snapshots.

The scripted model answers every "Sum k" problem the same way: three
candidates (right, wrong, right written otherwise); the wrong one is fixed in
one debug round; the synthesized inputs leave one behaviour cluster, so no
judge is called.
Every reply is a fixed string or a list as long as ``n``, so answers do not
depend on the order in which concurrent problems ask.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from codesolve.llm import SCRIPTED_KEY_ENV, Rule, Scenario
from codesolve.runs.records import unpack_events
from codesolve.tasks import dump_problems
from codesolve.tasks.models import CompetitiveProblem, TestSpec

RIGHT = "a, b = map(int, input().split())\nprint(a + b)"
MINUS = "a, b = map(int, input().split())\nprint(a - b)"
OTHER = "print(sum(map(int, input().split())))"
N = 3


def fenced(code: str) -> str:
    return f"Here it is.\n```python\n{code}\n```\n"


def sum_problem(i: int) -> CompetitiveProblem:
    return CompetitiveProblem(
        id=f"t/sum-{i:03d}",
        title=f"Sum {i}",
        statement="Read two integers a and b and print a + b.",
        public_tests=[
            TestSpec(name="s1", stdin="1 2\n", expected="3\n"),
            TestSpec(name="s2", stdin="4 4\n", expected="8\n"),
        ],
        hidden_tests=[TestSpec(name="h1", stdin=f"{i} 1000\n", expected=f"{i + 1000}\n")],
        time_limit_s=2.0,
    )


def write_problems(path: Path, count: int, extra: list[CompetitiveProblem] | None = None) -> Path:
    dump_problems([sum_problem(i) for i in range(count)] + (extra or []), path)
    return path


def sum_scenario(latency_s: float = 0.0, before: list[Rule] | None = None) -> Scenario:
    rules = [
        *(before or []),
        Rule(match="VALID test inputs", content="```input\n5 6\n```\n```input\n-3 3\n```\n", latency_s=latency_s),
        Rule(match="failed on the public tests", content=fenced(RIGHT), latency_s=latency_s),
        Rule(match=r"# Sum \d+", content=[fenced(RIGHT), fenced(MINUS), fenced(OTHER)], latency_s=latency_s),
    ]
    return Scenario(rules=rules)


def codesolve(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process, as a user runs it."""
    env = {**os.environ, SCRIPTED_KEY_ENV: "test-key"}
    return subprocess.run(
        [sys.executable, "-m", "codesolve.cli", *args], capture_output=True, text=True, env=env, timeout=timeout,
        check=False,
    )  # fmt: skip


def batch_args(problems: Path, base_url: str, runs: Path, name: str, *extra: str) -> list[str]:
    return [
        "batch", str(problems), "--model", "scripted", "--base-url", base_url, "--api-key-env", SCRIPTED_KEY_ENV,
        "-n", str(N), "--rounds", "1", "--run", name, "--runs-dir", str(runs), "--progress", "plain",
        "--max-retries", "1", "--timeout", "10", "--pool-size", "2", *extra,
    ]  # fmt: skip


def snapshot(db_path: Path) -> dict[str, Any]:
    """The run's results, free of timings and of the order concurrent work happened in."""
    db = sqlite3.connect(db_path)
    try:
        selections = {}
        for problem, record in db.execute("SELECT problem, record FROM selections"):
            data = json.loads(record)
            selections[problem] = data
        return {
            "problems": sorted(db.execute("SELECT id, seq, source, status, reason, tokens, cost_usd FROM problems")),
            "candidates": sorted(db.execute("SELECT * FROM candidates")),
            "executions": sorted(
                db.execute("SELECT problem, phase, candidate, passed, total, verdicts FROM executions")
            ),
            "selections": selections,
            # not "cached": a resumed problem replays its samples from the response cache, which is the point
            "usage": sorted(
                db.execute(
                    "SELECT problem, role, phase, calls, samples, prompt_tokens, completion_tokens, cost_usd FROM usage"
                )
            ),
            "errors": sorted(db.execute("SELECT * FROM errors")),
            "events": sorted((pid, len(unpack_events(blob))) for pid, blob in db.execute("SELECT * FROM event_logs")),
        }
    finally:
        db.close()


def duplicated_rows(db_path: Path) -> dict[str, int]:
    """Rows that repeat their table's natural key (must be none)."""
    keys = {
        "problems": "id", "candidates": "problem, idx, round", "executions": "problem, seq", "selections": "problem",
        "usage": "problem, role, phase", "errors": "problem, seq", "event_logs": "problem",
        "eval_runs": "problem, code_key", "eval_targets": "problem, target",
    }  # fmt: skip
    db = sqlite3.connect(db_path)
    try:
        found = {}
        for table, key in keys.items():
            extra = db.execute(
                f"SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT {key} FROM {table})) FROM {table}"
            )
            found[table] = extra.fetchone()[0]
        return {t: n for t, n in found.items() if n}
    finally:
        db.close()


def run_containers(name: str) -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=codesolve.run=batch-{name}"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return proc.stdout.split()
