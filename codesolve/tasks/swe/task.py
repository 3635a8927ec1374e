"""SWE issues as an engine :class:`Task`: a candidate is a set of search/replace edits.

The engine drives this exactly as it drives a competitive problem or a
function fix:

* ``run_public`` applies the edits in memory to the checked-out tree (an edit
  that does not apply goes back as a debugging round with the nearest lines)
  and runs, in a sandbox copy, the model-written reproduction test (it must
  now pass), the regression tests near the edited files (they must keep
  passing), and FAIL_TO_PASS only when ``--public-tests`` made them public.
* ``behaviours`` runs model-written tests (synthesis, or the judge's
  distinguishing test) and the repository's own test files near the files
  the survivors edit (regression runs) against each survivor: survivors
  cluster by real test outcomes, and the judge sees both patches and those
  outcomes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread

from codesolve.llm import Message, parse_reply
from codesolve.tasks.base import Behaviour, DebugTurn, Evidence, Extracted, SynthInput, TestReport
from codesolve.tasks.extract import fenced_blocks
from codesolve.tasks.feedback import clip
from codesolve.tasks.repo.feedback import verdict
from codesolve.tasks.repo.task import RepoSetup, RepoTask, report_of
from codesolve.tasks.repo.testrun import TestRun
from codesolve.tasks.repo.workspace import unified_diff
from codesolve.tasks.swe import prompts
from codesolve.tasks.swe.edits import EditError, canonical_edits, edited_files, parse_edits, render_edits
from codesolve.tasks.swe.normal import normal_form
from codesolve.tasks.swe.repomap import nearby_tests
from sandbox import Limits

REPRO_FILE = "test_codesolve_repro.py"
PROBE_PREFIX = "test_codesolve_probe_"
REGRESSION_MARK = "# the repository's own tests in "
"""A synthesized input that is a regression run: the test file near an edited file, as it is."""


@dataclass(frozen=True, kw_only=True)
class SweSetup(RepoSetup):
    """What the run established before the engine starts (no hidden test in it unless made public)."""

    instance_id: str
    issue: str
    tree: Path
    """The checkout at the base commit (the reproduction test and any public test patch written in)."""
    repo_map: str
    files: Mapping[str, str]
    """The files shown to the model (path → text)."""
    test_files: tuple[str, ...]
    """Files each run collects: the reproduction test, regression files, public test files."""
    limits: Limits = field(default_factory=lambda: Limits(cpu_seconds=300, wall_seconds=600, memory_mb=2048))
    test_timeout_s: float = 60.0


@dataclass
class SweTask(RepoTask[SweSetup]):
    """Drives one SWE instance through the engine."""

    def __post_init__(self) -> None:
        s = self.setup
        self.first_messages = prompts.generation(s.issue, s.repo_map, s.files, s.baseline_feedback)
        self.survivor_codes: list[str] = []
        self._near: dict[str, list[str]] = {}
        self._baseline: dict[str, tuple[str, ...]] = {}
        """Test file → its tests passing at the base commit (the candidates' own regression sets)."""
        self._baseline_lock = anyio.Lock()

    @property
    def task_id(self) -> str:
        """The instance id."""
        return self.setup.instance_id

    @property
    def extract_scans(self) -> bool:
        """See :class:`codesolve.tasks.base.Task`: no, the edits are applied to the tree's files."""
        return False

    def extract(self, completion: str) -> Extracted:
        """The reply's edits, normalised: edits giving the same files are the same candidate.

        Edits that do not apply are kept as written, so the debugging round shows why.
        """
        edits = parse_edits(completion)
        if not edits:
            return Extracted(None, "no search/replace edit in the reply")
        try:
            files = edited_files(self.setup.tree, edits, explain=False)  # (the debugging round explains)
        except EditError:
            return Extracted(render_edits(edits))
        originals = {p: self._original(p) for p in files}
        canonical = canonical_edits(originals, files)
        if not canonical:
            return Extracted(None, "the edits change nothing")
        return Extracted(render_edits(canonical))

    def _original(self, path: str) -> str:
        target = self.setup.tree / path
        return target.read_text(encoding="utf-8", errors="surrogateescape") if target.is_file() else ""

    def debug_messages(self, history: Sequence[DebugTurn]) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.debug(self.first_messages, history, self.history_chars)

    def files_for(self, code: str, explain: bool = True) -> dict[str, str]:
        """The edited files (EditError, for the model, when an edit does not apply; with the file's
        nearest lines unless ``explain`` is False)."""
        return edited_files(self.setup.tree, parse_edits(code), explain)

    def normal_form(self, code: str) -> str | None:
        """The candidate's patch normalised (:mod:`codesolve.tasks.swe.normal`); None when its edits do not apply."""
        try:
            files = self.files_for(code, explain=False)
        except EditError:
            return None
        return normal_form({p: self._original(p) for p in files}, files)

    def patch_for(self, code: str) -> str:
        """The candidate as a unified diff against the checkout ("" when its edits do not apply)."""
        try:
            files = self.files_for(code, explain=False)
        except EditError:
            return ""
        before = {p: (self.setup.tree / p).read_bytes() if (self.setup.tree / p).is_file() else b"" for p in files}
        return unified_diff(before, {p: t.encode("utf-8", "surrogateescape") for p, t in files.items()})

    async def _run(self, code: str, extra: Mapping[str, bytes], files: Sequence[str]) -> TestRun | str:
        try:
            edited = await anyio.to_thread.run_sync(self.files_for, code, abandon_on_cancel=True)
        except EditError as exc:
            return str(exc)
        overrides = {p: t.encode("utf-8", "surrogateescape") for p, t in edited.items()} | dict(extra)
        return await self.pytest(self.setup.tree, files, overrides)

    async def run_public(self, code: str) -> TestReport:
        """The reproduction test, the regression set and any public tests, with the edits applied; and
        the regression tests of the files this candidate edits (passing at the base commit: must keep passing)."""
        try:
            edited = await anyio.to_thread.run_sync(self.files_for, code, abandon_on_cancel=True)
        except EditError as exc:
            tests = self.setup.tests
            return TestReport(0, len(tests), ("CE",) * len(tests), f"Your edits were not applied: {exc}")
        own = await self.own_regression(sorted(edited))
        tests = self.setup.tests + tuple(n for nodes in own.values() for n in nodes)
        run = await self._run(code, {}, [*self.setup.test_files, *own])
        if isinstance(run, str):
            return TestReport(0, len(tests), ("CE",) * len(tests), f"Your edits were not applied: {run}")
        return report_of(run, tests)

    async def own_regression(self, edited: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Test files near ``edited`` that the setup's runs do not cover, each with its tests passing at
        the base commit (one baseline run per new file, remembered for every later candidate)."""
        key = "\0".join(edited)
        if key not in self._near:
            near = await anyio.to_thread.run_sync(nearby_tests, self.setup.tree, list(edited), abandon_on_cancel=True)
            self._near[key] = [p for p in near if p not in self.setup.test_files]
        files = self._near[key]
        async with self._baseline_lock:
            missing = [f for f in files if f not in self._baseline]
            if missing:
                run = await self.pytest(self.setup.tree, missing)
                if run.infra_error:
                    return {f: self._baseline[f] for f in files if f in self._baseline}  # no baseline: not asked
                for f in missing:
                    self._baseline[f] = tuple(n for n in run.results if n.split("::", 1)[0] == f and run.passed(n))
        return {f: self._baseline[f] for f in files}

    def synthesis_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task` (the survivors are noted: their edited files pick regression runs)."""
        self.survivor_codes = list(codes)
        return prompts.synthesis(self.setup.issue, [self.patch_for(c) for c in codes], count)

    async def parse_inputs(self, completion: str, limit: int) -> list[SynthInput]:
        """Each python block that defines a test is one input (a whole pytest module); for synthesis,
        also a regression run of each test file near a file some survivor edits."""
        blocks = await parse_reply(len(completion), fenced_blocks, completion)
        found = [SynthInput(b.body) for b in blocks if b.tag in ("python", "py", "") and "def test" in b.body]
        found = found[:limit]
        if limit > 1:
            regression = await anyio.to_thread.run_sync(self.regression_files, abandon_on_cancel=True)
            found += [SynthInput(REGRESSION_MARK + path, origin="regression") for path in regression]
        return found

    def regression_files(self) -> list[str]:
        """Test files near the files the survivors edit that the public runs do not already cover."""
        edited: set[str] = set()
        for code in self.survivor_codes:
            edited |= {e.path for e in parse_edits(code)}
        near = nearby_tests(self.setup.tree, sorted(edited), limit=2 * max(len(edited), 1))
        return [p for p in near if p not in self.setup.test_files]

    async def behaviours(self, code: str, inputs: Sequence[SynthInput]) -> list[Behaviour]:
        """Run every input module with the edits applied (one run); each input's outcomes are its behaviour."""
        names = [
            i.text.removeprefix(REGRESSION_MARK) if i.origin == "regression" else f"{PROBE_PREFIX}{n}.py"
            for n, i in enumerate(inputs)
        ]
        extra = {n: i.text.encode() for n, i in zip(names, inputs, strict=True) if i.origin != "regression"}
        run = await self._run(code, extra, list(dict.fromkeys(names)))
        if isinstance(run, str):
            return [Behaviour("unusable", "[the edits could not be applied]", False) for _ in inputs]
        return [_behaviour(run, name) for name in names]

    def distinguish_messages(self, code_a: str, code_b: str) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.distinguish(self.setup.issue, self.patch_for(code_a), self.patch_for(code_b))

    def judge_messages(self, code_a: str, code_b: str, evidence: Sequence[Evidence]) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.judge(self.setup.issue, self.patch_for(code_a), self.patch_for(code_b), evidence)

    def synthetic_inputs(self, count: int, seed: int) -> list[SynthInput]:  # noqa: ARG002 - the Task protocol
        """None without a model: the regression runs near edited files come with synthesis instead."""
        return []


def _behaviour(run: TestRun, name: str) -> Behaviour:
    if run.infra_error:
        return Behaviour("SE", f"[the sandbox failed: {clip(run.infra_error, 200)}]", False)
    nodes = sorted(n for n in run.results if n.split("::", 1)[0] == name)
    if not nodes:
        return Behaviour("NOT-RUN", f"[no test ran: {clip(run.distrust or run.output_tail, 300)}]", False)
    # A module that fails to collect is reported under its own path (no "::" part).
    rows = [f"{n.partition('::')[2] or 'collection'}: {verdict(run, n)}" for n in nodes]
    shown = "\n".join(rows)
    failing = [n for n in nodes if not run.passed(n)]
    if failing:
        shown += "\n" + clip(run.results[failing[0]].message or run.results[failing[0]].details, 600)
    digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:24]
    return Behaviour(f"TESTS:{digest}", shown, True)
