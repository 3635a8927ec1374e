"""Reading a SWE run folder back: its per-instance table, like the official harness's report."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.runs.swe import RESULTS, read_jsonl

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
