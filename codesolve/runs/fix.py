"""Fixing a repository's failing tests: environment, baseline, localisation, the engine, the diff.

:func:`examine` is ``--check``: the baseline run (traced) and the localisation,
no model. :func:`fix_repo` then drives :class:`~codesolve.tasks.fix.FunctionFix`
through the one engine and turns the chosen candidate into a diff with the
tests it makes pass, keeps passing and breaks. :func:`apply_fix` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread

from codesolve.errors import RepositoryError
from codesolve.llm import LLM
from codesolve.runs.output import file_stem, new_run_id, write_new
from codesolve.sstar import Engine, EngineConfig, Progress, Solution, Trace
from codesolve.sstar.stop import StopSwitch
from codesolve.tasks.fix import FixSetup, FunctionFix, InputSource
from codesolve.tasks.repo import (
    Localisation,
    SpliceError,
    Target,
    TestCallInputs,
    TestRun,
    WorkspaceError,
    apply_files,
    find_function,
    localise,
    requirement_files,
    resolve_target,
    run_pytest,
    source_paths,
    test_files,
    unified_diff,
)
from codesolve.tasks.repo.feedback import render
from codesolve.tasks.repo.workspace import snapshot
from sandbox import Limits, Sandbox
from sandbox.environments import build_environment


@dataclass(frozen=True)
class FixRequest:
    """What the user asked for."""

    repo: Path
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()
    description: str = ""
    keep_passing: tuple[str, ...] = ()
    """More selectors whose passing tests join the regression set (``.``: the whole suite);
    the files of ``tests`` always do."""
    limits: Limits = field(default_factory=lambda: Limits(cpu_seconds=120, memory_mb=2048))
    test_timeout_s: float = 20.0


@dataclass(frozen=True)
class Examined:
    """The baseline: which tests fail and pass, and which functions to fix."""

    setup: FixSetup
    localisation: Localisation | None
    """None when ``--function`` named the targets."""
    baseline: TestRun


@dataclass(frozen=True)
class FixResult:
    """The engine's pick as a fix."""

    examined: Examined
    solution: Solution
    trace: Trace
    files: dict[str, bytes]
    """Target files with the fix spliced in (empty when no candidate could be used)."""
    diff: str
    made_pass: tuple[str, ...]
    still_failing: tuple[str, ...]
    kept_passing: tuple[str, ...]
    broken: tuple[str, ...]


async def environment(repo: Path, image: str | None = None) -> str:
    """The image to run ``repo`` in: ``image`` as given, else the sandbox image plus its requirements."""
    if image is not None:
        return image
    return await build_environment(await anyio.to_thread.run_sync(requirement_files, repo))


def _test_dirs(selectors: Sequence[str]) -> list[str]:
    return sorted({s.split("::", 1)[0].rsplit("/", 1)[0] for s in selectors if "/" in s.split("::", 1)[0]})


async def examine(request: FixRequest, sandbox: Sandbox) -> Examined:
    """Run the test files of the requested tests and ``keep_passing`` (tracing each test), then localise."""
    repo = request.repo
    paths = tuple(source_paths(repo))
    try:
        tree = await anyio.to_thread.run_sync(snapshot, repo)
    except (WorkspaceError, OSError) as exc:
        raise RepositoryError(str(exc)) from None
    run = await run_pytest(
        sandbox,
        tree,
        list(dict.fromkeys([*test_files(request.tests), *request.keep_passing])),
        limits=request.limits,
        test_timeout_s=request.test_timeout_s,
        spectra=True,
        exclude_dirs=_test_dirs([*request.tests, *request.keep_passing]),
        paths=paths,
    )
    if run.infra_error:
        raise RepositoryError(f"the sandbox failed running the tests: {run.infra_error}")
    if run.distrust and run.results:
        # Every test would count as failing: no baseline to fix against, nor a regression set.
        tail = " ".join(run.output_tail.split())[-300:]
        raise RepositoryError(f"the baseline run of {repo} cannot be trusted ({run.distrust}): {tail}")
    picked = run.matching(request.tests)
    if not picked:
        tail = " ".join(run.output_tail.split())[-300:]
        raise RepositoryError(f"pytest ran none of {', '.join(request.tests)} in {repo}: {run.distrust or tail}")
    failing = tuple(t for t in picked if not run.passed(t) and run.results[t].outcome != "skipped")
    if not failing:
        raise RepositoryError(f"nothing to fix: the {len(picked)} test(s) given pass in {repo}")
    passing = tuple(t for t in run.results if run.passed(t))
    tracebacks = {t: run.results[t].details for t in failing}
    located = None if request.functions else localise(run.spectra, failing, passing, tracebacks, run.lines)
    names = list(request.functions) if located is None else [s.target for s in located.targets]
    targets, originals = await _targets(repo, names, tree)
    setup = FixSetup(
        repo=repo,
        targets=targets,
        must_pass=failing,
        regression=passing,
        originals=originals,
        tree=tree,
        baseline_feedback=render(run, failing),
        description=request.description,
        paths=paths,
        limits=request.limits,
        test_timeout_s=request.test_timeout_s,
    )
    return Examined(setup, located, run)


