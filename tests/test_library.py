"""codesolve as a library: the public names, and the README's snippet run exactly as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import codesolve

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = [
    "Budget",
    "BudgetExceeded",
    "CodesolveError",
    "CompetitiveProblem",
    "DockerConfig",
    "EndpointConfig",
    "EngineConfig",
    "FunctionFixTask",
    "LLMConfig",
    "LLMConfigError",
    "LLMError",
    "LLMRequestError",
    "LLMUnreachable",
    "LocalConfig",
    "Price",
    "Problem",
    "ProblemFormatError",
    "PublicProblem",
    "SandboxConfig",
    "SandboxError",
    "Scenario",
    "ScriptedServer",
    "Solution",
    "SolveResult",
    "StopReason",
    "StoreError",
    "SweInstance",
    "TestSpec",
    "Trace",
    "UsageError",
    "__version__",
    "load_problem",
    "load_problems",
    "scripted_endpoint",
    "solve",
    "solve_one",
]


def test_public_names_are_pinned() -> None:
    # A public name must not vanish by accident (nor appear without a decision).
    assert sorted(codesolve.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(codesolve, name) is not None, name


def test_every_error_is_in_one_of_the_two_trees() -> None:
    # codesolve's own errors, and the sandbox's (solve opens one): a caller catches both roots.
    roots = (codesolve.CodesolveError, codesolve.SandboxError)
    errors = [v for v in map(codesolve.__dict__.get, PUBLIC) if isinstance(v, type) and issubclass(v, Exception)]
    assert set(roots) <= set(errors)
    for error in errors:
        assert issubclass(error, roots), error


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## As a library", 1)[1].split("\n## ", 1)[0]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


def test_the_readme_snippet_is_short() -> None:
    assert 8 <= len(readme_snippet().strip().splitlines()) <= 20


def test_the_readme_snippet_runs_as_printed(docker_available: bool) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable (the snippet uses the default sandbox)")
    run = subprocess.run(
        [sys.executable, "-c", readme_snippet()], check=False, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("def second_largest"), run.stdout
    assert "None" in run.stdout.splitlines()[-1]  # not stopped early
    assert "tokens" in run.stdout
