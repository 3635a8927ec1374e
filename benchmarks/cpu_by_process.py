"""Where a warm batch's CPU goes, process by process (issue 17).

One container (a pool of one) runs the same Python program's batches back to back for
``--seconds`` while ``perf record`` samples every CPU of the machine (``cpu-clock``, with call
chains) and notes every ``fork``. Each sample is put to the process it came from, told by its
place in the process tree: this script (the host), the container's agent, its PID 1 (the
zygote), the zygote's children (the fork servers, one per batch) and theirs (the test
children); dockerd and the container's shim, and the fuse daemon of its root, by name. Printed
per batch and per test, in ms of CPU, each split by where the kernel was entered: page faults,
``fork``, ``exit``, other system calls, or user space. Run it with ``--tests 1`` and with
``--tests 24``: the difference is what each further test costs.

Needs ``perf`` and the right to sample the whole machine (root, or ``perf_event_paranoid`` -1).

    .venv/bin/python benchmarks/cpu_by_process.py [--tests 1] [--seconds 6] [--hz 4000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import anyio

from sandbox import DockerConfig, Limits, Program, TestCase, open_sandbox

PY = "import sys\nnums = list(map(int, sys.stdin.read().split()))\nprint(sum(nums[1:]))\n"
ROLES = ("test child", "fork server", "agent", "host", "zygote", "dockerd+shim", "fuse daemon")
KINDS = ("faults", "fork", "exit", "syscalls", "kernel, other", "user")
_ENTRIES = {
    "exc_page_fault": "faults",
    "__do_sys_clone": "fork",
    "__do_sys_clone3": "fork",
    "__x64_sys_exit_group": "exit",
    "__x64_sys_exit": "exit",
    "do_exit": "exit",
}
_HEAD = re.compile(r"^(?P<comm>\S.*?)\s+(?P<pid>\d+)\s+(?P<event>[\w:-]+):\s*(?P<rest>.*)$")


def entry(stack: list[str]) -> str:
    """Where the kernel was entered for one sample (perf lists the innermost frame first)."""
    if not stack or not stack[0].startswith("ffffffff"):
        return "user"
    for frame in reversed(stack):
        name = [*frame.split(), ""][1]  # ("address symbol (dso)")
        if name in _ENTRIES:
            return _ENTRIES[name]
        if name.startswith(("__x64_sys_", "__do_sys_", "__se_sys_")):
            return "syscalls"
    return "kernel, other"


def parse(script: str) -> tuple[list[tuple[int, int]], list[tuple[int, str, str]]]:
    """The fork events (parent, child) and the samples (pid, comm, kernel entry) of ``perf script``."""
    forks: list[tuple[int, int]] = []
    samples: list[tuple[int, str, str]] = []
    head: re.Match[str] | None = None
    stack: list[str] = []
    for line in [*script.splitlines(), ""]:
        if line[:1] in ("\t", " ") and head is not None:
            stack.append(line.strip())
            continue
        if head is not None and head["event"] == "cpu-clock":
            samples.append((int(head["pid"]), head["comm"], entry(stack)))
        head, stack = _HEAD.match(line), []
        if head is not None and head["event"] == "sched:sched_process_fork":
            fields = dict(part.split("=", 1) for part in head["rest"].split() if "=" in part)
            forks.append((int(fields["pid"]), int(fields["child_pid"])))
    return forks, samples


def roles(forks: list[tuple[int, int]], known: dict[int, str], comms: dict[int, str]) -> dict[int, str]:
    """Each pid's role: ``known`` ones, then by descent from the zygote, then by name."""
    role = dict(known)
    zygote = next(pid for pid, name in known.items() if name == "zygote")
    for parent, child in forks:  # in order: a fork server is born before its tests
        if parent == zygote:
            role[child] = "fork server"
        elif role.get(parent) in ("fork server", "test child"):
            role[child] = "test child"
    for pid, comm in comms.items():
        if pid not in role and comm.startswith(("dockerd", "containerd-shim")):
            role[pid] = "dockerd+shim"
        elif pid not in role and comm.startswith("fuse-overlayfs"):
            role[pid] = "fuse daemon"
    return role


async def load(tests: int, seconds: float, hz: int, data: Path) -> tuple[int, dict[int, str]]:
    """Warm one container, then run batches back to back under ``perf record``; the batch count
    and the known pids (this process, the container's PID 1 and agent)."""
    cases = [TestCase(stdin=f"3 {i} 5 2\n", expected=f"{i + 7}\n", name=str(i)) for i in range(tests)]
    program = Program.single("python", PY)
    async with open_sandbox(DockerConfig(pool_size=1)) as box:
        await box.warm(Limits())
        for _ in range(3):
            await box.run_tests(program, cases, Limits())
        cid = next(iter(box._all)).container.id  # type: ignore[attr-defined]
        known = {os.getpid(): "host", int(_docker("inspect", "-f", "{{.State.Pid}}", cid)): "zygote"}
        for line in _docker("top", cid, "-eo", "pid,args").splitlines()[1:]:
            pid, args = line.split(None, 1)
            if "agent.py" in args:
                known[int(pid)] = "agent"
        argv = ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(hz), "-e", "sched:sched_process_fork"]
        perf = subprocess.Popen([*argv, "-a", "-g", "-o", str(data), "--", "sleep", str(seconds)])
        time.sleep(0.5)  # (perf's own start-up, off the count)
        batches, end = 0, time.monotonic() + seconds - 1.0
        while time.monotonic() < end:
            await box.run_tests(program, cases, Limits())
            batches += 1
        perf.wait()
    return batches, known


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def report(batches: int, tests: int, hz: int, known: dict[int, str], data: Path) -> None:
    """Print the CPU per batch and per test of each role, split by kernel entry."""
    text = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,pid,event,ip,sym,trace"],
                          capture_output=True, text=True, check=True).stdout
    forks, samples = parse(text)
    comms = {pid: comm for pid, comm, _ in samples}
    role = roles(forks, known, comms)
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for pid, _, kind in samples:
        if pid in role:
            table[role[pid]][kind] += 1
    scale = 1000.0 / hz / batches  # (no batch ran outside the window sampled)
    print(f"{batches} batches of {tests} test(s); ms of CPU per batch (and per test), by process and by kernel entry")
    print(f"  {'process':14s} {'total':>7s} {'per test':>9s}  " + "  ".join(f"{k:>8s}" for k in KINDS))
    total = 0.0
    for name in ROLES:
        row = table.get(name, Counter())
        ms = sum(row.values()) * scale
        total += ms
        cells = "  ".join(f"{row[k] * scale:8.2f}" for k in KINDS)
        print(f"  {name:14s} {ms:7.2f} {ms / tests:9.2f}  {cells}")
    print(f"  {'all':14s} {total:7.2f} {total / tests:9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=1, help="tests per batch")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long perf samples")
    parser.add_argument("--hz", type=int, default=4000, help="samples per second and CPU")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        batches, known = anyio.run(load, args.tests, args.seconds, args.hz, data)
        report(batches, args.tests, args.hz, known, data)


if __name__ == "__main__":
    main()
