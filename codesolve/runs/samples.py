"""Recorded model samples replayed through the scripted OpenAI-compatible server.

CodeT's file holds, per HumanEval task, the prompt and 100 real CodeGen-16B
completions; its LABELS file (line for line) names the task and says which
samples pass HumanEval's own tests. :func:`codet_replay` turns the first
``n`` samples of each chosen task into a scripted :class:`Scenario`: the
generation request for a task (recognised by its title, the task id) is
answered with those samples, each as a complete program (prompt +
completion), in their recorded order. Nothing is invented: the replies are
the recorded text.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesolve.llm import Rule, Scenario


@dataclass(frozen=True)
class Recorded:
    """One task's recorded samples and their labels."""

    task_id: str
    prompt: str
    samples: tuple[str, ...]
    passed: tuple[bool, ...]


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def recorded_samples(samples: Path, labels: Path, ids: set[str] | None = None, n: int = 100) -> Iterator[Recorded]:
    """The first ``n`` samples and labels of each task (only ``ids`` when given), streamed."""
    for record, label in zip(_lines(samples), _lines(labels), strict=True):
        task = str(label["task_id"])
        if ids is not None and task not in ids:
            continue
        yield Recorded(task, record["prompt"], tuple(record["samples"][:n]), tuple(label["passed"][:n]))


def as_reply(prompt: str, completion: str) -> str:
    """A recorded completion as a chat reply: the whole function in one fenced block."""
    return f"```python\n{prompt}{completion}\n```\n"


def entry_points(problems: Path) -> dict[str, str]:
    """HumanEval task id → entry point."""
    return {str(r["task_id"]): str(r["entry_point"]) for r in _lines(problems)}


def codet_replay(
    samples: Path, labels: Path, problems: Path, ids: set[str] | None = None, n: int = 100, latency_s: float = 0.0
) -> tuple[Scenario, dict[str, tuple[bool, ...]]]:
    """The replay scenario for the chosen tasks, and their labels (first ``n`` samples)."""
    entries = entry_points(problems)
    rules: list[Rule] = []
    labels_by_task: dict[str, tuple[bool, ...]] = {}
    for rec in recorded_samples(samples, labels, ids, n):
        entry = entries[rec.task_id]
        replies = [as_reply(rec.prompt, s) for s in rec.samples]
        # The generation prompt's title line is the task id: unique, unlike the entry point (HumanEval/56
        # and /61 are both correct_bracketing) or a def line (prompts define other tasks' helpers).
        match = rf"(?m)^# {re.escape(rec.task_id)}\s*$\n[\s\S]*Implement `{re.escape(entry)}`"
        rules.append(Rule(match=match, content=replies, latency_s=latency_s))
        labels_by_task[rec.task_id] = rec.passed
    return Scenario(rules=rules), labels_by_task


@dataclass(frozen=True)
class Agreement:
    """A replayed run's hidden verdicts against the samples' labels."""

    candidates: int
    """Candidates evaluated."""
    disagreements: tuple[str, ...]
    """``task#sample: ours V, label L`` for each candidate whose verdict contradicts its label."""
    pass_at_1: float
    """Ours: selected programs passing the hidden tests, over tasks."""
    pass_at_1_labels: float
    """What the labels say of the same selected samples."""
    oracle: float
    """Ours: tasks where some candidate passes."""
    oracle_labels: float
    """What the labels say of the same samples."""

    @property
    def matches(self) -> bool:
        """True when every verdict, pass@1 and oracle agree with the labels."""
        same = self.pass_at_1 == self.pass_at_1_labels and self.oracle == self.oracle_labels
        return same and not self.disagreements


def label_agreement(db: sqlite3.Connection, labels: dict[str, tuple[bool, ...]]) -> Agreement:
    """Compare an evaluated replay run with the labels of the samples it replayed."""
    sql = "SELECT t.problem, t.target, r.verdict FROM eval_targets t JOIN eval_runs r USING (problem, code_key)"
    ours: dict[str, str] = {}
    verdicts: dict[tuple[str, int], str] = {}
    for task, target, verdict in db.execute(sql):
        if target == "selected":
            ours[task] = verdict
        else:
            verdicts[(task, int(target.split(":")[1]))] = verdict
    picked = {p: json.loads(r)["candidate_index"] for p, r in db.execute("SELECT problem, record FROM selections")}
    wrong = tuple(
        f"{task}#{i}: ours {v}, label {'pass' if labels[task][i] else 'fail'}"
        for (task, i), v in sorted(verdicts.items())
        if (v == "AC") != labels[task][i]
    )
    n = len(labels)
    return Agreement(
        candidates=len(verdicts),
        disagreements=wrong,
        pass_at_1=sum(v == "AC" for v in ours.values()) / n,
        pass_at_1_labels=sum(labels[t][i] for t, i in picked.items() if i is not None and t in labels) / n,
        oracle=len({t for (t, _), v in verdicts.items() if v == "AC"}) / n,
        oracle_labels=sum(any(v) for v in labels.values()) / n,
    )
