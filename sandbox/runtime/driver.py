"""The in-sandbox driver: runs one batch and streams one JSON line per event.

Standard library only. The local backend invokes it as ``python3 driver.py``
with the spec on stdin (read before any candidate code runs);
the Docker backend's agent (:mod:`sandbox.runtime.agent`) calls
:func:`run_spec` batch after batch. Either way the process is non-dumpable (so
test children, which run as the same uid, cannot read its memory through /proc
or ptrace), gets a fork server, and for each test: hands it fresh memfds for
stdin/stdout/stderr, waits for the verdict ingredients, checks the output and
prints ``{"event": "test", ...}``. The last line is ``{"event": "done"}``; a
stream that ends without it means the driver died.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sandbox import checkers
from sandbox.runtime import custom_checker, verdicts
from sandbox.runtime.forkserver import Zygote, child_env
from sandbox.runtime.guard import Anchors, Keep, Snapshot, Tampered, fresh_dir, wipe_except
from sandbox.runtime.harness import read_record
from sandbox.runtime.ipc import IpcSweeper
from sandbox.runtime.procs import kill_descendants, restore_sched, sched_state
from sandbox.runtime.teardown import end_of_batch, kill_all_but_us
from sandbox.runtime.testio import Interaction, TestIO, interactive_verdict
from sandbox.runtime.zygote import all_rlimits

# all_rlimits: the agent (which holds this module, not the zygote's) compares its limits with it.
__all__ = ["Batch", "all_rlimits", "clean_up", "end_of_batch", "harden", "run_spec", "write_event"]

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
_COMPILE_CPU_S = 60
_COMPILE_WALL_S = 120.0
LAZY_FLUSH_S = 0.02
"""With ``lazy_events``, the longest a passing test's result waits to be sent."""


def user_nproc_limit(procs: int) -> int:
    """RLIMIT_NPROC for a test on the host: what the uid already runs plus ``procs``
    (0 for root, whom the kernel does not limit anyway)."""
    uid = os.getuid()
    if uid == 0:
        return 0
    running = 0
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                running += 1
        except OSError:
            continue
    return running + procs


