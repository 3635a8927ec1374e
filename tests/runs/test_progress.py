"""The progress displays: plain timestamped lines, and the rich panel, fed the same gauges."""

from __future__ import annotations

import io
import re

import pytest

from codesolve.llm import LLM, LLMConfig, ScriptedServer, scripted_endpoint
from codesolve.runs.progress import Gauges, PlainProgress, RichProgress, printable
from codesolve.runs.records import ProblemRow
from codesolve.tasks import Item

pytestmark = pytest.mark.anyio


async def test_plain_lines_are_timestamped_one_per_problem_and_terminal_safe() -> None:
    with ScriptedServer() as server:
        async with LLM(LLMConfig(default=scripted_endpoint(server)), env=server.env) as llm:
            out = io.StringIO()
            progress = PlainProgress(Gauges(llm, None, n=4, total=2), out)
            progress.started(Item("f: line 1", "a", None))
            progress.finished(ProblemRow(id="a", seq=0, source="f", status="done", tokens=12))
            progress.finished(ProblemRow(id="b\x1b[31m", seq=1, source="f", status="failed", reason="model error: x"))
    first, second = out.getvalue().splitlines()
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d \[done 1, failed 0 of 2\] a: DONE; 12 tokens", first)
    assert "[done 1, failed 1 of 2] b?[31m: FAILED (model error: x)" in second
    assert "\x1b" not in out.getvalue()
    assert "eta 0s" in second


async def test_the_rich_panel_shows_counts_limits_and_spend() -> None:
    with ScriptedServer() as server:
        async with LLM(LLMConfig(default=scripted_endpoint(server)), env=server.env) as llm:
            out = io.StringIO()
            gauges = Gauges(llm, None, n=4, total=3)
            progress = RichProgress(gauges, out)
            progress.started(Item("f: line 1", "a", None))
            progress.started(Item("f: line 2", "c", None))
            panel = io.StringIO()
            from rich.console import Console

            Console(file=panel, width=120).print(progress._panel())
            progress.finished(ProblemRow(id="a[/]", seq=0, source="f", status="done"))
            progress.close()
    text = panel.getvalue()
    assert "done 0, failed 0 of 3" in text
    assert "2 (8 candidates)" in text
    assert "llm:scripted" in text
    assert "0 tokens" in text
    assert "done a[/]" in out.getvalue()  # an id is never read as markup


def test_printable_drops_control_characters() -> None:
    assert printable("ok\x07\x1b]0;title\x07") == "ok??]0;title?"


def test_on_a_cluster_the_displays_show_each_node_and_sum_the_spend_from_the_rows() -> None:
    nodes = [
        "vm/ab12cd34: 2/4 lanes, 1 slots, 10 finished (6.0/min)",
        "vm/ef56ab78 LOST: 0/4 lanes, 1 slots, 3 finished",
    ]
    gauges = Gauges(None, None, n=4, total=20, nodes=lambda: nodes)
    out = io.StringIO()
    plain = PlainProgress(gauges, out)
    for i in range(10):
        plain.finished(ProblemRow(id=f"p{i}", seq=i, source="f", status="done", tokens=100, cost_usd=0.01))
    lines = out.getvalue().splitlines()
    assert [line[20:] for line in lines[-2:]] == [f"  node {nodes[0]}", f"  node {nodes[1]}"]
    assert sum("node " in line for line in lines) == 2  # every tenth problem, not every one
    assert "total 1000 tokens, $0.1000" in lines[-3]
    panel = io.StringIO()
    from rich.console import Console

    rich = RichProgress(gauges, io.StringIO())
    Console(file=panel, width=160).print(rich._panel())
    rich.close()
    assert nodes[0] in panel.getvalue()
    assert "ef56ab78 LOST" in panel.getvalue()
