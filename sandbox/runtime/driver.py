"""The in-sandbox driver: runs one batch and streams one JSON line per event.

Standard library only. The local backend invokes it as ``python3 driver.py``
with the spec on stdin (read before any candidate code runs);
the Docker backend's agent (:mod:`sandbox.runtime.agent`) calls
:func:`run_spec` batch after batch. Either way the process is non-dumpable (so
test children, which run as the same uid, cannot read its memory through /proc
or ptrace), gets a fork server, and for each test (:class:`~sandbox.runtime.batch.Batch`):
hands it fresh memfds for stdin/stdout/stderr, waits for the verdict ingredients,
checks the output and prints ``{"event": "test", ...}``. The last line is
``{"event": "done"}``; a stream that ends without it means the driver died.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox.runtime import verdicts
from sandbox.runtime.artefacts import ArtefactCache
from sandbox.runtime.batch import Batch
from sandbox.runtime.events import write_event
from sandbox.runtime.forkclient import ForkServer
from sandbox.runtime.rlimits import all_rlimits
from sandbox.runtime.teardown import end_of_batch
from sandbox.runtime.testio import TestIO

if TYPE_CHECKING:
    from sandbox.runtime.wire import Spec

# all_rlimits: the agent (which holds this module, not the fork server's) compares its limits with it.
__all__ = ["Batch", "all_rlimits", "clean_up", "end_of_batch", "harden", "run_spec", "write_event"]

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def run_exec(batch: Batch) -> None:
    """Repo mode: run one plain command through the fork server and report."""
    spec = batch.spec
    Path(spec["cwd"]).mkdir(parents=True, exist_ok=True)
    # Tell the host the command is running: it then waits the command's wall limit for the
    # result, not the short idle patience of a driver between tests (a pytest run of more
    # than 30 s was given up on as a dead runtime).
    batch.emit({"event": "tests"})
    raw = batch.spawn({}, TestIO(b""), cwd=spec["cwd"])
    collected = verdicts.collect_files(spec["cwd"], spec.get("collect", []))
    batch.emit({"event": "exec", **verdicts.exec_report(raw), "files": collected})


def run_spec(
    spec: Spec,
    out: IO[str],
    spare: ForkServer | None = None,
    artefacts: ArtefactCache | None = None,
    should_yield: Callable[[], bool] | None = None,
) -> Batch | None:
    """Run one batch (tests or a plain command), reporting a crash of our own as an error event.

    ``spare`` is a fork server started ahead of time, ``artefacts`` what earlier batches
    compiled, ``should_yield`` whether the host wants a ``yieldable`` batch to stop after the
    running test (the agent's). Returns the batch, for :func:`clean_up`; the caller writes ``done``.
    """
    batch: Batch | None = None
    try:
        if spec["mode"] == "exec":
            language = {"name": "exec", "compile": None, "run": spec["command"], "runner": "exec", "oom_markers": []}
            plain: Spec = {**spec, "language": language, "checker": {}, "entry": ""}  # type: ignore[typeddict-item]
            batch = Batch(plain, out, spare)
            run_exec(batch)
        else:
            batch = Batch(spec, out, spare, artefacts)
            batch.run(should_yield if spec.get("yieldable") else None)
    except Exception as exc:
        write_event(out, spec, {"event": "error", "message": f"{type(exc).__name__}: {exc}"[:500]})
    return batch


def clean_up(spec: Spec, batch: Batch | None, spare: ForkServer | None = None) -> None:
    """Stop the fork servers and, in our own container, everything else the batch started.

    ``spare`` is the one given to :func:`run_spec`: the batch's own fork server
    if the batch adopted it, still its spare if not, ours if there is no batch.
    """
    if batch is not None:
        batch.close()
    elif spare is not None:
        spare.close()
    if spec.get("container"):
        end_of_batch(spec.get("wipe", []))


def forget_runtime() -> None:
    """The local backend's copy of the runtime, removed once imported: nothing a test
    writes there is ever imported, and it is not a place that survives the wipe."""
    root = Path(__file__).resolve().parents[2]
    sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != root]
    shutil.rmtree(root, ignore_errors=True)


def harden() -> None:
    """Not dumpable (no test can ptrace us or read our memory through /proc), and a
    child subreaper (orphans of a test come back to us, to be found and killed)."""
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def main(argv: list[str]) -> int:
    """Entry point: ``driver.py`` with the spec on stdin (one batch, then exit)."""
    harden()  # first: from here on no test can open our descriptors or memory through /proc
    del argv
    spec: Spec = json.loads(read_spec(0))
    forget_runtime()
    batch = run_spec(spec, sys.stdout)
    clean_up(spec, batch)
    write_event(sys.stdout, spec, {"event": "done"})
    return 0


def read_spec(fd: int) -> bytes:
    """Everything on ``fd`` (the host's socket) until the host shuts its end; then ``fd`` is
    /dev/null, so that nothing we start inherits the socket."""
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, fd)
    os.close(null)
    return b"".join(chunks)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
