"""The import-linter contracts in pyproject.toml cover what they claim, and keep holding.

``lint-imports`` (run in CI) checks the contracts; these tests check the contracts themselves:
a private sandbox module added later must be forbidden to codesolve without anyone remembering
to list it (import-linter cannot say ``sandbox._*``: a wildcard stands for a whole name).
"""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import sandbox

ROOT = Path(__file__).resolve().parents[1]


def contracts() -> dict[str, dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        found = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    return {c["type"] + ":" + ",".join(c.get("source_modules", [])): c for c in found}


def test_every_private_sandbox_module_is_forbidden_to_codesolve() -> None:
    private = {f"sandbox.{m.name}" for m in pkgutil.iter_modules(sandbox.__path__) if m.name.startswith("_")}
    assert "sandbox._docker" in private  # the scan sees the packages too
    forbidden = set(contracts()["forbidden:codesolve"]["forbidden_modules"])
    assert private <= forbidden, sorted(private - forbidden)
    assert "sandbox.runtime" in forbidden  # what runs inside the sandbox is not an API either


def test_the_layers_and_the_other_contracts_are_the_ones_the_issue_asks_for() -> None:
    found = contracts()
    layers = next(c for c in found.values() if c["type"] == "layers")["layers"]
    assert layers == [
        "codesolve.cli : codesolve.commands",
        "codesolve.runs",
        "codesolve.sstar",
        "codesolve.tasks",
        "codesolve.llm | sandbox",
    ]
    assert found["forbidden:sandbox"]["forbidden_modules"] == ["codesolve"]
    acyclic = next(c for c in found.values() if c["type"] == "acyclic_siblings")
    assert {"codesolve", "sandbox"} <= set(acyclic["ancestors"])  # it checks every package below them


def test_lint_imports_keeps_every_contract() -> None:
    tool = Path(sys.executable).with_name("lint-imports")
    if not tool.exists() and shutil.which("lint-imports") is None:
        pytest.skip("lint-imports is not installed")
    run = subprocess.run(
        [str(tool) if tool.exists() else "lint-imports", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "0 broken" in run.stdout
