"""``codesolve fix`` as a user runs it (a real process), and environments built from requirements."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from codesolve.llm import SCRIPTED_KEY_ENV, Rule, Scenario, ScriptedServer
from sandbox import DockerConfig, open_sandbox
from sandbox.environments import build_environment
from tests.repo.fixkit import RIGHT_BIG, calc_repo, examined, fenced

pytestmark = [pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesolve.cli", "fix", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_check_needs_no_model_and_names_the_function(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path)
    done = cli(str(repo), "--test", "tests/test_calc.py", "--check")
    assert done.returncode == 0, done.stderr
    assert "FAIL tests/test_calc.py::test_total_big" in done.stdout
    assert done.stdout.splitlines()[-1] == "would fix: pkg.calc:big (pkg/calc.py)"


def test_fix_prints_the_diff_and_applies_it(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path / "repo")
    with ScriptedServer(Scenario(rules=[Rule(match="# Fix the failing tests", content=fenced(RIGHT_BIG))])) as server:
        done = cli(
            str(repo), "--test", "tests/test_calc.py", "--model", "scripted", "--base-url", server.base_url,
            "--api-key-env", SCRIPTED_KEY_ENV, "-n", "1", "--rounds", "0", "--out", str(tmp_path / "out"), "--apply",
            env=server.env,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("diff --git a/pkg/calc.py b/pkg/calc.py\n")
    assert "+    return scale(a) + 1\n" in done.stdout
    assert "made to pass: 1/1" in done.stderr
    assert "kept passing: 3/3; broken: 0" in done.stderr
    assert "cost" in done.stderr
    assert "applied to pkg/calc.py" in done.stderr
    assert "return scale(a) + 1" in (repo / "pkg/calc.py").read_text()


def test_requirements_that_fail_to_install_are_one_line_infrastructure_errors(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path)
    # --no-index keeps pip offline: the failure is deterministic and asks no registry anything.
    (repo / "requirements.txt").write_text("--no-index\ncodesolve-no-such-package==1.0\n")
    done = cli(str(repo), "--test", "tests/test_calc.py", "--check")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("codesolve: error: installing requirements.txt failed (pip exit 1): ")
    assert "codesolve-no-such-package" in lines[0]
    assert "Traceback" not in done.stderr


def _wheel(folder: Path) -> Path:
    """A hand-made pure wheel, so the environment test needs no registry."""
    path = folder / "tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("tinydep/__init__.py", "VALUE = 200\n")
        wheel.writestr("tinydep-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n")
        wheel.writestr(
            "tinydep-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr("tinydep-1.0.dist-info/RECORD", "")
    return path


@pytest.mark.anyio
async def test_an_environment_is_built_once_from_requirements_and_used(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path / "repo")
    (tmp_path / "wheels").mkdir()
    _wheel(tmp_path / "wheels")
    (repo / "tests/test_calc.py").write_text(
        (repo / "tests/test_calc.py").read_text() + "\n\ndef test_dep():\n    from tinydep import VALUE\n"
        "    assert total([VALUE]) == 401\n"
    )
    requirements = {"requirements.txt": f"--no-index\n--find-links {tmp_path / 'wheels'}\ntinydep==1.0\n".encode()}
    tag = await build_environment(requirements)
    try:
        assert tag.startswith("codesolve-env:")
        assert await build_environment(requirements) == tag  # cached by content: no second build
        async with open_sandbox(DockerConfig(image=tag, pool_size=1, run_id="pytest-env")) as box:
            found = await examined(repo, box, ("tests/test_calc.py",))
        # tinydep imported inside the sandbox: test_dep fails on the bug, not on an ImportError.
        assert "tests/test_calc.py::test_dep" in found.setup.must_pass
        assert "ImportError" not in found.baseline.results["tests/test_calc.py::test_dep"].details
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60, check=False)


def test_a_missing_key_is_one_line_before_the_repository_s_tests_run(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path / "repo")
    done = cli(
        str(repo), "--test", "tests/test_calc.py", "--model", "m", "--api-key-env", "CODESOLVE_TEST_NO_SUCH_KEY",
        "--image", "codesolve-no-such-image:never", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    # Exactly the key's line: had the repository's tests been run first, the image that does not
    # exist would have been the error.
    assert done.stderr.strip().splitlines() == [
        "codesolve: error: environment variable CODESOLVE_TEST_NO_SUCH_KEY is not set (API key for model m)"
    ]
    assert not (tmp_path / "out").exists()


def test_a_dead_endpoint_is_one_line_and_nothing_on_stdout(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path / "repo")
    done = cli(
        str(repo), "--test", "tests/test_calc.py", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
        "--api-key-env", SCRIPTED_KEY_ENV, "--max-retries", "0", "--out", str(tmp_path / "out"),
        env={SCRIPTED_KEY_ENV: "k"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if not line.startswith("[codesolve]")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("codesolve: error: ")
    assert "Traceback" not in done.stderr
