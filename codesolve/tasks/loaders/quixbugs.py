"""QuixBugs (Python): forty small programs, each with a one-line bug.

Each record becomes a call problem whose starter code is the buggy program;
the buggy and correct programs are reference solutions (``buggy`` and
``correct``) so the judge can be checked on both. The buggy program's
docstring examples (``>>> f(x)`` then the result) are the public tests.

* JSON test cases (``[args, expected]`` per line) become hidden call tests.
  Cases the pytest file skips as too slow go to group ``slow``. ``sqrt``
  compares within its smallest epsilon.
* Programs whose tests call ``list(f(*args))`` (generators) and the nine
  graph programs (tests written as pytest functions over ``Node`` objects)
  get one hidden ``check`` test instead: the check code is the pytest file
  with its import lines removed (plus the ``Node`` class from
  ``quixbugs_support_files.json`` beside the data file) and a ``check``
  function calling each test in file order.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks.literals import LiteralError, literal_value, quiet_parse, to_literal
from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._package import Package
from codesolve.tasks.loaders._python import docstring_examples, parse_signature
from codesolve.tasks.loaders.humaneval import CHECK_TEST, example_tests
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, ReferenceSolution, TestSpec

NAME = "quixbugs"
SUPPORT_FILE = "quixbugs_support_files.json"
LICENCE = "MIT (QuixBugs)"
_DOCSTRING = re.compile(r'"""(.*?)"""', re.DOTALL)


def detect(record: Mapping[str, Any]) -> bool:
    """A buggy and a correct program side by side."""
    return {"buggy_program", "correct_program", "pytest_file"} <= record.keys()


def _cases(text: str) -> list[tuple[list[Any], Any]]:
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FieldError("json_testcases", f"line {number} is not JSON: {exc.msg}") from exc
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], list)):
            raise FieldError("json_testcases", f"line {number} is not [[args...], expected]")
        cases.append((value[0], value[1]))
    return cases


def _skipped_inputs(pytest_file: str) -> list[Any]:
    """Inputs the pytest file compares ``input_data`` against (to skip them as slow)."""
    try:
        tree = quiet_parse(pytest_file)
    except SyntaxError as exc:
        raise FieldError("pytest_file", f"does not parse: {exc.msg}") from exc
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "input_data":
            try:
                found.append(literal_value(node.comparators[0]))
            except LiteralError:
                continue
    return found


def _call_tests(cases: list[tuple[list[Any], Any]], pytest_file: str) -> list[TestSpec]:
    slow = _skipped_inputs(pytest_file)
    tests = []
    for index, (args, expected) in enumerate(cases, start=1):
        group = "slow" if args in slow else "json"
        tests.append(
            TestSpec(name=f"{group}/{index}", call_args=to_literal(args), expected=to_literal(expected), group=group)
        )
    return tests


def _generator_check(cases: list[tuple[list[Any], Any]]) -> str:
    lines = [f"    assert list(candidate(*{to_literal(a)})) == {to_literal(e)}" for a, e in cases]
    return "def check(candidate):\n" + "\n".join(lines) + "\n"


def _node_source(path: Path) -> str:
    # The support file is read like a package file: a regular file inside the data file's
    # own directory, never through a link to elsewhere (its text ends up in the check code).
    folder = Package(path.parent)
    if folder.kind(SUPPORT_FILE) == "missing":
        raise FieldError("pytest_file", f"needs {SUPPORT_FILE} beside the data file (for the Node class)")
    try:
        files = json.loads(folder.read_text(SUPPORT_FILE))
        node = files["python_testcases/node.py"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise FieldError("pytest_file", f"{SUPPORT_FILE} has no python_testcases/node.py") from None
    if not isinstance(node, str):
        raise FieldError("pytest_file", f"{SUPPORT_FILE}: python_testcases/node.py is not text")
    return node


def _is_harness_import(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return all(alias.name == "pytest" for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.module in ("node", "load_testdata")
    # `if pytest.use_correct: from correct_python_programs... else: from python_programs...`
    return isinstance(node, ast.If) and "pytest" in ast.unparse(node.test)


def _pytest_check(pytest_file: str, path: Path) -> str:
    try:
        tree = quiet_parse(pytest_file)
    except SyntaxError as exc:
        raise FieldError("pytest_file", f"does not parse: {exc.msg}") from exc
    lines = pytest_file.splitlines()
    kept = [n for n in tree.body if not _is_harness_import(n)]
    body = "\n\n".join("\n".join(lines[n.lineno - 1 : n.end_lineno]) for n in kept)
    tests = [n.name for n in kept if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    if not tests or re.search(r"\bpytest\b", body):
        raise FieldError("pytest_file", "cannot be turned into a check function")
    uses_node = any(isinstance(n, ast.ImportFrom) and n.module == "node" for n in tree.body)
    calls = "\n".join(f"    {t}()" for t in tests)
    parts = [_node_source(path) if uses_node else "", body, f"def check(candidate):\n{calls}\n"]
    return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"


def _signature(buggy: str, name: str) -> str:
    try:
        return parse_signature(buggy, name).def_line
    except ValueError as exc:
        raise FieldError("buggy_program", str(exc)) from exc


def _checker(name: str, cases: list[tuple[list[Any], Any]], pytest_file: str) -> CheckerConfig:
    if "pytest.approx" not in pytest_file:
        return CheckerConfig(kind="value")
    # sqrt: approx(expected, abs=epsilon) with epsilon the last argument; keep the strictest.
    epsilons = [a[-1] for a, _ in cases if a and isinstance(a[-1], (int, float))]
    if not epsilons:
        raise FieldError("json_testcases", f"{name}: approximate tests without an epsilon argument")
    return CheckerConfig(kind="value", abs_tol=float(min(epsilons)))


def convert(record: Mapping[str, Any], path: Path) -> CompetitiveProblem:
    """One QuixBugs program."""
    name = f.nonempty_text(record, "name")
    buggy = f.nonempty_text(record, "buggy_program")
    pytest_file = f.nonempty_text(record, "pytest_file")
    raw_cases = f.text(record, "json_testcases", "")
    cases = _cases(raw_cases) if raw_cases.strip() else []
    check = ""
    tests: list[TestSpec] = []
    if not cases:
        check = _pytest_check(pytest_file, path)
    elif f"list({name}(" in pytest_file:
        check = _generator_check(cases)
    else:
        tests = _call_tests(cases, pytest_file)
    correct = f.nonempty_text(record, "correct_program")
    docstring = _DOCSTRING.search(buggy)
    examples, unparsed = docstring_examples(docstring.group(1) if docstring else "", name)
    origin = f.mapping(record, "origin", {})
    return CompetitiveProblem(
        id=name,
        title=name,
        statement=docstring.group(1).strip() if docstring else "",
        input_mode="call",
        function_name=name,
        signature=_signature(buggy, name),
        starter_code=buggy,
        check_code=check,
        public_tests=example_tests(examples),
        hidden_tests=tests or [CHECK_TEST],
        checker=_checker(name, cases, pytest_file),
        source=f"QuixBugs {name} ({origin.get('repo', 'jkoppel/QuixBugs')})",
        licence=str(origin.get("license", LICENCE)),
        solutions=[
            ReferenceSolution(code=buggy, label="buggy", origin="buggy_program"),
            ReferenceSolution(code=correct, label="correct", origin="correct_program"),
        ],
        unparsed_examples=unparsed,
    )
