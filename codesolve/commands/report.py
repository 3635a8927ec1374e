"""``codesolve report RUN``: summary, HTML, JSON and Markdown reports of a run (from its store)."""

from __future__ import annotations

import argparse
import json
import sqlite3
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from codesolve.errors import UsageError
from codesolve.runs.metrics import compute
from codesolve.runs.report_html import html_report
from codesolve.runs.report_text import json_records, markdown, problem_views, summary_lines
from codesolve.runs.store import RunStore
from codesolve.runs.swe_report import export, is_swe_run
from codesolve.runs.swe_report import report_lines as swe_report_lines


def register(subparsers: Any) -> None:
    """Add ``report``."""
    p = subparsers.add_parser("report", help="summarise a run; write HTML, JSON or Markdown reports")
    p.add_argument("run", type=Path, help="run directory (e.g. runs/NAME)")
    p.add_argument("--html", type=Path, help="write a self-contained HTML page here")
    p.add_argument("--json", type=Path, help="write one record per problem here (JSON lines for .jsonl)")
    p.add_argument("--markdown", type=Path, help="write the summary and problem table in Markdown here")
    p.add_argument("--compare", type=Path, help="another run to put side by side (HTML and summary)")
    p.set_defaults(func=run)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _json(db: sqlite3.Connection, path: Path) -> None:
    records = json_records(db)
    if path.suffix == ".jsonl":
        _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    else:
        _write(path, json.dumps(list(records), ensure_ascii=False, indent=1) + "\n")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve report``."""
    stores = [RunStore.existing(args.run)] + ([RunStore.existing(args.compare)] if args.compare else [])
    if is_swe_run(args.run):
        # A ``codesolve swe`` run: the per-instance table from its stored grades (``eval`` grades), exports refreshed.
        for line in swe_report_lines(export(stores[0]), stores[0]):
            print(line)
    with ExitStack() as stack:
        runs = [(s.root.name, stack.enter_context(s.read())) for s in stores]
        for name, db in runs:
            if len(runs) > 1:
                print(f"== {name}")
            for line in summary_lines(compute(db)):
                print(line)
        name, db = runs[0]
        if args.html:
            _write(args.html, html_report(runs))
        if args.json:
            _json(db, args.json)
        if args.markdown:
            _write(args.markdown, markdown(name, compute(db), list(problem_views(db))))
    return 0
