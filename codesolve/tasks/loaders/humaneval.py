"""HumanEval and MBPP: function problems whose tests are Python asserts.

Representation (shared with :mod:`.evalplus`):

* public tests: the worked examples, as call tests: HumanEval's docstring
  examples (``>>>`` and arrow forms; the rest are counted in
  ``unparsed_examples``), MBPP's first assert;
* hidden tests: one test of kind ``check`` that runs the dataset's own assert
  code (:meth:`CompetitiveProblem.check_source`) in the candidate's namespace: HumanEval's
  ``check(candidate)``, and MBPP's asserts wrapped into a ``check`` function;
* the canonical solution is kept as a ``reference`` solution.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesolve.tasks.literals import quiet_parse
from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._python import CallExample, assert_example, docstring_examples, parse_signature
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, ReferenceSolution, TestSpec

NAME = "humaneval"
MBPP = "mbpp"
HUMANEVAL_LICENCE = "MIT (HumanEval)"
MBPP_LICENCE = "CC-BY-4.0 (MBPP)"
CHECK_TEST = TestSpec(name="check", kind="check", group="check")
"""The hidden test meaning "run check(candidate) from check_code"."""


def detect(record: Mapping[str, Any]) -> bool:
    """HumanEval: prompt, test, entry point and canonical solution (and no EvalPlus inputs)."""
    return {"prompt", "test", "entry_point", "canonical_solution"} <= record.keys()


def detect_mbpp(record: Mapping[str, Any]) -> bool:
    """Original MBPP: text, code and a list of assert strings."""
    return {"text", "code", "test_list"} <= record.keys()


def example_tests(examples: Sequence[CallExample], group: str = "example") -> list[TestSpec]:
    """Call tests for worked examples."""
    return [
        TestSpec(name=f"{group}/{i}", call_args=e.call_args, expected=e.expected, group=group)
        for i, e in enumerate(examples, start=1)
    ]


def signature_of(code: str, entry: str, field: str) -> str:
    """The ``def`` line of ``entry`` in ``code``."""
    try:
        return parse_signature(code, entry).def_line
    except ValueError as exc:
        raise FieldError(field, f"{exc} (looking for {entry!r})") from exc


ASSERTS_CHECK = "codesolve_check"
"""Name of the generated check function: MBPP has problems whose own function is called ``check``."""


def asserts_as_check(asserts: Sequence[str], setup: str = "") -> str:
    """MBPP-style asserts (calling the function by name) as a ``codesolve_check(candidate)`` function."""
    body = "\n".join(line.strip() for line in (*setup.splitlines(), *asserts) if line.strip())
    return f"def {ASSERTS_CHECK}(candidate):\n" + textwrap.indent(body or "pass", "    ") + "\n"


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One HumanEval record."""
    task_id = f.identifier(record, "task_id")
    prompt = f.nonempty_text(record, "prompt")
    entry = f.nonempty_text(record, "entry_point")
    examples, unparsed = docstring_examples(prompt, entry)
    canonical = f.text(record, "canonical_solution")
    return CompetitiveProblem(
        id=task_id,
        title=task_id,
        statement=prompt,
        input_mode="call",
        function_name=entry,
        signature=signature_of(prompt, entry, "prompt"),
        starter_code=prompt,
        check_code=f.nonempty_text(record, "test"),
        public_tests=example_tests(examples),
        hidden_tests=[CHECK_TEST],
        checker=CheckerConfig(kind="value"),
        source=f"HumanEval {task_id}",
        licence=HUMANEVAL_LICENCE,
        solutions=[ReferenceSolution(code=prompt + canonical, label="reference", origin="canonical_solution")],
        unparsed_examples=unparsed,
    )


_WORD = re.compile(r"\w+")
_OPEN_PAREN = re.compile(r"\s*\(")


def _names_before_parens(line: str) -> list[str]:
    """Every word that ``(`` follows (spaces allowed): each word run and each space run is looked at once.

    The pattern ``(\\w+)\\s*\\(`` this replaces backtracked over every suffix of a long word.
    """
    return [m.group() for m in _WORD.finditer(line) if _OPEN_PAREN.match(line, m.end())]


def _called_names(line: str) -> list[str]:
    try:
        tree = quiet_parse(line.strip())
    except (SyntaxError, ValueError, RecursionError):
        return _names_before_parens(line)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return [c.func.id for c in calls if isinstance(c.func, ast.Name)]


def mbpp_entry(code: str, asserts: Sequence[str], field: str = "code") -> str:
    """MBPP names no entry point: the first function the asserts call that the code defines."""
    defined = re.findall(r"^[ \t]*def[ \t]+(\w+)[ \t]*\(", code, re.MULTILINE)
    for line in asserts:
        for name in _called_names(line):
            if name in defined:
                return name
    if not defined:
        raise FieldError(field, "defines no function")
    return str(defined[-1])


def convert_mbpp(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One original MBPP record (the first assert is public, all asserts are the hidden check)."""
    task_id = f.identifier(record, "task_id")
    code = f.nonempty_text(record, "code").replace("\r\n", "\n")
    asserts = f.string_list(f.seq(record, "test_list"), "test_list")
    if not asserts:
        raise FieldError("test_list", "is empty")
    challenge = f.string_list(f.seq(record, "challenge_test_list", []), "challenge_test_list")
    entry = mbpp_entry(code, asserts)
    first = assert_example(asserts[0], entry)
    return CompetitiveProblem(
        id=f"MBPP/{task_id}",
        title=f"MBPP/{task_id}",
        statement=f.nonempty_text(record, "text"),
        input_mode="call",
        function_name=entry,
        signature=signature_of(code, entry, "code"),
        check_code=asserts_as_check([*asserts, *challenge], f.text(record, "test_setup_code", "")),
        check_function=ASSERTS_CHECK,
        public_tests=example_tests([first] if first else []),
        hidden_tests=[CHECK_TEST],
        checker=CheckerConfig(kind="value"),
        source=f"MBPP {task_id}",
        licence=MBPP_LICENCE,
        solutions=[ReferenceSolution(code=code, label="reference", origin="code")],
        unparsed_examples=0 if first else 1,
    )
