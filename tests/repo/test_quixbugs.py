"""QuixBugs through ``codesolve fix`` (a cut of the 40; benchmarks/quixbugs_fix.py runs them all).

The cut covers the shapes that matter: a plain function, helpers beside the
buggy one (sibling tie → caller), a nested helper, a generator, a graph program
over ``Node`` objects, and a program whose buggy version never ends.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.sstar import EngineConfig
from codesolve.tasks.loaders import quixbugs_repos as qb
from sandbox import Sandbox
from tests.repo.fixkit import examined, fenced, fix

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.slow]

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "bugfix" / "quixbugs_python_40.jsonl"
CUT = ("gcd", "shortest_path_length", "mergesort", "subsequences", "breadth_first_search", "detect_cycle")


@pytest.mark.parametrize("name", CUT)
async def test_quixbugs_program_is_localised_and_fixed(name: str, tmp_path: Path, docker_box: Sandbox) -> None:
    if not DATA.is_file():
        pytest.skip(f"{DATA} is not here")
    [record] = [r for r in qb.records(DATA) if r["name"] == name]
    repo = qb.write_repo(record, qb.support_files(DATA), tmp_path)
    found = await examined(repo, docker_box, (qb.test_path(name),))
    assert [t.name for t in found.setup.targets] == [qb.target(name)]
    rule = Rule(match=re.escape(f"`{qb.target(name)}`"), content=fenced(qb.correct_function(record)))
    with ScriptedServer(Scenario(rules=[rule])) as server:
        result = await fix(server, found, docker_box, EngineConfig(n=1, rounds=0))
    assert result.made_pass == found.setup.must_pass
    assert result.broken == ()
    assert result.diff.startswith(f"diff --git a/python_programs/{name}.py b/python_programs/{name}.py\n")


def test_the_benchmark_script_runs() -> None:
    """benchmarks/quixbugs_fix.py is what fills the README's table: it must not rot unnoticed."""
    if not DATA.is_file():
        pytest.skip(f"{DATA} is not here")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "benchmarks/quixbugs_fix.py", "--only", "gcd", "--data", str(DATA)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| gcd | 5/6 | yes |" in done.stdout
    assert done.stdout.rstrip().endswith("localised 1/1; failing→passing with nothing broken 1/1")
