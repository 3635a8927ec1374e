"""Each container runs as a uid of its own (the kernel counts some things per uid, not per
container): how one is chosen, and that the container, its files and its agent all use it.

The attack this closes is in ``test_hostile_more.py`` (per-uid kernel accounting)."""

from __future__ import annotations

import random
import re
import tarfile
from io import BytesIO
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox import DockerConfig, Limits, Program, TestCase, open_sandbox
from sandbox._docker import containers
from sandbox._docker.backend import DockerSandbox
from sandbox._docker.containers import LABEL_UID, Shape, container_kwargs, pick_uid, tar_of
from sandbox.image.recipe import SANDBOX_UID, SANDBOX_UIDS

uses = st.dictionaries(st.sampled_from(list(SANDBOX_UIDS)), st.integers(0, 5))


@given(uses, st.randoms(use_true_random=False))
def test_a_new_container_gets_a_uid_nobody_runs_as_if_there_is_one(in_use: dict[int, int], rng: random.Random) -> None:
    uid = pick_uid(in_use, rng)
    assert uid in SANDBOX_UIDS
    # Never shared while one is free; else one of the least shared.
    assert in_use.get(uid, 0) == min(in_use.get(u, 0) for u in SANDBOX_UIDS)


def test_uids_are_spread_at_random_so_two_processes_choosing_at_once_rarely_meet() -> None:
    rng = random.Random(7)
    chosen = {pick_uid({}, rng) for _ in range(50)}
    assert len(chosen) > 20


def test_the_container_its_work_dir_and_its_files_belong_to_its_uid() -> None:
    uid = SANDBOX_UIDS[5]
    kwargs = container_kwargs("img", Shape(512, 16), "run", 60, 64, 1.0, cpu=None, uid=uid)
    assert kwargs["user"] == f"{uid}:{uid}"
    assert kwargs["labels"][LABEL_UID] == str(uid)
    assert f"uid={uid},gid={uid}," in kwargs["mounts"][0]["VolumeOptions"]["DriverConfig"]["Options"]["o"]
    with tarfile.open(fileobj=BytesIO(tar_of([("a/b.py", b"x")], "boot", uid))) as tar:
        assert {(m.name, m.uid, m.gid) for m in tar.getmembers()} == {
            ("boot", uid, uid),
            ("boot/a", uid, uid),
            ("boot/a/b.py", uid, uid),
        }


def test_every_image_recipe_names_the_same_uids() -> None:
    """The registry Dockerfile adds the users the offline build adds: one per container uid."""
    dockerfile = (Path(containers.__file__).parents[1] / "image" / "Dockerfile").read_text()
    found = re.search(r"seq (\d+) (\d+)", dockerfile)
    assert found is not None
    assert range(int(found[1]), int(found[2]) + 1) == SANDBOX_UIDS
    assert SANDBOX_UIDS[0] == SANDBOX_UID
    assert f"USER {SANDBOX_UID}:{SANDBOX_UID}" in dockerfile


@pytest.mark.anyio
@pytest.mark.docker
async def test_two_containers_of_a_pool_run_as_two_uids(docker_available: bool) -> None:
    """Both batches at once, each in a container of its own: two uids."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    program = Program.single("python", "import os, time\ntime.sleep(0.5)\nprint(os.getuid(), os.getgid())\n")
    seen: list[str] = []
    async with open_sandbox(DockerConfig(pool_size=2, run_id="pytest-uids")) as box:
        await box.warm(Limits())

        async def one() -> None:
            [outcome] = await box.run_tests(program, [TestCase()], Limits())
            seen.append(outcome.stdout.text.strip())

        async with anyio.create_task_group() as group:
            group.start_soon(one)
            group.start_soon(one)
    assert len(set(seen)) == 2, seen
    for line in seen:
        uid, gid = map(int, line.split())
        assert uid == gid
        assert uid in SANDBOX_UIDS


@pytest.mark.anyio
@pytest.mark.docker
async def test_pools_of_two_processes_given_one_run_id_still_take_two_uids(docker_available: bool) -> None:
    """Run ids are meant to be unique, but two processes may be given the same one (two test
    workers): a container of the other is still counted when a uid is chosen."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    program = Program.single("python", "import os\nprint(os.getuid())\n")
    async with (
        open_sandbox(DockerConfig(pool_size=1, run_id="pytest-same-run")) as first,
        open_sandbox(DockerConfig(pool_size=1, run_id="pytest-same-run")) as second,
    ):
        # The same choices on both sides: only counting the other's container tells them apart.
        for box in (first, second):
            assert isinstance(box, DockerSandbox)
            box.placement.rng = random.Random(7)
        [a] = await first.run_tests(program, [TestCase()], Limits())
        [b] = await second.run_tests(program, [TestCase()], Limits())
    assert a.stdout.text != b.stdout.text, (a.stdout.text, b.stdout.text)
