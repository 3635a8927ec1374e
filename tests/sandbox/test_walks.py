"""A batch reaches its files from places it holds, never by a walk from the container's ``/``.

On a fuse-overlayfs engine (this machine's) every walk from ``/`` is a round trip to a daemon on
the host, 200-350 µs, and the agent walked ~35 per batch. The integration test watches a real
container's processes with ``strace`` during a warm batch; the property tests hold the path
arithmetic to what the kernel would resolve.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox import DockerConfig, Limits, Program, TestCase, Verdict, open_sandbox
from sandbox._docker.containers import LABEL_RUN
from sandbox.runtime import forkserver
from sandbox.runtime.artefacts import compiler_identity
from sandbox.runtime.nearby import beneath, unwritable

LIMITS = Limits(cpu_seconds=1, wall_seconds=2, memory_mb=128)
SOURCES = {
    "python": "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n",
    "cpp": "#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << std::endl; }\n",
}
WALK = re.compile(r'(?:\(|AT_FDCWD, )"/(?:sandbox|proc/sysvipc|proc"|proc/\d|sys/)')
"""A path the agent used to walk from ``/`` on every batch: the work dir, /proc's tables, the cgroup."""

_parts = st.lists(st.sampled_from(["a", "b", "sandbox", "..", ".", "", "x y", "sandboxes"]), max_size=5)


def _join(parts: list[str]) -> str:
    return "/" + "/".join(parts)


@given(_parts, _parts)
def test_a_path_beneath_the_base_names_the_same_place_from_it(base_parts: list[str], rest: list[str]) -> None:
    base = os.path.normpath(_join([p for p in base_parts if p not in ("..", ".", "")] or ["w"]))
    path = _join([*base.strip("/").split("/"), *rest]) if rest else base
    got = beneath(path, base)
    assert not got.startswith("/")
    assert os.path.normpath(os.path.join(base, got)) == os.path.normpath(path)


@given(_parts)
def test_a_path_elsewhere_is_left_as_it_is(parts: list[str]) -> None:
    path = _join(parts)
    if path == "/w" or path.startswith("/w/"):
        return
    assert beneath(path, "/w") == path
    assert beneath("/wx/y", "/w") == "/wx/y"  # a prefix of the name is not a parent


@given(_parts)
def test_the_fork_server_goes_from_where_it_is(parts: list[str]) -> None:
    here = os.getcwd()
    path = _join([*here.strip("/").split("/"), *parts]) if parts else "/elsewhere"
    got = forkserver.beneath_here(path)
    if here == "/" or not parts:
        assert got == path  # nothing to gain, or not beneath us: as given
        return
    assert not got.startswith("/")
    assert os.path.normpath(os.path.join(here, got)) == os.path.normpath(path)


def test_only_places_no_one_can_write_are_remembered(tmp_path: Path) -> None:
    assert not unwritable([str(tmp_path)])
    assert not unwritable([""])  # an empty PATH entry: the working directory
    if os.geteuid() != 0:  # (root may write anywhere)
        assert unwritable(["/usr/bin", "/bin"])


def test_a_compiler_in_a_writable_place_is_looked_up_every_time(tmp_path: Path) -> None:
    compiler = tmp_path / "cc"
    compiler.write_text("#!/bin/sh\n")
    compiler.chmod(0o755)
    first = compiler_identity("cc", str(tmp_path))
    compiler.write_text("#!/bin/sh\necho another compiler\n")  # a test (our uid) could do this
    assert compiler_identity("cc", str(tmp_path)) != first


def _pids(container: str) -> list[str]:
    out = subprocess.run(["docker", "top", container, "-o", "pid"], capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines()[1:] if line.strip()]


def _settled_pids(container: str) -> list[str]:
    """The container's processes once the last batch's clean-up is over and its spare fork
    server is up: a list read mid-way misses the spare (it then runs the batch untraced, as
    ``strace -f`` follows only children born after the attach)."""
    seen = _pids(container)
    for _ in range(50):
        time.sleep(0.2)
        now = _pids(container)
        if now == seen:
            return now
        seen = now
    pytest.fail(f"the container's processes never settled: {seen}")


def _attach(pids: list[str], log: Path) -> subprocess.Popen[bytes]:
    args = [arg for pid in pids for arg in ("-p", pid)]
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=%file", "-o", str(log), *args])
    time.sleep(1.0)  # attached by then (strace has no signal for it)
    if tracer.poll() is not None:
        pytest.skip("strace cannot attach here (no ptrace)")
    return tracer


@pytest.mark.anyio
@pytest.mark.parametrize("language", sorted(SOURCES))
async def test_a_warm_batch_walks_no_path_from_the_containers_root(
    docker_available: bool, tmp_path: Path, language: str
) -> None:
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    program = Program.single(language, SOURCES[language])
    tests = [TestCase(stdin="1 2\n", expected="3\n", name="0")]
    log = tmp_path / "trace"
    async with open_sandbox(DockerConfig(pool_size=1, run_id=f"pytest-walks-{language}")) as box:
        await box.warm(LIMITS)
        # The first batch of a program checks its syntax and fills the agent's caches.
        assert [o.verdict for o in await box.run_tests(program, tests, LIMITS)] == [Verdict.AC]
        ask = ["docker", "ps", "-q", "--filter", f"label={LABEL_RUN}=pytest-walks-{language}"]
        found = subprocess.run(ask, capture_output=True, text=True, check=True)
        [container] = found.stdout.split()
        tracer = _attach(_settled_pids(container), log)
        try:
            outcomes = await box.run_tests(program, tests, LIMITS)
            await anyio.sleep(0.3)  # the batch's clean-up, and the next batch's fork server
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(10)
    assert [o.verdict for o in outcomes] == [Verdict.AC]
    lines = log.read_text().splitlines()
    # The trace saw the batch: its directory made, its program written (both from the work dir),
    # and (C++) the compiled program run (from the test's directory).
    assert any("mkdir" in line and '"b' in line for line in lines), lines[:20]
    assert any("main." in line for line in lines), lines[:20]
    assert language != "cpp" or any('execve("../prog/main.bin"' in line for line in lines), lines
    # (getcwd reads the kernel's own record of the directory: no walk.)
    assert [line for line in lines if WALK.search(line) and "getcwd(" not in line] == []
