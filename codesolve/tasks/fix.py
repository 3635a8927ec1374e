"""Repository fixes as an engine :class:`Task`: a candidate is a new version of the target function(s).

The engine drives this exactly as it drives a competitive problem:

* ``run_public`` splices the candidate into its file(s) by syntax tree and
  runs, in a sandbox copy, the failing tests first (cheap) and, only when they
  all pass, the files holding them and the previously passing tests (the
  regression set: by default the whole suite). A candidate passes only when
  all of them pass, which is the regression filter before any selection. Each
  distinct spliced source is judged once.
* ``behaviours`` calls the (first) target function directly in the sandbox on
  each input and reports its return value or exception type: survivors
  cluster by what they really do.
* Inputs come from the model and, LLM-free, from every :class:`InputSource`
  plugged in (the tests' own calls of the target by default) and from the
  target's signature: differential testing does not rest on the model. The
  LLM-free ones follow ``--synth`` (``hypothesis`` and ``both`` use them).
"""

from __future__ import annotations

import ast
import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import anyio.to_thread

from codesolve.llm import Message, parse_reply
from codesolve.tasks import fix_prompts as prompts
from codesolve.tasks.base import Behaviour, DebugTurn, Evidence, Extracted, SynthInput, TestReport
from codesolve.tasks.extract import extract_code, fenced_blocks
from codesolve.tasks.feedback import clip
from codesolve.tasks.fences import fenced
from codesolve.tasks.repo.splice import SpliceError, candidate_functions, find_function, splice_all
from codesolve.tasks.repo.task import RepoSetup, RepoTask, report_of
from codesolve.tasks.repo.testrun import RUNNER_DIR, Selection
from codesolve.tasks.repo.workspace import Target
from codesolve.tasks.synth_call import call_inputs
from sandbox import Limits

PROBE_LIMITS = Limits(cpu_seconds=20, memory_mb=1024)
CALL_TIMEOUT_S = 2.0
FILE_CHARS = 6000
"""A target file longer than this is shown as its target functions only."""
PLUGGED_INPUTS = 64
"""Inputs taken from each plugged-in source (selection uses as many as it asks for)."""
UNCHECKED = "NC"
"""The verdict of a regression test not run: the candidate does not pass the failing tests yet."""
_PROBE_SOURCE = Path(__file__).with_name("repo").joinpath("_probe.py").read_bytes


class InputSource(Protocol):
    """LLM-free inputs for differential testing (e.g. property-based synthesis)."""

    async def inputs(self, target: Target, source: str, limit: int) -> list[str]:
        """Up to ``limit`` Python list literals of positional arguments for ``target``."""
        ...


@dataclass(frozen=True, kw_only=True)
class FixSetup(RepoSetup):
    """What the run established before the engine starts (``must_pass``: failing now; ``regression``: passing)."""

    repo: Path
    targets: tuple[Target, ...]
    originals: Mapping[str, bytes]
    """The target files' bytes when the run read them."""
    tree: Mapping[str, bytes]
    """The repository as the run read it (every test run gets a copy of this)."""
    description: str = ""
    check_files: tuple[str, ...] = ()
    """The files a full check runs (those holding ``must_pass`` and ``regression``; empty: the node ids)."""
    deselect: tuple[str, ...] = ()
    """Tests of ``check_files`` left out of a full check (not passing at baseline)."""


