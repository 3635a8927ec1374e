"""The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched).

It holds the summary table (each value in a cell with a stable ``id``, e.g.
``m-pass1``, and ``m2-…`` for the compared run), a plot of problems solved
against tokens spent, and a per-problem table whose rows open the problem's
candidates (code per round, public verdicts), hidden verdicts and trace.
Everything from the store is escaped: problem text and model output are
untrusted.
"""

from __future__ import annotations

import json
import sqlite3
from html import escape
from itertools import accumulate

from codesolve.runs.metrics import Metrics, compute
from codesolve.runs.report_text import ProblemView, problem_views, summary_rows
from codesolve.runs.traces import trace_events

TRACE_EVENTS = 80
EVENT_CHARS = 1500
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f3f3f3}pre{background:#f7f7f7;padding:6px;max-height:24em;overflow:auto;
white-space:pre-wrap}.done{color:#176117}.failed{color:#a11}.AC{color:#176117;font-weight:bold}
details{margin:2px 0}summary{cursor:pointer}svg text{font-size:11px}
"""
COLOURS = ("#1f6fb4", "#d9730d")
CSP = (
    '<meta http-equiv="Content-Security-Policy" '
    "content=\"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"
)
"""The page's own rule, behind the escaping: no script runs, nothing is fetched, no form is sent,
so a slip in escaping model output (or a page edited by hand) still cannot act or call out."""


def _cell(text: object, cls: str = "") -> str:
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<td{attr}>{escape(str(text))}</td>"


def summary_table(names: list[str], metrics: list[Metrics]) -> str:
    """The summary: one value column per run, cells with ids ``m-<key>`` (``m2-<key>`` for the second)."""
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    columns = [summary_rows(m) for m in metrics]
    keys = list(dict.fromkeys(k for col in columns for k, _, _ in col))
    out = [f'<table id="summary"><tr><th>metric</th>{head}</tr>']
    for key in keys:
        label = next(lbl for col in columns for k, lbl, _ in col if k == key)
        cells = ""
        for i, col in enumerate(columns):
            value = next((v for k, _, v in col if k == key), "")
            cells += f'<td id="{"m" if i == 0 else f"m{i + 1}"}-{escape(key)}">{escape(value)}</td>'
        out.append(f"<tr><th>{escape(label)}</th>{cells}</tr>")
    return "\n".join(out) + "</table>"


def plot(names: list[str], series: list[list[ProblemView]]) -> str:
    """Problems solved (selected program passes hidden tests) against tokens spent, in run order."""
    w, h, pad = 560, 300, 45
    curves = []
    for views in series:
        xs = [0, *accumulate(v.tokens for v in views)]
        ys = [0, *accumulate(1 if v.hidden == "AC" else 0 for v in views)]
        curves.append((xs, ys))
    max_x = max((xs[-1] for xs, _ in curves), default=1) or 1
    max_y = max((max(len(v) for v in series) if series else 1), 1)
    parts = [f'<svg id="plot" width="{w}" height="{h}" viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">']
    parts.append(f'<rect x="{pad}" y="10" width="{w - pad - 10}" height="{h - pad - 10}" fill="none" stroke="#999"/>')
    for i, (xs, ys) in enumerate(curves):
        points = " ".join(
            f"{pad + (w - pad - 10) * x / max_x:.1f},{h - pad - (h - pad - 20) * y / max_y:.1f}"
            for x, y in zip(xs, ys, strict=True)
        )
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(
            f'<text x="{pad + 8}" y="{24 + 14 * i}" fill="{colour}">{escape(names[i])}: {ys[-1]} solved, '
            f"{xs[-1]} tokens</text>"
        )
    parts.append(f'<text x="{w / 2 - 40}" y="{h - 12}">tokens spent ({max_x} max)</text>')
    parts.append(f'<text x="4" y="{h / 2}" transform="rotate(-90 10 {h / 2})">problems solved</text>')
    return "".join(parts) + "</svg>"


def _candidates(db: sqlite3.Connection, pid: str) -> str:
    evals = {
        t: (v, p, n)
        for t, v, p, n in db.execute(
            "SELECT t.target, r.verdict, r.passed, r.total FROM eval_targets t JOIN eval_runs r"
            " USING (problem, code_key) WHERE t.problem = ?",
            (pid,),
        )
    }
    out = ["<table><tr><th>candidate</th><th>round</th><th>public</th><th>hidden (final code)</th><th>code</th></tr>"]
    for idx, rnd, code, passed, total, verdicts in db.execute(
        "SELECT idx, round, code, passed, total, verdicts FROM candidates WHERE problem = ? ORDER BY idx, round",
        (pid,),
    ):
        hidden = evals.get(f"candidate:{idx}")
        shown = f"{hidden[0]} ({hidden[1]}/{hidden[2]})" if hidden else ""
        public = f"{passed}/{total} {' '.join(json.loads(verdicts))}"
        out.append(
            f"<tr>{_cell(idx)}{_cell(rnd)}{_cell(public)}{_cell(shown)}"
            f"<td><details><summary>code</summary><pre>{escape(code or '(no program)')}</pre></details></td></tr>"
        )
    selected = evals.get("selected")
    if selected:
        verdict = f"{selected[0]} ({selected[1]}/{selected[2]})"
        out.append(f"<tr><th colspan=3>selected program, hidden</th>{_cell(verdict, selected[0])}<td></td></tr>")
    return "\n".join(out) + "</table>"


def _trace(db: sqlite3.Connection, pid: str) -> str:
    events = trace_events(db, pid)
    items = []
    for e in events[:TRACE_EVENTS]:
        data = json.dumps(e.data, ensure_ascii=False)
        data = data if len(data) <= EVENT_CHARS else data[:EVENT_CHARS] + "…"
        items.append(
            f"<li>{e.at:.2f}s {escape(e.kind)}/{escape(e.phase)} {escape(e.candidate or '')}"
            f"<pre>{escape(data)}</pre></li>"
        )
    more = f"<p>({len(events) - TRACE_EVENTS} more events in the JSON trace)</p>" if len(events) > TRACE_EVENTS else ""
    return f"<details><summary>trace ({len(events)} events)</summary><ol>{''.join(items)}</ol>{more}</details>"


def _problem_rows(db: sqlite3.Connection, views: list[ProblemView]) -> str:
    out = [
        '<table id="problems"><tr><th>#</th><th>problem</th><th>status</th><th>hidden</th>'
        "<th>candidates</th><th>tokens</th><th>wall (s)</th></tr>"
    ]
    for v in views:
        errors = "".join(
            f"<pre>{escape(kind)}: {escape(msg)}</pre>"
            for kind, msg in db.execute("SELECT kind, message FROM errors WHERE problem = ? ORDER BY seq", (v.id,))
        )
        detail = (
            f"<details><summary>{escape(v.id)}</summary>{errors}{_candidates(db, v.id)}{_trace(db, v.id)}</details>"
        )
        status = v.status + (f": {v.reason}" if v.reason else "")
        out.append(
            f'<tr class="problem">{_cell(v.seq)}<td>{detail}</td>{_cell(status, v.status)}{_cell(v.hidden, v.hidden)}'
            f"{_cell(v.candidates)}{_cell(v.tokens)}{_cell(f'{v.wall_s:.1f}')}</tr>"
        )
    return "\n".join(out) + "</table>"


def _side_by_side(names: list[str], series: list[list[ProblemView]]) -> str:
    by_id = [{v.id: v for v in views} for views in series]
    ids = list(dict.fromkeys(v.id for views in series for v in views))
    head = "".join(f"<th>{escape(n)} status</th><th>{escape(n)} hidden</th><th>{escape(n)} tokens</th>" for n in names)
    out = [f'<table id="compare"><tr><th>problem</th>{head}</tr>']
    for pid in ids:
        cells = ""
        for runs in by_id:
            v = runs.get(pid)
            cells += _cell(v.status, v.status) + _cell(v.hidden, v.hidden) + _cell(v.tokens) if v else "<td></td>" * 3
        out.append(f"<tr>{_cell(pid)}{cells}</tr>")
    return "\n".join(out) + "</table>"


def html_report(runs: list[tuple[str, sqlite3.Connection]]) -> str:
    """The page for one run, or two side by side (the first run's problems are detailed)."""
    names = [name for name, _ in runs]
    metrics = [compute(db) for _, db in runs]
    series = [list(problem_views(db)) for _, db in runs]
    title = " vs ".join(names)
    body = [f"<h1>codesolve run {escape(title)}</h1>", "<h2>Summary</h2>", summary_table(names, metrics)]
    body += ["<h2>Problems solved against tokens spent</h2>", plot(names, series)]
    if len(runs) > 1:
        body += ["<h2>Side by side</h2>", _side_by_side(names, series)]
    body += [f"<h2>Problems of {escape(names[0])}</h2>", _problem_rows(runs[0][1], series[0])]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP}'
        f"<title>codesolve: {escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
