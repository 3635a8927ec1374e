"""What one batch ships into the sandbox: the runtime, the program, the spec.

Both backends use this, so the driver sees the same layout everywhere::

    <root>/rt/sandbox/...      the stdlib-only runtime (driver, fork server, checkers)
    <root>/prog/...            the candidate's files
    <root>/chk/...             the checker program, when there is one

The spec (every test's expected output, and the nonce) is never a file a test could read:
the local backend's driver takes it on its stdin, a socket (which, unlike a pipe or a memory
file, no other process can open through /proc); the Docker backend's agent
(:mod:`sandbox.runtime.agent`) already holds the runtime and takes the spec and the files on
its stdin: see :meth:`BatchFiles.request`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox._types import CheckerSpec, Limits, Program, TestCase
from sandbox.errors import SandboxFault
from sandbox.languages import Language, get_language
from sandbox.runtime.agent import HEADER

if TYPE_CHECKING:  # the driver reads the same types (sandbox.runtime.wire): mypy checks both ends
    from sandbox.runtime.wire import Options, ProgramWire, Spec

_RUNTIME_FILES = (
    ("sandbox/__init__.py", None),
    ("sandbox/checkers.py", "checkers.py"),
    ("sandbox/runtime/__init__.py", "runtime/__init__.py"),
    ("sandbox/runtime/agent.py", "runtime/agent.py"),
    ("sandbox/runtime/artefacts.py", "runtime/artefacts.py"),
    ("sandbox/runtime/batch.py", "runtime/batch.py"),
    ("sandbox/runtime/checking.py", "runtime/checking.py"),
    ("sandbox/runtime/children.py", "runtime/children.py"),
    ("sandbox/runtime/compiling.py", "runtime/compiling.py"),
    ("sandbox/runtime/driver.py", "runtime/driver.py"),
    ("sandbox/runtime/events.py", "runtime/events.py"),
    ("sandbox/runtime/forkclient.py", "runtime/forkclient.py"),
    ("sandbox/runtime/forkserver.py", "runtime/forkserver.py"),
    ("sandbox/runtime/rlimits.py", "runtime/rlimits.py"),
    ("sandbox/runtime/servers.py", "runtime/servers.py"),
    ("sandbox/runtime/slate.py", "runtime/slate.py"),
    ("sandbox/runtime/procs.py", "runtime/procs.py"),
    ("sandbox/runtime/ipc.py", "runtime/ipc.py"),
    ("sandbox/runtime/nearby.py", "runtime/nearby.py"),
    ("sandbox/runtime/teardown.py", "runtime/teardown.py"),
    ("sandbox/runtime/verdicts.py", "runtime/verdicts.py"),
    ("sandbox/runtime/custom_checker.py", "runtime/custom_checker.py"),
    ("sandbox/runtime/guard.py", "runtime/guard.py"),
    ("sandbox/runtime/stamps.py", "runtime/stamps.py"),
    ("sandbox/runtime/harness.py", "runtime/harness.py"),
    ("sandbox/runtime/remote.py", "runtime/remote.py"),
    ("sandbox/runtime/crossing.py", "runtime/crossing.py"),
    ("sandbox/runtime/testio.py", "runtime/testio.py"),
    ("sandbox/runtime/zygote.py", "runtime/zygote.py"),
    ("sandbox/runtime/zygoteclient.py", "runtime/zygoteclient.py"),
)
DIR_FILE_CAP = 64 << 20
"""The most a directory shipped with a command (repo mode) may hold."""
EXEC_LIMITS = Limits(cpu_seconds=60, memory_mb=1024)
"""The limits of a plain command when none are given."""
EXEC_GRACE_S = 30.0
"""Beyond a command's wall limit, before the host gives up on its driver."""
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
    """One batch: its root, its own files (relative to the root) and its spec."""

    root: str
    files: tuple[tuple[str, bytes], ...]
    """The program and checker files (tests), or the command's work files (exec)."""
    spec: bytes
    """The driver's spec as JSON, nonce included."""
    nonce: str
    """Secret every genuine driver event carries (see :class:`sandbox._stream.DriverStream`)."""

    def one_shot(self, python: str) -> tuple[tuple[tuple[str, bytes], ...], tuple[str, ...]]:
        """Everything a fresh driver process needs on disk, and the command that starts it
        (it then reads :attr:`spec` on its stdin)."""
        return (*runtime_files(), *self.files), (python, f"{self.root}/rt/sandbox/runtime/driver.py")

    def request(self) -> bytes:
        """The batch as one request to a running agent (see :mod:`sandbox.runtime.agent`)."""
        # The spec is already JSON: spliced in, not parsed and encoded again (it holds every
        # test's input and expected output).
        sizes = json.dumps([[rel, len(data)] for rel, data in self.files]).encode()
        root = json.dumps(self.root).encode()
        header = b"".join([b'{"root": ', root, b', "spec": ', self.spec, b', "files": ', sizes, b"}"])
        return b"".join([HEADER.pack(len(header)), header, *(data for _, data in self.files)])


