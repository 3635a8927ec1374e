"""DeepMind CodeContests, in two layouts.

* The Hugging Face layout (``deepmind/code_contests``): ``public_tests``,
  ``private_tests`` and ``generated_tests`` as ``{"input": [...], "output":
  [...]}``; ``time_limit`` as ``{seconds, nanos}``; ``memory_limit_bytes``;
  ``solutions``/``incorrect_solutions`` as ``{"language": [codes], "solution":
  [sources]}`` with codes 0 unknown, 1 Python 2, 2 C++, 3 Python 3, 4 Java.
  Public tests are public; private and generated tests are hidden.
* The SandboxFusion layout (``content``, ``labels`` and ``test`` as JSON
  text, no limits, no solutions): every ``test`` entry is hidden, and the
  statement's own examples become the public tests when they parse.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._limits import excerpt
from codesolve.tasks.loaders._statement import io_examples
from codesolve.tasks.models import CompetitiveProblem, ReferenceSolution, TestSpec

NAME = "code_contests"
LICENCE = "CC-BY-4.0 (CodeContests)"
FUSION_LICENCE = "Apache-2.0 (SandboxFusion sample of CodeContests, CC-BY-4.0)"
LANGUAGES = {0: "unknown", 1: "python2", 2: "cpp", 3: "python", 4: "java"}
"""CodeContests language codes → sandbox language names."""
_SOURCES = {0: "unknown", 1: "CodeChef", 2: "Codeforces", 3: "HackerEarth", 4: "CodeJam", 5: "AtCoder", 6: "Aizu"}


def detect(record: Mapping[str, Any]) -> bool:
    """Hugging Face layout, or SandboxFusion's wrapping of it."""
    hf = "public_tests" in record and ("private_tests" in record or "generated_tests" in record)
    fusion = {"content", "labels", "test"} <= record.keys()
    return hf or fusion


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One record of either layout."""
    if "content" in record and "test" in record:
        return _fusion(record)
    return _hf(record)


def _tests(record: Mapping[str, Any], key: str, group: str) -> list[TestSpec]:
    block = f.mapping(record, key, {})
    inputs = f.seq(block, "input", [], name=f"{key}.input")
    outputs = f.seq(block, "output", [], name=f"{key}.output")
    if len(inputs) != len(outputs):
        raise FieldError(key, f"{len(inputs)} inputs but {len(outputs)} outputs")
    f.string_list(inputs, f"{key}.input")
    f.string_list(outputs, f"{key}.output")
    return [
        TestSpec(name=f"{group}/{i}", stdin=stdin, expected=out, group=group)
        for i, (stdin, out) in enumerate(zip(inputs, outputs, strict=True), start=1)
    ]


def _solutions(record: Mapping[str, Any], key: str, label: Literal["correct", "incorrect"]) -> list[ReferenceSolution]:
    block = f.mapping(record, key, {})
    languages = f.seq(block, "language", [], name=f"{key}.language")
    sources = f.string_list(f.seq(block, "solution", [], name=f"{key}.solution"), f"{key}.solution")
    if len(languages) != len(sources):
        raise FieldError(key, f"{len(languages)} language codes but {len(sources)} solutions")
    solutions = []
    for index, (code, source) in enumerate(zip(languages, sources, strict=True)):
        if isinstance(code, bool) or code not in LANGUAGES:
            raise FieldError(f"{key}.language[{index}]", f"unknown language code {excerpt(code)}; known: 0-4")
        solutions.append(ReferenceSolution(language=LANGUAGES[code], code=source, label=label, origin=key))
    return solutions


def _time_limit(record: Mapping[str, Any]) -> float:
    limit = record.get("time_limit")
    if limit is None:
        return 2.0  # CodeContests leaves some limits unset; 2 s is the common Codeforces default
    block = f.mapping(record, "time_limit")
    seconds = f.number(block, "seconds", 0, name="time_limit.seconds")
    nanos = f.number(block, "nanos", 0, name="time_limit.nanos")
    return f.positive(seconds + nanos / 1e9, "time_limit")


def _memory_mb(record: Mapping[str, Any]) -> int:
    raw = record.get("memory_limit_bytes")
    if raw is None or raw == 0:
        return 256  # 0 and null both mean "not recorded"
    value = f.positive(f.number(record, "memory_limit_bytes"), "memory_limit_bytes")
    return max(1, int(value) >> 20)


def _hf(record: Mapping[str, Any]) -> CompetitiveProblem:
    name = f.nonempty_text(record, "name")
    source = record.get("source")
    origin = _SOURCES.get(source, str(source)) if isinstance(source, int) else "unknown"
    difficulty = record.get("difficulty")
    return CompetitiveProblem(
        id=name.strip(),
        title=name.strip(),
        statement=f.text(record, "description"),
        public_tests=_tests(record, "public_tests", "public"),
        hidden_tests=_tests(record, "private_tests", "private") + _tests(record, "generated_tests", "generated"),
        time_limit_s=_time_limit(record),
        memory_mb=_memory_mb(record),
        source=f"CodeContests ({origin})",
        licence=LICENCE,
        difficulty="" if difficulty is None else str(difficulty),
        solutions=_solutions(record, "solutions", "correct") + _solutions(record, "incorrect_solutions", "incorrect"),
    )


def _fusion_tests(record: Mapping[str, Any]) -> list[TestSpec]:
    entries = f.json_text(record, "test")
    if not isinstance(entries, list):
        raise FieldError("test", "expected a JSON list of tests")
    tests = []
    for index, entry in enumerate(entries, start=1):
        try:
            stdin, stdout = entry["input"]["stdin"], entry["output"]["stdout"]
        except (KeyError, TypeError) as exc:
            raise FieldError(f"test[{index - 1}]", "expected {input: {stdin}, output: {stdout}}") from exc
        if not isinstance(stdin, str) or not isinstance(stdout, str):
            raise FieldError(f"test[{index - 1}]", "stdin and stdout must be strings")
        tests.append(TestSpec(name=f"test/{index}", stdin=stdin, expected=stdout, group="test"))
    return tests


def _fusion(record: Mapping[str, Any]) -> CompetitiveProblem:
    labels = f.json_text(record, "labels")
    if not isinstance(labels, dict):
        raise FieldError("labels", "expected a JSON object")
    name = str(labels.get("name") or record.get("id") or "").strip()
    if not name:
        raise FieldError("labels.name", "missing")
    statement = f.text(record, "content")
    examples, unparsed = io_examples(statement)
    public = [
        TestSpec(name=f"example/{i}", stdin=stdin, expected=out, group="example")
        for i, (stdin, out) in enumerate(examples, start=1)
    ]
    number, dot, title = name.partition(". ")
    return CompetitiveProblem(
        id=name,
        title=title if dot else name,
        statement=statement,
        public_tests=public,
        hidden_tests=_fusion_tests(record),
        source=f"CodeContests via SandboxFusion ({labels.get('source', 'unknown')} {number if dot else ''})".strip(),
        licence=FUSION_LICENCE,
        difficulty=str(labels.get("difficulty", "")),
        unparsed_examples=unparsed,
    )
