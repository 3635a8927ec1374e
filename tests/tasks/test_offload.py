"""Where reply text is parsed: a small reply on the event loop, a large one (or a task's extraction
that reads files) in a worker thread (``codesolve.llm.parse_reply``)."""

from __future__ import annotations

import threading

import anyio
import pytest

from codesolve.llm import INLINE_REPLY_SIZE, LLM, LLMConfig, Scenario, ScriptedServer, parse_reply, scripted_endpoint
from codesolve.runs.single import task_for
from codesolve.sstar import Engine, EngineConfig
from codesolve.tasks.base import Extracted
from codesolve.tasks.competitive import CompetitiveTask
from sandbox import Sandbox
from tests.engine.test_selection_e2e import BIGGEST

pytestmark = pytest.mark.anyio

REPLY = "Here it is.\n```python\ndef biggest(xs):\n    return max(xs)\n```\n"


def noting(threads: list[int], text: str) -> int:
    threads.append(threading.get_ident())
    return len(text)


async def test_small_text_is_scanned_on_the_event_loop_and_large_text_in_a_worker() -> None:
    loop, threads = threading.get_ident(), list[int]()
    assert await parse_reply(INLINE_REPLY_SIZE, noting, threads, "x") == 1
    assert await parse_reply(INLINE_REPLY_SIZE + 1, noting, threads, "yy") == 2
    assert threads[0] == loop
    assert threads[1] != loop


async def test_a_cancelled_caller_starts_no_worker_for_a_large_reply() -> None:
    threads: list[int] = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        await parse_reply(INLINE_REPLY_SIZE + 1, noting, threads, "x")
    assert scope.cancelled_caught
    assert threads == []


class Noting(CompetitiveTask):
    """A competitive task that notes the thread each extraction runs on. With ``scans`` false it
    stands for a task whose extraction reads files (a SWE task applies edits to its tree): the
    engine must not run that on the event loop, however small the reply."""

    scans = True
    threads: list[int]

    @property
    def extract_scans(self) -> bool:
        return self.scans

    def extract(self, completion: str) -> Extracted:
        self.threads.append(threading.get_ident())
        return super().extract(completion)


@pytest.mark.parametrize("scans", [True, False])
async def test_the_engine_extracts_on_the_loop_only_where_the_task_only_scans(local_box: Sandbox, scans: bool) -> None:
    config = EngineConfig(n=2)
    task = Noting(task_for(BIGGEST, local_box, config).problem, local_box, history_chars=config.history_chars)
    task.scans, task.threads = scans, []
    with ScriptedServer(Scenario()) as server:
        async with LLM(LLMConfig(default=scripted_endpoint(server)), env=server.env) as llm:
            engine = Engine(task, llm, config)
            small = await engine.extract_all([REPLY, REPLY])
            large = await engine.extract(REPLY + "\n" + "x" * INLINE_REPLY_SIZE)
    assert [e.code for e in small] == ["def biggest(xs):\n    return max(xs)\n"] * 2
    assert large.code == small[0].code
    loop = threading.get_ident()
    on_loop = [thread == loop for thread in task.threads]
    assert on_loop == ([True, True, False] if scans else [False, False, False])
