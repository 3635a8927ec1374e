"""The pool's admission queue: small batches before bulk ones, urgent ones first within each,
first come first served within each, the oldest first past its patience, and no place lost to a
cancelled waiter."""

from __future__ import annotations

import anyio
import pytest

from sandbox import Urgency, urgent
from sandbox._docker.queue import SMALL, SlotQueue


async def _order_of(queue: SlotQueue, sizes: list[int], urgent_ones: frozenset[int] = frozenset()) -> list[int]:
    """Hold the only place, queue one batch per size (in this order; those in ``urgent_ones``
    asked for as urgent), free it; the order served."""
    served: list[int] = []

    async def batch(index: int, size: int) -> None:
        with urgent(index in urgent_ones):
            async with queue.place(size):
                served.append(index)
                await anyio.sleep(0)

    first = await queue.acquire(1)
    async with anyio.create_task_group() as group:
        for index, size in enumerate(sizes):
            group.start_soon(batch, index, size)
            await anyio.wait_all_tasks_blocked()
        assert queue.waiting == len(sizes)
        queue.release(first)
    return served


@pytest.mark.anyio
async def test_small_batches_go_before_bulk_ones_and_each_kind_in_arrival_order() -> None:
    sizes = [26, 27, 1, SMALL + 1, 3, SMALL, 2]
    served = await _order_of(SlotQueue(1), sizes)
    # The small ones (1, 3, SMALL, 2) first as they came, then the bulk ones as they came:
    # a 27-test batch that came first is not put behind a 26-test one that came later.
    assert served == [2, 4, 5, 6, 0, 1, 3]


@pytest.mark.anyio
async def test_urgent_batches_go_before_every_ordinary_one() -> None:
    sizes = [26, 27, 1, 2, 30, 3]
    served = await _order_of(SlotQueue(1), sizes, frozenset({3, 4}))
    # The urgent ones first (small before bulk among them), then the rest as before.
    assert served == [3, 4, 2, 5, 0, 1]


@pytest.mark.anyio
async def test_an_urgency_raised_while_its_batch_waits_moves_it_ahead() -> None:
    queue = SlotQueue(1)
    later = Urgency()
    served: list[str] = []

    async def batch(name: str, size: int, urgency: Urgency) -> None:
        with urgent(urgency):
            async with queue.place(size):
                served.append(name)
                await anyio.sleep(0)

    first = await queue.acquire(1)
    async with anyio.create_task_group() as group:
        group.start_soon(batch, "small", 1, Urgency())
        group.start_soon(batch, "bulk", 30, later)
        await anyio.wait_all_tasks_blocked()
        later.raise_now()
        queue.release(first)
    assert served == ["bulk", "small"]


@pytest.mark.anyio
async def test_urgency_does_not_beat_patience() -> None:
    # Everyone is past its patience: the oldest first, urgent or not.
    served = await _order_of(SlotQueue(1, patience_s=0.0), [1, 2, 3], frozenset({1, 2}))
    assert served == [0, 1, 2]


@pytest.mark.anyio
async def test_tasks_started_in_an_urgent_block_inherit_it_and_it_ends_with_the_block() -> None:
    queue = SlotQueue(1)
    served: list[str] = []

    async def batch(name: str) -> None:
        async with queue.place(1):
            served.append(name)
            await anyio.sleep(0)

    first = await queue.acquire(1)
    async with anyio.create_task_group() as group:
        group.start_soon(batch, "plain")
        await anyio.wait_all_tasks_blocked()
        with urgent():
            group.start_soon(batch, "child")  # asks for its place after the block: urgent all the same
        group.start_soon(batch, "after")
        await anyio.wait_all_tasks_blocked()
        queue.release(first)
    assert served == ["child", "plain", "after"]


@pytest.mark.anyio
async def test_a_batch_past_its_patience_goes_first_whatever_its_size() -> None:
    served = await _order_of(SlotQueue(1, patience_s=0.0), [30, 1, 2])
    assert served == [0, 1, 2]


@pytest.mark.anyio
async def test_never_more_holders_than_places_and_all_places_back_at_the_end() -> None:
    queue = SlotQueue(2)
    holding = [0]
    most = [0]

    async def batch(size: int) -> None:
        async with queue.place(size):
            holding[0] += 1
            most[0] = max(most[0], holding[0])
            await anyio.sleep(0.001)
            holding[0] -= 1

    async with anyio.create_task_group() as group:
        for size in [1, 30, 2, 50, 1, 1, 40]:
            group.start_soon(batch, size)
    assert most[0] == 2
    assert queue.available_tokens == 2
    assert queue.waiting == 0


@pytest.mark.anyio
async def test_a_waiter_cancelled_before_its_turn_leaves_the_queue() -> None:
    queue = SlotQueue(1)
    first = await queue.acquire(1)
    with anyio.move_on_after(0.05):
        await queue.acquire(1)
    assert queue.waiting == 0
    queue.release(first)
    assert queue.available_tokens == 1


@pytest.mark.anyio
async def test_a_place_granted_to_a_waiter_cancelled_meanwhile_is_not_lost() -> None:
    queue = SlotQueue(1)
    first = await queue.acquire(1)
    got: list[str] = []

    async def doomed(scope: anyio.CancelScope) -> None:
        with scope:
            async with queue.place(1):
                got.append("doomed")  # only if the cancellation came too late to stop it

    async def patient() -> None:
        async with queue.place(1):
            got.append("patient")

    scope = anyio.CancelScope()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(doomed, scope)
            await anyio.wait_all_tasks_blocked()
            group.start_soon(patient)
            await anyio.wait_all_tasks_blocked()
            queue.release(first)  # granted to `doomed`, cancelled in the same step
            scope.cancel()
    # Either way the place reached the patient waiter and came back (on asyncio the grant
    # wins the race and `doomed` runs; were the cancellation first, its except branch passes
    # the place on).
    assert got[-1] == "patient"
    assert queue.available_tokens == 1
    assert queue.waiting == 0


@pytest.mark.anyio
async def test_a_cancelled_task_does_not_take_a_free_place() -> None:
    queue = SlotQueue(1)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await queue.acquire(1)
    assert queue.available_tokens == 1
