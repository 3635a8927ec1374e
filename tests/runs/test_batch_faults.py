"""A batch in which problems hit every scripted-model fault, injected SE and an engine crash, and a
malformed record: the batch finishes, each failure is recorded with its reason, and the reports show them."""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path

import pytest

from codesolve import __version__
from codesolve.llm import LLM, LLMConfig, Rule, ScriptedServer, scripted_endpoint
from codesolve.runs.batch import Batch, Selection, run_batch
from codesolve.runs.faults import FaultySandbox
from codesolve.runs.metrics import compute
from codesolve.runs.records import ProblemRow, RunConfig
from codesolve.runs.report_html import html_report
from codesolve.runs.report_text import markdown, problem_views
from codesolve.runs.source import Item, stream_problems
from codesolve.runs.store import RunStore
from codesolve.sstar import Budget, EngineConfig
from codesolve.tasks.models import CompetitiveProblem, TestSpec
from sandbox import Sandbox
from tests.runs.batchkit import MINUS, RIGHT, fenced, sum_scenario, write_problems

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

FAULTS: dict[str, Rule] = {
    "http500": Rule(status=500),
    "ratelimited": Rule(status=429, retry_after_s=0.01),
    "malformed": Rule(malformed=True),
    "hung": Rule(latency_s=3.0, content=fenced(RIGHT)),
    "context": Rule(status=400, error_code="context_length_exceeded"),
    "unauthorised": Rule(status=401),
    "empty": Rule(content=""),
    "truncated": Rule(content="```python\nprint(int(input().split()[0]) +", finish_reason="length"),
    "budget": Rule(content=fenced(MINUS), reasoning_tokens=5000),
    "se": Rule(content=fenced(RIGHT + "  # INJECT_SE")),
    "crash": Rule(content=fenced(RIGHT + "  # INJECT_CRASH")),
}
EXPECTED_KIND = {
    "http500": "model", "ratelimited": "model", "malformed": "model", "hung": "model", "context": "model",
    "unauthorised": "model", "empty": "no program", "truncated": "no program", "budget": "budget",
    "se": "sandbox", "crash": "crash",
}  # fmt: skip


def fault_problem(name: str) -> CompetitiveProblem:
    return CompetitiveProblem(
        id=f"f/{name}",
        title=f"Fault {name}",
        statement="Read two integers a and b and print a + b.",
        public_tests=[TestSpec(name="s1", stdin="1 2\n", expected="3\n")],
        hidden_tests=[TestSpec(name="h1", stdin="2 2\n", expected="4\n")],
    )


class Seen:
    def __init__(self) -> None:
        self.rows: list[ProblemRow] = []

    def started(self, item: Item) -> None:
        pass

    def finished(self, row: ProblemRow) -> None:
        self.rows.append(row)


async def test_every_fault_is_recorded_with_its_reason_and_the_batch_goes_on(
    docker_box: Sandbox, tmp_path: Path
) -> None:
    problems = write_problems(tmp_path / "p.jsonl", 2, [fault_problem(name) for name in FAULTS])
    with problems.open("a") as handle:
        handle.write('{"id": "broken", "statement": \n')  # a malformed record among good ones
    # any_message: the debugger's requests of a fault problem get the same fault
    before = [
        Rule(match=rf"# Fault {name}\b", any_message=True, **rule.model_dump(exclude={"match", "any_message"}))
        for name, rule in FAULTS.items()
    ]
    config = EngineConfig(n=3, rounds=1, budget=Budget(max_tokens=4000))
    run = RunConfig(name="faults", version=__version__, problems=[str(problems)], model="scripted", engine=config)
    store = RunStore.create_or_resume(tmp_path / "runs", run)
    box = FaultySandbox(docker_box)
    seen = Seen()
    with ScriptedServer(sum_scenario(before=before)) as server:
        endpoint = scripted_endpoint(server, timeout_s=1.0, max_retries=1)
        async with LLM(LLMConfig(default=endpoint, cache_path=store.cache_path), env=server.env) as llm:
            batch = Batch(store, llm, box, config, seen)
            tally = await run_batch(batch, stream_problems([problems]), Selection(), concurrency=4)
    assert box.injected_se > 0
    assert (tally.done, tally.failed) == (2, len(FAULTS) + 1)
    db = sqlite3.connect(store.db_path)
    status = {pid: (s, r) for pid, s, r in db.execute("SELECT id, status, reason FROM problems")}
    kinds = dict(db.execute("SELECT problem, kind FROM errors WHERE seq = 0"))
    assert status["t/sum-000"] == ("done", "")
    assert status["t/sum-001"] == ("done", "")
    for name, kind in EXPECTED_KIND.items():
        assert status[f"f/{name}"][0] == "failed", name
        assert kinds[f"f/{name}"] == kind, (name, status[f"f/{name}"])
        assert status[f"f/{name}"][1], name  # a reason, always
    [broken] = [pid for pid, kind in kinds.items() if kind == "malformed"]
    assert broken == "p.jsonl:line 14"
    assert "bad JSON" in status[broken][1]
    assert "line" in status[broken][1]
    assert "token cap" in status["f/budget"][1]
    assert "InjectedCrash" in status["f/crash"][1]
    assert db.execute("SELECT COUNT(*) FROM errors WHERE kind = 'traceback'").fetchone()[0] == 1
    # the reports show every failure with its reason
    text = markdown("faults", compute(db), list(problem_views(db)))
    page = html_report([("faults", db)])
    for pid, (_, reason) in status.items():
        if reason:
            assert reason.replace("|", "\\|").replace("\n", " ")[:60] in text, pid
            assert html.escape(reason) in page, pid
    assert compute(db).failures == {k: list(kinds.values()).count(k) for k in set(kinds.values())}
