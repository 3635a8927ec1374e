"""Hidden tests never reach the solver: by construction, checked end to end.

A problem's hidden tests, its hidden check code and its reference solutions carry a unique
marker. After a full solve (generation, debugging, input synthesis, the judge) the marker is in
no prompt the model server received, in neither written file and in no cache entry. A second
marker in the statement must show up in the prompts: the test looks where it should.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from codesolve import (
    EngineConfig,
    LLMConfig,
    Scenario,
    ScriptedServer,
    TestSpec,
    load_problem,
    scripted_endpoint,
    solve_one,
)
from codesolve.llm import LLM
from codesolve.tasks import CompetitiveProblem, ReferenceSolution
from sandbox import Sandbox

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "problems" / "examples"


def marked_problem(hidden: str, public: str) -> CompetitiveProblem:
    base = load_problem(EXAMPLES / "examples.yaml", "examples/second-largest")
    assert isinstance(base, CompetitiveProblem)
    check = f"def check(candidate):\n    assert candidate([7, 7]) is None, {hidden!r}\n"
    return base.model_copy(
        update={
            "statement": f"{base.statement}\n({public})\n",
            "hidden_tests": [
                *base.hidden_tests,
                TestSpec(name=f"secret/{hidden}", call_args=f"[[{len(hidden)}, 1]]", expected="1"),
                TestSpec(name="secret/check", kind="check"),
            ],
            "check_code": check,
            "solutions": [ReferenceSolution(code=f"# {hidden}\ndef second_largest(nums): ...\n", label="correct")],
        }
    )


def every_prompt(server: ScriptedServer) -> str:
    return "\n".join(m.content for request in server.chat_requests for m in request.messages)


def cache_text(path: Path) -> str:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT key, model, text, finish_reason FROM completions").fetchall()
    return "\n".join("\t".join(map(str, row)) for row in rows)


async def test_hidden_marker_reaches_no_prompt_trace_or_cache(tmp_path: Path, docker_box: Sandbox) -> None:
    hidden, public = f"HIDDEN-{uuid.uuid4().hex}", f"PUBLIC-{uuid.uuid4().hex}"
    problem = marked_problem(hidden, public)
    assert hidden in problem.model_dump_json()  # the marker is really in the problem
    with ScriptedServer(Scenario.from_file(EXAMPLES / "demo_scenario.yaml")) as server:
        config = LLMConfig(default=scripted_endpoint(server, timeout_s=30), cache_path=tmp_path / "cache.sqlite")
        async with LLM(config, env=server.env) as llm:
            result = await solve_one(problem, docker_box, llm, EngineConfig(n=4), tmp_path / "out")
        prompts = every_prompt(server)
    phases = {e.phase for e in result.trace.events if e.kind == "llm"}
    assert {"generate", "judge"} <= phases, phases  # every kind of prompt was sent
    assert public in prompts  # the statement's marker is shown: we look in the right place
    assert hidden not in prompts
    written = [p.read_text() for p in (tmp_path / "out").iterdir()]
    assert len(written) == 2
    assert all(hidden not in text for text in written)
    cached = cache_text(tmp_path / "cache.sqlite")
    assert cached
    assert hidden not in cached
