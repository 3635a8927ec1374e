"""LeetCodeDataset (newfacade): call-based ``Solution().method`` problems.

* ``prompt`` (imports plus ``ListNode``/``TreeNode`` helpers) is the prelude;
  ``completion`` is the reference solution.
* ``input_output`` cases (``"n = 7, queries = [[0,5]]"``, sometimes a JSON
  object) become hidden call tests, arguments put in signature order. Their
  outputs were recorded with ``str()``, so for ``-> str`` methods the text is
  the value itself. Cases whose recorded output is an error or a timeout,
  whose input does not name exactly the signature's parameters, or whose
  parameters or result are linked lists or trees (no literal form) are
  dropped and counted.
* ``test`` (``check(candidate)``) is kept as ``check_code`` with one hidden
  check test: it covers the dropped cases too.
* The statement's ``Input: … Output: …`` examples are the public tests.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks.literals import LiteralError, literal_value, parse_expression, parse_value, to_literal
from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._python import MAX_EXAMPLES, Signature, parse_signature
from codesolve.tasks.loaders._statement import labelled_pairs
from codesolve.tasks.loaders.humaneval import CHECK_TEST
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, ReferenceSolution, TestSpec

NAME = "leetcode"
LICENCE = "MIT (LeetCodeDataset; problems are LeetCode's)"
_STRUCTURED = re.compile(r"\b(TreeNode|ListNode|Node)\b")
_FAILED_OUTPUT = ("Error:", "Execution timed out")


def detect(record: Mapping[str, Any]) -> bool:
    """LeetCodeDataset's own field set."""
    return {"question_id", "starter_code", "completion", "input_output", "entry_point"} <= record.keys()


def _signature(record: Mapping[str, Any]) -> Signature:
    entry = f.nonempty_text(record, "entry_point")
    method = entry.rsplit(".", 1)[-1]
    try:
        return parse_signature(f.text(record, "starter_code"), method)
    except ValueError as exc:
        raise FieldError("starter_code", f"{exc} (entry point {entry!r})") from exc


