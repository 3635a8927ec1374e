"""Reading the driver's JSON-lines stream into outcomes, whatever state it ends in."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, cast

import anyio

from sandbox._types import Capture, ExecResult, TestCase, TestOutcome, Verdict

if TYPE_CHECKING:  # what the driver writes (sandbox.runtime.wire): mypy checks both ends
    from sandbox.runtime.wire import Event

DRIVER_DIED = "the sandbox runtime died during this test (the program may have killed it)"
DRIVER_STALLED = "the sandbox runtime stopped answering during this test (the program may have stopped it)"
TEST_GRACE_S = 15.0
"""Beyond a test's wall limit: the fork server's own grace, output checking, a checker program."""
IDLE_S = 30.0
"""Between tests, and before the first one when nothing needs compiling."""
NOT_RUN = "not run: the sandbox runtime stopped before this test"


async def read_events(
    stream: DriverStream, receive: Callable[[], Awaitable[bytes | None]], wall: float, first_wait: float
) -> None:
    """Feed ``stream`` what ``receive`` gives (None: the output ended) until the end, or until
    the driver is silent past :meth:`DriverStream.patience` (a program can SIGSTOP it: same
    uid), which marks the stream stalled (the running test is blamed). Both backends read so."""
    while True:
        with anyio.move_on_after(stream.patience(wall, first_wait)) as quiet:
            chunk = await receive()
        if quiet.cancelled_caught:
            stream.stalled = True
            break
        if chunk is None:
            break
        stream.feed_chunk(chunk)
    stream.finish()


class DriverStream:
    """Accumulates driver events; tells a clean end from a dead driver."""

    def __init__(self, nonce: str = "") -> None:
        self.nonce = nonce
        self.events: list[Event] = []
        self.done = False
        self.garbage = 0
        self.stderr = b""
        """The driver's own stderr (a traceback there explains a dead driver)."""
        self.looping = False
        """True once the driver entered its test loop (a death after that is a test's doing)."""
        self.stalled = False
        """Set by the backend when the driver went silent for longer than :meth:`patience`."""
        self._pending: list[bytes] = []
        """The pieces of an unfinished line, joined once its newline comes (joining them as they
        came copied a long line once per piece: an 8 MiB event in 32 KiB pieces took 0.56 s of
        the event loop, 32 MiB 19 s)."""

    def feed_chunk(self, chunk: bytes) -> None:
        """Take a piece of the stream as it arrives (lines may be split across pieces)."""
        self._pending.append(chunk)
        if b"\n" not in chunk:
            return
        *lines, rest = b"".join(self._pending).split(b"\n")
        self._pending = [rest] if rest else []
        for line in lines:
            self.feed_line(line)

    def finish(self) -> None:
        """The stream ended: take what is left."""
        self.feed_line(b"".join(self._pending))
        self._pending = []

    def running(self) -> bool:
        """True once the driver is in its test loop and until it is done."""
        return self.looping and not self.done

    def patience(self, wall: float, first_wait: float) -> float:
        """How long silence is normal now: a test's wall limit plus grace while one runs,
        ``first_wait`` (start-up, compilation) before any event, a short idle time otherwise."""
        if self.running():
            return wall + TEST_GRACE_S
        return first_wait if not self.events else IDLE_S

    def feed_line(self, line: str | bytes) -> None:
        """Take one line of driver output (the driver only ever writes JSON objects)."""
        if line[:1] in ("\x1e", b"\x1e"):
            return  # the agent's end-of-batch mark (its control lines start with RS)
        line = line.strip()
        if not line:
            return
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):  # (nested past the stack: not one of the driver's)
            self.garbage += 1
            return
        if not isinstance(event, dict) or event.get("nonce") != self.nonce or not isinstance(event.get("event"), str):
            self.garbage += 1
        elif event["event"] == "done":
            self.done = True
        else:
            self.looping = self.looping or event["event"] == "tests"
            # Signed with the batch's nonce: written by our driver, so it is one of the wire's events.
            self.events.append(cast("Event", event))

    def feed(self, data: bytes) -> None:
        """Take a whole stdout blob."""
        self.feed_chunk(data)
        self.finish()

    @property
    def yielded(self) -> bool:
        """Whether the driver stopped early because the host asked (the tests not reported did not run)."""
        return any(e["event"] == "yielded" for e in self.events)

    def reported(self) -> int:
        """How many test results arrived."""
        return sum(1 for e in self.events if e["event"] == "test")

    def outcomes(self, tests: Sequence[TestCase], fail_fast: bool, fault: str = "") -> list[TestOutcome]:
        """One outcome per test that ran; the missing ones explained.

        ``fault`` names an infrastructure failure seen by the backend (deadline,
        daemon error); without one, a stream that ends early means the driver
        died while running the next test.
        """
        got = [TestOutcome.from_wire(e) for e in self.events if e["event"] == "test"]
        # Even a stream that ended cleanly must account for every test: a driver
        # that skipped one must never make a failing program look all-AC.
        if len(got) >= len(tests) or (fail_fast and got and got[-1].verdict is not Verdict.AC):
            return got
        missing = [t.name or str(i) for i, t in enumerate(tests)][len(got) :]
        reason = fault or self._driver_error() or NOT_RUN
        for position, name in enumerate(missing):
            if not fault and position == 0 and self.looping:
                # The driver died (or froze) while this test ran: the program is the suspect.
                message = DRIVER_STALLED if self.stalled else DRIVER_DIED
                got.append(TestOutcome(name=name, verdict=Verdict.RE, message=message))
            else:
                got.append(TestOutcome.system_error(name, reason))
        return got

    def _driver_error(self) -> str:
        for event in self.events:
            if event["event"] == "error":
                return f"sandbox runtime failed: {event.get('message', '')}"
        lines = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"sandbox runtime failed: {lines[-1][:300]}" if lines else ""

    def exec_result(self, fault: str = "") -> ExecResult:
        """The result of a plain command, or an SE-like result when there is none."""
        for event in self.events:
            if event["event"] == "exec":
                return ExecResult(
                    exit_code=event.get("exit_code"),
                    stdout=Capture.from_wire(event["stdout"]),
                    stderr=Capture.from_wire(event["stderr"]),
                    wall_seconds=float(event.get("wall", 0.0)),
                    timed_out=bool(event.get("timed_out")),
                    signal=event.get("signal"),
                    files={k: base64.b64decode(v) for k, v in event.get("files", {}).items()},
                    message=str(event.get("message", "")),
                )
        return ExecResult(
            exit_code=None,
            stdout=Capture(),
            stderr=Capture(),
            wall_seconds=0.0,
            message=fault or self._driver_error() or "the sandbox runtime died before reporting",
        )
