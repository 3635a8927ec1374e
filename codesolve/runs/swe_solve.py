"""Making a SWE instance's patch with the engine: localise, reproduce, baseline, S*, diff by git.

Before the engine starts: the repository map is ranked by the issue (BM25, no
model), the model picks files from it and writes a reproduction test, and a
baseline run in the sandbox establishes which reproduction tests fail (they
must pass) and which regression tests near the picked files pass (they must
keep passing). FAIL_TO_PASS stays hidden unless ``public_tests``. The chosen
candidate's edits are written into a fresh checkout and ``git diff`` makes the
patch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import anyio.to_thread

from codesolve.errors import RepositoryError
from codesolve.llm import LLM, Message
from codesolve.runs.single import SolveResult
from codesolve.runs.swe import Prepared, remove_tree
from codesolve.sstar import Engine, EngineConfig, Progress
from codesolve.sstar.stop import StopSwitch
from codesolve.tasks.extract import extract_code
from codesolve.tasks.repo.feedback import render
from codesolve.tasks.repo.testrun import run_pytest
from codesolve.tasks.repo.workspace import source_paths
from codesolve.tasks.swe import prompts
from codesolve.tasks.swe.checkout import tree_diff
from codesolve.tasks.swe.edits import EditError, write_files
from codesolve.tasks.swe.grading import NodeIndex, files_of_test_patch
from codesolve.tasks.swe.patches import apply_patch
from codesolve.tasks.swe.repomap import build_map, excerpt, named_symbols, nearby_tests, rank, render_map
from codesolve.tasks.swe.task import REPRO_FILE, SweSetup, SweTask
from sandbox import Sandbox

MAX_FILES = 3
FILE_CHARS = 12_000
"""A picked file longer than this is shown as the functions and classes the model named."""


@dataclass(frozen=True)
class SolveSettings:
    """How the engine makes patches."""

    config: EngineConfig
    public_tests: bool = False


def picked_paths(reply: str, known: Sequence[str]) -> list[str]:
    """Paths of the map the reply names, in the reply's order (at most ``MAX_FILES``)."""
    found = [p for p in known if p in reply]
    return sorted(found, key=reply.index)[:MAX_FILES]


def _read(tree: Path, path: str) -> str:
    return (tree / path).read_text(encoding="utf-8", errors="replace")


async def _ask(llm: LLM, messages: list[Message], phase: str, key: str) -> str:
    [reply] = await llm.complete("generator", messages, temperature=0.0, max_tokens=None, phase=phase, seed_key=key)
    return reply.text


async def setup_for(prepared: Prepared, tree: Path, box: Sandbox, llm: LLM, public: bool) -> SweSetup:
    """Localise, get the reproduction test, run the baseline: everything the engine's task needs."""
    instance = prepared.instance
    iid, issue = instance.instance_id, instance.problem_statement
    if public:
        await anyio.to_thread.run_sync(apply_patch, tree, instance.test_patch, "test patch")
    ranked = rank(await anyio.to_thread.run_sync(build_map, tree), issue)
    repo_map = render_map(ranked)
    reply = await _ask(llm, prompts.pick_files(issue, repo_map), "localise", iid)
    chosen = picked_paths(reply, [e.path for _, e in ranked]) or [e.path for _, e in ranked[:2]]
    entries = {e.path: e for _, e in ranked}
    files = {p: excerpt(_read(tree, p), named_symbols(reply, entries[p]), FILE_CHARS) for p in chosen}
    repro = extract_code(await _ask(llm, prompts.reproduction(issue, files), "reproduce", iid), "python").code
    if repro:
        (tree / REPRO_FILE).write_text(repro)
    regression_files = nearby_tests(tree, chosen)
    public_files = files_of_test_patch(instance) if public else []
    test_files = tuple(dict.fromkeys([*([REPRO_FILE] if repro else []), *regression_files, *public_files]))
    spec = prepared.spec
    paths = tuple(spec.paths if spec.paths is not None else source_paths(tree))
    setup = SweSetup(
        instance_id=iid, issue=issue, tree=tree, repo_map=repo_map, files=files, test_files=test_files,
        must_pass=(), regression=(), baseline_feedback="", paths=paths, test_timeout_s=spec.test_timeout_s,
    )  # fmt: skip
    if not test_files:
        return setup
    run = await run_pytest(box, tree, test_files, limits=setup.limits, test_timeout_s=setup.test_timeout_s, paths=paths)
    if run.infra_error:
        # Without a baseline every candidate would pass vacuously: the instance is an infrastructure error.
        raise RepositoryError(f"the sandbox failed running the baseline tests: {run.infra_error}")
    fails = [n for n, r in run.results.items() if not run.passed(n) and r.outcome != "skipped"]
    must = [n for n in fails if n.startswith(REPRO_FILE + "::")]
    if public:
        index = NodeIndex(run, spec.test_names)
        listed = [n for name in instance.FAIL_TO_PASS for n in index.nodes(name)]
        must += [n for n in dict.fromkeys(listed) if n in fails]
    regression = [n for n in run.results if run.passed(n) and not n.startswith(REPRO_FILE + "::")]
    return replace(setup, must_pass=tuple(must), regression=tuple(regression), baseline_feedback=render(run, must))


@dataclass(frozen=True)
class MadePatch:
    """The engine's patch for an instance and the solve that made it."""

    patch: str
    """The unified diff ("" when no candidate's edits apply)."""
    result: SolveResult


async def make_patch(
    prepared: Prepared,
    box: Sandbox,
    llm: LLM,
    settings: SolveSettings,
    progress: Progress | None = None,
    stop: StopSwitch | None = None,
) -> MadePatch:
    """The engine's patch for one instance, with its solve (solution, trace, candidates)."""
    tree = await anyio.to_thread.run_sync(prepared.tree, "solve")
    try:
        setup = await setup_for(prepared, tree, box, llm, settings.public_tests)
        task = SweTask(setup, box, settings.config.history_chars)
        engine = Engine(task, llm, settings.config, progress, stop)
        solution, trace = await engine.solve()
        result = SolveResult(solution, trace, None, candidates=tuple(engine.candidates))
        edited: dict[str, str] = {}
        if solution.code is not None:
            try:
                edited = task.files_for(solution.code, explain=False)
            except EditError:
                edited = {}
    finally:
        await remove_tree(tree)
    if not edited:
        return MadePatch("", result)
    fresh = await anyio.to_thread.run_sync(prepared.tree, "patch")
    try:
        await anyio.to_thread.run_sync(write_files, fresh, edited)
        return MadePatch(await anyio.to_thread.run_sync(tree_diff, fresh), result)
    finally:
        await remove_tree(fresh)


def engine_patches(llm: LLM, settings: SolveSettings) -> Callable[[Prepared, Sandbox], Awaitable[MadePatch]]:
    """The engine as a SWE batch's patch source."""

    async def made(prepared: Prepared, box: Sandbox) -> MadePatch:
        return await make_patch(prepared, box, llm, settings)

    return made
