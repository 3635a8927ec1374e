"""The run store without a sandbox: config checks, the single writer, and (hypothesis) resume idempotence."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve import __version__
from codesolve.errors import CodesolveError, StoreError, UsageError
from codesolve.runs.records import (
    CandidateRound,
    ProblemResult,
    ProblemRow,
    RunConfig,
    Selection,
    UsageRow,
    pack_events,
)
from codesolve.runs.report_html import html_report
from codesolve.runs.store import RunStore, config_diff, connect, pack
from codesolve.runs.traces import trace_events, trace_name
from codesolve.runs.writer import Message, Started, _apply, open_writer, render_due
from codesolve.sstar import EngineConfig, TraceEvent
from tests.runs.batchkit import duplicated_rows

TABLES = ("problems", "candidates", "executions", "selections", "usage", "errors", "event_logs", "trace_due")


def run_config(**engine: object) -> RunConfig:
    return RunConfig(name="r", version=__version__, problems=["/p.jsonl"], model="m", engine=EngineConfig(**engine))


def result(pid: str, seq: int, candidates: int, status: str = "done", tokens: int = 10) -> ProblemResult:
    return ProblemResult(
        problem=ProblemRow(id=pid, seq=seq, source=f"f: line {seq}", status=status, tokens=tokens),  # type: ignore[arg-type]
        problem_json='{"kind": "competitive"}',
        candidates=[
            CandidateRound(problem=pid, index=i, round=r, key=f"k{i}{r}", code=f"print({i})", passed=1, total=1)
            for i in range(candidates)
            for r in range(2)
        ],
        selection=Selection(problem=pid, candidate_key="k0", candidate_index=0, code="x", selector="first", why="w"),
        usage=[UsageRow(problem=pid, role="generator", phase="generate", calls=1, samples=candidates)],
        events=pack_events([TraceEvent(at=0.1 * i, kind="note", phase="generate", data={"i": i}) for i in range(3)]),
    )


def dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    db = sqlite3.connect(path)
    try:
        return {t: sorted(db.execute(f"SELECT * FROM {t}"), key=repr) for t in TABLES}
    finally:
        db.close()


def test_an_unusable_store_is_a_store_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match=r"run directory .*file/r cannot be created"):
        RunStore.create_or_resume(tmp_path / "file", run_config())
    (tmp_path / "runs" / "r").mkdir(parents=True)
    (tmp_path / "runs" / "r" / "run.sqlite").write_text("not a database, but long enough to be read as one\n" * 40)
    with pytest.raises(StoreError, match=r"run store .*run\.sqlite cannot be opened") as raised:
        RunStore.create_or_resume(tmp_path / "runs", run_config())
    assert isinstance(raised.value, CodesolveError)  # so the CLI says it in one line, exit 2


def test_config_diff_names_nested_fields() -> None:
    old = run_config(n=4).model_dump(mode="json")
    new = run_config(n=8, selector="majority").model_dump(mode="json")
    assert config_diff(old, new) == ["engine.n", "engine.selector"]
    assert config_diff(old, old) == []


def test_a_run_is_resumed_with_its_config_refused_with_another_and_restarted_with_new_run(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config(n=4))
    assert store.config() == run_config(n=4)
    assert RunStore.create_or_resume(tmp_path, run_config(n=4)) == store
    with pytest.raises(UsageError, match=r"different config \(engine\.n\)"):
        RunStore.create_or_resume(tmp_path, run_config(n=5))
    RunStore.create_or_resume(tmp_path, run_config(n=5), new_run=True)
    assert store.config().engine.n == 5


def test_a_run_written_before_a_config_field_existed_resumes_with_its_default(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config(n=4))
    with store.read() as db:  # the config as an older version wrote it: no judge_ahead field
        stored = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        del stored["engine"]["judge_ahead"]
        db.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(stored),))
    assert RunStore.create_or_resume(tmp_path, run_config(n=4)) == store
    with pytest.raises(UsageError, match=r"different config \(engine\.judge_ahead\)"):
        RunStore.create_or_resume(tmp_path, run_config(n=4, judge_ahead=False))
    with store.read() as db:  # a field since removed: still compared, and named
        stored["engine"]["gone"] = 1
        db.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(stored),))
    with pytest.raises(UsageError, match=r"different config \(.*engine\.gone"):
        RunStore.create_or_resume(tmp_path, run_config(n=4))


@pytest.mark.anyio
async def test_the_writer_applies_every_message_in_order_and_writes_traces_from_the_store(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config())
    async with open_writer(store, buffer=2) as writer:
        for i in range(20):
            await writer.put(Started(f"p{i}", i, "src"))
            await writer.put(result(f"p{i}", i, 2))
        await writer.flush()
        with store.read() as db:
            assert db.execute("SELECT COUNT(*) FROM problems WHERE status = 'done'").fetchone()[0] == 20
    assert len(list(store.traces.glob("*.trace.json"))) == 20
    assert '"code": "x"' in (store.traces / trace_name("p3")).read_text()
    assert duplicated_rows(store.db_path) == {}


@pytest.mark.anyio
async def test_traces_a_killed_session_left_due_are_rendered_by_the_next_writer(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config())
    db = connect(store.db_path)
    for i in range(3):  # committed, but the session died before rendering their traces
        _apply(db, result(f"p{i}", i, 1))
    db.close()
    assert not list(store.traces.iterdir())
    async with open_writer(store):
        pass
    trace = json.loads((store.traces / trace_name("p1")).read_text())
    assert [e["data"] for e in trace["events"]] == [{"i": 0}, {"i": 1}, {"i": 2}]
    with store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM trace_due").fetchone()[0] == 0


def test_a_version_1_store_keeps_its_event_rows_readable(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config())
    with store.read() as db:
        db.execute("INSERT INTO events VALUES ('old', 0, 0.5, 'note', 'generate', NULL, ?)", (pack('{"a": 1}'),))
        assert trace_events(db, "old") == [TraceEvent(at=0.5, kind="note", phase="generate", data={"a": 1})]


@pytest.mark.anyio
async def test_a_cancelled_batch_still_gets_whole_transactions(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config())
    with anyio.move_on_after(0.5):
        async with open_writer(store) as writer:
            for i in range(10_000):
                await writer.put(result(f"p{i}", i, 3))
    counts = dump(store.db_path)
    done = len(counts["problems"])
    assert 0 < done < 10_000
    assert len(counts["candidates"]) == done * 6  # never a problem with part of its rows
    assert len(counts["event_logs"]) == done  # one packed blob of 3 events each


# A schedule: problems finish (possibly more than once: a resume redoes interrupted ones, a rerun
# of a finished one must not duplicate), with "running" markers and crashes (stop mid-way) in between.
schedules = st.lists(
    st.tuples(st.sampled_from(["start", "finish"]), st.integers(0, 5), st.integers(1, 3)), min_size=1, max_size=25
)


@settings(max_examples=40, deadline=None)
@given(schedule=schedules, crash_at=st.integers(0, 25))
def test_resume_is_idempotent(schedule: list[tuple[str, int, int]], crash_at: int) -> None:
    """Applying a schedule, crashing anywhere and applying it again equals applying it once (per last finish)."""
    messages: list[Message] = [
        Started(f"p{i}", i, "src") if what == "start" else result(f"p{i}", i, cands, tokens=cands)
        for what, i, cands in schedule
    ]
    with tempfile.TemporaryDirectory() as tmp:
        once, twice = Path(tmp) / "once", Path(tmp) / "twice"
        stores = [RunStore.create_or_resume(once, run_config()), RunStore.create_or_resume(twice, run_config())]
        for store, plan in ((stores[0], messages), (stores[1], messages[:crash_at] + messages)):
            db = connect(store.db_path)
            for message in plan:
                _apply(db, message)
            db.close()
        assert dump(stores[0].db_path) == dump(stores[1].db_path)
        assert duplicated_rows(stores[1].db_path) == {}
        finished = {m.problem.id: m for m in messages if isinstance(m, ProblemResult)}
        rows = dump(stores[1].db_path)
        assert len(rows["candidates"]) == sum(len(m.candidates) for m in finished.values())
        assert {r[0] for r in rows["problems"] if r[3] == "done"} == set(finished)


def test_hostile_ids_code_and_reasons_stay_inert_in_reports_and_trace_names(tmp_path: Path) -> None:
    store = RunStore.create_or_resume(tmp_path, run_config())
    evil = "<script>alert(1)</script></pre><img src=x onerror=alert(2)>"
    db = connect(store.db_path)
    for pid in (f"a/{evil}", "a_b", "a/b", "../../etc/passwd"):
        hostile = result(pid, 0, 1)
        hostile.problem.reason = evil
        hostile.candidates[0].code = evil
        _apply(db, hostile)
    assert render_due(db, store, limit=None) == 4
    page = html_report([("run", db)])
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page
    names = sorted(p.name for p in store.traces.iterdir())
    assert len(names) == 4  # a/b and a_b do not share a trace file
    assert all("/" not in n and not n.startswith(".") for n in names)
    db.close()
