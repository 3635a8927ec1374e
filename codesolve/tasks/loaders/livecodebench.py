"""LiveCodeBench ``code_generation_lite``.

``public_test_cases`` is JSON text: a list of ``{input, output, testtype}``
with ``testtype`` ``stdin`` or ``functional``. ``private_test_cases`` is
either JSON text or ``base64(zlib(pickle(json_text)))``; the pickle is
opened with a restricted unpickler that refuses every global
(:mod:`._safe_pickle`), so a dataset can never run code on load.

Functional tests write one JSON value per argument, one per line, and the
result as JSON; ``metadata`` names the method (``{"func_name": ...}``) of
class ``Solution``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks.literals import LiteralError, to_literal
from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._python import parse_signature
from codesolve.tasks.loaders._safe_pickle import UnsafePickle, decode_compressed_text
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, TestSpec

NAME = "livecodebench"
LICENCE = "CC-BY-4.0 (LiveCodeBench; problems remain their platforms')"
PRELUDE = "from typing import *"
"""Starter code annotates with ``List``/``Optional`` and assumes them imported."""


def detect(record: Mapping[str, Any]) -> bool:
    """LCB's distinctive pair of test fields."""
    return "public_test_cases" in record and "question_content" in record


def _private_text(record: Mapping[str, Any]) -> Any:
    raw = f.text(record, "private_test_cases", "")
    if not raw.strip():
        return []
    if raw.lstrip().startswith("["):
        return f.json_text(record, "private_test_cases")
    try:
        return json.loads(decode_compressed_text(raw.strip()))
    except UnsafePickle as exc:
        raise FieldError("private_test_cases", f"not decodable: {exc}") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FieldError("private_test_cases", "decoded text is not JSON") from exc


def _functional_args(text: str, field: str) -> str:
    try:
        values = [json.loads(line) for line in text.split("\n") if line.strip()]
        return to_literal(values)
    except (json.JSONDecodeError, LiteralError, RecursionError) as exc:
        raise FieldError(field, f"functional input is not one JSON value per line: {exc}") from exc


def _functional_expected(text: str, field: str) -> str:
    try:
        return to_literal(json.loads(text))
    except (json.JSONDecodeError, LiteralError, RecursionError) as exc:
        raise FieldError(field, f"functional output is not JSON: {exc}") from exc


def _tests(entries: Any, field: str, group: str, call: bool) -> list[TestSpec]:
    if not isinstance(entries, list):
        raise FieldError(field, "expected a list of tests")
    if len(entries) > f.MAX_ITEMS:
        raise FieldError(field, f"more than {f.MAX_ITEMS} tests")
    tests = []
    for index, entry in enumerate(entries):
        where = f"{field}[{index}]"
        if not isinstance(entry, Mapping):
            raise FieldError(where, "expected an object with input and output")
        stdin = f.text(entry, "input", name=f"{where}.input")
        output = f.text(entry, "output", name=f"{where}.output")
        name = f"{group}/{index + 1}"
        if call:
            args, expected = _functional_args(stdin, f"{where}.input"), _functional_expected(output, f"{where}.output")
            tests.append(TestSpec(name=name, call_args=args, expected=expected, group=group))
        else:
            tests.append(TestSpec(name=name, stdin=stdin, expected=output, group=group))
    return tests


def _is_functional(public: Any) -> bool:
    tests = public if isinstance(public, list) else []
    return any(isinstance(t, Mapping) and t.get("testtype") == "functional" for t in tests)


def _function_name(record: Mapping[str, Any], starter: str) -> str:
    metadata = f.json_text(record, "metadata") if record.get("metadata") else {}
    name = metadata.get("func_name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str) or not name:
        raise FieldError("metadata", "functional tests need metadata.func_name")
    try:
        return parse_signature(starter, name).function_name
    except ValueError:
        return f"Solution.{name}"  # LCB's functional problems are all LeetCode methods


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One LiveCodeBench record."""
    public_raw = f.json_text(record, "public_test_cases")
    call = _is_functional(public_raw)
    starter = f.text(record, "starter_code", "")
    function_name = _function_name(record, starter) if call else None
    signature = None
    if call and starter:
        try:
            signature = parse_signature(starter).def_line
        except ValueError as exc:
            raise FieldError("starter_code", str(exc)) from exc
    return CompetitiveProblem(
        id=f.identifier(record, "question_id"),
        title=f.text(record, "question_title", ""),
        statement=f.text(record, "question_content"),
        input_mode="call" if call else "stdin",
        function_name=function_name,
        signature=signature,
        starter_code=starter,
        prelude=PRELUDE if call else "",
        public_tests=_tests(public_raw, "public_test_cases", "public", call),
        hidden_tests=_tests(_private_text(record), "private_test_cases", "private", call),
        checker=CheckerConfig(kind="value") if call else CheckerConfig(),
        source=f"LiveCodeBench ({f.text(record, 'platform', 'unknown')} {f.text(record, 'contest_id', '')})".strip(),
        licence=LICENCE,
        difficulty=f.text(record, "difficulty", ""),
    )
