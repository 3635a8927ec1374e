"""The engine's SWE path on a real repository: flask-4992 with a scripted model writing the gold change."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from codesolve.llm import Rule, Scenario, ScriptedServer
from codesolve.runs.swe_report import PREDICTIONS, load_instances, read_jsonl
from codesolve.sstar import EngineConfig
from codesolve.tasks.models import SweInstance
from codesolve.tasks.swe.checkout import fresh_tree, mirror_for
from codesolve.tasks.swe.edits import canonical_edits, render_edits
from codesolve.tasks.swe.patches import apply_patch
from tests.swe.swekit import REAL, pyblock, solve

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(not (REAL / "instances.jsonl").is_file(), reason="the real instances are not here"),
]

REPRO = """import tomllib

import flask


def test_from_file_opens_binary_for_tomllib(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('TEST_KEY = "foo"\\n')
    app = flask.Flask(__name__)
    assert app.config.from_file(str(path), tomllib.load, text=False)
    assert app.config["TEST_KEY"] == "foo"
"""


def gold_as_edits(instance: SweInstance, cache: Path) -> str:
    """The gold patch as the search/replace reply a model would write."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = fresh_tree(mirror_for(REAL, instance.repo, cache), instance.base_commit, Path(tmp) / "t")
        paths = apply_patch(tree, instance.patch).paths
        patched = {p: (tree / p).read_text() for p in paths}
        base = fresh_tree(mirror_for(REAL, instance.repo, cache), instance.base_commit, Path(tmp) / "b")
        originals = {p: (base / p).read_text() for p in paths}
    return "Open the file in the mode the loader needs.\n\n" + render_edits(canonical_edits(originals, patched))


async def test_the_engine_resolves_flask_4992_from_a_gold_shaped_reply(tmp_path: Path) -> None:
    [instance] = load_instances(REAL / "instances.jsonl", ["pallets__flask-4992"])
    reply = gold_as_edits(instance, tmp_path / "cache")
    scenario = Scenario(
        rules=[
            Rule(match="# Pick the files", content="src/flask/config.py: Config.from_file\n"),
            Rule(match="# Write a reproduction test", content=pyblock(REPRO)),
            Rule(match="# Resolve the issue", content=reply),
        ]
    )
    out = tmp_path / "run"
    with ScriptedServer(scenario) as server:
        report = await solve(server, out, EngineConfig(n=1, rounds=0), chosen=[instance], repos=REAL)
        prompts = [r.messages[-1].content for r in server.chat_requests]
    assert report["resolved_ids"] == ["pallets__flask-4992"], report
    generation = next(p for p in prompts if p.startswith("# Resolve the issue"))
    # The map ranked config.py for the issue; the reproduction test's real failure was shown.
    assert "src/flask/config.py\n" in generation
    assert "unexpected keyword argument 'text'" in generation
    patch = str(read_jsonl(out / PREDICTIONS)[0]["model_patch"])
    assert patch.startswith("diff --git a/src/flask/config.py b/src/flask/config.py")
