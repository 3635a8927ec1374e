"""The bundled mini SWE set and a scripted-model batch helper for the ``codesolve swe`` tests."""

from __future__ import annotations

from pathlib import Path

from codesolve.llm import LLM, LLMConfig, ScriptedServer, scripted_endpoint
from codesolve.runs.swe import Prepared, SweSettings, run_batch
from codesolve.runs.swe_solve import SolveSettings, make_patch
from codesolve.sstar import EngineConfig
from codesolve.tasks import load_problems
from codesolve.tasks.models import SweInstance
from sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "problems" / "swe"
INSTANCES = MINI / "instances.jsonl"
REPOS = MINI / "repos"
REAL = Path("/work/shared/data/swe/repos")

MERGE = "intervals/merge.py"
LOOP_LINE = "        if out and start < out[-1][1]:\n"
KEEP_MAX = "            out[-1] = (out[-1][0], max(out[-1][1], end))\n"
REPRO = """from intervals import merge


def test_touching_intervals_merge():
    assert merge([(1, 2), (2, 3)]) == [(1, 3)]
"""


def edit(search: str, replace: str, path: str = MERGE) -> str:
    """A reply holding one search/replace edit."""
    return f"I will fix it.\n\n{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


RIGHT = edit(LOOP_LINE, LOOP_LINE.replace("<", "<="))
WRONG = edit(LOOP_LINE, LOOP_LINE.replace("< out[-1][1]", "< out[-1][1] + 0"))
# Merges touching intervals (the reproduction test passes) but forgets the max: nested ones shrink.
DROPS_MAX = edit(LOOP_LINE + KEEP_MAX, LOOP_LINE.replace("<", "<=") + "            out[-1] = (out[-1][0], end)\n")
UNAPPLIABLE = edit("        if out and start < out[-1].end:\n", "        if out and start <= out[-1].end:\n")


def pyblock(code: str) -> str:
    """A reply holding one python block."""
    return f"```python\n{code}```\n"


def instances(*ids: str) -> list[SweInstance]:
    """The mini set's instances (only ``ids`` when given)."""
    found = [p for p in load_problems(INSTANCES, "swebench") if isinstance(p, SweInstance)]
    return [i for i in found if not ids or i.instance_id in ids]


async def solve(
    server: ScriptedServer,
    out: Path,
    config: EngineConfig,
    ids: tuple[str, ...] = ("mini__intervals-1",),
    public_tests: bool = False,
) -> dict[str, object]:
    """``codesolve swe --model`` on the mini set with the scripted model, in process."""
    settings = SweSettings(REPOS, out, "scripted")
    solve_settings = SolveSettings(config, public_tests)
    async with LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=30)), env=server.env) as llm:

        async def engine(prepared: Prepared, box: Sandbox) -> str:
            return await make_patch(prepared, box, llm, solve_settings)

        return await run_batch(instances(*ids), settings, engine)
