"""``codesolve fix`` on a real project: pallets/flask at the base of SWE-bench Lite's flask-4045.

The test patch of the instance is applied (its two FAIL_TO_PASS tests then fail);
the environment is built from the instance's pinned requirements (resolved on
the host from PyPI, wheels only); localisation must name the two functions the
gold patch changes, and the gold versions, given as the scripted model's
reply, must turn both tests green with nothing broken and give the gold file.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.sstar import EngineConfig
from codesolve.tasks.repo import find_function
from sandbox import DockerConfig, open_sandbox
from sandbox.environments import EnvironmentBuildError, build_environment
from tests.repo.fixkit import examined, fenced, fix

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.slow]

SWE = Path(__file__).resolve().parents[3] / "shared" / "data" / "swe" / "repos"
INSTANCE = "pallets__flask-4045"
# blinker 1.4 is published as a source archive only (wheels-only builds refuse it, and flask 2.0
# runs without it); setuptools and wheel build packages, which a wheels-only install never does.
LEFT_OUT = ("blinker", "setuptools", "wheel")


def record() -> dict[str, object]:
    with (SWE / "instances.jsonl").open() as handle:
        for line in handle:
            found: dict[str, object] = json.loads(line)
            if found["instance_id"] == INSTANCE:
                return found
    raise LookupError(INSTANCE)


def checkout(tmp: Path, patches: list[str]) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-xJf", str(SWE / "pallets__flask.git.tar.xz"), "-C", str(tmp)], check=True, timeout=120)
    repo = tmp / "flask"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(tmp / "pallets__flask.git"), str(repo)], check=True)
    subprocess.run(["git", "checkout", "-q", INSTANCE], cwd=repo, check=True)
    for patch in patches:
        subprocess.run(["git", "apply", "-"], cwd=repo, input=patch.encode(), check=True)
    return repo


def requirements(rec: dict[str, object]) -> bytes:
    install = rec["install"]
    assert isinstance(install, list)
    pins = [t for t in str(install[0]).split() if "==" in t and t.split("==")[0].lower() not in LEFT_OUT]
    return ("\n".join(pins) + "\n").encode()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def test_flask_4045_localised_and_fixed(tmp_path: Path) -> None:
    if not SWE.is_dir():
        pytest.skip(f"{SWE} is not here")
    rec = record()
    fail_to_pass = tuple(json.loads(str(rec["FAIL_TO_PASS"])))
    repo = checkout(tmp_path, [str(rec["test_patch"])])
    gold_repo = checkout(tmp_path / "gold", [str(rec["test_patch"]), str(rec["patch"])])
    gold = (gold_repo / "src/flask/blueprints.py").read_bytes()
    try:
        image = await build_environment({"requirements.txt": requirements(rec)})
    except EnvironmentBuildError as exc:
        pytest.skip(f"PyPI is not reachable from this host: {exc}")
    async with open_sandbox(DockerConfig(image=image, pool_size=1, run_id="pytest-flask")) as box:
        found = await examined(repo, box, fail_to_pass)
        assert found.setup.must_pass == fail_to_pass
        assert sorted(t.name for t in found.setup.targets) == [
            "flask.blueprints:Blueprint.__init__",
            "flask.blueprints:Blueprint.add_url_rule",
        ]
        reply = "\n".join(
            textwrap.dedent(b"".join(gold.splitlines(keepends=True)[span.first - 1 : span.last]).decode())
            for span in (find_function(gold, "Blueprint.__init__"), find_function(gold, "Blueprint.add_url_rule"))
        )
        with ScriptedServer(Scenario(rules=[Rule(match="# Fix the failing tests", content=fenced(reply))])) as server:
            result = await fix(server, found, box, EngineConfig(n=1, rounds=0))
    assert result.made_pass == fail_to_pass
    assert result.broken == ()
    assert result.kept_passing == found.setup.regression
    assert result.files == {"src/flask/blueprints.py": gold}
