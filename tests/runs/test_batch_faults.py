"""A batch in which problems hit every scripted-model fault, injected SE and an engine crash, and a
malformed record: the batch finishes, each failure is recorded with its reason, and the reports show them."""

from __future__ import annotations

import html
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from codesolve import __version__
from codesolve.llm import LLM, LLMConfig, Rule, ScriptedServer, scripted_endpoint
from codesolve.runs.batch import Batch, Selection, Tally, run_batch
from codesolve.runs.evalrun import evaluate_run
from codesolve.runs.faults import FaultySandbox
from codesolve.runs.metrics import compute
from codesolve.runs.records import ProblemRow, RunConfig
from codesolve.runs.report_html import html_report
from codesolve.runs.report_text import markdown, problem_views
from codesolve.runs.store import RunStore
from codesolve.sstar import Budget, EngineConfig
from codesolve.tasks import Item, stream_problems
from codesolve.tasks.models import CompetitiveProblem, TestSpec
from sandbox import Sandbox
from tests.runs.batchkit import MINUS, RIGHT, fenced, sum_scenario, write_problems

pytestmark = [pytest.mark.anyio, pytest.mark.docker]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

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


@pytest.fixture(scope="module")
async def faults_run(docker_box: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, Tally, int]:
    """The batch, then its evaluation; returns the store, the batch's tally and the SE runs injected."""
    tmp_path = tmp_path_factory.mktemp("faults")
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
    await evaluate_run(store, docker_box, 4, lambda _line: None)
    return store, tally, box.injected_se


async def test_every_fault_is_recorded_with_its_reason_and_the_batch_goes_on(
    faults_run: tuple[RunStore, Tally, int],
) -> None:
    store, tally, injected_se = faults_run
    assert injected_se > 0
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


class Cells(HTMLParser):
    """Text of every element with an id, and the number of problem rows, from a rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.problem_rows = 0
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("class") == "problem":
            self.problem_rows += 1
        if tag in ("td", "th", "svg", "table", "polyline"):
            self._open.append(found.get("id"))
            if found.get("id"):
                self.by_id.setdefault(found["id"] or "", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "svg", "table", "polyline") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for key in self._open:
            if key:
                self.by_id[key] += data


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/install.sh installs it)")
async def test_the_html_report_renders_in_chromium_with_the_stores_numbers(
    faults_run: tuple[RunStore, Tally, int], tmp_path: Path
) -> None:
    store = faults_run[0]
    db = sqlite3.connect(store.db_path)
    page = tmp_path / "report.html"
    page.write_text(html_report([("faults", db), ("faults again", db)]))
    dom = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    cells = Cells()
    cells.feed(dom)
    # the expected figures straight from the store's tables, not through the report code
    finished = db.execute("SELECT COUNT(*) FROM problems WHERE status IN ('done', 'failed')").fetchone()[0]
    failed = db.execute("SELECT COUNT(*) FROM problems WHERE status = 'failed'").fetchone()[0]
    tokens = db.execute("SELECT SUM(tokens) FROM problems").fetchone()[0]
    solved = db.execute(
        "SELECT COUNT(*) FROM eval_targets t JOIN eval_runs r USING (problem, code_key)"
        " WHERE t.target = 'selected' AND r.verdict = 'AC'"
    ).fetchone()[0]
    assert solved >= 2  # the two healthy problems at least
    for prefix in ("m", "m2"):  # both columns of the side-by-side summary
        assert cells.by_id[f"{prefix}-problems"].strip() == str(finished)
        assert cells.by_id[f"{prefix}-failed"].strip() == str(failed)
        assert cells.by_id[f"{prefix}-solved"].strip() == str(solved)
        assert cells.by_id[f"{prefix}-tokens"].strip() == str(tokens)
        assert cells.by_id[f"{prefix}-pass1"].strip() == f"{100 * solved / finished:.1f}%"
    assert cells.problem_rows == finished
    assert f"{solved} solved, {tokens} tokens" in cells.by_id["plot"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/install.sh installs it)")
async def test_the_html_reports_own_rule_runs_no_script_even_past_the_escaping(
    faults_run: tuple[RunStore, Tally, int], tmp_path: Path
) -> None:
    # Behind the escaping, the page's Content-Security-Policy: markup planted in the page as if
    # an escape had been missed (a script, an event handler) does nothing in a real browser.
    db = sqlite3.connect(faults_run[0].db_path)
    planted = (
        "<script>document.body.setAttribute('data-ran', 'script')</script>"
        "<img src=\"data:,\" onerror=\"document.body.setAttribute('data-ran', 'handler')\">"
        "<svg onload=\"document.body.setAttribute('data-ran', 'svg')\"></svg>"
    )
    page = tmp_path / "report.html"
    page.write_text(html_report([("faults", db)]).replace("</body>", f"{planted}</body>"))
    dom = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert 'id="summary"' in dom  # the page itself rendered
    body = dom[dom.index("<body") : dom.index(">", dom.index("<body"))]
    assert "data-ran" not in body, body  # nothing planted ran
