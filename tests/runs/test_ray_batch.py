"""``codesolve batch … --executor ray`` on a real multi-node Ray cluster on this machine.

One cluster (``ray.cluster_utils.Cluster``: a head node and a worker node,
one CPU each, so one warm sandbox container each) serves the whole module,
because starting Ray is slow. The CLI runs as a user runs it, in a child
process that joins the cluster; the scripted model runs here and counts its
concurrent requests. The module ends by shutting the cluster down and
checking that none of its processes and none of its containers survive.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codesolve.llm import SCRIPTED_KEY_ENV, ScriptedServer
from tests.runs.batchkit import batch_args, codesolve, duplicated_rows, run_containers, snapshot, sum_scenario
from tests.runs.batchkit import write_problems as write_sums

ray_cluster_utils = pytest.importorskip("ray.cluster_utils")
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]


def ray_args(problems: Path, url: str, runs: Path, name: str, address: str, *extra: str) -> list[str]:
    """The batch flags of the other batch tests, minus ``--pool-size``: on a cluster, slots follow node CPUs."""
    args = batch_args(problems, url, runs, name, "--executor", "ray", "--ray-address", address, *extra)
    at = args.index("--pool-size")
    return args[:at] + args[at + 2 :]


def session_processes(session: str) -> list[str]:
    """Live processes whose command line names the cluster's session (its raylets, GCS, workers)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if session in cmdline and int(pid) != os.getpid():
            found.append(f"{pid}: {cmdline[:120]}")
    return found


@pytest.fixture(scope="module")
def cluster(docker_available: bool) -> Iterator[Any]:
    """Two nodes of one CPU each; afterwards, no process of the cluster is left."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    c = ray_cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    session = Path(c.head_node.get_session_dir_path()).name
    try:
        c.add_node(num_cpus=1)
        c.wait_for_nodes()
        yield c
    finally:
        c.shutdown()
        deadline = time.monotonic() + 30
        while session_processes(session) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not session_processes(session), "Ray processes survived the cluster's shutdown"


@pytest.fixture(scope="module")
def problems(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sums(tmp_path_factory.mktemp("ray-problems") / "sums.jsonl", 8)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """16 problems and their local executor's run store (the reference of the tests that change the cluster)."""
    runs = tmp_path_factory.mktemp("ray-many")
    path = write_sums(runs / "many.jsonl", 16)
    with ScriptedServer(sum_scenario()) as server:
        reference = codesolve(*batch_args(path, server.base_url, runs, "reference", "-k", "4"))
    assert reference.returncode == 0, reference.stderr
    return path, runs / "reference" / "run.sqlite"