def _sealed(root: str, files: list[tuple[str, bytes]], spec: Spec) -> BatchFiles:
    nonce = secrets.token_hex(16)
    sealed: Spec = {**spec, "nonce": nonce}
    return BatchFiles(root, tuple(files), json.dumps(sealed).encode(), nonce)


def _placed(spec: Spec, options: Options) -> Spec:
    """The spec with where it runs (a backend's options) added."""
    placed: Spec = {**spec, **options}
    return placed


def _program_files(prefix: str, program: Program) -> list[tuple[str, bytes]]:
    return [(f"{prefix}/{name}", text.encode("utf-8", "surrogateescape")) for name, text in program.files]


def _program_wire(root: str, prefix: str, program: Program) -> ProgramWire:
    lang = get_language(program.language)
    language = lang.to_wire(program.entry, tuple(name for name, _ in program.files))
    return {"dir": f"{root}/{prefix}", "language": language, "entry": program.entry}


def check_program(program: Program) -> Language:
    """The program's language, or InvalidRequest when the sandbox cannot run it as asked."""
    lang = get_language(program.language)
    if program.function is not None and lang.runner != "fork":
        from sandbox.errors import InvalidRequest

        raise InvalidRequest(f"call-based programs need a forking runtime; {lang.name} has none")
    return lang


def test_spec(
    root: str,
    program: Program,
    tests: Sequence[TestCase],
    limits: Limits,
    checker: CheckerSpec,
    fail_fast: bool,
    options: Options,
) -> Spec:
    """The driver's spec for a test batch rooted at ``root`` (an absolute path where it runs)."""
    lang = check_program(program)
    if lang.runner != "fork" and any(test.check is not None for test in tests):
        from sandbox.errors import InvalidRequest

        raise InvalidRequest(f"check tests run Python in the program's namespace; {lang.name} has no such harness")
    spec: Spec = {
        "mode": "tests",
        "work": root,
        "prog": f"{root}/prog",
        "entry": program.entry,
        "function": program.function,
        "language": lang.to_wire(program.entry, tuple(name for name, _ in program.files)),
        "limits": limits.to_wire(),
        "checker": checker.to_wire(),
        "tests": [test.to_wire(i) for i, test in enumerate(tests)],
        "fail_fast": fail_fast,
    }
    if checker.program is not None:
        spec["checker_program"] = _program_wire(root, "chk", checker.program)
    return _placed(spec, options)


def test_batch(root: str, program: Program, checker: CheckerSpec, spec: Spec) -> BatchFiles:
    """A test batch: the program, the checker program if any, and the spec."""
    files = _program_files("prog", program)
    if checker.program is not None:
        files += _program_files("chk", checker.program)
    return _sealed(root, files, spec)


def exec_batch(
    root: str,
    command: Sequence[str],
    files: Mapping[str, bytes],
    limits: Limits,
    collect: Sequence[str],
    options: Options,
) -> BatchFiles:
    """A plain command run; the command's work dir is ``<root>/work``."""
    spec: Spec = {
        "mode": "exec",
        "work": root,
        "prog": f"{root}/work",
        "cwd": f"{root}/work",
        "command": list(command),
        "limits": limits.to_wire(),
        "collect": list(collect),
    }
    return _sealed(root, [(f"work/{name}", data) for name, data in files.items()], _placed(spec, options))


def exec_files(files: Mapping[str, bytes] | None, directory: Path | None) -> dict[str, bytes]:
    """What a command's work dir holds, the same on every backend: the regular files of
    ``directory`` (see :func:`read_tree`), then ``files`` over them (blocking: it reads the disk)."""
    tree = read_tree(directory) if directory is not None else {}
    return {**tree, **(files or {})}


def exec_deadlines(limits: Limits) -> tuple[float, float, float]:
    """The host's deadline for a command's batch, its wall limit, and the wait for its first event."""
    return limits.wall + EXEC_GRACE_S, limits.wall, limits.wall + EXEC_GRACE_S


def read_tree(directory: Path) -> dict[str, bytes]:
    """The files under ``directory`` (``.git`` and links left out), for a command's work dir."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink() and ".git" not in path.relative_to(directory).parts:
            data = path.read_bytes()
            total += len(data)
            if total > DIR_FILE_CAP:
                raise SandboxFault(f"{directory} holds more than {DIR_FILE_CAP >> 20} MiB of files")
            files[path.relative_to(directory).as_posix()] = data
    return files
