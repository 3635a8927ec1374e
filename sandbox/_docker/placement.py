"""Where and how the pool makes a new container: the CPU it is pinned to, the uid it runs as,
and the settings the engine accepts.

* **CPU**: the one the fewest codesolve containers (of any run on the engine) are pinned to.
* **uid**: one no other live container runs as, while one of ``recipe.SANDBOX_UIDS`` is left:
  the kernel counts some things per uid, not per container.
* **Settings**: our seccomp profile and IPC sysctls, until an engine refuses them; network
  sockets other than Unix ones only where the memory limit counts their buffers (cgroup v2:
  see :mod:`sandbox._docker.seccomp`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sandbox._docker import containers
from sandbox._docker.containers import Shape
from sandbox._docker.engine import Engine
from sandbox._protocol import DockerConfig
from sandbox.errors import SandboxFault


class Placement:
    """Makes the containers of one pool, and counts the CPUs and uids its live ones hold."""

    def __init__(self, engine: Engine, config: DockerConfig, image: str, run_id: str) -> None:
        self.engine = engine
        self.config = config
        self.image = image
        self.run_id = run_id
        self.hardened = True
        """Our seccomp profile and IPC sysctls are asked for (until an engine refuses them)."""
        self.inet = False
        """Internet and netlink sockets allowed: only where the memory limit counts their buffers."""
        self._cpu_use: list[int] = []
        """Containers pinned to each engine CPU (empty: not pinning), counted from the
        moment one is chosen, so that containers started at once spread out."""
        self._uids: Counter[int] = Counter()
        """Our containers per uid, counted from the moment one is chosen."""
        self.rng = random.Random()
        """Where uid choices come from (a test seeds it)."""

    def adopt(self, info: Mapping[str, Any]) -> None:
        """Read what matters from the engine's ``info``: its cgroup version and CPUs."""
        # Version 1 cgroups leave TCP, UDP and netlink buffers out of the memory limit.
        self.inet = str(info.get("CgroupVersion", "1")) == "2"
        if self.config.pin_cpus:
            cpus = int(info.get("NCPU") or 0)
            self._cpu_use = [0] * cpus if cpus > 1 else []

    @property
    def rules(self) -> str:
        """The seccomp rules containers get, in words."""
        if not self.hardened:
            return "the engine's default seccomp profile"
        if self.inet:
            return "our seccomp profile and IPC limits"
        return "our seccomp profile and IPC limits (Unix sockets only: other sockets' buffers escape the memory limit)"

    async def make(self, shape: Shape) -> tuple[Any, int | None, int]:
        """A new container of ``shape``, the CPU it is pinned to (None: not pinned) and its uid."""
        uid = await self._take_uid()
        try:
            container, cpu = await self._run_pinned(shape, uid)
        except BaseException:
            self._uids[uid] -= 1
            raise
        return container, cpu, uid

    def forget(self, cpu: int | None, uid: int) -> None:
        """A container of ours is gone: its CPU and uid count no more."""
        self._give_cpu(cpu)
        self._uids[uid] -= 1

    async def _elsewhere(self, label: str, skip_run: str | None) -> Counter[int]:
        """Live containers by the value of their numeric ``label`` (CPU, uid), but run ``skip_run``'s."""
        client = self.engine.client
        return await self.engine.call("list containers", containers.elsewhere, client, label, skip_run)

    async def _take_uid(self) -> int:
        # Every live container counts, ours too (ours being made are not listed yet: counted
        # here), and so does another process that was given the same run id.
        listed = await self._elsewhere(containers.LABEL_UID, None)
        uid = containers.pick_uid(listed + self._uids, self.rng)
        self._uids[uid] += 1
        return uid

    async def _take_cpu(self) -> int | None:
        """The engine CPU the fewest codesolve containers (of any run) are pinned to, now
        counted as ours (None when not pinning, or when a container may use more than one)."""
        if not self._cpu_use or self.config.cpus > 1:
            return None
        others = await self._elsewhere(containers.LABEL_CPU, self.run_id)  # ours: counted as we make them
        if not self._cpu_use:
            return None  # pinning was given up while we waited
        load = [mine + others.get(cpu, 0) for cpu, mine in enumerate(self._cpu_use)]
        cpu = load.index(min(load))
        self._cpu_use[cpu] += 1
        return cpu

    def _give_cpu(self, cpu: int | None) -> None:
        if cpu is not None and cpu < len(self._cpu_use):
            self._cpu_use[cpu] -= 1

    async def _run_pinned(self, shape: Shape, uid: int) -> tuple[Any, int | None]:
        """A new container running as ``uid``, pinned to a CPU where the engine lets us; and that CPU."""
        cpu = await self._take_cpu()
        try:
            return await self._run_container(shape, cpu, uid), cpu
        except SandboxFault:
            self._give_cpu(cpu)
            if cpu is None:
                raise
        except BaseException:
            self._give_cpu(cpu)
            raise
        # E.g. an engine whose CPUs are not those numbered from 0 (a restricted cpuset):
        # "Requested CPUs are not available". Without pinning, or the same fault again.
        self._cpu_use = []
        return await self._run_container(shape, None, uid), None

    async def _run_container(self, shape: Shape, cpu: int | None, uid: int) -> Any:
        config, client = self.config, self.engine.client
        args = (self.image, shape, self.run_id, config.ttl_s, config.workdir_mb, config.cpus, cpu, uid)
        if self.hardened:
            try:
                kwargs = containers.container_kwargs(*args, inet=self.inet)
                return await self.engine.call("create container", lambda: client.containers.run(**kwargs))
            except SandboxFault as exc:
                if not containers.refused_hardening(exc):
                    raise
            self.hardened = False  # this engine refuses our profile or IPC sysctls: its defaults, then
        plain = containers.container_kwargs(*args, hardened=False)
        return await self.engine.call("create container", lambda: client.containers.run(**plain))
