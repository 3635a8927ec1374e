"""A spec asking for Python 3.9 gets an environment on the sandbox image offering it.

The 3.9 image is bootstrapped from Debian (bullseye) the first time a test needs
it (minutes) and found by its tag after that; the environment on top is built
from a hand-made wheel, so no registry is asked anything.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from codesolve.runs.swe_env import environment_for
from codesolve.tasks.swe.grading import run_tests
from codesolve.tasks.swe.specs import EnvSpec
from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, open_sandbox
from sandbox.image.recipe import image_tag

pytestmark = [pytest.mark.docker, pytest.mark.slow]

LIMITS = Limits(cpu_seconds=60, wall_seconds=120, memory_mb=1024)
TEST_FILE = """\
import sys

import tinyabi


def test_runs_on_python_3_9():
    assert sys.version_info[:2] == (3, 9)
    assert tinyabi.VALUE == 39
"""


def cp39_wheel(folder: Path) -> None:
    """A wheel tagged for CPython 3.9 only: pip resolving for any other Python refuses it."""
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "tinyabi-1.0-cp39-none-any.whl", "w") as wheel:
        wheel.writestr("tinyabi/__init__.py", "VALUE = 39\n")
        wheel.writestr("tinyabi-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinyabi\nVersion: 1.0\n")
        tags = "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: cp39-none-any\n"
        wheel.writestr("tinyabi-1.0.dist-info/WHEEL", tags)
        wheel.writestr("tinyabi-1.0.dist-info/RECORD", "")


@pytest.mark.anyio
async def test_a_spec_asking_for_python_3_9_runs_its_tests_on_python_3_9(tmp_path: Path) -> None:
    cp39_wheel(tmp_path / "wheels")
    tree = tmp_path / "repo"
    (tree / "tests").mkdir(parents=True)
    (tree / "tests/test_version.py").write_text(TEST_FILE)
    spec = EnvSpec(python="3.9", requirements=["--no-index", f"--find-links {tmp_path / 'wheels'}", "tinyabi==1.0"])
    tag = await environment_for(spec, tree)
    try:
        labels = subprocess.run(
            ["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", image_tag("3.9")],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        assert '"codesolve.python":"3.9"' in labels
        async with open_sandbox(DockerConfig(image=tag, pool_size=1, run_id="pytest-py39")) as box:
            shown = await box.exec(["python3", "-c", "import sys; print(sys.version_info[:2])"], limits=LIMITS)
            assert shown.stdout.text == "(3, 9)\n", shown
            run = await run_tests(box, tree, ["tests/test_version.py"], spec, LIMITS)
            assert run.passed("tests/test_version.py::test_runs_on_python_3_9"), run
            # The judge's own path on 3.9: the driver, the fork server warming a stdlib import, limits.
            fast = Program.single("python", "import json\nprint(json.dumps(sum(map(int, input().split()))))\n")
            [ok] = await box.run_tests(fast, [TestCase(stdin="2 40\n", expected="42\n")], Limits(cpu_seconds=2))
            assert ok.verdict is Verdict.AC, ok
            spin = Program.single("python", "while True:\n    pass\n")
            [slow] = await box.run_tests(spin, [TestCase()], Limits(cpu_seconds=1))
            assert slow.verdict is Verdict.TLE, slow
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60, check=False)