@dataclass
class FunctionFix(RepoTask[FixSetup]):
    """Drives one repository fix through the engine."""

    input_sources: Sequence[InputSource] = ()

    def __post_init__(self) -> None:
        self.qualnames = [t.qualname for t in self.setup.targets]
        self.plugged: list[SynthInput] = []
        # Replies that differ outside the spliced functions give the same tree: judged once.
        self.judged: dict[str, TestReport] = {}
        self.judging: dict[str, anyio.Lock] = {}
        names = [t.name for t in self.setup.targets]
        context = self.context(prompts.CODE_CHARS)
        self.first_messages = prompts.generation(context, self.setup.baseline_feedback, names, self.setup.description)

    @property
    def task_id(self) -> str:
        """The repository's folder name and the targets."""
        return f"{self.setup.repo.name}:{'+'.join(t.qualname for t in self.setup.targets)}"

    def context(self, limit: int) -> str:
        """Each target file as the model sees it: whole when short, else the targets themselves;
        each clipped to its share of ``limit`` before it is fenced (a clip of the fenced whole could
        cut one file's closing fence and the next one's opening, and leave the rest unclosed)."""
        parts = []
        paths = list(dict.fromkeys(t.path for t in self.setup.targets))
        for path in paths:
            text = self.setup.originals[path].decode("utf-8", "replace")
            if len(text) > FILE_CHARS:
                source = self.setup.originals[path]
                spans = [find_function(source, t.qualname) for t in self.setup.targets if t.path == path]
                lines = text.splitlines(keepends=True)
                text = "\n# ...\n".join(
                    f"# lines {s.first}-{s.last}\n" + "".join(lines[s.first - 1 : s.last]) for s in spans
                )
            parts.append(f"`{path}`:\n{fenced(clip(text, limit // len(paths)), 'python')}")
        return "\n\n".join(parts)

    @property
    def extract_scans(self) -> bool:
        """See :class:`codesolve.tasks.base.Task`: a fence scan."""
        return True

    def extract(self, completion: str) -> Extracted:
        """The last python block of the reply."""
        return extract_code(completion, "python")

    def debug_messages(self, history: Sequence[DebugTurn]) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.debug(self.first_messages, history, [t.name for t in self.setup.targets], self.history_chars)

    def files_for(self, code: str) -> dict[str, bytes]:
        """The target files with the candidate spliced in (SpliceError, for the model, if refused)."""
        functions = candidate_functions(code, self.qualnames)
        for target in self.setup.targets:
            find_function(self.setup.originals[target.path], target.qualname)
        edits = {(t.path, t.qualname): functions[t.qualname] for t in self.setup.targets}
        return splice_all(self.setup.originals, edits)

    async def run_public(self, code: str) -> TestReport:
        """The failing tests, then (when they pass) the regression set, with the candidate spliced in."""
        tests = self.setup.tests
        try:
            files = await anyio.to_thread.run_sync(self.files_for, code, abandon_on_cancel=True)
        except SpliceError as exc:
            return TestReport(0, len(tests), ("CE",) * len(tests), f"Your code was not used: {exc}.")
        digest = hashlib.sha256(json.dumps({k: v.hex() for k, v in sorted(files.items())}).encode()).hexdigest()
        async with self.judging.setdefault(digest, anyio.Lock()):
            if digest not in self.judged:
                report = await self.judge(files)
                if report.infra_error:
                    return report  # a sandbox fault is retried, never remembered as a verdict
                self.judged[digest] = report
        return self.judged[digest]

    async def judge(self, files: Mapping[str, bytes]) -> TestReport:
        """Cheap first: the failing tests alone; the full check only for a candidate that passes them."""
        s = self.setup
        first = await self.pytest(s.tree, s.must_pass, files)
        if not s.regression or not all(first.passed(t) for t in s.must_pass):
            report = report_of(first, s.must_pass)
            unchecked = len(s.regression)
            verdicts = report.verdicts + (UNCHECKED,) * unchecked
            return replace(report, total=report.total + unchecked, verdicts=verdicts)
        full = await self.pytest(s.tree, s.check_files or s.tests, files, Selection(deselect=s.deselect))
        return report_of(full, s.tests)

    def signature(self) -> str:
        """The first target as shown in prompts: ``module:qualname(args)``."""
        target = self.setup.targets[0]
        node = find_function(self.setup.originals[target.path], target.qualname).node
        return f"{target.name}({ast.unparse(node.args)})"

    def synthesis_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.synthesis(self.signature(), codes, count)

    async def prepare(self) -> None:
        """Start the sandbox's containers and, meanwhile, gather the plugged-in sources' inputs."""
        target = self.setup.targets[0]
        source = self.setup.originals[target.path].decode("utf-8", "replace")
        async with anyio.create_task_group() as group:
            group.start_soon(super().prepare)
            for plugged in self.input_sources:
                made = await plugged.inputs(target, source, PLUGGED_INPUTS)
                self.plugged += [SynthInput(text, origin=type(plugged).__name__) for text in made]

    async def parse_inputs(self, completion: str, limit: int) -> list[SynthInput]:
        """The model's ``input`` blocks holding list literals."""
        blocks = await parse_reply(len(completion), fenced_blocks, completion)
        return [SynthInput(b.body.strip()) for b in blocks if b.tag == "input" and _is_list(b.body)][:limit]

    async def behaviours(self, code: str, inputs: Sequence[SynthInput]) -> list[Behaviour]:
        """Call the first target directly in the sandbox on each input (one run for all)."""
        target = self.setup.targets[0]
        try:
            files = await anyio.to_thread.run_sync(self.files_for, code, abandon_on_cancel=True)
        except SpliceError:
            return [Behaviour("unusable", "[the candidate could not be spliced]", False) for _ in inputs]
        out = f"{RUNNER_DIR}/probe-{secrets.token_hex(8)}.json"
        spec = {
            "module": target.module,
            "qualname": target.qualname,
            "inputs": [i.text for i in inputs],
            "timeout": CALL_TIMEOUT_S,
            "out": out,
            "paths": list(self.setup.paths),
        }
        files = {
            **self.setup.tree,
            **files,
            f"{RUNNER_DIR}/probe.py": _PROBE_SOURCE(),
            f"{RUNNER_DIR}/probe.json": json.dumps(spec).encode(),
        }
        command = ["python3", f"{RUNNER_DIR}/probe.py", f"{RUNNER_DIR}/probe.json"]
        result = await self.sandbox.exec(command, files, PROBE_LIMITS, collect=[out])
        return _behaviours(result.files.get(out), len(inputs))

    def distinguish_messages(self, code_a: str, code_b: str) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.distinguish(self.signature(), code_a, code_b)

    def judge_messages(self, code_a: str, code_b: str, evidence: Sequence[Evidence]) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.judge(self.signature(), self.context(prompts.CONTEXT_CHARS), code_a, code_b, evidence)

    def synthetic_inputs(self, count: int, seed: int) -> list[SynthInput]:
        """The plugged-in sources' inputs (gathered in :meth:`prepare`), then argument lists drawn
        from the first target's signature and type hints."""
        node = find_function(self.setup.originals[self.setup.targets[0].path], self.setup.targets[0].qualname).node
        header = f"def {node.name}({ast.unparse(node.args)}):"  # the signature alone, as a def that parses
        made = call_inputs(header, [], count, f"{seed}:{self.task_id}")
        return self.plugged[:count] + [SynthInput(text, origin="hypothesis") for text in made]


def _is_list(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith("[") and stripped.endswith("]")


def _behaviours(data: bytes | None, count: int) -> list[Behaviour]:
    try:
        rows = json.loads(data) if data is not None else None
    except (ValueError, RecursionError):  # (the probe's output is the candidate's to spoil)
        rows = None
    if not isinstance(rows, list) or len(rows) != count or not all(isinstance(row, dict) for row in rows):
        return [Behaviour("no-result", "[the call produced no result]", False) for _ in range(count)]
    out = []
    for row in rows:
        kind, text = str(row.get("kind", "")), str(row.get("text", ""))
        if kind == "value":
            digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]
            out.append(Behaviour(f"AC:{digest}", clip(text, 1200), True))
        elif kind == "raise":
            out.append(Behaviour(f"RAISE:{row.get('type', '')}", f"raised {clip(text, 400)}", True))
        else:
            out.append(Behaviour(kind.upper() or "CRASH", f"[{clip(text, 400)}]", False))
    return out
