"""Creating, labelling and reaping locked-down sandbox containers."""

from __future__ import annotations

import io
import os
import random
import socket
import tarfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import docker.errors
import docker.types

from sandbox._docker import seccomp
from sandbox.errors import SandboxFault
from sandbox.image.recipe import SANDBOX_UID, SANDBOX_UIDS

LABEL = "codesolve"
"""Every container we make carries this label (value: the codesolve sandbox schema)."""
LABEL_RUN = "codesolve.run"
LABEL_EXPIRES = "codesolve.expires"
LABEL_OWNER = "codesolve.owner"
LABEL_CPU = "codesolve.cpu"
"""The engine CPU a container is pinned to (pinning weighs every run's containers)."""
LABEL_UID = "codesolve.uid"
"""The uid a container runs as (each container has its own: see ``recipe.SANDBOX_UIDS``)."""
WORK = "/sandbox"
WIPE = (WORK, "/tmp", "/dev/shm", "/dev/mqueue")
"""Every place a test can write (``/dev/mqueue``: its POSIX message queues), emptied between tests."""
_DRIVER_OVERHEAD_MB = 128
_MIN_CONTAINER_MB = 512


@dataclass(frozen=True)
class Shape:
    """Resource shape of a container; batches only share containers of the same shape."""

    memory_mb: int
    pids: int

    @classmethod
    def for_limits(cls, memory_mb: int, output_bytes: int, processes: int) -> Shape:
        """Room for the test, its two captured streams, the driver and a compiler."""
        streams_mb = 2 * (output_bytes >> 20) + 2
        memory = max(memory_mb + streams_mb, _MIN_CONTAINER_MB) + _DRIVER_OVERHEAD_MB
        # PID 1, the driver and the fork server; the test itself and its children get ``processes``.
        return cls(memory_mb=memory, pids=processes + 3)


SHM_MB = 64
"""Size of a container's ``/dev/shm`` (the engine's default)."""


@cache
def inodes(workdir_mb: int) -> int:
    """Inodes of a sandbox tmpfs: 256 per MB (64 Ki at the default 256 MB). Unbounded, a test's
    empty files would cost no blocks and grow kernel memory without limit; this count still
    holds a copied repository with its git objects."""
    return workdir_mb * 256


_FUTURE = "from __future__ import annotations\n"


def init_source() -> str:
    """Source of the container's PID 1 (see :mod:`sandbox.runtime.init` for why it is ours): the
    zygote's module, then PID 1's own loop, as one script (each imports the other only when it
    is not that script)."""
    runtime = resources.files("sandbox").joinpath("runtime")
    parts = [runtime.joinpath(name).read_text().replace(_FUTURE, "") for name in ("zygote.py", "init.py")]
    return _FUTURE + "".join(parts)


def ipc_sysctls(shape: Shape) -> dict[str, str]:
    """Tight limits on the container's private IPC namespace (every object is also removed
    after each test: see ``sandbox.runtime.ipc``). A segment no process has attached goes at
    once (``shm_rmid_forced``), and all of them together fit in the container's memory."""
    pages = shape.memory_mb * 256
    return {
        "kernel.shm_rmid_forced": "1",
        "kernel.shmmni": "32",
        "kernel.shmall": str(pages),
        "kernel.shmmax": str(pages * 4096),
        "kernel.msgmni": "32",
        "kernel.msgmnb": "65536",
        "kernel.msgmax": "8192",
        "kernel.sem": "64 2048 32 32",
        "fs.mqueue.queues_max": "32",
        "fs.mqueue.msg_max": "10",
        "fs.mqueue.msgsize_max": "8192",
    }


def hardening(shape: Shape, inet: bool = True) -> dict[str, Any]:
    """Our seccomp profile (``inet``: with Internet and netlink sockets) and IPC limits: what an engine that
    refuses them is asked without."""
    return {"security_opt": ["no-new-privileges", seccomp.security_opt(inet)], "sysctls": ipc_sysctls(shape)}


