"""Choosing the CPU a new container is pinned to: the least loaded, ours and other runs' counted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sandbox._docker.pinning import CpuPins


def test_off_until_started_and_with_a_single_cpu() -> None:
    pins = CpuPins()
    assert pins.take({}) is None
    pins.start(1)
    assert not pins.active
    assert pins.take({}) is None


def test_containers_started_at_once_spread_and_other_runs_count() -> None:
    pins = CpuPins()
    pins.start(2)
    assert [pins.take({}), pins.take({}), pins.take({})] == [0, 1, 0]
    pins.give(0)
    pins.give(0)
    assert pins.take({0: 0, 1: 5}) == 0  # another run's five on CPU 1
    pins.stop()
    assert pins.take({}) is None
    pins.give(1)  # a container pinned before pinning was given up: nothing to count


@given(cpus=st.integers(2, 8), others=st.dictionaries(st.integers(0, 7), st.integers(0, 4)), n=st.integers(1, 20))
def test_every_pin_goes_to_a_least_loaded_cpu(cpus: int, others: dict[int, int], n: int) -> None:
    pins = CpuPins()
    pins.start(cpus)
    mine = [0] * cpus
    for _ in range(n):
        load = [mine[c] + others.get(c, 0) for c in range(cpus)]
        cpu = pins.take(others)
        assert cpu is not None
        assert load[cpu] == min(load)
        mine[cpu] += 1
