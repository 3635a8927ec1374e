"""Reading a SWE run folder back: its per-instance table, like the official harness's report."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codesolve.errors import UsageError
from codesolve.runs.swe import RESULTS, SweSettings, read_jsonl, run_batch
from codesolve.tasks import load_problems
from codesolve.tasks.models import SweInstance

RUN_FILE = "swe-run.json"
"""Marks a folder as a SWE run and says how to grade it again."""


def is_swe_run(folder: Path) -> bool:
    """True when ``folder`` is a ``codesolve swe`` run."""
    return (folder / RUN_FILE).is_file()


def _counts(row: Mapping[str, Any], key: str) -> str:
    tests = row.get(key) or {}
    return f"{sum(1 for v in tests.values() if v == 'PASSED')}/{len(tests)}"


def report_lines(report: Mapping[str, Any], out: Path) -> list[str]:
    """One line per instance (status, FAIL_TO_PASS and PASS_TO_PASS passed, reason), then the totals."""
    latest = {str(r.get("instance_id")): r for r in read_jsonl(out / RESULTS)}
    lines = [f"{'instance':32} {'status':12} {'F2P':>6} {'P2P':>7}  reason"]
    for iid in [*report["resolved_ids"], *report["unresolved_ids"], *report["error_ids"]]:
        row = latest.get(iid, {})
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


async def evaluate_swe(folder: Path, progress: Callable[[str], None]) -> list[str]:
    """Grade every stored prediction not graded yet; the per-instance table (``codesolve eval`` on a SWE run)."""
    try:
        run = json.loads((folder / RUN_FILE).read_text())
        instances = load_instances(Path(run["instances"]), run.get("ids") or [])
        specs = Path(run["specs"]) if run.get("specs") else None
        settings = SweSettings(Path(run["repos"]), folder.resolve(), str(run["model_name_or_path"]), specs)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{folder / RUN_FILE}: not a readable SWE run record ({exc})") from None
    report = await run_batch(instances, settings, None, progress)
    return report_lines(report, settings.out)
