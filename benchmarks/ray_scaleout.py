"""Scale-out of ``codesolve batch --executor ray``: 1 node against 2 nodes, model-bound, on one machine.

A real Ray cluster (``ray.cluster_utils.Cluster``, one CPU per node, so one
warm sandbox container per node) and the scripted model at latency L. Each
node runs K problems at once (``-k`` is per node on a cluster), so the work is
model-bound: 2 nodes have twice the lanes. The same 100 problems (those of
``batch_throughput.py``: generation (L) → public tests → synthesis (L) →
behaviour runs) are solved on 1 node, then on 2, each into its own run (its own
cache: every sample is asked of the model). The figure is the ratio of the
store's batch-session wall times (cluster start-up excluded; the process wall
time is printed beside it). Goal: >= 1.8x with 2 nodes.

With ``--control`` it then runs the same problems on the local executor at K
and at 2K in flight (one and two warm containers): what this machine itself
allows when the in-flight count doubles, the ceiling for the cluster figure
when both "nodes" share its CPUs.

It also prints the sandbox CPU-seconds per problem, from the cgroup CPU usage
of the run's containers (read before they close), for the on-paper layout in
README.md, and where the rest of the machine's CPU went per problem: the
driver process (the batch, its store writer, its Ray client), the driver's
services (limiter and cache actors), the node workers (the engine, model client
and sandbox driving of each node), and Ray's own processes (raylets, GCS, idle
workers), sampled from /proc. With every "node" on this machine's 2 CPUs,
these sum to what the machine spends per problem, and show whether the executor
(driver + services) is a bottleneck of its own.

    .venv/bin/python benchmarks/ray_scaleout.py [--latency 1.0] [-k 4] [--problems 100] [--control]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_throughput import N, problem_set

from codesolve.llm import SCRIPTED_KEY_ENV, ScriptedServer

CGROUP = Path("/sys/fs/cgroup/cpuacct/docker")
"""cgroup v1, as on the machine these figures come from; elsewhere the CPU figure is skipped."""


class ContainerCPU(threading.Thread):
    """Samples the CPU time of one run's containers (cgroup ``cpuacct.usage``) until stopped."""

    def __init__(self, run: str) -> None:
        super().__init__(daemon=True)
        self.run_label, self.seen, self.others = run, dict[str, int](), set[str]()
        self.halt = threading.Event()

    def _label(self, cid: str) -> str:
        fmt = '{{index .Config.Labels "codesolve.run"}}'
        out = subprocess.run(["docker", "inspect", "-f", fmt, cid], capture_output=True, text=True, check=False)
        return out.stdout.strip()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            for cgroup in CGROUP.glob("*/cpuacct.usage") if CGROUP.is_dir() else []:
                cid = cgroup.parent.name
                if cid in self.others:
                    continue
                if cid not in self.seen and self._label(cid) != self.run_label:
                    self.others.add(cid)
                    continue
                with contextlib.suppress(OSError, ValueError):
                    self.seen[cid] = max(self.seen.get(cid, 0), int(cgroup.read_text()))

    def seconds(self) -> float:
        self.halt.set()
        self.join()
        return sum(self.seen.values()) / 1e9


class ProcessCPU(threading.Thread):
    """Samples the CPU time of the driver and of Ray's processes (``/proc``) until stopped, by role."""

    ROLES = (
        ("ray::NodeWorker", "node workers"),
        ("ray::LimiterService", "driver services"),
        ("ray::CacheService", "driver services"),
    )

    def __init__(self, driver: int, store: Path) -> None:
        super().__init__(daemon=True)
        self.driver, self.first, self.last, self.role = driver, dict[int, int](), dict[int, int](), dict[int, str]()
        self.store, self.begun = store, False
        self.halt = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            role = "driver" if pid == self.driver else next((r for tag, r in self.ROLES if tag in cmdline), None)
            if role is None and ("ray::" in cmdline or "/ray/" in cmdline or "default_worker" in cmdline):
                role = "ray system"
            if role is None:
                continue
            used = int(fields[11]) + int(fields[12])  # utime + stime, in ticks
            self.first.setdefault(pid, used)
            self.last[pid] = used
            if self.role.get(pid) in (None, "ray system"):  # an idle worker that became an actor is the actor's
                self.role[pid] = role

    def _begun(self) -> bool:
        # The batch session has begun once a problem is in the store: CPU before it (starting
        # Ray's workers, importing codesolve, warming pools) is start-up, not per problem.
        with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(self.store, timeout=1)) as db:
            return bool(db.execute("SELECT COUNT(*) FROM problems").fetchone()[0])
        return False

    def run(self) -> None:
        while not self.halt.wait(0.5):
            if not self.begun and self.store.exists() and self._begun():
                self.begun = True
                self.first.clear()  # the baseline: every process's CPU when the session began
            self._sample()

    def seconds(self) -> dict[str, float]:
        """CPU seconds per role from the session's start (a process's last half second before it exits is missed)."""
        self.halt.set()
        self.join()
        spent: dict[str, float] = {}
        for pid, role in self.role.items():
            spent[role] = spent.get(role, 0.0) + (self.last[pid] - self.first[pid]) / self.tick
        return spent


