"""Reading Python source from datasets: function signatures, asserts and docstring examples.

Nothing here executes dataset code: everything goes through :mod:`ast` and
:func:`codesolve.tasks.literals.literal_value`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from codesolve.tasks.literals import LiteralError, literal_value, parse_expression, quiet_parse, to_literal
from codesolve.tasks.loaders._limits import excerpt


@dataclass(frozen=True)
class Signature:
    """What the loaders need to know about a function a candidate must define."""

    name: str
    params: tuple[str, ...]
    """Positional parameters, ``self`` left out."""
    required: int
    """How many of ``params`` have no default."""
    returns: str | None
    """The return annotation as written, if any."""
    class_name: str | None
    """Enclosing class (``Solution``) for methods."""
    def_line: str
    """The ``def`` line as written in the source (stripped)."""

    @property
    def function_name(self) -> str:
        """``name`` or ``Class.name``, as :attr:`CompetitiveProblem.function_name` wants it."""
        return f"{self.class_name}.{self.name}" if self.class_name else self.name


def _complete(code: str) -> str:
    """Starter code usually ends inside an empty body: close it with ``pass``."""
    stripped = code.rstrip()
    if not stripped.endswith(":"):
        return stripped + "\n"
    last = stripped.rsplit("\n", 1)[-1]
    indent = last[: len(last) - len(last.lstrip())]
    return f"{stripped}\n{indent}    pass\n"


def parse_signature(code: str, name: str | None = None) -> Signature:
    """The signature of function ``name`` (or of the last top-level function or method) in ``code``.

    Raises :class:`ValueError` when the code does not parse or defines no such function.
    """
    try:
        tree = quiet_parse(_complete(code).expandtabs(4))
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise ValueError(f"does not parse as Python: {exc}") from exc
    found: tuple[ast.FunctionDef, str | None] | None = None
    for node in tree.body:
        candidates: list[tuple[ast.FunctionDef, str | None]] = []
        if isinstance(node, ast.FunctionDef):
            candidates = [(node, None)]
        elif isinstance(node, ast.ClassDef):
            candidates = [(n, node.name) for n in node.body if isinstance(n, ast.FunctionDef)]
        for fn, cls in candidates:
            if name is None or fn.name == name:
                found = (fn, cls)
    if found is None:
        raise ValueError(f"defines no function {name!r}" if name else "defines no function")
    fn, cls = found
    params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    if cls is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    returns = ast.unparse(fn.returns) if fn.returns is not None else None
    def_line = _def_line(code, fn.name)
    return Signature(fn.name, tuple(params), len(params) - len(fn.args.defaults), returns, cls, def_line)


def _def_line(code: str, name: str) -> str:
    match = re.search(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(name)}\b.*$", code, re.MULTILINE)
    return match.group(0).strip() if match else f"def {name}(...):"


@dataclass(frozen=True)
class CallExample:
    """One worked example: literal call arguments and the literal expected result."""

    call_args: str
    expected: str


def call_args_of(call: ast.Call, jsonish: bool = False) -> str:
    """Literal argument list of a call with literal positional arguments only."""
    if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        raise LiteralError("keyword or starred arguments")
    return to_literal([literal_value(a, jsonish) for a in call.args])


def _is_call_to(node: ast.expr, entry: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry


def assert_example(line: str, entry: str) -> CallExample | None:
    """``assert entry(<literals>) == <literal>`` as an example; anything else gives ``None``."""
    try:
        tree = quiet_parse(line.strip())
    except (SyntaxError, ValueError, RecursionError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        return None
    test = tree.body[0].test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return None
    call = test.left
    if not (_is_call_to(call, entry) and isinstance(call, ast.Call)):
        return None
    try:
        return CallExample(call_args_of(call), to_literal(literal_value(test.comparators[0])))
    except LiteralError:
        return None


MAX_EXAMPLES = 200
"""Most worked examples parsed from one statement or prompt (real ones have a handful)."""
_ARROWS = ("==>", "=>", "==", "->", "➞", "→", "should return", "returns")
"""Tried in this order at each candidate end of the call."""
_ARROW_AT = re.compile(r"\)\s*+(?:" + "|".join(re.escape(arrow) for arrow in _ARROWS) + ")")


def split_arrow(line: str) -> tuple[str, str] | None:
    """``(call, result)`` of ``f(1) ==> 2`` (or another arrow); ``None`` when the line is not one.

    The call is the shortest text ending in ``)`` that an arrow follows, the
    result whatever non-blank text is left. A scan over the ``)`` positions,
    each looking only at what follows it: the backtracking pattern this
    replaces was cubic in a long line of a docstring.
    """
    text = line.strip()
    starts = [0]
    if text[:1] in ("*", "-") and text[1:2].isspace():
        starts.insert(0, len(text[1:]) - len(text[1:].lstrip()) + 1)  # a "* " or "- " bullet, tried first
    for start in starts:
        found = _split_from(text, start)
        if found is not None:
            return found
    return None


def _split_from(text: str, start: int) -> tuple[str, str] | None:
    # Candidates come from one pass in C (possessive spaces: no backtracking); each is then tried
    # with every arrow in order, as the old alternation did ("==>" with nothing after is "==" ">").
    for candidate in _ARROW_AT.finditer(text, start + 1):
        close = candidate.start()
        after = close + 1
        while text[after].isspace():
            after += 1
        for arrow in _ARROWS:
            if text.startswith(arrow, after):
                result = text[after + len(arrow) :].strip()
                if result:
                    return text[start : close + 1], result
    return None


def docstring_examples(prompt: str, entry: str) -> tuple[list[CallExample], int]:
    """Examples in a HumanEval-style prompt, and how many more were seen but not parseable.

    Two forms are read: doctest (``>>> f(1)`` then the result on the next
    line, none meaning ``None``; or ``>>> f(1) == 2``) and arrows
    (``f(1) ==> 2``, ``->``, ``=>``, ``==``, ``➞``, ``returns``,
    ``should return``; not a bare ``=``, which statements use for
    definitions). The arguments and the result must be literals
    (``true``/``false``/``null`` allowed); a trailing comment or full stop
    is ignored. At most :data:`MAX_EXAMPLES` are parsed (each costs a
    parse); any beyond are counted as unparsed.
    """
    examples: list[CallExample] = []
    unparsed = 0
    lines = prompt.split("\n")
    for index, line in enumerate(lines):
        stripped = line.strip()
        doctest = stripped.startswith(">>>")
        if not doctest and (f"{entry}(" not in stripped or stripped.startswith("def ")):
            continue
        if len(examples) + unparsed >= MAX_EXAMPLES:
            unparsed += 1
            continue
        if doctest:
            example = _doctest_example(stripped[3:], lines, index + 1, entry)
        else:
            example = _arrow_example(stripped, entry)
        if example is None:
            unparsed += 1
        else:
            examples.append(example)
    return examples, unparsed


def _doctest_example(source: str, lines: list[str], start: int, entry: str) -> CallExample | None:
    if inline := _arrow_example(source, entry):
        return inline  # ">>> f(1) == 2" carries its own result
    result_lines: list[str] = []
    for index in range(start, len(lines)):  # an index, not a slice: a copy per example was quadratic
        stripped = lines[index].strip()
        if not stripped or stripped.startswith((">>>", '"""', "'''")):
            break
        result_lines.append(stripped)
    if result_lines:
        return _example(source, " ".join(result_lines), entry)
    return _example(source, "None", entry)  # doctest prints nothing for None


def _arrow_example(line: str, entry: str) -> CallExample | None:
    found = split_arrow(line)
    if found is None:
        return None
    return _example(found[0], found[1], entry)


def _result(text: str) -> str:
    """The result literal, tolerating a trailing comment or full stop."""
    for candidate in (text, text.split("#", 1)[0].strip(), text.split("#", 1)[0].strip().removesuffix(".")):
        try:
            return to_literal(literal_value(parse_expression(candidate), jsonish=True))
        except LiteralError:
            continue
    raise LiteralError(f"not a literal result: {excerpt(text)}")


def _example(call_text: str, result_text: str, entry: str) -> CallExample | None:
    try:
        call = parse_expression(call_text)
        if not (_is_call_to(call, entry) and isinstance(call, ast.Call)):
            return None
        return CallExample(call_args_of(call, jsonish=True), _result(result_text))
    except LiteralError:
        return None
