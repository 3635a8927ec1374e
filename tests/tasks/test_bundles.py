"""The bundled problem sets in problems/: they load, they are small, and each says where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesolve.tasks import CompetitiveProblem, read_problems

PROBLEMS = Path(__file__).resolve().parents[2] / "problems"
BUNDLES = {
    "kickstart": ("problems.jsonl.gz", 10),
    "apps": ("problems.jsonl.gz", 20),
    "leetcode": ("problems.jsonl.gz", 20),
    "function": ("problems.jsonl.gz", 20),
    "quixbugs": ("problems.jsonl.gz", 40),
    "examples": ("examples.yaml", 3),
}
BUDGET_BYTES = 400_000


@pytest.mark.parametrize("name", list(BUNDLES))
def test_bundle_loads_and_has_a_readme(name: str) -> None:
    file_name, count = BUNDLES[name]
    result = read_problems(PROBLEMS / name / file_name)
    assert result.format == "codesolve"
    assert len(result.problems) == count
    assert all(isinstance(p, CompetitiveProblem) and p.licence and p.source for p in result.problems)
    readme = (PROBLEMS / name / "README.md").read_text()
    assert "Source" in readme
    assert "Licence" in readme


def test_bundle_contents() -> None:
    kickstart = read_problems(PROBLEMS / "kickstart/problems.jsonl.gz").problems
    assert sum(1 for p in kickstart if isinstance(p, CompetitiveProblem) and p.checker.kind == "float") == 10
    assert not any(isinstance(p, CompetitiveProblem) and p.checker_missing for p in kickstart)
    apps = [p for p in read_problems(PROBLEMS / "apps/problems.jsonl.gz").problems if isinstance(p, CompetitiveProblem)]
    assert sorted(p.input_mode for p in apps).count("call") == 10
    leetcode = [
        p for p in read_problems(PROBLEMS / "leetcode/problems.jsonl.gz").problems if isinstance(p, CompetitiveProblem)
    ]
    assert all(p.solutions[0].label == "reference" and p.public_tests and not p.dropped_tests for p in leetcode)


def test_bundles_stay_small() -> None:
    total = sum(p.stat().st_size for p in PROBLEMS.rglob("*") if p.is_file())
    assert total < BUDGET_BYTES
