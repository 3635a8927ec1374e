"""The admission queue asks a running bulk batch to yield its place to an urgent waiter
(sandbox._docker.queue): which holder it asks, how many, never whom, and where the rest of a
batch that yielded goes back in line. Pure logic on the queue itself (no containers)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox import Urgency, urgent
from sandbox._docker.queue import SMALL, Holder, SlotQueue

BULK = SMALL + 20


@dataclass
class Asked:
    """Which holders were asked to yield, in order."""

    names: list[str] = field(default_factory=list)

    def arm(self, queue: SlotQueue, holder: Holder, name: str, goes_out: bool = True) -> None:
        def on_yield() -> bool:
            self.names.append(name)
            return goes_out

        queue.arm(holder, on_yield)


async def hold(queue: SlotQueue, size: int, urgency: bool = False) -> Holder:
    with urgent(urgency):
        return await queue.acquire(size)


async def wait_in_line(queue: SlotQueue, group: anyio.abc.TaskGroup, size: int, urgency: bool = False) -> None:
    """Start a task that waits for a place (and gives it back at once), and let it queue."""

    async def one() -> None:
        with urgent(urgency):
            async with queue.place(size):
                pass

    group.start_soon(one)
    await anyio.wait_all_tasks_blocked()


@pytest.mark.anyio
async def test_an_urgent_waiter_asks_one_running_bulk_batch_and_never_a_small_one() -> None:
    queue, asked = SlotQueue(2), Asked()
    small, bulk = await hold(queue, 1), await hold(queue, BULK)
    asked.arm(queue, small, "small")
    asked.arm(queue, bulk, "bulk")
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, 2, urgency=True)
        assert asked.names == ["bulk"]
        await wait_in_line(queue, group, 1, urgency=True)  # a second waiter: nobody left to ask
        assert asked.names == ["bulk"]
        assert queue.yields == 1
        queue.release(bulk)
        queue.release(small)


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1, BULK + 5], ids=["ordinary small", "ordinary bulk"])
async def test_an_ordinary_waiter_asks_nobody(size: int) -> None:
    # Every problem's public tests are small: in a 100-problem batch they made bulk batches
    # yield over a hundred times, for a slower batch. They go first when a place frees.
    queue, asked = SlotQueue(1), Asked()
    bulk = await hold(queue, BULK)
    asked.arm(queue, bulk, "bulk")
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, size)
        assert asked.names == []
        queue.release(bulk)


@pytest.mark.anyio
async def test_an_urgent_batch_yields_only_to_an_urgent_waiter() -> None:
    queue, asked = SlotQueue(1), Asked()
    bulk = await hold(queue, BULK, urgency=True)
    asked.arm(queue, bulk, "urgent bulk")
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, 1)  # a debugging round of some other solve
        assert asked.names == []
        await wait_in_line(queue, group, BULK, urgency=True)  # urgent too, and as big: not before it
        assert asked.names == []
        await wait_in_line(queue, group, 2, urgency=True)  # urgent and small: before it in line
        assert asked.names == ["urgent bulk"]
        queue.release(bulk)


@pytest.mark.anyio
async def test_one_holder_asked_per_waiter_the_biggest_first() -> None:
    queue, asked = SlotQueue(3), Asked()
    holders = [await hold(queue, size) for size in (BULK, BULK + 10, BULK + 5)]
    for holder, name in zip(holders, ["a", "b", "c"], strict=True):
        asked.arm(queue, holder, name)
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, 1, urgency=True)
        await wait_in_line(queue, group, BULK, urgency=True)
        await wait_in_line(queue, group, 1)  # ordinary: asks nobody
        assert asked.names == ["b", "c"]
        for holder in holders:
            queue.release(holder)
    assert queue.available_tokens == 3


@pytest.mark.anyio
async def test_a_batch_is_asked_only_while_armed_and_at_once_when_armed_late() -> None:
    queue, asked = SlotQueue(1), Asked()
    bulk = await hold(queue, BULK)
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, 1, urgency=True)
        assert asked.names == []  # not sent to its agent yet: nothing to ask
        asked.arm(queue, bulk, "bulk")
        assert asked.names == ["bulk"]
        queue.arm(bulk, None)
        queue.release(bulk)


@pytest.mark.anyio
async def test_a_batch_whose_urgency_is_raised_while_it_waits_asks_then() -> None:
    # A solve's rows are found to differ while its other rows wait: those need room now.
    queue, asked = SlotQueue(1), Asked()
    bulk = await hold(queue, BULK)
    asked.arm(queue, bulk, "bulk")
    later = Urgency()

    async def rows() -> None:
        with urgent(later):
            async with queue.place(BULK):
                pass

    async with anyio.create_task_group() as group:
        group.start_soon(rows)
        await anyio.wait_all_tasks_blocked()
        assert asked.names == []
        later.raise_now()
        assert asked.names == ["bulk"]
        queue.release(bulk)


@pytest.mark.anyio
async def test_a_word_that_did_not_go_out_is_not_counted_and_is_tried_again() -> None:
    # (The agent's socket still full of the request: nothing was sent.)
    queue, asked = SlotQueue(1), Asked()
    bulk = await hold(queue, BULK)
    asked.arm(queue, bulk, "bulk", goes_out=False)
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, 1, urgency=True)
        assert asked.names == ["bulk"]
        assert queue.yields == 0
        asked.arm(queue, bulk, "bulk again")  # armed anew: asked at once, and this time it went out
        assert asked.names == ["bulk", "bulk again"]
        assert queue.yields == 1
        queue.release(bulk)


@pytest.mark.anyio
async def test_a_batch_that_has_waited_its_patience_is_not_asked() -> None:
    queue, asked = SlotQueue(1, patience_s=0.0), Asked()
    bulk = await hold(queue, BULK)
    asked.arm(queue, bulk, "bulk")
    async with anyio.create_task_group() as group:
        await wait_in_line(queue, group, 1, urgency=True)
        assert asked.names == []
        queue.release(bulk)


@pytest.mark.anyio
async def test_the_rest_of_a_batch_that_yielded_queues_where_it_was_in_line() -> None:
    queue = SlotQueue(1)
    served: list[str] = []
    first = await hold(queue, BULK)  # the batch that yields, its ticket from before the others
    ticket = first.ticket

    async def batch(name: str, size: int, again: bool = False) -> None:
        async with queue.place(size, ticket if again else None):
            served.append(name)
            await anyio.sleep(0)

    async with anyio.create_task_group() as group:
        group.start_soon(batch, "later bulk", BULK)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(batch, "the rest", BULK, True)
        await anyio.wait_all_tasks_blocked()
        queue.release(first)
    assert served == ["the rest", "later bulk"]


operations = st.lists(
    st.one_of(
        st.tuples(st.just("hold"), st.sampled_from([1, SMALL, BULK, 3 * BULK]), st.booleans()),
        st.tuples(st.just("wait"), st.sampled_from([1, SMALL, BULK]), st.booleans()),
        st.tuples(st.just("release"), st.integers(0, 7), st.booleans()),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(operations, st.integers(1, 3))
def test_who_is_asked_whatever_comes(ops: list[tuple[str, int, bool]], places: int) -> None:
    # Whatever the order of holds, waits and releases: a holder is asked at most once, never a
    # small one, only one that was armed, only while an urgent batch that goes before it in line
    # waits, and no more holders are asked than such waiters; the places all come back.
    async def run() -> None:
        queue = SlotQueue(places)
        asked: list[Holder] = []
        held: list[Holder] = []

        def arm(holder: Holder) -> None:
            def on_yield() -> bool:
                waiting = [w.holder for w in queue._waiting if w.holder.urgency.raised]
                assert waiting, "asked with no urgent waiter"
                assert holder not in asked
                assert holder.size > SMALL
                assert any(w.rank < holder.rank for w in waiting)
                asked.append(holder)
                assert sum(1 for h in asked if h in queue._held) <= len(waiting)
                return True

            queue.arm(holder, on_yield)

        async with anyio.create_task_group() as group:
            for kind, size, flag in ops:
                if kind == "hold" and queue.available_tokens and not queue.waiting:
                    holder = await hold(queue, size, flag)
                    held.append(holder)
                    if flag or size > SMALL:
                        arm(holder)
                elif kind == "wait":
                    await wait_in_line(queue, group, size, flag)
                elif kind == "release" and held:
                    queue.release(held.pop(size % len(held)))
                    await anyio.wait_all_tasks_blocked()
            for holder in held:
                queue.release(holder)
        assert queue.available_tokens == places
        assert queue.waiting == 0

    # In a thread of its own: the session's async fixtures may keep an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, run).result()


def test_an_urgency_object_stays_what_it_was() -> None:
    # (The queue reads urgency when it hands out a place and when it picks whom to ask.)
    flag = Urgency()
    assert not flag.raised
    flag.raise_now()
    assert flag.raised
