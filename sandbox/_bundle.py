"""What one batch ships into the sandbox: the runtime, the program, the spec.

Both backends use this, so the driver sees the same layout everywhere::

    <root>/rt/sandbox/...      the stdlib-only runtime (driver, fork server, checkers)
    <root>/prog/...            the candidate's files
    <root>/chk/...             the checker program, when there is one
    <root>/spec.json           read and deleted by the driver before any candidate runs
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sandbox._types import CheckerSpec, Limits, Program, TestCase
from sandbox.languages import get_language

_RUNTIME_FILES = (
    ("sandbox/__init__.py", None),
    ("sandbox/checkers.py", "checkers.py"),
    ("sandbox/runtime/__init__.py", "runtime/__init__.py"),
    ("sandbox/runtime/driver.py", "runtime/driver.py"),
    ("sandbox/runtime/zygote.py", "runtime/zygote.py"),
    ("sandbox/runtime/verdicts.py", "runtime/verdicts.py"),
    ("sandbox/runtime/custom_checker.py", "runtime/custom_checker.py"),
    ("sandbox/runtime/guard.py", "runtime/guard.py"),
)
_EMPTY_INIT = b'"""Stripped copy of the sandbox package: only the stdlib runtime."""\n'


@cache
def runtime_files() -> tuple[tuple[str, bytes], ...]:
    """The runtime, read once from the installed package (the package __init__ is stubbed)."""
    root = resources.files("sandbox")
    out: list[tuple[str, bytes]] = []
    for dest, src in _RUNTIME_FILES:
        data = _EMPTY_INIT if src is None else root.joinpath(src).read_bytes()
        out.append((f"rt/{dest}", data))
    return tuple(out)


@dataclass(frozen=True)
class BatchFiles:
    """Every file of one batch, relative to its root, plus the driver command."""

    root: str
    files: tuple[tuple[str, bytes], ...]
    driver: tuple[str, ...]
    nonce: str
    """Secret every genuine driver event carries (see :class:`sandbox._stream.DriverStream`)."""


def _program_files(prefix: str, program: Program) -> list[tuple[str, bytes]]:
    return [(f"{prefix}/{name}", text.encode("utf-8", "surrogateescape")) for name, text in program.files]


def _program_wire(root: str, prefix: str, program: Program) -> dict[str, Any]:
    lang = get_language(program.language)
    return {"dir": f"{root}/{prefix}", "language": lang.to_wire(program.entry), "entry": program.entry}


def test_spec(
    root: str,
    program: Program,
    tests: Sequence[TestCase],
    limits: Limits,
    checker: CheckerSpec,
    fail_fast: bool,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The driver's spec for a test batch rooted at ``root`` (an absolute path where it runs)."""
    lang = get_language(program.language)
    if program.function is not None and lang.runner != "fork":
        from sandbox.errors import InvalidRequest

        raise InvalidRequest(f"call-based programs need a forking runtime; {lang.name} has none")
    spec: dict[str, Any] = {
        "mode": "tests",
        "work": root,
        "prog": f"{root}/prog",
        "entry": program.entry,
        "function": program.function,
        "language": lang.to_wire(program.entry),
        "limits": limits.to_wire(),
        "checker": checker.to_wire(),
        "tests": [test.to_wire(i) for i, test in enumerate(tests)],
        "fail_fast": fail_fast,
        **options,
    }
    if checker.program is not None:
        spec["checker_program"] = _program_wire(root, "chk", checker.program)
    return spec


def test_batch(root: str, program: Program, checker: CheckerSpec, spec: dict[str, Any], python: str) -> BatchFiles:
    """All files of a test batch (runtime + program + checker + spec)."""
    files = list(runtime_files())
    files += _program_files("prog", program)
    if checker.program is not None:
        files += _program_files("chk", checker.program)
    nonce = secrets.token_hex(16)
    files.append(("spec.json", json.dumps({**spec, "nonce": nonce}).encode()))
    return BatchFiles(root, tuple(files), (python, f"{root}/rt/sandbox/runtime/driver.py", f"{root}/spec.json"), nonce)


def exec_batch(
    root: str,
    command: Sequence[str],
    files: Mapping[str, bytes],
    limits: Limits,
    collect: Sequence[str],
    options: Mapping[str, Any],
    python: str,
) -> BatchFiles:
    """All files of a plain command run; the command's work dir is ``<root>/work``."""
    spec = {
        "mode": "exec",
        "work": root,
        "prog": f"{root}/work",
        "cwd": f"{root}/work",
        "command": list(command),
        "limits": limits.to_wire(),
        "collect": list(collect),
        **options,
    }
    batch = list(runtime_files())
    batch += [(f"work/{name}", data) for name, data in files.items()]
    nonce = secrets.token_hex(16)
    batch.append(("spec.json", json.dumps({**spec, "nonce": nonce}).encode()))
    return BatchFiles(root, tuple(batch), (python, f"{root}/rt/sandbox/runtime/driver.py", f"{root}/spec.json"), nonce)
