"""``codesolve fix`` as a user runs it (a real process), and environments built from requirements."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from codesolve.llm import SCRIPTED_KEY_ENV, Rule, Scenario, ScriptedServer
from sandbox import DockerConfig, open_sandbox
from sandbox.environments import build_environment
from sandbox.image.recipe import image_tag
from tests.repo.fixkit import CHEAT_BIG, RIGHT_BIG, calc_repo, examined, fenced

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
    lines = done.stdout.splitlines()
    assert lines[-2] == "would fix: pkg.calc:big (pkg/calc.py)"
    assert lines[-1].startswith("  why pkg.calc:big: the top suspect of 1 failing test(s) (test_total_big)")
    assert lines[-1].endswith("in no traceback (a wrong value, found by the spectra alone)")


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
    assert "[codesolve] fixing: pkg.calc:big (pkg/calc.py)" in done.stderr
    assert "[codesolve]   why pkg.calc:big: the top suspect" in done.stderr
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


def scripted(server: ScriptedServer, out: Path) -> list[str]:
    """The model flags of a run against the scripted server."""
    return [
        "--model", "scripted", "--base-url", server.base_url, "--api-key-env", SCRIPTED_KEY_ENV,
        "--out", str(out), "--rounds", "0",
    ]  # fmt: skip


def test_a_pick_that_breaks_a_test_is_not_a_fix(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path / "repo")
    before = (repo / "pkg/calc.py").read_bytes()
    with ScriptedServer(Scenario(rules=[Rule(match="# Fix the failing tests", content=fenced(CHEAT_BIG))])) as server:
        done = cli(
            str(repo), "--test", "tests/test_calc.py::test_total_big", "tests/test_big.py", "--function",
            "pkg.calc:big", "-n", "1", "--apply", *scripted(server, tmp_path / "out"), env=server.env,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""  # nothing a `| git apply` could take
    assert "BROKEN tests/test_big.py::test_big_is_odd" in done.stderr
    assert "not applied: no candidate passes every test" in done.stderr
    [saved] = (tmp_path / "out").glob("*.diff")
    assert "+    return 401 if a == 200 else 0" in saved.read_text()
    assert (repo / "pkg/calc.py").read_bytes() == before


def test_apply_refuses_in_one_line_after_an_edit_during_the_run(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path / "repo")
    slow = Rule(match="# Fix the failing tests", content=fenced(RIGHT_BIG), latency_s=2.0)
    with ScriptedServer(Scenario(rules=[slow])) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "codesolve.cli", "fix", str(repo), "--test", "tests/test_calc.py", "-n", "1",
             "--apply", *scripted(server, tmp_path / "out")],
            cwd=ROOT, env={**os.environ, **server.env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while not server.chat_requests and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        # The run has read the tree and asked the model: the user edits the file it will fix.
        (repo / "pkg/calc.py").write_text((repo / "pkg/calc.py").read_text() + "# edited meanwhile\n")
        stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2, stderr
    assert "+    return scale(a) + 1" in stdout  # the fix is shown, only not written
    errors = [line for line in stderr.splitlines() if line.startswith("codesolve: error:")]
    assert errors == ["codesolve: error: refusing to apply: pkg/calc.py changed since the run started"]
    assert stderr.rstrip().endswith(errors[0])
    assert (repo / "pkg/calc.py").read_text().endswith("scale(a) - 1\n\n\ndef total(values):\n"
        "    return sum(combine(v, 0) for v in values)\n\n\ndef ratio(a, b):\n"
        '    """a divided by b, rounded down; 0 when b is 0."""\n    return a * b\n\n\ndef label(n):\n'
        '    return "n" + str(n)\n# edited meanwhile\n')  # fmt: skip


def test_image_takes_a_ready_image_and_builds_nothing(tmp_path: Path) -> None:
    repo = calc_repo(tmp_path)
    # Requirements that could not install: with --image they are not even looked at.
    (repo / "requirements.txt").write_text("--no-index\ncodesolve-no-such-package==1.0\n")
    done = cli(str(repo), "--test", "tests/test_calc.py", "--check", "--image", image_tag())
    assert done.returncode == 0, done.stderr
    assert "would fix: pkg.calc:big (pkg/calc.py)" in done.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--image", "codesolve-no-such-image:1"], "--image codesolve-no-such-image:1: no such image in the local"),
        (["--lang", "cpp"], "fix: candidates are new versions of Python functions"),
        (["--function", "pkg.nope:f"], "--function 'pkg.nope:f': no module pkg.nope in"),
        (["--function", "big"], "--function 'big': expected module:qualname"),
    ],
)
def test_bad_flags_are_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    done = cli(str(calc_repo(tmp_path)), "--test", "tests/test_calc.py", "--check", *extra)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().startswith(f"codesolve: error: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
