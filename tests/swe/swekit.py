"""The bundled mini SWE set and a scripted-model batch helper for the ``codesolve swe`` tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codesolve.llm import LLM, LLMConfig, ScriptedServer, scripted_endpoint
from codesolve.runs.batch import Selection
from codesolve.runs.records import ProblemRow, RunConfig, SweRunConfig
from codesolve.runs.store import RunStore
from codesolve.runs.swe import SweSettings
from codesolve.runs.swe_batch import SweJob, run_swe
from codesolve.runs.swe_lane import PatchSource
from codesolve.runs.swe_report import export
from codesolve.runs.swe_solve import SolveSettings, engine_patches
from codesolve.sstar import EngineConfig
from codesolve.tasks import Item, load_problems
from codesolve.tasks.models import SweInstance

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


class _Quiet:
    """An observer that shows nothing (the tests read the store and its exports)."""

    def started(self, item: Item) -> None:
        """Nothing."""

    def finished(self, row: ProblemRow) -> None:
        """Nothing."""


def items(*chosen: SweInstance) -> Iterator[Item]:
    """Instances as batch items."""
    return iter([Item(f"test: {i.instance_id}", i.instance_id, i) for i in chosen])


async def batch(
    out: Path,
    chosen: list[SweInstance],
    patches: PatchSource,
    *,
    repos: Path = REPOS,
    specs: Path | None = None,
    llm: LLM | None = None,
    engine: EngineConfig | None = None,
    concurrency: int = 1,
) -> dict[str, Any]:
    """A SWE batch session on the runner (store in ``out``), in process; the exported report."""
    swe = SweRunConfig(repos=str(repos), patches="model" if llm else "gold", model_name_or_path="scripted")
    config = RunConfig(
        name=out.name, version="test", problems=["test"], model="scripted", engine=engine or EngineConfig(), swe=swe
    )
    store = RunStore.open_at(out, config)
    job = SweJob(store, SweSettings(repos, out, specs), patches, True, concurrency, concurrency, llm, engine)
    await run_swe(job, items(*chosen), Selection(), _Quiet())
    return export(store)


async def solve(
    server: ScriptedServer,
    out: Path,
    config: EngineConfig,
    ids: tuple[str, ...] = ("mini__intervals-1",),
    public_tests: bool = False,
    chosen: list[SweInstance] | None = None,
    repos: Path = REPOS,
    concurrency: int = 1,
) -> dict[str, Any]:
    """``codesolve swe --model`` with the scripted model, in process (the mini set's ``ids`` by default)."""
    async with LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=30)), env=server.env) as llm:
        patches = engine_patches(llm, SolveSettings(config, public_tests))
        found = chosen if chosen is not None else instances(*ids)
        return await batch(out, found, patches, repos=repos, llm=llm, engine=config, concurrency=concurrency)