def refused_hardening(exc: Exception) -> bool:
    """Whether the engine refused a container for our seccomp profile or IPC sysctls."""
    return any(word in str(exc).lower() for word in ("seccomp", "sysctl"))


def owner() -> str:
    """``host:pid`` of this process, so a reaper can tell whether the owner still lives."""
    return f"{socket.gethostname()}:{os.getpid()}"


def container_kwargs(
    image: str,
    shape: Shape,
    run_id: str,
    ttl_s: int,
    workdir_mb: int,
    cpus: float,
    cpu: int | None = None,
    uid: int = SANDBOX_UID,
    hardened: bool = True,
    inet: bool = True,
) -> dict[str, Any]:
    """Arguments of ``containers.run`` for one sandbox container: no network, no privileges, run
    as ``uid``; pinned to CPU ``cpu`` when one is given; with :func:`hardening` unless told not to
    (``inet``: Internet sockets, even on loopback, and netlink ones allowed by it)."""
    mount = docker.types.Mount(
        target=WORK,
        source="",
        type="volume",
        driver_config=docker.types.DriverConfig(
            "local",
            {
                "type": "tmpfs",
                "device": "tmpfs",
                "o": f"size={workdir_mb}m,nr_inodes={inodes(workdir_mb)},uid={uid},gid={uid},mode=0700",
            },
        ),
    )
    return {
        "image": image,
        # -I, as a fork server started afresh: its forks are the fork servers (see runtime.init).
        "command": ["/usr/bin/python3", "-I", "-c", init_source(), str(ttl_s)],
        "detach": True,
        "user": f"{uid}:{uid}",
        "working_dir": WORK,
        "network_mode": "none",
        "read_only": True,
        "mounts": [mount],
        "tmpfs": {
            "/tmp": f"rw,size={workdir_mb}m,nr_inodes={inodes(workdir_mb)},mode=1777,exec",
            # Ours, not the engine's IPC mount: that one has the size but the kernel's default
            # inode count (millions), and a test's flood of empty files there cost the wipe ~20 s.
            "/dev/shm": f"rw,size={SHM_MB}m,nr_inodes={inodes(SHM_MB)},mode=1777,nosuid,nodev,noexec",
            # No pseudo-terminals: every container on the machine shares the kernel's pool of
            # them (3,072 beyond the host's reserve, ~126 a process here, 64 processes a test),
            # and their buffers are outside the memory limit. An empty read-only mount hides
            # the container's /dev/pts, and /dev/ptmx with it (a link into it).
            "/dev/pts": "ro,size=4k,mode=0755,nosuid,nodev,noexec",
        },
        "cap_drop": ["ALL"],
        # Core dumps of neither kind (see runtime.rlimits.CORE_OFF); our profile keeps it so.
        "ulimits": [docker.types.Ulimit(name="core", soft=1, hard=1)],
        "security_opt": ["no-new-privileges"],
        "pids_limit": shape.pids,
        "mem_limit": f"{shape.memory_mb}m",
        "memswap_limit": f"{shape.memory_mb}m",
        "nano_cpus": int(cpus * 1e9),
        "ipc_mode": "private",
        # Nothing is read from container logs; none are kept, so nothing can fill them.
        "log_config": docker.types.LogConfig(type="none"),
        **({"cpuset_cpus": str(cpu)} if cpu is not None else {}),
        **(hardening(shape, inet) if hardened else {}),
        "labels": {
            **({LABEL_CPU: str(cpu)} if cpu is not None else {}),
            LABEL_UID: str(uid),
            LABEL: "1",
            LABEL_RUN: run_id,
            LABEL_EXPIRES: str(int(time.time()) + ttl_s),
            LABEL_OWNER: owner(),
        },
    }


