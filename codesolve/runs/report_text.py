"""Reports as text: the summary (terminal, Markdown) and one JSON record per problem.

Every figure comes from the store through :mod:`codesolve.runs.metrics`; the
HTML report (:mod:`codesolve.runs.report_html`) shows the same summary rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from codesolve.runs.metrics import Metrics, target_verdicts
from codesolve.runs.store import unpack
from codesolve.runs.traces import selection_of
from codesolve.tasks.models import CompetitiveProblem, Problem

_PROBLEM: TypeAdapter[Problem] = TypeAdapter(Problem)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _money(x: float | None) -> str:
    return "unknown" if x is None else f"${x:.4f}"


def _num(x: float | None, digits: int = 0) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def summary_rows(m: Metrics) -> list[tuple[str, str, str]]:
    """``(key, label, value)`` rows of the summary table."""
    rows = [
        ("problems", "problems finished", str(m.problems)),
        ("done", "done", str(m.done)),
        ("failed", "failed", str(m.failed)),
        ("evaluated", "evaluated on hidden tests", str(m.evaluated)),
        ("solved", "solved (selected program passes hidden tests)", str(m.solved)),
        ("pass1", "pass@1", _pct(m.pass_at_1)),
        ("oracle", "oracle (some candidate passes)", _pct(m.oracle)),
        ("selacc", "selection accuracy (pass@1 given oracle)", _pct(m.selection_accuracy)),
        ("candidates", "candidates", str(m.candidates)),
        ("pubgen", "public pass rate after generation", _pct(m.public_pass_generation)),
        ("pubdebug", "public pass rate after debugging", _pct(m.public_pass_debugging)),
        ("judgecalls", "judge calls", str(m.judge_calls)),
        ("tokens", "tokens", str(m.tokens)),
        ("cost", "cost", _money(m.cost_usd)),
        ("tokpersolved", "tokens per solved problem", _num(m.tokens_per_solved)),
        ("costpersolved", "cost per solved problem", _money(m.cost_per_solved)),
        ("wall", "batch wall time (s)", f"{m.wall_s:.1f}"),
        ("evalwall", "eval wall time (s)", f"{m.eval_wall_s:.1f}"),
    ]
    for phase, use in m.phases.items():
        value = f"{use.calls} calls, {use.tokens} tokens, {_money(use.cost_usd)}"
        rows.append((f"phase-{phase}", f"phase {phase}", value))
    rows.append(("verdicts", "selected programs' hidden verdicts", _counts(m.verdicts)))
    rows.append(("failures", "failures by kind", _counts(m.failures)))
    return rows


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def summary_lines(m: Metrics) -> list[str]:
    """The summary as aligned text lines."""
    rows = summary_rows(m)
    width = max(len(label) for _, label, _ in rows)
    return [f"{label:<{width}}  {value}" for _, label, value in rows]


@dataclass(frozen=True)
class ProblemView:
    """One problem as the reports show it."""

    id: str
    seq: int
    status: str
    reason: str
    tokens: int
    cost_usd: float | None
    wall_s: float
    candidates: int
    hidden: str
    """The selected program's hidden verdict (``not evaluated``, ``no program``)."""


def problem_views(db: sqlite3.Connection) -> Iterator[ProblemView]:
    """Every finished problem, in run order."""
    hidden = target_verdicts(db, "selected")
    evaluated = {r[0] for r in db.execute("SELECT problem FROM eval_done")}
    rows = db.execute(
        "SELECT p.id, p.seq, p.status, p.reason, p.tokens, p.cost_usd, p.wall_s,"
        " (SELECT COUNT(DISTINCT idx) FROM candidates c WHERE c.problem = p.id)"
        " FROM problems p WHERE status IN ('done', 'failed') ORDER BY seq"
    ).fetchall()
    for pid, seq, status, reason, tokens, cost, wall, count in rows:
        verdict = hidden.get(pid, "no program" if pid in evaluated else "not evaluated")
        yield ProblemView(pid, seq, status, reason, tokens, cost, wall, count, verdict)


def runnable_program(problem: Problem | None, code: str | None) -> str | None:
    """The selected code as a complete program: the problem's prelude (imports, helpers) first."""
    if code is None:
        return None
    if isinstance(problem, CompetitiveProblem) and problem.prelude:
        return f"{problem.prelude.rstrip()}\n\n{code}"
    return code


def load_problem(db: sqlite3.Connection, pid: str) -> Problem | None:
    """The stored problem record."""
    row = db.execute("SELECT problem FROM problems WHERE id = ?", (pid,)).fetchone()
    return None if row is None or row[0] is None else _PROBLEM.validate_json(unpack(row[0]))


def json_records(db: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """One record per problem: id, status, the selected program (runnable), verdicts, candidates, spend."""
    for view in problem_views(db):
        selection = selection_of(db, view.id)
        code = selection.code if selection else None
        rows = db.execute(
            "SELECT r.rows FROM eval_targets t JOIN eval_runs r USING (problem, code_key)"
            " WHERE t.problem = ? AND t.target = 'selected'",
            (view.id,),
        ).fetchone()
        yield {
            "id": view.id,
            "status": view.status,
            "reason": view.reason,
            "program": runnable_program(load_problem(db, view.id), code),
            "selected_by": selection.why if selection else None,
            "public_verdicts": selection.public_verdicts if selection else [],
            "hidden_verdict": view.hidden,
            "hidden_verdicts": [r["verdict"] for r in json.loads(rows[0])] if rows else [],
            "candidates": view.candidates,
            "tokens": view.tokens,
            "cost_usd": view.cost_usd,
            "wall_s": view.wall_s,
        }


def markdown(name: str, m: Metrics, views: list[ProblemView]) -> str:
    """The summary and the per-problem table in Markdown."""
    lines = [f"# codesolve run {name}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for _, label, value in summary_rows(m)]
    lines += ["", "| # | problem | status | hidden | candidates | tokens | reason |", "|---|---|---|---|---|---|---|"]
    for v in views:
        reason = v.reason.replace("|", "\\|").replace("\n", " ")[:120]
        pid = v.id.replace("|", "\\|")
        lines.append(f"| {v.seq} | {pid} | {v.status} | {v.hidden} | {v.candidates} | {v.tokens} | {reason} |")
    return "\n".join(lines) + "\n"