async def _targets(
    repo: Path, names: Sequence[str], tree: Mapping[str, bytes]
) -> tuple[tuple[Target, ...], dict[str, bytes]]:
    """The targets named ``module:qualname``, checked to exist, and their files' bytes in ``tree``."""
    try:
        targets = tuple(resolve_target(repo, name) for name in names)
    except WorkspaceError as exc:
        raise RepositoryError(str(exc)) from None
    if not targets:
        raise RepositoryError("no repository function was run by the failing tests: name one with --function")
    originals = {t.path: tree[t.path] for t in targets if t.path in tree}
    for target in targets:
        if target.path not in originals:
            raise RepositoryError(f"{target.name}: {target.path} is not part of the repository's copy")
        try:
            find_function(originals[target.path], target.qualname)
        except SpliceError as exc:
            raise RepositoryError(f"{target.name}: {exc} ({target.path})") from None
    return targets, originals


async def fix_repo(
    examined: Examined,
    sandbox: Sandbox,
    llm: LLM,
    config: EngineConfig,
    progress: Progress | None = None,
    stop: StopSwitch | None = None,
    sources: Sequence[InputSource] | None = None,
) -> FixResult:
    """Run the engine on the examined repository and describe its pick as a fix.

    ``sources`` of LLM-free inputs for differential testing: by default the tests' own literal
    calls of the target and their edge-case neighbours (:class:`TestCallInputs`).
    """
    setup = examined.setup
    if sources is None:
        sources = (TestCallInputs(setup.repo, test_files(setup.tests)),)
    task = FunctionFix(setup, sandbox, config.history_chars, sources)
    engine = Engine(task, llm, config, progress, stop)
    solution, trace = await engine.solve()
    files: dict[str, bytes] = {}
    if solution.code is not None:
        try:
            files = task.files_for(solution.code)
        except SpliceError:
            files = {}
    passed = {t for t, v in zip(setup.tests, solution.public_verdicts, strict=False) if v == "AC"} if files else set()
    return FixResult(
        examined=examined,
        solution=solution,
        trace=trace,
        files=files,
        diff=unified_diff(setup.originals, files),
        made_pass=tuple(t for t in setup.must_pass if t in passed),
        still_failing=tuple(t for t in setup.must_pass if t not in passed),
        kept_passing=tuple(t for t in setup.regression if t in passed),
        broken=tuple(t for t in setup.regression if t not in passed),
    )


def apply_fix(result: FixResult) -> list[str]:
    """Write the fix into the repository (RepositoryError, nothing written, when a file changed meanwhile)."""
    try:
        return apply_files(result.examined.setup.repo, result.examined.setup.originals, result.files)
    except (WorkspaceError, OSError) as exc:
        raise RepositoryError(str(exc)) from None


def save_trace(result: FixResult, out: Path) -> Path:
    """Write the run's trace (every prompt, completion and test run) as ``<out>/<stem>.<run>.trace.json``."""
    path = out / f"{file_stem(result.solution.task_id)}.{new_run_id()}.trace.json"
    write_new(path, result.trace.model_dump_json(indent=1))
    return path


def save_diff(result: FixResult, out: Path) -> Path:
    """Write the pick's diff as ``<out>/<stem>.<run>.diff`` (for a pick that is not a fix: kept off stdout)."""
    path = out / f"{file_stem(result.solution.task_id)}.{new_run_id()}.diff"
    write_new(path, result.diff)
    return path


def targets_line(targets: Sequence[Target]) -> str:
    """The targets as one line."""
    return ", ".join(f"{t.name} ({t.path})" for t in targets)
