"""How fast this machine is at what a sandbox test costs: printed beside a benchmark's figures.

The same tree read a median of 1.10x on ``engine_overhead.py --latency 0.25`` one day and 1.28x
on another: on the second, a ``fork`` and exit of a small Python process took ~1.9 ms, and a
first touch of a page ~5 us. Every test the sandbox runs is such a fork, its page faults and its
exit, so figures taken on different days (or machines) compare only with these beside them.

They are measured in a small interpreter of their own (``-I -S``, about the size of a fork
server), not in the benchmark's process, whose imports would make its forks dearer: about a
second's work before the benchmark starts.

    .venv/bin/python benchmarks/hostspeed.py
"""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = """
import mmap, os, statistics, time
def fork_ms():
    times = []
    for _ in range(100):
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
def fault_us(pages=4096):
    area = mmap.mmap(-1, pages * mmap.PAGESIZE)
    start = time.perf_counter()
    for page in range(pages):
        area[page * mmap.PAGESIZE] = 1
    return (time.perf_counter() - start) / pages * 1e6
def loop_ms(steps=1_000_000):
    start = time.perf_counter()
    total = 0
    for step in range(steps):
        total += step
    return (time.perf_counter() - start) * 1000
print(f"{fork_ms():.2f} {fault_us():.1f} {loop_ms():.0f}")
"""


def measure() -> tuple[float, float, float]:
    """Milliseconds of a fork, exit and wait; microseconds of a first touch of an anonymous
    page; milliseconds of a million steps of a Python loop (each in a small interpreter)."""
    out = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE], capture_output=True, text=True, check=True)
    fork, fault, loop = (float(x) for x in out.stdout.split())
    return fork, fault, loop


def summary() -> str:
    """One line: the three figures and the load average."""
    fork, fault, loop = measure()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"host: fork+exit {fork:.2f} ms, page fault {fault:.1f} us, 1M-step Python loop {loop:.0f} ms, load {load}"


if __name__ == "__main__":
    print(summary())