def no_containers_left(name: str) -> list[str]:
    deadline = time.monotonic() + 20  # a dead worker's containers go once its process is gone
    while (left := run_containers(name)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_two_nodes_select_what_the_local_executor_selects_and_a_rerun_asks_the_model_nothing(
    cluster: Any, problems: Path, tmp_path: Path
) -> None:
    with ScriptedServer(sum_scenario(latency_s=0.1)) as server:
        local = codesolve(*batch_args(problems, server.base_url, tmp_path, "local", "-k", "4"))
        assert local.returncode == 0, local.stderr
        spread = codesolve(*ray_args(problems, server.base_url, tmp_path, "spread", cluster.address, "-k", "2"))
        assert spread.returncode == 0, spread.stderr
        assert snapshot(tmp_path / "spread" / "run.sqlite") == snapshot(tmp_path / "local" / "run.sqlite")
        assert "on 2 Ray nodes, 4 lanes" in spread.stderr
        node_lines = [line for line in spread.stderr.splitlines() if " lanes, 1 slots, " in line]
        assert len(node_lines) == 2, spread.stderr  # one warm container per node: each node has one CPU
        assert all(" 0 finished" not in line for line in node_lines), spread.stderr  # both nodes worked
        asked = len(server.chat_requests)
        again = codesolve(*ray_args(problems, server.base_url, tmp_path, "spread", cluster.address, "--new-run"))
        assert again.returncode == 0, again.stderr
        assert len(server.chat_requests) == asked  # every sample came from the driver's cache
    assert snapshot(tmp_path / "spread" / "run.sqlite") == snapshot(tmp_path / "local" / "run.sqlite")
    assert not no_containers_left("spread")


def test_the_endpoint_concurrency_limit_holds_across_nodes(cluster: Any, problems: Path, tmp_path: Path) -> None:
    with ScriptedServer(sum_scenario(latency_s=0.3)) as server:
        done = codesolve(
            *ray_args(problems, server.base_url, tmp_path, "limited", cluster.address, "-k", "4"),
            "--llm-concurrency", "2",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        # each node alone would allow 2: 4 could be in flight without the cluster-wide limiter
        assert server.max_in_flight == 2


def test_a_node_that_cannot_reach_docker_takes_no_work(cluster: Any, problems: Path, tmp_path: Path) -> None:
    blind = cluster.add_node(num_cpus=1, env_vars={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    cluster.wait_for_nodes()
    try:
        with ScriptedServer(sum_scenario()) as server:
            done = codesolve(*ray_args(problems, server.base_url, tmp_path, "blind", cluster.address))
    finally:
        cluster.remove_node(blind)
    assert done.returncode == 0, done.stderr
    assert "on 3 Ray nodes, 16 lanes" in done.stderr  # two working nodes of 8 lanes; none on the blind one
    [said] = [line for line in done.stderr.splitlines() if "cannot run sandboxes" in line]
    assert "cannot reach the Docker engine" in said
    assert said.endswith("it gets no work")
    rows = snapshot(tmp_path / "blind" / "run.sqlite")["problems"]
    tokens = rows[0][5]  # every problem asks the scripted model the same prompts (the count follows the prompts)
    assert tokens > 0
    assert rows == [
        (f"t/sum-{i:03d}", i, f"{problems}: line {i + 1} (id 't/sum-{i:03d}')", "done", "", tokens, None)
        for i in range(8)
    ]


def test_an_endpoint_that_never_answers_stops_the_cluster_batch_in_one_line(
    cluster: Any, problems: Path, tmp_path: Path
) -> None:
    with ScriptedServer() as gone:
        dead = gone.base_url  # the port is free again once the server closed
    run = codesolve(*ray_args(problems, dead, tmp_path, "dead", cluster.address))
    assert run.returncode == 2
    errors = [line for line in run.stderr.splitlines() if line.startswith("codesolve: error")]
    assert errors == [errors[-1]]
    assert errors[0].startswith("codesolve: error: cannot reach " + dead), run.stderr
    db = sqlite3.connect(tmp_path / "dead" / "run.sqlite")
    assert db.execute("SELECT COUNT(*) FROM problems WHERE status IN ('done', 'failed')").fetchone()[0] == 0
    assert not no_containers_left("dead")


def _done(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path, timeout=10)
    try:
        return int(db.execute("SELECT COUNT(*) FROM problems WHERE status = 'done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def in_background(args: list[str], until_done: int, run_db: Path) -> subprocess.Popen[str]:
    """The CLI started in a child process, returned once ``until_done`` problems are done in ``run_db``."""
    env = {**os.environ, SCRIPTED_KEY_ENV: "test-key"}
    proc = subprocess.Popen([sys.executable, "-m", "codesolve.cli", *args], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while _done(run_db) < until_done and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    return proc


def test_a_node_killed_mid_batch_loses_nothing_duplicates_nothing_and_leaves_no_container(
    cluster: Any, many: tuple[Path, Path], tmp_path: Path
) -> None:
    doomed = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    problems, reference = many
    with ScriptedServer(sum_scenario(latency_s=0.4)) as server:
        args = ray_args(problems, server.base_url, tmp_path, "killed", cluster.address, "-k", "2", "--new-run")
        with in_background(args, 3, tmp_path / "killed" / "run.sqlite") as proc:
            cluster.remove_node(doomed, allow_graceful=False)  # its raylet and workers die mid-problem
            _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "on 3 Ray nodes" in stderr
    assert "redone on another node" in stderr  # it had problems in flight
    db = tmp_path / "killed" / "run.sqlite"
    assert not duplicated_rows(db)
    assert snapshot(db)["problems"] == snapshot(reference)["problems"]
    assert snapshot(db)["selections"] == snapshot(reference)["selections"]
    assert not no_containers_left("killed")


def test_a_node_that_joins_mid_batch_gets_work(cluster: Any, many: tuple[Path, Path], tmp_path: Path) -> None:
    problems, reference = many
    with ScriptedServer(sum_scenario(latency_s=0.4)) as server:
        args = ray_args(problems, server.base_url, tmp_path, "joined", cluster.address, "-k", "1")
        with in_background(args, 1, tmp_path / "joined" / "run.sqlite") as proc:
            joiner = cluster.add_node(num_cpus=1)
            try:
                _, stderr = proc.communicate(timeout=300)
            finally:
                cluster.remove_node(joiner)
    assert proc.returncode == 0, stderr
    assert "on 2 Ray nodes, 2 lanes" in stderr
    tag = f"/{joiner.node_id[:8]}"
    assert any(tag in line and "joined the batch with 1 lanes" in line for line in stderr.splitlines()), stderr
    *_, last = [line for line in stderr.splitlines() if tag in line and " lanes, " in line]
    assert " 0 finished" not in last, stderr  # the joined node solved some of them
    assert not duplicated_rows(tmp_path / "joined" / "run.sqlite")
    assert snapshot(tmp_path / "joined" / "run.sqlite") == snapshot(reference)
    assert not no_containers_left("joined")


def test_without_ray_the_executor_is_one_line_and_exit_2(problems: Path, tmp_path: Path) -> None:
    # A ``ray`` package that cannot be imported shadows the real one, as if the extra were not installed.
    fake = tmp_path / "fakes" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    env = {**os.environ, "PYTHONPATH": f"{fake.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    args = batch_args(problems, "http://127.0.0.1:9/v1", tmp_path, "noray", "--executor", "ray")
    proc = subprocess.run(
        [sys.executable, "-m", "codesolve.cli", *args], capture_output=True, text=True, env=env, timeout=120,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "codesolve: error: --executor ray needs Ray: pip install 'codesolve[ray]'"
    ]
    assert not (tmp_path / "noray").exists()  # refused before the store was made


@pytest.mark.parametrize(
    ("address", "said"),
    [("127.0.0.1:1", "no Ray cluster answers there"), ("nowhere", "expected auto or HOST:PORT")],
)
def test_a_bad_cluster_address_is_one_line_and_exit_2_before_the_store(
    problems: Path, tmp_path: Path, address: str, said: str
) -> None:
    run = codesolve(*batch_args(problems, "http://127.0.0.1:9/v1", tmp_path, "bad", "--executor", "ray",
                                "--ray-address", address), timeout=60)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [f"codesolve: error: --ray-address {address!r}: {said}"] or (
        run.stderr.strip().splitlines() == [f"codesolve: error: --ray-address {address}: {said} (Connection refused)"]
    )
    assert not (tmp_path / "bad").exists()


def test_the_local_executor_never_imports_ray() -> None:
    code = "import sys, codesolve.cli, codesolve.commands.batch, codesolve.runs.batch; print('ray' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "False"
