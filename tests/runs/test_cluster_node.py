"""The node worker without Ray: a node that loses Docker mid-batch records its problems SE and takes no more."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesolve.llm import LLMConfig, Rule, ScriptedServer, scripted_endpoint
from codesolve.runs.cluster.node import NodeSpec, NodeWorker
from codesolve.runs.records import ProblemResult
from codesolve.sstar import EngineConfig
from codesolve.tasks import Item
from sandbox import DockerConfig
from tests.runs.batchkit import sum_problem, sum_scenario

pytestmark = [pytest.mark.anyio, pytest.mark.docker]


async def test_a_node_that_loses_docker_records_se_with_the_reason_and_takes_no_more(
    docker_available: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    with ScriptedServer(sum_scenario(before=[Rule(match="# Sum 1", status=500)])) as server:
        spec = NodeSpec(
            llm=LLMConfig(default=scripted_endpoint(server, max_retries=0)),
            env=server.env,
            box=DockerConfig(run_id="pytest-node"),
            engine=EngineConfig(n=3, rounds=1),
        )
        worker = NodeWorker("node-under-test", 1, spec, limiter=None, cache=None)
        start = await worker.start()
        assert (start.slots, start.broken) == (1, "")
        try:
            fine = await worker.solve(0, Item("p.jsonl: line 1", "t/sum-000", sum_problem(0)))
            assert fine.broken == ""
            assert ProblemResult.model_validate_json(fine.result_json).problem.status == "done"
            with monkeypatch.context() as env:
                env.setenv("DOCKER_HOST", f"unix://{tmp_path}/gone.sock")  # the engine is gone from here on
                failed = await worker.solve(1, Item("p.jsonl: line 2", "t/sum-001", sum_problem(1)))
                after = await worker.solve(2, Item("p.jsonl: line 3", "t/sum-002", sum_problem(2)))
        finally:
            await worker.stop()
    for reply in (failed, after):
        row = ProblemResult.model_validate_json(reply.result_json).problem
        assert row.status == "failed"
        assert row.reason.startswith("SE: node ")
        assert "lost its Docker engine" in row.reason
        assert reply.broken == row.reason  # the driver closes the lanes of that node
    assert ProblemResult.model_validate_json(after.result_json).errors[0].kind == "sandbox"
