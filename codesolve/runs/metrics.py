"""A run's metrics, computed from its store (nothing is kept in memory between commands).

* pass@1: the selected program passes the hidden tests, over every finished problem;
* oracle: some candidate's final code passes them;
* selection accuracy: pass@1 given oracle (solved / oracle-solvable);
* public pass rate of the candidates after generation (round 0) and after debugging (last round);
* judge calls, and calls, tokens and cost per phase, and per solved problem;
* wall time of the batch and eval sessions;
* a histogram of the selected programs' hidden verdicts.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PhaseUse:
    """Model use of one phase across the run."""

    calls: int
    tokens: int
    cost_usd: float | None


@dataclass(frozen=True)
class Metrics:
    """Everything the summary shows."""

    problems: int
    """Finished problems (done or failed)."""
    done: int
    failed: int
    evaluated: int
    solved: int
    """Problems whose selected program passes the hidden tests."""
    oracle_solved: int
    """Problems where some candidate's final code passes them."""
    candidates: int
    public_pass_generation: float | None
    public_pass_debugging: float | None
    judge_calls: int
    tokens: int
    cost_usd: float | None
    phases: dict[str, PhaseUse]
    wall_s: float
    eval_wall_s: float
    verdicts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    """Failed problems by reason kind."""

    @property
    def pass_at_1(self) -> float | None:
        """Solved / finished problems."""
        return self.solved / self.problems if self.problems else None

    @property
    def oracle(self) -> float | None:
        """Oracle-solvable / finished problems."""
        return self.oracle_solved / self.problems if self.problems else None

    @property
    def selection_accuracy(self) -> float | None:
        """Solved / oracle-solvable."""
        return self.solved / self.oracle_solved if self.oracle_solved else None

    @property
    def tokens_per_solved(self) -> float | None:
        """Tokens spent per solved problem."""
        return self.tokens / self.solved if self.solved else None

    @property
    def cost_per_solved(self) -> float | None:
        """Dollars per solved problem (``None`` if unknown or none solved)."""
        return self.cost_usd / self.solved if self.solved and self.cost_usd is not None else None


def _one(db: sqlite3.Connection, sql: str, *args: object) -> int:
    return int(db.execute(sql, args).fetchone()[0] or 0)


def target_verdicts(db: sqlite3.Connection, target: str | None = "selected") -> dict[str, str]:
    """Hidden verdict by problem for one target (``selected``), or best over all targets (``None``: AC if any)."""
    sql = "SELECT t.problem, t.target, r.verdict FROM eval_targets t JOIN eval_runs r USING (problem, code_key)"
    found: dict[str, str] = {}
    for problem, tgt, verdict in db.execute(sql):
        if target is not None and tgt != target:
            continue
        if found.get(problem) != "AC":
            found[problem] = verdict
    return found


def _public_rates(db: sqlite3.Connection) -> tuple[int, float | None, float | None]:
    ok = "(has_program AND NOT infra_error AND passed = total)"
    count = _one(db, "SELECT COUNT(*) FROM (SELECT DISTINCT problem, idx FROM candidates)")
    if not count:
        return 0, None, None
    first = _one(db, f"SELECT COUNT(*) FROM candidates WHERE round = 0 AND {ok}")
    last = _one(
        db,
        f"SELECT COUNT(*) FROM candidates c WHERE {ok} AND round = "
        "(SELECT MAX(round) FROM candidates d WHERE d.problem = c.problem AND d.idx = c.idx)",
    )
    return count, first / count, last / count


def _phases(db: sqlite3.Connection) -> dict[str, PhaseUse]:
    rows = db.execute(
        "SELECT phase, SUM(calls), SUM(prompt_tokens + completion_tokens), SUM(cost_usd), "
        "SUM(cost_usd IS NULL) FROM usage GROUP BY phase ORDER BY phase"
    ).fetchall()
    return {p: PhaseUse(int(c), int(t), None if unknown else float(cost or 0.0)) for p, c, t, cost, unknown in rows}


def compute(db: sqlite3.Connection) -> Metrics:
    """The metrics of the run in ``db``."""
    finished = "status IN ('done', 'failed')"
    selected = target_verdicts(db, "selected")
    best = target_verdicts(db, None)
    candidates, gen, dbg = _public_rates(db)
    phases = _phases(db)
    unknown_cost = _one(db, f"SELECT COUNT(*) FROM problems WHERE {finished} AND cost_usd IS NULL")
    cost = db.execute(f"SELECT SUM(cost_usd) FROM problems WHERE {finished}").fetchone()[0]
    histogram = Counter(selected.values())
    histogram["no program"] = _one(db, f"SELECT COUNT(*) FROM problems WHERE {finished}") - len(selected)
    failures = Counter(kind for (kind,) in db.execute("SELECT kind FROM errors WHERE seq = 0 AND kind != 'traceback'"))
    return Metrics(
        problems=_one(db, f"SELECT COUNT(*) FROM problems WHERE {finished}"),
        done=_one(db, "SELECT COUNT(*) FROM problems WHERE status = 'done'"),
        failed=_one(db, "SELECT COUNT(*) FROM problems WHERE status = 'failed'"),
        evaluated=_one(db, "SELECT COUNT(*) FROM eval_done"),
        solved=sum(1 for v in selected.values() if v == "AC"),
        oracle_solved=sum(1 for v in best.values() if v == "AC"),
        candidates=candidates,
        public_pass_generation=gen,
        public_pass_debugging=dbg,
        judge_calls=_one(db, "SELECT SUM(json_extract(record, '$.judge_calls')) FROM selections"),
        tokens=_one(db, f"SELECT SUM(tokens) FROM problems WHERE {finished}"),
        cost_usd=None if unknown_cost else float(cost or 0.0),
        phases=phases,
        wall_s=float(db.execute("SELECT SUM(ended - started) FROM sessions WHERE kind = 'batch'").fetchone()[0] or 0),
        eval_wall_s=float(
            db.execute("SELECT SUM(ended - started) FROM sessions WHERE kind = 'eval'").fetchone()[0] or 0
        ),
        verdicts={k: v for k, v in sorted(histogram.items()) if v},
        failures=dict(sorted(failures.items())),
    )
