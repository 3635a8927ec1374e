"""The command line: bad input is one line and exit 2; solve and demo work end to end."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from codesolve.cli import main
from codesolve.llm import SCRIPTED_KEY_ENV, Scenario, ScriptedServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "problems" / "examples"


@pytest.fixture
def demo_server() -> Iterator[ScriptedServer]:
    with ScriptedServer(Scenario.from_file(EXAMPLES / "demo_scenario.yaml")) as server:
        yield server


def solve_args(server_url: str, out: Path, *extra: str) -> list[str]:
    return [
        "solve", str(EXAMPLES / "examples.yaml"), "--id", "examples/second-largest",
        "--model", "scripted", "--base-url", server_url, "--api-key-env", SCRIPTED_KEY_ENV,
        "-n", "4", "--out", str(out), "--timeout", "5", "--max-retries", "1", *extra,
    ]  # fmt: skip


def run_cli(argv: list[str]) -> int:
    """main() in a worker thread (the session's async fixtures keep an event loop in this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(main, argv).result()


def exit_code(argv: list[str]) -> int:
    """main()'s return value, or argparse's exit status."""
    try:
        return run_cli(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("codesolve: error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_solve_prints_the_program_and_saves_the_trace(
    demo_server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRIPTED_KEY_ENV, "dummy")
    assert run_cli(solve_args(demo_server.base_url, tmp_path)) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("def second_largest")
    assert "public tests: 2/2 passed" in captured.err
    assert "judge calls 3" in captured.err
    [trace] = tmp_path.glob("examples_second-largest-*.trace.json")
    assert trace.name in captured.err
    assert (tmp_path / "cache.sqlite").exists()


def test_missing_api_key_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SCRIPTED_KEY_ENV, raising=False)
    assert run_cli(solve_args("http://127.0.0.1:9/v1", tmp_path)) == 2
    assert_one_line_error(capsys.readouterr().err, SCRIPTED_KEY_ENV)


def _before_any_work(url: str, out: Path, capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    """A model error found before any candidate exists: exactly one line on stderr, nothing on
    stdout, exit 2, no trace of nothing written (with the default retry policy; that the first
    contact is not retried is checked where retries are counted, in tests/llm/test_failures.py)."""
    argv = solve_args(url, out)
    del argv[argv.index("--max-retries") : argv.index("--max-retries") + 2]
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, *needles)
    assert list(out.glob("*.json")) == []


def test_dead_endpoint_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRIPTED_KEY_ENV, "dummy")
    with ScriptedServer() as srv:
        dead = srv.base_url  # the port is free again once the server closed
    _before_any_work(dead, tmp_path, capsys, dead, "Connection refused")


def test_unknown_model_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRIPTED_KEY_ENV, "dummy")
    with ScriptedServer(Scenario(rules=[{"status": 404}])) as server:  # type: ignore[list-item]
        _before_any_work(server.base_url, tmp_path, capsys, "'scripted' not found")
        assert len(server.chat_requests) == 1  # a refusal is final: asked once


def test_rejected_key_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRIPTED_KEY_ENV, "dummy")
    with ScriptedServer(Scenario(rules=[{"status": 401}])) as server:  # type: ignore[list-item]
        _before_any_work(server.base_url, tmp_path, capsys, SCRIPTED_KEY_ENV)


def test_a_model_error_mid_run_keeps_the_summary_and_says_it_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first reply is a program that fails a public test; the endpoint then refuses the key,
    # so debugging stops on a model error after work was done.
    wrong = "```python\ndef second_largest(nums):\n    return max(nums)\n```\n"
    scenario = Scenario(rules=[{"content": wrong, "times": 1}, {"status": 401}])  # type: ignore[list-item]
    monkeypatch.setenv(SCRIPTED_KEY_ENV, "dummy")
    with ScriptedServer(scenario) as server:
        assert run_cli(solve_args(server.base_url, tmp_path)) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("def second_largest")  # the best program found is still printed
    lines = [line for line in captured.err.strip().splitlines() if not line.startswith("[codesolve] ")]  # progress
    assert lines[0].startswith("public tests: ")  # the summary stays
    stopped = [line for line in lines if line.startswith("stopped early: ")]
    assert len(stopped) == 1, captured.err
    assert stopped[0].startswith("stopped early: model error: ")
    assert SCRIPTED_KEY_ENV in stopped[0] or "401" in stopped[0]
    assert not any(line.startswith("codesolve: error") for line in lines)
    assert lines[-1].startswith("trace: ")
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["solve", "nope.yaml", "--model", "m"], "nope.yaml"),
        (["solve", str(EXAMPLES / "examples.yaml"), "--model", "m", "--id", "no/such"], "no/such"),
        (["solve", str(EXAMPLES / "examples.yaml"), "--model", "m", "-n", "0", "--id", "examples/mean"], "-n"),
        (["solve", str(EXAMPLES / "examples.yaml"), "--model", "m", "-n", "1000", "--id", "examples/mean"], "n"),
        (["validate", str(ROOT / "pyproject.toml")], "pyproject.toml"),
        (["solve", str(EXAMPLES / "examples.yaml")], "--model"),
        (["judge-not-a-command"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "dummy")
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # argparse may add its usage line


def test_dead_docker_daemon_is_one_line(
    demo_server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRIPTED_KEY_ENV, "dummy")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert run_cli(solve_args(demo_server.base_url, tmp_path, "--sandbox", "docker")) == 2
    assert_one_line_error(capsys.readouterr().err, "Docker engine")


def test_demo_runs_offline(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_cli(["demo", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "SCRIPTED" in captured.err
    assert captured.err.count("hidden tests (never shown to the solver)") == 3
    assert "judge agreed in both orders" in captured.err
