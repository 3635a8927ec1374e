"""One batch of tests for one program: compile once, then each test on a clean slate through the
fork server, its verdict decided and reported. Standard library only.

The jobs are in modules of their own: the fork servers' lifecycle (:mod:`.servers`), compiling
(:mod:`.compiling`), the clean slate between tests (:mod:`.slate`), output checking
(:mod:`.checking`) and when events are flushed (:mod:`.events`); this is the loop that uses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sandbox.runtime import verdicts
from sandbox.runtime.artefacts import ArtefactCache
from sandbox.runtime.checking import OutputChecker
from sandbox.runtime.compiling import compile_once, prepare_checker, syntax_passed
from sandbox.runtime.events import EventSink
from sandbox.runtime.forkclient import ForkServer, child_env
from sandbox.runtime.guard import Tampered
from sandbox.runtime.ipc import IpcSweeper
from sandbox.runtime.servers import ForkServers
from sandbox.runtime.slate import Slate, open_dir
from sandbox.runtime.testio import Interaction, TestIO, interactive_verdict

if TYPE_CHECKING:
    from sandbox.runtime.wire import Event, Outcome, RunParameters, RunReport, RunRequest, Spec, TestWire


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

    def __init__(
        self, spec: Spec, out: IO[str], spare: ForkServer | None = None, artefacts: ArtefactCache | None = None
    ) -> None:
        self.spec = spec
        self.artefacts = artefacts
        """Compiled programs of earlier batches (the agent's; None: compile every time)."""
        self.limits = spec["limits"]
        self.events = EventSink(out, spec)
        self.servers = ForkServers(spec, self.events, self.run_parameters, spare)
        self.slate = Slate(spec)
        self.oom = verdicts.OomCounter()
        self.oom_seen: int | None = None
        """The cgroup's OOM-kill counter after the last test (read once per test, not twice)."""
        self.checker = OutputChecker(spec, [], self.before_checker)
        container = bool(spec.get("container"))
        self.nproc = user_nproc_limit(int(self.limits["procs"])) if not container else 0
        self.ipc = IpcSweeper() if container else None
        """Our container's IPC objects, removed after every run (locally each test has its own namespace)."""
        self.syntax_check: str | None = None
        """Python not yet syntax-checked: the next test's child checks it (the cache key, or "")."""
        self.syntax_failure: Outcome | None = None
        """The CE outcome of every test, once a test's child found the program does not compile."""
        self.precompile = False
        """The syntax check passed: the fork server compiles the program with the next run."""

    def emit(self, event: Event, flush: bool = True) -> None:
        """Write one event (see :class:`EventSink`)."""
        self.events.emit(event, flush)

    def close(self) -> None:
        """Stop the fork servers, and release what the batch holds open."""
        self.servers.close()
        self.slate.close()
        self.oom.close()
        if self.ipc is not None:
            self.ipc.close()

    def run(self, should_yield: Callable[[], bool] | None = None) -> None:
        """Compile, then run every test (stopping early on failure with fail_fast, or when
        ``should_yield`` says so between two tests: then the last event is ``yielded``)."""
        tests = self.spec["tests"]
        failure = self.prepare()
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
                if self.syntax_failure is not None:
                    for rest in tests[position - 1 :]:
                        self.emit({"event": "test", **self.syntax_failure, "name": rest["name"]})
                    return
            except Tampered as exc:
                # Blamed on the program (it did it, in this test or the one before), for
                # this test and every later one: none can be run safely any more.
                for rest in tests[position - 1 :]:
                    self.emit({"event": "test", "verdict": "RE", "message": str(exc), "name": rest["name"]})
                return
            except Exception as exc:  # a fault of ours on this test: its verdict only, not the rest's
                self.servers.retire()
                outcome = {"verdict": "SE", "message": f"sandbox runtime: {type(exc).__name__}: {exc}"[:500]}
                outcome["name"] = test["name"]
            last = position == len(tests)
            self.emit({"event": "test", **outcome}, self.events.flush_due(outcome, last))
            if self.spec.get("fail_fast") and outcome["verdict"] != "AC":
                break
            if not last and should_yield is not None and should_yield():
                self.emit({"event": "yielded"}, flush=False)  # (flushed with done and the end mark)
                return

    def prepare(self) -> Outcome | None:
        """Compile the program (once: see :mod:`.compiling`) and build the checker program; then
        remember every file the tests must not change. A CE or SE outcome, or None."""
        prepared = compile_once(self.spec, self.artefacts)
        failure, self.servers.precompiled, self.syntax_check = prepared[:3]
        if failure is None:
            failure, self.checker.checker_argv = prepare_checker(self.spec)
        if failure is None:
            self.slate.remember(prepared.files)
        return failure

    def checked_syntax(self, report: RunReport | None, stderr: Any) -> None:
        """After a run that carried the syntax check: its result noted (CE for every test from
        this one on when the program did not compile). A run whose fork server died says
        nothing: the next test checks again."""
        if report is None or "compiled" not in report:
            return
        key, self.syntax_check = self.syntax_check, None
        if report["compiled"]:
            syntax_passed(self.artefacts, key or "")
            self.precompile = True
        else:
            self.syntax_failure = {"verdict": "CE", "message": "syntax check failed", "stderr": stderr}

    def run_parameters(self) -> RunParameters:
        """What every run of this batch shares (the fork server keeps it from setup on)."""
        spec = self.spec
        return {
            "limits": {**self.limits, "stack_cap": spec.get("stack_cap", 0)},
            "runner": spec["language"]["runner"],
            "entry": str(Path(spec["prog"]) / spec["entry"]),
            "function": spec.get("function"),
            "argv": [str(Path(spec["prog"]) / a[2:]) if a.startswith("./") else a for a in spec["language"]["run"]],
            "env": child_env(str(self.slate.scratch), spec.get("path"), one_arena=bool(spec.get("as_slack"))),
            "as_slack": spec.get("as_slack", 0),
            "nproc": self.nproc,
        }

    def spawn(self, request: RunRequest, io: TestIO, cwd: str | None = None) -> dict[str, Any]:
        """Run the program once through the fork server, on ``io`` (in a fresh scratch dir, or in
        ``cwd``); return raw ingredients of a verdict."""
        self.servers.check()
        cwd_fd = self.slate.scratch_dir()
        if cwd is not None:  # (the scratch dir stays the program's HOME and TMPDIR)
            os.close(cwd_fd)
            cwd_fd = open_dir(cwd)
        # The counter as the last test left it, unless something of ours ran since (a checker).
        oom_before = self.oom_seen if self.oom_seen is not None else self.oom.read()
        if io.nonce:
            request = {**request, "nonce": io.nonce}  # (an empty request is sent as a bare RUN)
        if self.syntax_check is not None:
            request = {**request, "compile_first": True}
        elif self.precompile:  # (after the restore above: the file holds the bytes checked)
            request, self.precompile = {**request, "precompile": True}, False
        try:
            io.begin()
            report, why = self.servers.run(request, io.fds(cwd_fd), float(self.limits["wall"]))
            stdout, out_size, stderr_raw, result = io.collect(int(self.limits["output"]) + 1)
        finally:
            os.close(cwd_fd)
            if not isinstance(io, Interaction):
                io.close()  # (an interaction is closed by its caller, once the interactor is done)
        self.oom_seen = self.oom.read()
        oom = self.oom_seen > oom_before
        self.servers.after(report)
        if self.ipc is not None:
            self.ipc.sweep()  # last: every process of the test is dead (a removed segment goes at once)
        raw = verdicts.ingredients(report, why, stdout, out_size, stderr_raw, oom, dict(self.limits))
        if self.syntax_check is not None:
            self.checked_syntax(report, raw["stderr"])
        return {**raw, "result": result}

    def run_test(self, test: TestWire) -> Outcome:
        """Run one test and decide its verdict."""
        if self.spec["checker"].get("protocol") == "kattis_interactive":
            return self.run_interactive(test)
        check = test.get("check")
        io = TestIO.of_test(test, self.spec.get("function") is not None)
        raw = self.spawn({} if check is None else {"check": check}, io)
        return self.checker.verdict(raw, test, io.nonce)

    def run_interactive(self, test: TestWire) -> Outcome:
        """One test against the problem's interactor (see :class:`Interaction`)."""
        env = child_env(self.spec["work"], self.spec.get("path"))
        argv = self.checker.checker_argv
        io = Interaction(argv, self.spec["work"], test, env, float(self.limits["wall"]))
        try:
            raw = self.spawn({}, io)
            outcome = verdicts.decide(raw, dict(self.limits), self.spec["language"]["oom_markers"])
            interactive_verdict(outcome, *io.verdict())
        finally:
            io.close()
        self.oom_seen = None  # the interactor ran beside the program
        return {**outcome, "name": test["name"]}

    def before_checker(self) -> None:
        """Before the checker program runs: a clean slate, and the OOM counter read afresh."""
        self.slate.clean()
        self.oom_seen = None  # an OOM kill of the checker must not be blamed on the next test