def batch(problems: Path, runs: Path, name: str, url: str, k: int, where: list[str]) -> tuple[float, float]:
    """One batch in a child process (``where``: its executor flags): (session wall s, process wall s)."""
    cmd = [
        sys.executable, "-m", "codesolve.cli", "batch", str(problems), "--model", "scripted", "--base-url", url,
        "--api-key-env", SCRIPTED_KEY_ENV, "-n", str(N), "--rounds", "0", "-k", str(k), "--run", name,
        "--runs-dir", str(runs), "--progress", "plain", "--llm-concurrency", "256", *where,
    ]  # fmt: skip
    cpu = ContainerCPU(f"batch-{name}")
    cpu.start()
    started, here = time.monotonic(), time.process_time()
    env = {**os.environ, SCRIPTED_KEY_ENV: "b"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        roles = ProcessCPU(proc.pid, runs / name / "run.sqlite")
        roles.start()
        _, stderr = proc.communicate()
    wall = time.monotonic() - started
    sandbox_s, spent = cpu.seconds(), roles.seconds()
    spent["model server (this process, start-up included)"] = time.process_time() - here
    with sqlite3.connect(runs / name / "run.sqlite") as db:
        failed = db.execute("SELECT COUNT(*) FROM problems WHERE status != 'done'").fetchone()[0]
        session = db.execute("SELECT SUM(ended - started) FROM sessions WHERE kind = 'batch'").fetchone()[0]
        slowest, average, count = db.execute("SELECT MAX(wall_s), AVG(wall_s), COUNT(*) FROM problems").fetchone()
        batches, runs_ = db.execute("SELECT COUNT(*), SUM(total) FROM executions").fetchone()
    if proc.returncode != 0 or failed:
        print(f"  note: {name} exited {proc.returncode} with {failed} problems not done", file=sys.stderr)
        print(stderr[-2000:], file=sys.stderr)
    nodes = [line.split(" ", 1)[1] for line in stderr.splitlines() if " lanes, " in line]
    for line in nodes[-2:] if "--executor" in where else []:
        print(f"    {line}")
    print(f"  {name}: {session:.1f} s; per problem {average:.2f} s on average, {slowest:.1f} s at most")
    if sandbox_s:
        print(
            f"  {name}: sandbox CPU {sandbox_s:.1f} s in {len(cpu.seen)} containers = {sandbox_s / count:.2f} "
            f"CPU-s per problem ({batches / count:.1f} sandbox batches, {runs_ / count:.1f} test runs each)"
        )
    if sandbox_s:
        spent["sandbox containers"] = sandbox_s
    parts = ", ".join(f"{role} {used / count * 1e3:.0f}" for role, used in sorted(spent.items()))
    print(
        f"  {name}: CPU-ms per problem: {parts}; all {sum(spent.values()) / count * 1e3:.0f} "
        f"(machine: {os.cpu_count()} CPUs x {session / count * 1e3:.0f} ms of session per problem)"
    )
    return float(session), wall


def main() -> int:
    """Measure and print side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model reply (default 1)")
    parser.add_argument("-k", type=int, default=4, help="problems at once per node (default 4)")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--control", action="store_true", help="also the local executor at K and 2K")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    tmp = Path(tempfile.mkdtemp(prefix="codesolve-ray-bench-"))
    print(f"L = {args.latency:g} s, K = {args.k} per node, N = {N}; load average {os.getloadavg()[0]:.1f}; {tmp}")
    scenario = problem_set(args.problems, tmp / "p.jsonl")
    slow = scenario.model_copy(
        update={"rules": [r.model_copy(update={"latency_s": args.latency}) for r in scenario.rules]}
    )
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        with ScriptedServer(slow) as server:
            on_ray = ["--executor", "ray", "--ray-address", cluster.address]
            one, one_wall = batch(tmp / "p.jsonl", tmp, "one", server.base_url, args.k, on_ray)
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            two, two_wall = batch(tmp / "p.jsonl", tmp, "two", server.base_url, args.k, on_ray)
            if args.control:  # the same in-flight counts on the local executor: what this machine allows
                local_k, _ = batch(tmp / "p.jsonl", tmp, "local-k", server.base_url, args.k, ["--pool-size", "1"])
                local_2k, _ = batch(tmp / "p.jsonl", tmp, "local-2k", server.base_url, 2 * args.k, ["--pool-size", "2"])
            print(f"model: {server.max_in_flight} requests in flight at most, {len(server.chat_requests)} in all")
    finally:
        cluster.shutdown()
    print(f"1 node : {args.problems} problems in {one:.1f} s (process {one_wall:.1f} s) = {args.problems / one:.2f}/s")
    print(f"2 nodes: {args.problems} problems in {two:.1f} s (process {two_wall:.1f} s) = {args.problems / two:.2f}/s")
    ratio = one / two
    print(f"scale-out 2 nodes / 1 node = {ratio:.2f}x  goal >= 1.8x: {'met' if ratio >= 1.8 else 'NOT met'}")
    if args.control:
        print(
            f"control, local executor on this machine: K={args.k} (1 container) {local_k:.1f} s, "
            f"K={2 * args.k} (2 containers) {local_2k:.1f} s -> {local_k / local_2k:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
