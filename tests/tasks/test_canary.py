"""No host file outside a package, and no environment variable, reaches any output.

A canary is planted in the environment (in the API key variable too) and in a
file outside the package; packages link to it from every place a package
file is read. ``codesolve validate``, ``judge`` and ``solve`` (against the
scripted loopback model) then run in child processes, and every output is
searched for the canary: stdout, stderr, every file under ``--out`` (trace,
solution, response cache) and every prompt the model server received.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from codesolve.llm import SCRIPTED_KEY_ENV, Scenario, ScriptedServer
from tests.tasks.bounded import Run, run_bounded
from tests.tasks.conftest import make_package
from tests.tasks.hostile_corpus import CANARY, CASES

LEAKY = [name for name in CASES if name.startswith(("package:", "quixbugs")) and CASES[name].expect == "error"]
PROGRAM = "a, b = map(int, input().split())\nprint(a + b)\n"


@pytest.fixture
def env() -> dict[str, str]:
    """The environment with the canary planted, the model key included."""
    planted = dict(os.environ)
    planted.update({"CODESOLVE_CANARY": CANARY, "OPENAI_API_KEY": CANARY, SCRIPTED_KEY_ENV: f"key-{CANARY}"})
    return planted


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    reply = f"```python\n{PROGRAM}```"
    with ScriptedServer(Scenario.model_validate({"rules": [{"content": reply}]})) as running:
        yield running


def _assert_clean(run: Run, out: Path, server: ScriptedServer | None = None) -> None:
    assert CANARY not in run.stdout
    assert CANARY not in run.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path
    for request in server.chat_requests if server is not None else []:
        assert CANARY not in repr(request.messages)
        assert CANARY not in repr(request.body)


def _solve(problem: Path, out: Path, server: ScriptedServer, env: dict[str, str]) -> Run:
    args = [
        "solve", str(problem), "--model", "scripted", "--base-url", server.base_url, "--api-key-env", SCRIPTED_KEY_ENV,
        "-n", "2", "--rounds", "1", "--out", str(out), "--timeout", "10", "--max-retries", "0",
        "--sandbox", "local", "--allow-weaker",
    ]  # fmt: skip
    return run_bounded(args, memory=0, cpu=0, wall=180, env=env)


@pytest.mark.parametrize("name", LEAKY)
def test_a_linked_package_is_refused_everywhere_and_leaks_nothing(
    name: str, tmp_path: Path, env: dict[str, str], server: ScriptedServer
) -> None:
    problem = CASES[name].build(tmp_path)
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    out = tmp_path / "out"
    judge = ["judge", str(problem), "--program", str(program), "--sandbox", "local", "--allow-weaker"]
    runs = [
        run_bounded(["validate", str(problem)], env=env),
        run_bounded(judge, env=env),
        _solve(problem, out, server, env),
    ]
    for run in runs:
        assert run.code == 2, run
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "refused" in run.stderr or "not a regular file" in run.stderr, run.stderr
        _assert_clean(run, out, server)
    assert server.chat_requests == []  # refused before any model call


def test_a_package_with_inner_links_solves_and_leaks_nothing(
    tmp_path: Path, env: dict[str, str], server: ScriptedServer
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text(f"{CANARY}\n")  # beside the package, not linked from it
    package = make_package(tmp_path / "pkg", statement="Add two numbers a and b.")
    shared = package / "data" / "shared"
    shared.mkdir()
    (shared / "x.in").write_text("20 22\n")
    (shared / "x.ans").write_text("42\n")
    for kind in ("in", "ans"):  # problemtools style: secret tests that are links to shared files
        (package / "data" / "secret" / f"shared.{kind}").symlink_to(shared / f"x.{kind}")
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    out = tmp_path / "out"

    validated = run_bounded(["validate", str(package)], env=env)
    assert validated.code == 0, validated
    assert "1 public + 3 hidden tests" in validated.stdout
    judged = run_bounded(
        ["judge", str(package), "--program", str(program), "--sandbox", "local", "--allow-weaker"], env=env, cpu=0
    )
    assert judged.code == 0, judged
    solved = _solve(package, out, server, env)
    assert solved.code == 0, solved
    assert server.chat_requests, "the model was asked"
    assert "Add two numbers a and b." in repr(server.chat_requests[0].messages)
    assert any(out.rglob("*.json")), list(out.rglob("*"))
    for run in (validated, judged, solved):
        _assert_clean(run, out, server)
