"""QuixBugs records as small git repositories whose pytest tests fail (for ``codesolve fix``).

Each record becomes the layout of the QuixBugs repository itself, cut down to
one program: ``python_programs/<name>.py`` (the buggy version),
``python_testcases/test_<name>.py`` with its helpers, ``json_testcases/<name>.json``
and the root ``conftest.py`` (from ``quixbugs_support_files.json``). The
correct version stays out of the tree: :func:`correct_function` gives its
function, which is what a right fix looks like.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks import pyparse
from codesolve.tasks.loaders.quixbugs import SUPPORT_FILE

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "codesolve",
    "GIT_AUTHOR_EMAIL": "codesolve@localhost",
    "GIT_COMMITTER_NAME": "codesolve",
    "GIT_COMMITTER_EMAIL": "codesolve@localhost",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


def records(path: Path) -> Iterator[dict[str, Any]]:
    """The records of ``quixbugs_python_40.jsonl``."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def support_files(data_file: Path) -> dict[str, str]:
    """The shared files (conftest, node, load_testdata) beside the data file."""
    files = json.loads((data_file.parent / SUPPORT_FILE).read_text(encoding="utf-8"))
    return {k: v for k, v in files.items() if isinstance(v, str) and k != "note"}


def test_path(name: str) -> str:
    """The test file of program ``name``."""
    return f"python_testcases/test_{name}.py"


def target(name: str) -> str:
    """The function to fix, in ``--function`` form."""
    return f"python_programs.{name}:{name}"


def write_repo(record: Mapping[str, Any], support: Mapping[str, str], dest: Path, git: bool = True) -> Path:
    """Write one record as a repository under ``dest/<name>`` (committed when ``git``); return it."""
    name = str(record["name"])
    root = dest / name
    files = {
        **support,
        f"python_programs/{name}.py": record["buggy_program"],
        test_path(name): record["pytest_file"],
    }
    if record.get("json_testcases"):
        files[f"json_testcases/{name}.json"] = record["json_testcases"]
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    if git:
        env = {**os.environ, **_GIT_ENV}
        for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", f"QuixBugs {name}"]):
            subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, timeout=60)
    return root


def correct_function(record: Mapping[str, Any]) -> str:
    """The correct version of the program's function (its source, decorators included)."""
    source = str(record["correct_program"])
    name = str(record["name"])
    for node in pyparse.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            lines = source.splitlines(keepends=True)
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            return "".join(lines[first - 1 : node.end_lineno])
    raise ValueError(f"{name}: the correct program has no function {name}")
