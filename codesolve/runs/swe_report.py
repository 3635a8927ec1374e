"""Reading a SWE run back from its store: the harness-format exports and the per-instance table.

The store is the truth; these files are exports, rewritten whole (a temporary
file and a rename) at the end of every session, ``eval`` and ``report``:

* ``predictions.jsonl``: the SWE-bench harness format (``instance_id``,
  ``model_name_or_path``, ``model_patch``), to grade with the official harness too;
* ``results.jsonl``: our grade per instance, with each listed test's outcome;
* ``report.json``: resolved / unresolved / error ids, like the harness's report.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesolve.errors import UsageError
from codesolve.runs.store import RunStore
from codesolve.runs.traces import selection_of
from codesolve.tasks import load_problems
from codesolve.tasks.models import SweInstance

PREDICTIONS = "predictions.jsonl"
RESULTS = "results.jsonl"
REPORT = "report.json"


def is_swe_run(folder: Path) -> bool:
    """True when ``folder`` holds a ``codesolve swe`` run."""
    if not (folder / "run.sqlite").is_file():
        return False
    return RunStore(folder).config().swe is not None


def load_instances(path: Path, ids: Sequence[str] = ()) -> list[SweInstance]:
    """The instances of ``path`` (only ``ids`` when given; UsageError for an unknown id)."""
    instances = [p for p in load_problems(path, "swebench") if isinstance(p, SweInstance)]
    if ids:
        known = {i.instance_id: i for i in instances}
        missing = [i for i in ids if i not in known]
        if missing:
            raise UsageError(f"{path}: no instance {missing[0]}")
        instances = [known[i] for i in ids]
    if not instances:
        raise UsageError(f"{path}: no SWE-bench instances")
    return instances


def predictions(db: sqlite3.Connection) -> dict[str, str]:
    """Each finished instance's patch, in run order (instances with no patch stored are left out)."""
    found: dict[str, str] = {}
    for (pid,) in db.execute("SELECT id FROM problems WHERE status IN ('done', 'failed') ORDER BY seq"):
        selection = selection_of(db, pid)
        if selection is not None and selection.patch is not None:
            found[pid] = selection.patch
    return found


def grades(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Each graded instance's grade record, in run order (an instance that could not be graded is an infra_error)."""
    found: dict[str, dict[str, Any]] = {}
    rows = db.execute(
        "SELECT d.problem, d.error, r.rows FROM eval_done d JOIN problems p ON p.id = d.problem"
        " LEFT JOIN eval_runs r ON r.problem = d.problem ORDER BY p.seq"
    )
    for pid, error, stored in rows:
        grade = json.loads(stored)[0] if stored else None
        found[pid] = grade or {"instance_id": pid, "status": "infra_error", "reason": error or "not graded"}
    return found


def harness_report(ids: Sequence[str], graded: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The report of ``ids`` from their grades, in the official harness's shape."""
    by_status: dict[str, list[str]] = {"resolved": [], "unresolved": [], "infra_error": []}
    for iid in ids:
        if iid in graded:
            by_status.setdefault(str(graded[iid].get("status")), []).append(iid)
    return {
        "total_instances": len(ids),
        "completed_instances": sum(1 for i in ids if i in graded),
        "resolved_instances": len(by_status["resolved"]),
        "unresolved_instances": len(by_status["unresolved"]),
        "error_instances": len(by_status["infra_error"]),
        "resolved_ids": by_status["resolved"],
        "unresolved_ids": by_status["unresolved"],
        "error_ids": by_status["infra_error"],
        "reasons": {i: str(graded[i].get("reason")) for i in ids if i in graded and graded[i].get("reason")},
    }


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def export(store: RunStore, ids: Sequence[str] | None = None) -> dict[str, Any]:
    """Rewrite the run's ``predictions.jsonl``, ``results.jsonl`` and ``report.json``; the report."""
    config = store.config()
    model = config.swe.model_name_or_path if config.swe is not None else config.model
    with store.read() as db:
        patches = predictions(db)
        graded = grades(db)
        wanted = list(ids) if ids is not None else [r[0] for r in db.execute("SELECT id FROM problems ORDER BY seq")]
    lines = [json.dumps({"instance_id": i, "model_name_or_path": model, "model_patch": p}) for i, p in patches.items()]
    _replace(store.root / PREDICTIONS, "".join(line + "\n" for line in lines))
    _replace(store.root / RESULTS, "".join(json.dumps(g, sort_keys=True) + "\n" for g in graded.values()))
    report = harness_report(wanted, graded)
    _replace(store.root / REPORT, json.dumps(report, indent=1) + "\n")
    return report


def _counts(row: Mapping[str, Any], key: str) -> str:
    tests = row.get(key) or {}
    return f"{sum(1 for v in tests.values() if v == 'PASSED')}/{len(tests)}"


def report_lines(report: Mapping[str, Any], store: RunStore) -> list[str]:
    """One line per instance (status, FAIL_TO_PASS and PASS_TO_PASS passed, reason), then the totals."""
    with store.read() as db:
        graded = grades(db)
    lines = [f"{'instance':32} {'status':12} {'F2P':>6} {'P2P':>7}  reason"]
    for iid in [*report["resolved_ids"], *report["unresolved_ids"], *report["error_ids"]]:
        row = graded.get(iid, {})
        status = str(row.get("status", "?"))
        reason = str(row.get("reason", ""))[:150]
        lines.append(
            f"{iid:32} {status:12} {_counts(row, 'fail_to_pass'):>6} {_counts(row, 'pass_to_pass'):>7}  {reason}"
        )
    lines.append(
        f"resolved {report['resolved_instances']}, unresolved {report['unresolved_instances']}, "
        f"infrastructure error {report['error_instances']} (of {report['total_instances']}; "
        f"{report['completed_instances']} completed)"
    )
    return lines


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every whole JSON object line of an export (missing file: none)."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows
