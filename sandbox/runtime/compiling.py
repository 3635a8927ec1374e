"""Compiling a program (or syntax-checking it), once per program, and building the checker.
Standard library only.

Compiled languages run their compiler under CPU, file-size and wall limits; Python is
syntax-checked by the batch's first test child, which compiles the program under the test's
limits before any of it runs and says whether it could (``compile_first``: one fork, not two).
Either result is kept in the agent's :class:`~sandbox.runtime.artefacts.ArtefactCache`, so a
later batch of the same program skips the work.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, NamedTuple

from sandbox.runtime import custom_checker, verdicts
from sandbox.runtime.artefacts import (
    Artefact,
    ArtefactCache,
    artefact_key,
    compiler_identity,
    install,
    produced,
    program_files,
)
from sandbox.runtime.forkclient import SAFE_PATH, child_env
from sandbox.runtime.rlimits import CORE_OFF, apply_limits

if TYPE_CHECKING:
    from sandbox.runtime.wire import Outcome, Spec

_COMPILE_CPU_S = 60
_COMPILE_WALL_S = 120.0


class Prepared(NamedTuple):
    """What :func:`compile_once` found."""

    failure: Outcome | None
    """CE (or SE): the program cannot run."""
    precompiled: bool = False
    """The program is known to pass its syntax check (the fork server may compile it at setup)."""
    syntax_check: str | None = None
    """Python not yet syntax-checked: the first test checks it (see :func:`syntax_passed`);
    the cache key to note the result under ("" when there is no cache)."""
    files: tuple[tuple[str, bytes, int], ...] = ()
    """What compiling put in the program's directory (relative path, bytes, mode), as it is on
    disk now: the snapshot takes the bytes from here instead of reading back a large binary."""


def compile_once(spec: Spec, artefacts: ArtefactCache | None) -> Prepared:
    """Compile the program (a Python one is syntax-checked by its first test), from the cache
    when it was done before."""
    fork = spec["language"]["runner"] == "fork"
    key = _key(spec)
    if key is None or artefacts is None:
        return Prepared(compile_now(spec)[0], syntax_check="" if fork else None)
    prog = spec["prog"]
    hit = artefacts.get(key)
    if hit is not None:
        if hit.failure is not None:
            return Prepared(hit.failure.copy())
        install(prog, hit.files)
        return Prepared(None, precompiled=fork, files=hit.files)
    if fork:
        return Prepared(None, syntax_check=key)
    before = program_files(prog)
    failure, deterministic = compile_now(spec)
    if failure is None:
        made = produced(prog, before)
        artefacts.put(key, Artefact(made))
        return Prepared(None, files=made)
    if deterministic:
        artefacts.put(key, Artefact((), failure))
    return Prepared(failure)


def syntax_passed(artefacts: ArtefactCache | None, key: str) -> None:
    """The first test found that the program compiles: later batches skip the check."""
    if artefacts is not None and key:
        artefacts.put(key, Artefact(()))


def _key(spec: Spec) -> str | None:
    """The cache key of compiling this program (None when nothing is compiled)."""
    lang = spec["language"]
    path = spec.get("path") or SAFE_PATH
    if lang["compile"]:
        command = list(lang["compile"])
        return artefact_key(spec["prog"], command, compiler_identity(command[0], path))
    if lang["runner"] == "fork":
        # A syntax check runs in a child under the batch's limits: they are part of its result.
        limits = json.dumps([spec["limits"]["cpu"], spec["limits"]["memory_mb"], spec["entry"]])
        return artefact_key(spec["prog"], ["python-syntax"], sys.version, limits)
    return None


def compile_now(spec: Spec) -> tuple[Outcome | None, bool]:
    """Compile the program (nothing to do unless the language has a compiler): a CE outcome on
    failure, else None, and whether compiling again would fail the same way."""
    lang = spec["language"]
    if lang["compile"]:
        return compile_native(lang["compile"], spec)
    return None, False


def _limit_compiler() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (_COMPILE_CPU_S, _COMPILE_CPU_S + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
    apply_limits([(resource.RLIMIT_CORE, CORE_OFF)])


def compile_native(cmd: list[str], spec: Spec) -> tuple[Outcome | None, bool]:
    """Run the compiler in the program's directory: CE or SE on failure, else None; and whether
    the failure is deterministic (the compiler reported errors: it would say the same again)."""
    try:
        status, said, size = _run_compiler(cmd, spec)
    except subprocess.TimeoutExpired:
        return {"verdict": "CE", "message": f"compilation took longer than {_COMPILE_WALL_S:.0f}s"}, False
    except OSError as exc:
        return {"verdict": "SE", "message": f"compiler could not start: {exc}"}, False
    if status != 0:
        err = verdicts.capture(said, head=_SAID_HEAD, size=size)
        # A compiler that reported errors (exit 1) says the same again; one killed may not.
        return {"verdict": "CE", "message": f"compiler exited {status}", "stderr": err}, status == 1
    return None, False


_SAID_HEAD = 8192


def _run_compiler(cmd: list[str], spec: Spec) -> tuple[int, bytes, int]:
    """The compiler's exit status, the head and tail of what it said, and how much it said.

    Its output is read as it comes and only its ends are kept: a dozen lines of source can make
    it print hundreds of megabytes (a file that includes itself, each level a long #warning),
    which, held whole, got the agent killed for memory."""
    proc = subprocess.Popen(
        cmd,
        cwd=spec["prog"],
        env=child_env(spec["work"], spec.get("path")),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_limit_compiler,  # noqa: PLW1509 - the runtime starts no threads
        start_new_session=True,
    )
    head, tail, size = bytearray(), bytearray(), 0
    deadline = time.monotonic() + _COMPILE_WALL_S
    with proc:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                try:
                    return proc.wait(max(0.0, deadline - time.monotonic())), bytes(head + tail), size
                except subprocess.TimeoutExpired:
                    break
            size += len(chunk)
            taken = max(0, _SAID_HEAD - len(head))
            head += chunk[:taken]
            tail = (tail + chunk[taken:])[-verdicts.TAIL :]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    raise subprocess.TimeoutExpired(cmd, _COMPILE_WALL_S)


def prepare_checker(spec: Spec) -> tuple[Outcome | None, list[str]]:
    """Build the checker program before any candidate runs: its argv, or SE for every test."""
    program = spec.get("checker_program")
    if program is None:
        return None, []
    try:
        return None, custom_checker.prepare(program, child_env(spec["work"], spec.get("path")))
    except custom_checker.CheckerFault as exc:
        return {"verdict": "SE", "message": str(exc)}, []
