"""Files in ``--out``: bounded names, per-run names, no link followed, nothing computed lost; and the env canary."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.llm import SCRIPTED_KEY_ENV, Scenario, ScriptedServer
from codesolve.runs.output import STEM_CHARS, OutputError, file_stem, write_new
from tests.cli_process import CliProcess, containers_of
from tests.test_cli import EXAMPLES

SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@given(st.text(), st.text())
def test_file_stems_are_bounded_safe_and_distinct(a: str, b: str) -> None:
    stem = file_stem(a)
    assert len(stem) <= STEM_CHARS + 11
    assert set(stem) <= SAFE
    assert not stem.startswith(".")
    assert (file_stem(a) == file_stem(b)) == (a == b)


def test_ids_that_clean_alike_get_different_files() -> None:
    assert file_stem("HumanEval/0") != file_stem("HumanEval_0")
    assert file_stem("x" * 300).startswith("x" * STEM_CHARS + "-")
    assert file_stem("\ud800/../..") != file_stem("/../..")


def test_a_planted_link_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "p.trace.json").symlink_to(victim)
    write_new(out / "p.trace.json", "trace")
    assert victim.read_text() == "precious"
    assert not (out / "p.trace.json").is_symlink()
    assert (out / "p.trace.json").read_text() == "trace"
    assert [p.name for p in out.iterdir()] == ["p.trace.json"]  # no temporary left behind


def test_an_unwritable_out_is_one_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match=r"file/x\.json"):
        write_new(tmp_path / "file" / "x.json", "data")


@pytest.fixture
def demo_server() -> ScriptedServer:
    with ScriptedServer(Scenario.from_file(EXAMPLES / "demo_scenario.yaml")) as server:
        yield server  # type: ignore[misc]


def _solve(server: ScriptedServer, problems: Path, problem_id: str, out: Path, env: dict[str, str]) -> CliProcess:
    args = [
        "solve", str(problems), "--id", problem_id, "--model", "scripted", "--base-url", server.base_url,
        "--api-key-env", SCRIPTED_KEY_ENV, "-n", "4", "--out", str(out), "--timeout", "30", "--sandbox", "docker",
    ]  # fmt: skip
    return CliProcess(args, env)


@pytest.mark.timeout(240)
def test_long_ids_and_concurrent_runs_lose_nothing(demo_server: ScriptedServer, tmp_path: Path) -> None:
    long_id = "examples/" + "second-largest-" * 20  # 309 characters
    problems = tmp_path / "problems.yaml"
    problems.write_text((EXAMPLES / "examples.yaml").read_text().replace("examples/second-largest", long_id))
    out = tmp_path / "out"
    env = {SCRIPTED_KEY_ENV: "dummy"}
    runs = [_solve(demo_server, problems, long_id, out, env) for _ in range(2)]  # one --out, at once
    for run in runs:
        code, err = run.finish(200)
        assert code == 0, err
        assert containers_of(run.owner) == []
    traces = sorted(out.glob("*.trace.json"))
    assert len(traces) == 2  # one per run: neither clobbered the other
    for trace in traces:
        assert json.loads(trace.read_text())["solution"]["task_id"] == long_id
        assert len(trace.name) < 120
    assert len(list(out.glob("*.solution.json"))) == 2


@pytest.mark.timeout(240)
def test_an_environment_canary_reaches_no_prompt_trace_cache_or_message(
    demo_server: ScriptedServer, tmp_path: Path
) -> None:
    canary = "canary-" + secrets.token_hex(16)
    key = "key-" + secrets.token_hex(16)
    env = {SCRIPTED_KEY_ENV: key, "CODESOLVE_CANARY": canary, "OPENAI_API_KEY": canary}
    out = tmp_path / "out"
    run = _solve(demo_server, EXAMPLES / "examples.yaml", "examples/second-largest", out, env)
    code, err = run.finish(200)
    assert code == 0, err
    assert demo_server.chat_requests  # the prompts did go out
    seen = [json.dumps(r.body) for r in demo_server.requests] + [err, run.out.decode()]
    seen += [p.read_bytes().decode("utf-8", "replace") for p in out.rglob("*") if p.is_file()]
    for secret in (canary, key):
        assert not [s for s in seen if secret in s]
    assert os.environ.get("CODESOLVE_CANARY") is None
