"""Which engine CPU a new container of the pool is pinned to (pure bookkeeping, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping


class CpuPins:
    """Containers of this pool pinned to each engine CPU, counted from the moment one is chosen,
    so that containers started at once spread out. Off (no pinning) until :meth:`start`."""

    def __init__(self) -> None:
        self._use: list[int] = []

    @property
    def active(self) -> bool:
        """Whether containers are being pinned."""
        return bool(self._use)

    def start(self, cpus: int) -> None:
        """Pin containers over ``cpus`` engine CPUs (none with fewer than two: nothing to spread)."""
        self._use = [0] * cpus if cpus > 1 else []

    def stop(self) -> None:
        """Give pinning up (the engine refused a CPU it reported)."""
        self._use = []

    def take(self, others: Mapping[int, int]) -> int | None:
        """The CPU the fewest containers are pinned to, ours and ``others`` (other runs' by CPU),
        now counted as ours; None when pinning is off."""
        if not self._use:
            return None
        load = [mine + others.get(cpu, 0) for cpu, mine in enumerate(self._use)]
        cpu = load.index(min(load))
        self._use[cpu] += 1
        return cpu

    def give(self, cpu: int | None) -> None:
        """A container pinned to ``cpu`` is gone."""
        if cpu is not None and cpu < len(self._use):
            self._use[cpu] -= 1