class Batch:
    """One batch of tests for one program."""

    def __init__(self, spec: dict[str, Any], emit: IO[str], spare: Zygote | None = None) -> None:
        self.spec = spec
        self.spare = spare
        """A fork server started ahead of the batch, set up when first needed."""
        self.out = emit
        self.limits: dict[str, Any] = spec["limits"]
        self.lang: dict[str, Any] = spec["language"]
        self.checker: dict[str, Any] = spec["checker"]
        self.zygote: Zygote | None = None
        self.flushed_at = time.monotonic()
        self.oom = verdicts.OomCounter()
        self.oom_seen: int | None = None
        """The cgroup's OOM-kill counter after the last test (read once per test, not twice)."""
        self.snapshot: Snapshot | None = None
        self.checker_argv: list[str] = []
        work = Path(spec["work"])
        # The scratch dir is kept (then emptied by fresh_dir): removing and re-making it costs more.
        kept = {p.resolve() for p in (Path(spec["prog"]), work / "chk")}
        self.scratch = work / "scratch"
        """Each test's working directory, emptied before every test."""
        self.keep = Keep({*kept, work.resolve() / "scratch"})
        self.wipe_tops = [str(Path(top).resolve()) for top in (*spec.get("wipe", []), spec["work"])]
        self.anchors = Anchors(self.wipe_tops)
        self.nproc = user_nproc_limit(int(self.limits["procs"])) if not spec.get("container") else 0
        self.ipc = IpcSweeper() if spec.get("container") else None
        """Our container's IPC objects, removed after every run (locally each test has its own namespace)."""
        self.sched = sched_state()
        """Our scheduling state, set back before a new fork server starts (see :meth:`restart_zygote`)."""

    def emit(self, event: dict[str, Any], flush: bool = True) -> None:
        """Write one JSON line (and flush, so the host sees progress as it happens)."""
        write_event(self.out, self.spec, event, flush)
        if flush:
            self.flushed_at = time.monotonic()

    def close(self) -> None:
        """Release what the batch holds open (its anchors, the OOM counter)."""
        self.anchors.close()
        self.oom.close()
        if self.ipc is not None:
            self.ipc.close()

    def flush_due(self, outcome: dict[str, Any], last: bool) -> bool:
        """Whether a test's result must reach the host now.

        Each flush is a trip through the container runtime and the Docker daemon,
        which costs more than a fast test. With ``lazy_events`` the results of
        fast, passing tests travel together, at most :data:`LAZY_FLUSH_S` late;
        the host re-runs the rest of a batch whose driver died with results in
        hand, eagerly, to blame the right test (see the Docker backend).
        """
        if not self.spec.get("lazy_events") or last or outcome["verdict"] != "AC":
            return True
        return time.monotonic() - self.flushed_at >= LAZY_FLUSH_S

    def run(self) -> None:
        """Compile, then run every test (stopping early on failure with fail_fast)."""
        tests: list[dict[str, Any]] = self.spec["tests"]
        failure = self.compile() or self.prepare_checker()
        if failure is None:
            # Everything the tests must not change is built: remember it exactly.
            self.snapshot = Snapshot([Path(self.spec["prog"]), Path(self.spec["work"]) / "chk"], self.anchors)
        if failure is not None:
            for test in tests:
                self.emit({"event": "test", **failure, "name": test["name"]})
            return
        # One event, not one per test: from here on, a driver that dies or goes
        # silent is blamed on the test after the last reported one.
        self.emit({"event": "tests"})
        for position, test in enumerate(tests, start=1):
            try:
                outcome = self.run_test(test)
            except Tampered as exc:
                # Blamed on the program (it did it, in this test or the one before), for
                # this test and every later one: none can be run safely any more.
                for rest in tests[position - 1 :]:
                    self.emit({"event": "test", "verdict": "RE", "message": str(exc), "name": rest["name"]})
                return
            except Exception as exc:  # a fault of ours on this test: its verdict only, not the rest's
                self.retire_zygote()
                outcome = {"verdict": "SE", "message": f"sandbox runtime: {type(exc).__name__}: {exc}"[:500]}
                outcome["name"] = test["name"]
            self.emit({"event": "test", **outcome}, self.flush_due(outcome, position == len(tests)))
            if self.spec.get("fail_fast") and outcome["verdict"] != "AC":
                break

    def ensure_zygote(self) -> Zygote:
        """The fork server, started on demand (:meth:`spawn` has retired a dead one; one that
        dies after that is found by :meth:`run_with_retry`)."""
        if self.zygote is None:
            self.restart_zygote()
        assert self.zygote is not None
        return self.zygote

    def restart_zygote(self) -> None:
        """Set up a fork server (the spare one, the first time), after killing the old one
        and everything it left.

        The driver is a child subreaper: orphans of a fork server a test killed
        come back to it, so they are found here and cannot act in later tests.
        """
        self.retire_zygote()
        restore_sched(self.sched)  # a test may have reniced us too: the new fork server inherits it
        warm = self.lang["runner"] == "fork"
        zygote = self.adopt_spare(warm)
        if zygote is None:
            zygote = Zygote(Path(self.spec["work"]), bool(self.spec.get("isolate_net")), self.spec.get("path"))
            try:
                zygote.setup(self.spec, warm, self.run_parameters())
            except RuntimeError:
                zygote.close()
                raise
        self.zygote = zygote
        self.emit({"event": "hello", "isolation": zygote.isolation})

    def retire_zygote(self) -> None:
        """Stop the fork server, and kill whatever it and its tests left behind."""
        zygote, self.zygote = self.zygote, None
        if zygote is None:
            return
        if self.spec.get("container"):
            kill_all_but_us()
        zygote.close()
        kill_descendants(os.getpid())

    def sweep(self) -> None:
        """After a test that left processes behind: in our own container, kill every
        other process of the sandbox user, the fork server included (the next test
        gets a new one).

        The fork server kills a test's descendants by walking /proc, and a process
        that keeps forking and exiting changes pid faster than such a walk can
        follow it (on one CPU it wins every time); ``kill(-1)`` takes every process
        at once. On the local backend there is no such kill, and the walk is all
        there is: one reason it is the weaker backend.
        """
        if self.spec.get("container"):
            self.retire_zygote()

    def adopt_spare(self, warm: bool) -> Zygote | None:
        """The spare fork server, set up for this batch (only once; None if there is none that works)."""
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        if spare.proc.poll() is not None or self.spec.get("isolate_net"):
            spare.close()  # (a spare never isolates the network: it was started for containers)
            return None
        try:
            spare.setup(self.spec, warm, self.run_parameters())
        except RuntimeError:
            spare.close()
            return None
        return spare

    def compile(self) -> dict[str, Any] | None:
        """Compile (or syntax-check) the program; a CE outcome on failure, else None."""
        if self.lang.get("compile"):
            return self._compile_native(self.lang["compile"])
        if self.lang["runner"] == "fork":
            report = self.spawn({"compile_only": True}, TestIO(b""))
            if report["verdict_hint"] != "ok":
                return {"verdict": "CE", "message": "syntax check failed", "stderr": report["stderr"]}
        return None

    def prepare_checker(self) -> dict[str, Any] | None:
        """Build the checker program before any candidate runs; SE for every test if it cannot be."""
        program = self.spec.get("checker_program")
        if program is None:
            return None
        try:
            self.checker_argv = custom_checker.prepare(program, child_env(self.spec["work"], self.spec.get("path")))
        except custom_checker.CheckerFault as exc:
            return {"verdict": "SE", "message": str(exc)}
        return None

    def _compile_native(self, cmd: list[str]) -> dict[str, Any] | None:
        def limit() -> None:
            import resource

            resource.setrlimit(resource.RLIMIT_CPU, (_COMPILE_CPU_S, _COMPILE_CPU_S + 1))
            resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        try:
            proc = subprocess.run(
                cmd,
                cwd=self.spec["prog"],
                env=child_env(self.spec["work"], self.spec.get("path")),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_COMPILE_WALL_S,
                preexec_fn=limit,
                start_new_session=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"verdict": "CE", "message": f"compilation took longer than {_COMPILE_WALL_S:.0f}s"}
        except OSError as exc:
            return {"verdict": "SE", "message": f"compiler could not start: {exc}"}
        if proc.returncode != 0:
            err = verdicts.capture(proc.stderr or proc.stdout, head=8192)
            return {"verdict": "CE", "message": f"compiler exited {proc.returncode}", "stderr": err}
        return None

    def run_parameters(self) -> dict[str, Any]:
        """What every run of this batch shares (the fork server keeps it from setup on)."""
        scratch = str(self.scratch)
        return {
            "limits": {**self.limits, "stack_cap": self.spec.get("stack_cap", 0)},
            "runner": self.lang["runner"],
            "entry": str(Path(self.spec["prog"]) / self.spec["entry"]),
            "function": self.spec.get("function"),
            "argv": self.resolved_argv(),
            "env": child_env(scratch, self.spec.get("path")),
            "as_slack": self.spec.get("as_slack", 0),
            "nproc": self.nproc,
        }

    def spawn(self, extra: dict[str, Any], io: TestIO, cwd: str | None = None) -> dict[str, Any]:
        """Run the program once through the fork server, on ``io`` (in a fresh scratch dir, or in
        ``cwd``); return raw ingredients of a verdict."""
        if self.zygote is not None and self.zygote.proc.poll() is not None:
            # A test killed it: what it left must die before the wipe, not after.
            self.retire_zygote()
        cwd_fd = self.prepare_run()
        if cwd is not None:  # (the scratch dir stays the program's HOME and TMPDIR)
            os.close(cwd_fd)
            cwd_fd = os.open(cwd, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        # The counter as the last test left it, unless something of ours ran since (a checker).
        oom_before = self.oom_seen if self.oom_seen is not None else self.oom.read()
        request = {**extra, "nonce": io.nonce} if io.nonce else dict(extra)  # {}: sent as a bare RUN
        try:
            io.begin()
            report, why = self.run_with_retry(request, io.fds(cwd_fd))
            stdout, out_size, stderr_raw, result = io.collect(int(self.limits["output"]) + 1)
        finally:
            os.close(cwd_fd)
            if not isinstance(io, Interaction):
                io.close()  # (an interaction is closed by its caller, once the interactor is done)
        self.oom_seen = self.oom.read()
        oom = self.oom_seen > oom_before
        if report is None:
            # The fork server died (or went silent): what it left must not meet the next test.
            self.retire_zygote()
        elif report.get("leftovers"):
            self.sweep()
        if report is not None and report.get("stale") and self.zygote is not None:
            self.retire_zygote()  # a test changed its limits: the next one gets a new fork server
        if self.ipc is not None:
            self.ipc.sweep()  # last: every process of the test is dead (a removed segment goes at once)
        return {**verdicts.ingredients(report, why, stdout, out_size, stderr_raw, oom, self.limits), "result": result}

    def run_with_retry(self, request: dict[str, Any], fds: list[int]) -> tuple[dict[str, Any] | None, str]:
        """Hand one run to the fork server; if it was already gone (a previous test killed it
        and we raced its exit), start a new one and try once more before blaming anyone."""
        wall = float(self.limits["wall"])
        for attempt in range(2):
            try:
                report, why = self.ensure_zygote().run(request, fds, wall)
            except RuntimeError as exc:
                return None, f"infrastructure: {exc}"
            if report is not None or why.startswith("fork server died") or attempt == 1:
                return report, why
            self.restart_zygote()
        return None, "unreachable"

    def prepare_run(self) -> int:
        """Undo what earlier tests did (see :meth:`clean_slate`), and hand out the emptied
        scratch directory (an open descriptor: the test starts there without a path walk)."""
        self.clean_slate()
        return self.anchors.open_dir(str(self.scratch))

    def clean_slate(self) -> None:
        """Empty every writable place, the last test's own directory included, then restore the
        program and checker files (a test may have filled the disk, or planted files for the
        next test or for the checker): emptied first, so that a full disk cannot stop the
        restore."""
        moved = self.anchors.moved()
        if moved:
            raise Tampered(f"the program moved the sandbox's own directory {moved[0]} (an attack on the sandbox)")
        wipe_except(self.wipe_tops, self.keep, self.anchors)
        fresh_dir(self.scratch, self.anchors)
        if self.snapshot is not None:
            try:
                self.snapshot.restore()
            except OSError as exc:  # the program took what the restore needs (outside our places)
                raise Tampered(f"the program's files could not be restored after a test: {exc}") from exc

    def resolved_argv(self) -> list[str]:
        """The run command, with ``./x`` made absolute inside the program dir."""
        return [str(Path(self.spec["prog"]) / a[2:]) if a.startswith("./") else a for a in self.lang["run"]]

    def run_test(self, test: dict[str, Any]) -> dict[str, Any]:
        """Run one test and decide its verdict."""
        if self.checker.get("protocol") == "kattis_interactive":
            return self.run_interactive(test)
        check = test.get("check")
        io = TestIO.of_test(test, self.spec.get("function") is not None)
        raw = self.spawn({} if check is None else {"check": check}, io)
        outcome = verdicts.decide(raw, self.limits, self.lang.get("oom_markers", []))
        outcome["name"] = test["name"]
        answer = raw["stdout_text"]
        if raw["result"] is not None:  # a call's answer or a check's pass: on the result channel
            answer = verdicts.settle_result(outcome, *read_record(raw["result"], io.nonce), check is not None)
        if outcome["verdict"] == "AC" and test.get("expected") is not None and check is None:
            try:
                ok, message = self.check(test, answer)
                outcome["verdict"], outcome["message"] = ("AC" if ok else "WA"), message
            except custom_checker.CheckerFault as exc:
                outcome["verdict"], outcome["message"] = "SE", str(exc)
        elif outcome["verdict"] == "AC" and not outcome["message"]:
            outcome["message"] = "ran; nothing to check"
        return outcome

    def run_interactive(self, test: dict[str, Any]) -> dict[str, Any]:
        """One test against the problem's interactor (see :class:`Interaction`)."""
        env = child_env(self.spec["work"], self.spec.get("path"))
        io = Interaction(self.checker_argv, self.spec["work"], test, env, float(self.limits["wall"]))
        try:
            raw = self.spawn({}, io)
            outcome = verdicts.decide(raw, self.limits, self.lang.get("oom_markers", []))
            interactive_verdict(outcome, *io.verdict())
        finally:
            io.close()
        self.oom_seen = None  # the interactor ran beside the program
        return {**outcome, "name": test["name"]}

    def check(self, test: dict[str, Any], actual: str) -> tuple[bool, str]:
        """Apply the batch's checker to one output."""
        kind = self.checker["kind"]
        if kind == "program":
            return self.run_checker_program(test, actual)
        return checkers.check(kind, test["expected"], actual, self.checker["abs_tol"], self.checker["rel_tol"])

    def run_checker_program(self, test: dict[str, Any], actual: str) -> tuple[bool, str]:
        """Run the problem's checker program on (input, expected, actual), restored first:
        the test that just ran may have rewritten it."""
        self.clean_slate()
        self.oom_seen = None  # an OOM kill of the checker must not be blamed on the next test
        env = child_env(self.spec["work"], self.spec.get("path"))
        protocol = self.checker["protocol"]
        return custom_checker.run(self.checker_argv, protocol, self.spec["work"], test, actual, env)


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


def write_event(out: IO[str], spec: dict[str, Any], event: dict[str, Any], flush: bool = True) -> None:
    """One JSON line signed with the batch nonce.

    The nonce lives only in the (deleted) spec and this non-dumpable process,
    so even a line a program managed to inject into our output would be
    rejected by the host.
    """
    out.write(json.dumps({**event, "nonce": spec.get("nonce", "")}) + "\n")
    if flush:
        out.flush()


def run_spec(spec: dict[str, Any], out: IO[str], spare: Zygote | None = None) -> Batch | None:
    """Run one batch (tests or a plain command), reporting a crash of our own as an error event.

    ``spare`` is a fork server started ahead of time. Returns the batch, for
    :func:`clean_up`; the caller writes ``done``.
    """
    batch: Batch | None = None
    try:
        if spec["mode"] == "exec":
            plain = {**spec, "language": {"runner": "exec", "run": spec["command"]}, "checker": {}, "entry": ""}
            batch = Batch(plain, out, spare)
            run_exec(batch)
        else:
            batch = Batch(spec, out, spare)
            batch.run()
    except Exception as exc:
        write_event(out, spec, {"event": "error", "message": f"{type(exc).__name__}: {exc}"[:500]})
    return batch


def clean_up(spec: dict[str, Any], batch: Batch | None, spare: Zygote | None = None) -> None:
    """Stop the fork servers and, in our own container, everything else the batch started.

    ``spare`` is the one given to :func:`run_spec`: the batch's own fork server
    if the batch adopted it, still its ``spare`` if not, ours if there is no batch.
    """
    for zygote in (batch.zygote, batch.spare) if batch is not None else (spare,):
        if zygote is not None:
            zygote.close()
    if batch is not None:
        batch.close()
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
    spec: dict[str, Any] = json.loads(read_spec(0))
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