def _keywords(text: str) -> dict[str, Any]:
    """``a = 1, b = [2]`` or a JSON object, as a name → value mapping (JSON-ish literals allowed)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        value = json.loads(stripped)
        if not isinstance(value, dict):
            raise LiteralError("not an object")
        return value
    fast = json_keywords(stripped)
    return fast if fast is not None else python_keywords(stripped)


def python_keywords(text: str) -> dict[str, Any]:
    """``a = 1, b = (2,)`` read by the Python parser: any JSON-ish literal, never evaluated."""
    call = parse_expression(f"f({text})")
    if not isinstance(call, ast.Call) or call.args or any(kw.arg is None for kw in call.keywords):
        raise LiteralError("not name = value pairs")
    names = [str(kw.arg) for kw in call.keywords]
    if len(set(names)) != len(names):
        raise LiteralError("a name given twice")
    return {name: literal_value(kw.value, jsonish=True) for name, kw in zip(names, call.keywords, strict=True)}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a literal")  # NaN and Infinity: the Python parser refuses them too


# Whitespace both the Python tokenizer (inside brackets) and JSON accept, and ASCII names only.
_NAME = re.compile(r"[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*=[ \t\r\n]*")
_COMMA = re.compile(r"[ \t\r\n]*,")
_END = re.compile(r"[ \t\r\n]*\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON = json.JSONDecoder(parse_constant=_no_constant)


def json_keywords(text: str) -> dict[str, Any] | None:
    """``name = value`` pairs whose values are all JSON, read by the C JSON scanner; else ``None``.

    A record may hold tens of thousands of cases, and a parse of each by
    :mod:`ast` costs ~30 µs; this path reads the common form several times
    faster. Anything it is not sure of (a backslash, whose escapes JSON and
    Python read differently; a lone surrogate, which Python refuses; a
    Python-only literal; a keyword as a name; a trailing comma) is ``None``,
    and :func:`python_keywords` decides, so both paths give one value.
    """
    if "\\" in text or (not text.isascii() and _SURROGATE.search(text)):
        return None
    named: dict[str, Any] = {}
    pos = 0
    while (name := _NAME.match(text, pos)) is not None:
        if keyword.iskeyword(name[1]) or name[1] in named:
            return None
        try:
            named[name[1]], pos = _JSON.raw_decode(text, name.end())
        except (ValueError, RecursionError):
            return None
        if _END.match(text, pos):
            return named
        comma = _COMMA.match(text, pos)
        if comma is None:
            return None
        pos = comma.end()
    return None


def call_args(text: str, sig: Signature) -> str | None:
    """Literal argument list from ``name = value`` text, or ``None`` when it does not fit ``sig``."""
    try:
        named = _keywords(text)
        if set(named) != set(sig.params):
            return None
        return to_literal([named[p] for p in sig.params])
    except (LiteralError, json.JSONDecodeError, RecursionError):
        return None


def recorded_expected(output: str, sig: Signature) -> str | None:
    """Expected literal from an output recorded with ``str()``; ``None`` for error records."""
    if output.startswith(_FAILED_OUTPUT):
        return None
    if sig.returns == "str":
        return repr(output)
    try:
        return to_literal(parse_value(output))
    except LiteralError:
        # str() of inf and nan: no literal, but the value checker compares them as tokens.
        return output if output in ("inf", "-inf") else None


def _structured(sig: Signature) -> bool:
    return bool(_STRUCTURED.search(sig.def_line))


def _hidden(record: Mapping[str, Any], sig: Signature) -> tuple[list[TestSpec], int]:
    cases = f.seq(record, "input_output")
    tests: list[TestSpec] = []
    dropped = 0
    structured = _structured(sig)  # once per problem: a record may hold tens of thousands of cases
    for index, case in enumerate(cases, start=1):
        where = f"input_output[{index - 1}]"
        if not isinstance(case, Mapping):
            raise FieldError(where, "expected an object with input and output")
        args = None if structured else call_args(f.text(case, "input", name=f"{where}.input"), sig)
        expected = recorded_expected(f.text(case, "output", name=f"{where}.output"), sig)
        if args is None or expected is None:
            dropped += 1
            continue
        tests.append(TestSpec(name=f"case/{index}", call_args=args, expected=expected, group="input_output"))
    return tests, dropped


def _public(statement: str, sig: Signature) -> tuple[list[TestSpec], int]:
    tests: list[TestSpec] = []
    unparsed = 0
    pairs = labelled_pairs(statement, "Input:", "Output:")
    for given, shown in pairs[:MAX_EXAMPLES]:
        args = None if _structured(sig) else call_args(given, sig)
        try:
            expected = to_literal(parse_value(shown, jsonish=True))
        except LiteralError:
            expected = None
        if args is None or expected is None:
            unparsed += 1
            continue
        number = len(tests) + 1
        tests.append(TestSpec(name=f"example/{number}", call_args=args, expected=expected, group="example"))
    return tests, unparsed + max(0, len(pairs) - MAX_EXAMPLES)


def _checker(sig: Signature) -> CheckerConfig:
    # LeetCode accepts floating-point answers within 1e-5.
    if sig.returns is not None and "float" in sig.returns:
        return CheckerConfig(kind="value", abs_tol=1e-5, rel_tol=1e-5)
    return CheckerConfig(kind="value")


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One LeetCodeDataset record."""
    slug = f.identifier(record, "task_id")
    sig = _signature(record)
    statement = f.text(record, "problem_description")
    public, unparsed = _public(statement, sig)
    hidden, dropped = _hidden(record, sig)
    test_code = f.text(record, "test", "")
    return CompetitiveProblem(
        id=slug,
        title=slug.replace("-", " ").capitalize(),
        statement=statement,
        input_mode="call",
        function_name=sig.function_name,
        signature=sig.def_line,
        starter_code=f.text(record, "starter_code"),
        prelude=f.text(record, "prompt", ""),
        check_code=test_code,
        public_tests=public,
        hidden_tests=[*hidden, *([CHECK_TEST] if test_code.strip() else [])],
        checker=_checker(sig),
        source=f"LeetCodeDataset {slug} (question {record.get('question_id')})",
        licence=LICENCE,
        difficulty=f.text(record, "difficulty", ""),
        solutions=[ReferenceSolution(code=f.text(record, "completion"), label="reference", origin="completion")],
        dropped_tests=dropped,
        unparsed_examples=unparsed,
    )
