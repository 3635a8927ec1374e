"""Turning what happened to a process into a verdict. Standard library only.

The order of the rules is the point: an out-of-memory kill is MLE even when
the program was also slow, an output flood is OLE even though it ends in a
signal, and only after every resource rule has had its say does a non-zero
exit become RE.
"""

from __future__ import annotations

import base64
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.runtime.nearby import held

if TYPE_CHECKING:
    from sandbox.runtime.wire import CaptureWire, ExecReport, Outcome, RunReport

HEAD = 2048
TAIL = 2048
COLLECT_MAX = 8 << 20
_OOM_FILES = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")


def capture(data: bytes, head: int = HEAD, tail: int = TAIL, size: int | None = None) -> CaptureWire:
    """Head and tail of a stream as text, with its true size and whether bytes were cut."""
    total = len(data) if size is None else size
    if len(data) <= head + tail and total == len(data):
        return {"head": data.decode("utf-8", "replace"), "tail": "", "size": total, "truncated": False}
    return {
        "head": data[:head].decode("utf-8", "replace"),
        "tail": data[-tail:].decode("utf-8", "replace") if tail else "",
        "size": total,
        "truncated": True,
    }


class OomCounter:
    """The cgroup's OOM-kill counter, read around every test.

    The file is opened once and re-read with ``pread``: opening it by path walks
    from ``/``, which on a fuse-overlayfs root costs more than the test. Reads
    0 where there is no cgroup to read (e.g. the local backend).
    """

    def __init__(self, paths: tuple[str, ...] = _OOM_FILES) -> None:
        self.fd: int | None = None
        for path in paths:
            kept = held(path)  # (opened once per process: see runtime.nearby)
            if kept is not None:
                self.fd = os.dup(kept)
                return

    def read(self) -> int:
        """The counter now (the kernel regenerates the file's text on each read from offset 0)."""
        if self.fd is None:
            return 0
        for line in os.pread(self.fd, 4096, 0).splitlines():
            key, _, value = line.partition(b" ")
            if key == b"oom_kill":
                return int(value)
        return 0

    def close(self) -> None:
        """Close the file."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def ingredients(
    report: RunReport | None,
    why: str,
    stdout: bytes,
    out_size: int,
    stderr: bytes,
    oom: bool,
    limits: dict[str, Any],
) -> dict[str, Any]:
    """Everything a verdict is decided from, in one flat record."""
    cap = int(limits["output"])
    raw: dict[str, Any] = {
        "fault": why if report is None else "",
        "oom": oom,
        "out_size": out_size,
        "err_size": len(stderr),
        "stdout_text": stdout[:cap].decode("utf-8", "surrogateescape"),
        "stdout": capture(stdout[:cap], size=out_size),
        "stderr": capture(stderr[:cap], size=len(stderr)),
    }
    raw.update(report or {"exit_code": None, "signal": None, "cpu": 0.0, "wall": 0.0, "maxrss_kb": 0})
    raw["verdict_hint"] = "ok" if raw.get("exit_code") == 0 and not raw.get("timed_out") else "failed"
    return raw


def _resource_verdict(raw: dict[str, Any], limits: dict[str, Any]) -> tuple[str, str] | None:
    sig = raw.get("signal")
    cap = int(limits["output"])
    if raw["oom"]:
        return "MLE", "killed by the out-of-memory killer"
    if sig == signal.SIGXFSZ or raw["out_size"] > cap or raw["err_size"] > cap:
        return "OLE", f"output exceeded {cap} bytes"
    if int(raw.get("maxrss_kb", 0)) > int(limits["memory_mb"]) * 1024:
        return "MLE", f"peak memory {raw['maxrss_kb'] // 1024} MB over the {limits['memory_mb']} MB limit"
    if raw.get("timed_out"):
        return "TLE", f"wall-clock limit {limits['wall']:.2f}s exceeded"
    if sig == signal.SIGXCPU or float(raw.get("cpu", 0.0)) > float(limits["cpu"]):
        return "TLE", f"CPU limit {limits['cpu']:.2f}s exceeded"
    return None


def decide(raw: dict[str, Any], limits: dict[str, Any], oom_markers: list[str]) -> Outcome:
    """The verdict of one run before output checking: AC here means "ran cleanly"."""
    outcome: Outcome = {
        "verdict": "AC",
        "message": "",
        "cpu": round(float(raw.get("cpu", 0.0)), 4),
        "wall": round(float(raw.get("wall", 0.0)), 4),
        "memory_kb": int(raw.get("maxrss_kb", 0)),
        "exit_code": raw.get("exit_code"),
        "signal": raw.get("signal"),
        "stdout": raw["stdout"],
        "stderr": raw["stderr"],
        "digest": "",
    }
    if raw["fault"] and raw["oom"]:
        outcome["verdict"], outcome["message"] = "MLE", "killed by the out-of-memory killer (with the fork server)"
        return outcome
    if raw["fault"]:
        if raw["fault"].startswith("infrastructure:"):
            outcome["verdict"], outcome["message"] = "SE", raw["fault"]
        else:
            # The fork server only dies mid-test when the program takes it down.
            outcome["verdict"], outcome["message"] = "RE", f"{raw['fault']} (the program attacked the sandbox runtime)"
        return outcome
    resource = _resource_verdict(raw, limits)
    if resource is not None:
        outcome["verdict"], outcome["message"] = resource
    elif raw.get("exit_code") != 0:
        outcome["verdict"], outcome["message"] = _failure(raw, oom_markers)
    else:
        from sandbox import checkers

        outcome["digest"] = checkers.output_digest(raw["stdout_text"])
    return outcome


def settle_result(outcome: Outcome, answer: str | None, why: str, check: bool) -> str:
    """Put what a call or check test's result channel held into its outcome; return the text
    the checker compares (the call's ``repr``). No record at all means the call or check
    never finished (RE); a record the harness did not write alone is the program's (WA)."""
    if outcome["verdict"] != "AC":
        return ""
    if answer is None:
        outcome["verdict"], outcome["message"] = ("RE" if why.startswith("no result") else "WA"), why
        return ""
    from sandbox import checkers

    outcome["result"] = capture(answer.encode("utf-8", "surrogateescape"))
    outcome["digest"] = checkers.output_digest(answer)
    if check:
        outcome["message"] = "check passed"
    return answer


def _failure(raw: dict[str, Any], oom_markers: list[str]) -> tuple[str, str]:
    tail = (raw["stderr"]["tail"] or raw["stderr"]["head"]).strip().splitlines()[-1:] or [""]
    if any(marker in tail[0] for marker in oom_markers):
        return "MLE", f"allocation failed: {tail[0][:200]}"
    sig = raw.get("signal")
    if sig is not None:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return "RE", f"killed by signal {name}"
    return "RE", f"exit code {raw.get('exit_code')}"


def exec_report(raw: dict[str, Any]) -> ExecReport:
    """The report of a plain command (repo mode)."""
    return {
        "exit_code": raw.get("exit_code"),
        "signal": raw.get("signal"),
        "timed_out": bool(raw.get("timed_out")),
        "wall": float(raw.get("wall", 0.0)),
        "stdout": raw["stdout"],
        "stderr": raw["stderr"],
        "message": raw["fault"],
    }


def collect_files(cwd: str, names: list[str]) -> dict[str, str]:
    """Files a command left behind, base64-encoded, each capped at 8 MiB."""
    found: dict[str, str] = {}
    base = Path(cwd).resolve()
    for name in names:
        path = (base / name).resolve()
        if base not in path.parents or not path.is_file():
            continue
        with path.open("rb") as fh:
            found[name] = base64.b64encode(fh.read(COLLECT_MAX)).decode()
    return found
