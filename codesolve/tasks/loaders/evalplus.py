"""EvalPlus: HumanEval+ and MBPP+ (``base_input``, ``plus_input``, ``atol``).

EvalPlus ships inputs but no outputs: expected values come from running the
canonical solution. So every base and plus input becomes a hidden call test
with ``expected=None`` (groups ``base`` and ``plus``), and the canonical
solution is a ``reference`` solution: the judge computes the expected values
before grading (:attr:`CompetitiveProblem.needs_reference_outputs`). Results
compare as values within ``atol``. The dataset's own asserts, when present
(HumanEval+'s ``test``, MBPP+'s ``assertion``), are one more hidden test of
kind ``check``. Public tests are the worked examples, as for :mod:`.humaneval`.

Inputs come from JSON, so tuples arrive as lists; an input holding NaN has no
literal form and is dropped (counted in ``dropped_tests``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks.literals import LiteralError, to_literal
from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._python import assert_example, docstring_examples
from codesolve.tasks.loaders.humaneval import ASSERTS_CHECK, CHECK_TEST, asserts_as_check, example_tests, signature_of
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, ReferenceSolution, TestSpec

NAME = "evalplus"
LICENCE = "Apache-2.0 (EvalPlus)"


def detect(record: Mapping[str, Any]) -> bool:
    """EvalPlus records carry ``base_input`` and ``plus_input``."""
    return "base_input" in record and "plus_input" in record


def _inputs(record: Mapping[str, Any], key: str) -> tuple[list[TestSpec], int]:
    raw = record.get(key)
    if raw == {} or raw is None:
        return [], 0  # one MBPP+ pre-release record writes an empty plus_input as {}
    group = key.removesuffix("_input")  # "base" or "plus"
    tests, dropped = [], 0
    for index, args in enumerate(f.seq(record, key), start=1):
        if not isinstance(args, list):
            raise FieldError(f"{key}[{index - 1}]", f"expected an argument list, got {type(args).__name__}")
        try:
            literal = to_literal(args)
        except LiteralError:
            dropped += 1
            continue
        tests.append(TestSpec(name=f"{group}/{index}", call_args=literal, group=group))
    return tests, dropped


def _checker(record: Mapping[str, Any]) -> CheckerConfig:
    atol = f.number(record, "atol", 0)
    if atol < 0:
        raise FieldError("atol", f"must be >= 0, got {atol:g}")
    return CheckerConfig(kind="value", abs_tol=atol)


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One HumanEval+ or MBPP+ record."""
    task_id = f.identifier(record, "task_id")
    entry = f.nonempty_text(record, "entry_point")
    prompt = f.nonempty_text(record, "prompt")
    canonical = f.nonempty_text(record, "canonical_solution")
    base, dropped_base = _inputs(record, "base_input")
    plus, dropped_plus = _inputs(record, "plus_input")
    mbpp = "assertion" in record
    if mbpp:
        asserts = [line for line in f.text(record, "assertion").splitlines() if line.strip()]
        first = assert_example(asserts[0], entry) if asserts else None
        examples, unparsed = ([first] if first else []), (0 if first else 1)
        # MBPP+ asserts use math.isclose without importing math (EvalPlus's harness provides it).
        check = asserts_as_check(asserts, setup="import math") if asserts else ""
        reference, statement = canonical, prompt.strip().strip("'\"").strip()
        signature = signature_of(canonical, entry, "canonical_solution")
    else:
        examples, unparsed = docstring_examples(prompt, entry)
        check = f.text(record, "test", "")
        reference, statement = prompt + canonical, prompt
        signature = signature_of(prompt, entry, "prompt")
    return CompetitiveProblem(
        id=task_id,
        title=task_id,
        statement=statement,
        input_mode="call",
        function_name=entry,
        signature=signature,
        starter_code="" if mbpp else prompt,
        check_code=check,
        check_function=ASSERTS_CHECK if mbpp else "check",
        public_tests=example_tests(examples),
        hidden_tests=[*base, *plus, *([CHECK_TEST] if check else [])],
        checker=_checker(record),
        source=f"{'MBPP+' if mbpp else 'HumanEval+'} {task_id}",
        licence=LICENCE,
        solutions=[ReferenceSolution(code=reference, label="reference", origin="canonical_solution")],
        dropped_tests=dropped_base + dropped_plus,
        unparsed_examples=unparsed,
    )
