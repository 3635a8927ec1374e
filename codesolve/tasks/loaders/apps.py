"""APPS, in the original layout and in MapCoder's selection.

* Original (``codeparrot/apps``): ``question``, ``input_output`` as JSON text
  ``{"inputs", "outputs", "fn_name"?}``, ``solutions`` as JSON text. Every
  test is hidden; the statement's ``-----Examples-----`` become public tests.
  Call-based inputs are argument lists; outputs are usually the result
  wrapped in a one-element list, which is unwrapped.
* MapCoder (``sample_io`` public, ``test_list`` hidden; each output a
  one-element list). Call-based problems have ``starter_code``, and each
  input holds one argument per line, written with ``str()``: strings bare,
  everything else as a Python literal. A parameter is read as text when any
  test's value for it is not a literal; a string argument with newlines is
  recovered when exactly one argument can absorb the extra lines (see
  :func:`_split_lines`). Inputs that still do not fit the signature are
  dropped and counted in ``dropped_tests``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from codesolve.tasks.literals import LiteralError, parse_value, to_literal
from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._python import Signature, parse_signature
from codesolve.tasks.loaders._statement import io_examples
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, ReferenceSolution, TestSpec

NAME = "apps"
LICENCE = "MIT (APPS)"
_NOT_LITERAL = object()


def detect(record: Mapping[str, Any]) -> bool:
    """MapCoder's ``sample_io``/``test_list`` pair, or the original ``input_output`` + ``question``."""
    mapcoder = "sample_io" in record and "test_list" in record
    original = "input_output" in record and "question" in record
    return mapcoder or original


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One APPS record of either layout."""
    if "sample_io" in record:
        return _mapcoder(record)
    return _original(record)


def _signature(starter: str, fn_name: str | None = None) -> Signature:
    try:
        return parse_signature(starter, fn_name)
    except ValueError as exc:
        raise FieldError("starter_code", str(exc)) from exc


def _as_literal(text: str) -> Any:
    try:
        return parse_value(text)
    except LiteralError:
        return _NOT_LITERAL


def _split_lines(text: str, sig: Signature) -> list[str] | None:
    """One string per parameter, or ``None`` when the lines cannot be matched to the signature."""
    lines = text.split("\n")
    if sig.required <= len(lines) <= len(sig.params):
        return lines
    if len(lines) < len(sig.params) or not sig.params:
        return None
    # Too many lines: one argument is a string with newlines. Try each position and keep
    # the split whose other arguments read best as literals (ties: the first).
    extra = len(lines) - len(sig.params)
    best: tuple[int, list[str]] | None = None
    for pos in range(len(sig.params)):
        args = [*lines[:pos], "\n".join(lines[pos : pos + extra + 1]), *lines[pos + extra + 1 :]]
        score = sum(_as_literal(a) is not _NOT_LITERAL for i, a in enumerate(args) if i != pos)
        if best is None or score > best[0]:
            best = (score, args)
    return best[1] if best else None


def _call_args(inputs: Sequence[str], sig: Signature) -> list[str | None]:
    """Literal argument lists for every input (``None`` where the input does not fit)."""
    splits = [_split_lines(text, sig) for text in inputs]
    textual: set[int] = set()
    for args in splits:
        for pos, arg in enumerate(args or ()):
            if _as_literal(arg) is _NOT_LITERAL:
                textual.add(pos)
    result: list[str | None] = []
    for args in splits:
        if args is None:
            result.append(None)
            continue
        values = [arg if pos in textual else _as_literal(arg) for pos, arg in enumerate(args)]
        result.append(to_literal(values))
    return result


def _unwrap(output: Any) -> Any:
    return output[0] if isinstance(output, list) and len(output) == 1 else output


def _pairs(record: Mapping[str, Any], key: str) -> list[tuple[str, Any]]:
    pairs = []
    for index, item in enumerate(f.seq(record, key)):
        if not isinstance(item, Mapping) or "input" not in item or "output" not in item:
            raise FieldError(f"{key}[{index}]", "expected {input, output}")
        pairs.append((f.text(item, "input", name=f"{key}[{index}].input"), item["output"]))
    return pairs


def _stdin_expected(output: Any, field: str) -> str:
    value = _unwrap(output)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value)
    if not isinstance(value, str):
        raise FieldError(field, f"expected output text, got {type(value).__name__}")
    return value


def _mapcoder_tests(
    pairs: list[tuple[str, Any]], sig: Signature | None, group: str, key: str
) -> tuple[list[TestSpec], int]:
    if sig is None:
        tests = []
        for i, (stdin, out) in enumerate(pairs, start=1):
            expected = _stdin_expected(out, f"{key}[{i - 1}].output")
            tests.append(TestSpec(name=f"{group}/{i}", stdin=stdin, expected=expected, group=group))
        return tests, 0
    tests, dropped = [], 0
    for i, (args, (_, out)) in enumerate(zip(_call_args([p[0] for p in pairs], sig), pairs, strict=True), start=1):
        value = _call_expected(out)
        if args is None or value is None:
            dropped += 1
            continue
        tests.append(TestSpec(name=f"{group}/{i}", call_args=args, expected=value, group=group))
    return tests, dropped


def _call_expected(output: Any) -> str | None:
    try:
        return to_literal(_unwrap(output))
    except LiteralError:
        return None


def _mapcoder(record: Mapping[str, Any]) -> CompetitiveProblem:
    pid = f.identifier(record, "id")
    starter = f.text(record, "starter_code", "")
    sig = _signature(starter) if starter.strip() else None
    public, dropped_public = _mapcoder_tests(_pairs(record, "sample_io"), sig, "sample", "sample_io")
    hidden, dropped_hidden = _mapcoder_tests(_pairs(record, "test_list"), sig, "test", "test_list")
    return CompetitiveProblem(
        id=pid,
        title=f"APPS {pid}",
        statement=f.text(record, "description"),
        input_mode="call" if sig else "stdin",
        function_name=sig.function_name if sig else None,
        signature=sig.def_line if sig else None,
        starter_code=starter if sig else "",
        public_tests=public,
        hidden_tests=hidden,
        checker=CheckerConfig(kind="value") if sig else CheckerConfig(),
        source=f"APPS {pid} (MapCoder selection)",
        licence=LICENCE,
        difficulty=f.text(record, "difficulty", ""),
        dropped_tests=dropped_public + dropped_hidden,
    )


def _original_tests(io: Mapping[str, Any], call: bool) -> list[TestSpec]:
    inputs = f.seq(io, "inputs", name="input_output.inputs")
    outputs = f.seq(io, "outputs", name="input_output.outputs")
    if len(inputs) != len(outputs):
        raise FieldError("input_output", f"{len(inputs)} inputs but {len(outputs)} outputs")
    tests = []
    for i, (inp, out) in enumerate(zip(inputs, outputs, strict=True), start=1):
        field = f"input_output.inputs[{i - 1}]"
        if call:
            if not isinstance(inp, list):
                raise FieldError(field, "call-based input must be an argument list")
            try:
                args, expected = to_literal(inp), to_literal(_unwrap(out))
            except LiteralError as exc:
                raise FieldError(field, str(exc)) from exc
            tests.append(TestSpec(name=f"test/{i}", call_args=args, expected=expected, group="test"))
        else:
            stdin = "\n".join(inp) if isinstance(inp, list) else inp
            if not isinstance(stdin, str):
                raise FieldError(field, "stdin input must be text")
            expected = _stdin_expected(out, f"input_output.outputs[{i - 1}]")
            tests.append(TestSpec(name=f"test/{i}", stdin=stdin, expected=expected, group="test"))
    return tests


def _original(record: Mapping[str, Any]) -> CompetitiveProblem:
    pid = f.identifier(record, "problem_id")
    io = f.json_text(record, "input_output")
    if not isinstance(io, Mapping):
        raise FieldError("input_output", "expected a JSON object with inputs and outputs")
    fn_name = io.get("fn_name")
    starter = f.text(record, "starter_code", "")
    sig = _signature(starter, fn_name) if isinstance(fn_name, str) and starter.strip() else None
    call = isinstance(fn_name, str)
    statement = f.text(record, "question")
    examples, unparsed = ([], 0) if call else io_examples(statement)
    raw_solutions = f.json_text(record, "solutions") if f.text(record, "solutions", "").strip() else []
    return CompetitiveProblem(
        id=pid,
        title=f"APPS {pid}",
        statement=statement,
        input_mode="call" if call else "stdin",
        function_name=(sig.function_name if sig else fn_name) if call else None,
        signature=sig.def_line if sig else None,
        starter_code=starter,
        public_tests=[
            TestSpec(name=f"example/{i}", stdin=a, expected=b, group="example")
            for i, (a, b) in enumerate(examples, start=1)
        ],
        hidden_tests=_original_tests(io, call),
        checker=CheckerConfig(kind="value") if call else CheckerConfig(),
        source=f"APPS {pid}",
        licence=LICENCE,
        difficulty=f.text(record, "difficulty", ""),
        solutions=[
            ReferenceSolution(code=code, label="correct", origin="solutions")
            for code in f.string_list(raw_solutions, "solutions")
        ],
        unparsed_examples=unparsed,
    )
