"""A real ``codesolve`` process for tests of signals and terminal output: stderr read as it comes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class CliProcess:
    """``python -m codesolve.cli ARGS`` in its own process; stderr lines collected by a thread."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.peak_rss_mb = 0.0
        """The process's peak resident memory (its VmHWM), sampled while it runs."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "codesolve.cli", *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.err_lines: list[str] = []
        self.out = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._out_reader = threading.Thread(target=self._read_out, daemon=True)
        self._out_reader.start()
        self._sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self._sampler.start()

    def _sample_rss(self) -> None:
        # VmHWM of the process's own memory, not wait4's ru_maxrss: a child forked from this
        # (large) test process inherits its high-water mark across exec. A high-water mark
        # read late still holds the peak, so only the last few ms before exit go unseen.
        status = Path(f"/proc/{self.proc.pid}/status")
        while self.proc.returncode is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
            except (OSError, ValueError):
                return  # gone (or a zombie without memory): the last reading stands
            time.sleep(0.01)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.err_lines.append(raw.decode("utf-8", "replace"))

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self.out = self.proc.stdout.read()

    @property
    def owner(self) -> str:
        """The ``codesolve.owner`` label value of this process's containers."""
        return f"{socket.gethostname()}:{self.proc.pid}"

    def wait_for(self, needle: str, timeout: float) -> None:
        """Block until a stderr line contains ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in line for line in self.err_lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} never appeared; stderr: {''.join(self.err_lines)[-2000:]}")

    def interrupt(self) -> None:
        """Send one SIGINT, as Ctrl-C does.

        ``os.kill``, not ``Popen.send_signal``: that polls first and so reaps a process that has
        already exited (a first Ctrl-C can end it before the second is sent), and :meth:`finish`
        then finds no child to wait for. A signal to an unreaped zombie does nothing."""
        os.kill(self.proc.pid, signal.SIGINT)

    def finish(self, timeout: float) -> tuple[int, str]:
        """Exit code and the whole stderr, or kill and fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status = os.waitpid(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"still running after {timeout}s; stderr: {''.join(self.err_lines)[-2000:]}")
            time.sleep(0.05)
        code = self.proc.returncode = os.waitstatus_to_exitcode(status)
        self._sampler.join(5)
        self._reader.join(5)
        self._out_reader.join(5)
        return code, "".join(self.err_lines)


def containers_of(owner: str) -> list[str]:
    """Names of the containers, running or not, labelled as owned by ``owner`` (docker ps -a)."""
    done = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=codesolve", "--filter", f"label=codesolve.owner={owner}",
         "--format", "{{.Names}}"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout.split()