async def fault(engine: Any, container: Any) -> str:
    """Why a batch's stream ended early, when the container itself is to blame (else "").

    Nothing a program does stops its container (PID 1 is out of its reach), so a container
    that is no longer running is an infrastructure fault: SE.
    """
    try:
        await engine.call("inspect", container.reload)
    except (SandboxFault, docker.errors.NotFound):
        return "sandbox container vanished mid-batch"
    state = container.attrs.get("State", {})
    if state.get("Running", False):
        return ""
    return f"sandbox container stopped mid-batch (exit {state.get('ExitCode')}, OOM-killed={state.get('OOMKilled')})"


def tar_of(files: Sequence[tuple[str, bytes]], prefix: str, uid: int = SANDBOX_UID) -> bytes:
    """A tar of ``files`` under ``prefix``, owned by the container's user ``uid`` (dirs included)."""
    buf = io.BytesIO()
    seen: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for rel, data in files:
            parts = f"{prefix}/{rel}".split("/")
            for depth in range(1, len(parts)):
                _add_dir(tar, "/".join(parts[:depth]), seen, uid)
            info = tarfile.TarInfo(f"{prefix}/{rel}")
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, uid, uid
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _add_dir(tar: tarfile.TarFile, name: str, seen: set[str], uid: int) -> None:
    if name in seen:
        return
    seen.add(name)
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o700, uid, uid
    tar.addfile(info)


def _owner_dead(label: str) -> bool:
    host, _, pid = label.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_stale(labels: dict[str, str], now: float | None = None) -> bool:
    """True when a labelled container outlived its TTL or its owning process."""
    now = time.time() if now is None else now
    expires = labels.get(LABEL_EXPIRES, "0")
    return (not expires.isdigit() or int(expires) < now) or _owner_dead(labels.get(LABEL_OWNER, ""))


def remove(container: Any) -> None:
    """Remove a container and its anonymous volume: kill → remove, escalating on failure."""
    try:
        container.remove(force=True, v=True)
        return
    except docker.errors.NotFound:
        return
    except docker.errors.APIError:
        pass
    try:
        container.kill()
    except docker.errors.APIError:
        pass
    try:
        container.remove(force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        # Someone else (another run's reaper) is removing it right now: as good as gone.
        if "already in progress" not in str(exc):
            raise


def elsewhere(client: Any, label: str, skip_run: str | None = None) -> Counter[int]:
    """How many live codesolve containers (but those of run ``skip_run``) carry each value of the
    numeric ``label`` (the engine CPU they are pinned to, the uid they run as)."""
    counts: Counter[int] = Counter()
    for container in client.containers.list(filters={"label": label}, ignore_removed=True):
        labels = container.labels or {}
        if skip_run is not None and labels.get(LABEL_RUN) == skip_run:
            continue
        try:
            counts[int(labels[label])] += 1
        except (KeyError, ValueError):
            continue
    return counts


def pick_uid(in_use: Mapping[int, int], rng: random.Random) -> int:
    """A uid of :data:`SANDBOX_UIDS` for a new container: one no live container runs as, chosen
    at random (two processes choosing at once rarely meet), else one of the least shared."""
    fewest = min(in_use.get(uid, 0) for uid in SANDBOX_UIDS)
    return rng.choice([uid for uid in SANDBOX_UIDS if in_use.get(uid, 0) == fewest])


def reap(client: Any, everything: bool = False, run_id: str | None = None) -> int:
    """Remove labelled containers that are stale (or all of them, or one run's); return the count."""
    filters = {"label": [LABEL] + ([f"{LABEL_RUN}={run_id}"] if run_id else [])}
    removed = 0
    # The SDK inspects each listed container: one removed meanwhile (by its own run, or
    # another reaper) is already reaped, not an error (``ignore_removed``).
    for container in client.containers.list(all=True, filters=filters, ignore_removed=True):
        if everything or run_id or is_stale(container.labels):
            remove(container)
            removed += 1
    return removed
