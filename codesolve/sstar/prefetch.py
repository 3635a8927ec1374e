"""Selection's LLM-free rows, started while the engine is still debugging.

The LLM-free inputs depend on the task and the seed alone, and a candidate that passes its
public tests is a survivor for good. So once two distinct programs pass (from then on
selection will surely cluster survivors by behaviour), each passing program starts its run
on those inputs at once, in the solve's background, while the model calls that debug the
other candidates are out. Selection then finds most of its table ready instead of queueing
every survivor's bulk batch behind the last debugging round (at a model latency of 0.25 s
the sandbox sat idle through those calls, then had every problem's bulk batches at once).

The rows are the ones selection would have computed: same inputs, same runs, merely earlier.
A program that never gets a second distinct passing program beside it is never prefetched,
so a solve with one survivor spends nothing here.

The first rows that differ also raise the solve's :class:`~sandbox.Urgency`: that solve will
need the judge, a longer chain of model calls than a solve whose survivors agree, so its
batches go first from then on (see :mod:`sandbox.urgency`).

A row that starts once other rows are in and differ (a debugged program's, usually the last) runs
in two batches, the inputs that tell the finished behaviours apart first, so that the judge's first
call can be asked on its row foreseen from those (see :mod:`codesolve.sstar.foresee`) instead of
waiting for all of it: :meth:`FreeRows.foreseen`.

The inputs themselves are made here too, once per count, in a worker thread, starting once the
task is prepared (they may use what it gathered), while the generation call is out: mutating the
examples is ~5 ms of CPU a problem, and on the event loop it held up every solve's steps at the
busiest moment (the first public tests), and again, made a second time, the synthesis call.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from codesolve.sstar.clusters import disagree
from codesolve.sstar.config import EngineConfig, synth_sources
from codesolve.sstar.distinct import distinct
from codesolve.sstar.foresee import HEAD, foresee, split_first
from codesolve.sstar.once import OnceEach
from codesolve.tasks.base import Behaviour, SynthInput, Task
from sandbox import Urgency, urgent


class FreeRows:
    """One solve's survivors' behaviours on the LLM-free inputs, started as they pass."""

    def __init__(self, task: Task, config: EngineConfig) -> None:
        self.task = task
        self.config = config
        self.urgency = Urgency()
        """Raised once two rows differ (by this or by selection): the solve will need the judge."""
        self._inputs: OnceEach[int, list[SynthInput]] = OnceEach()
        self._passing: dict[str, str] = {}
        self._started: set[str] = set()
        self._runs: OnceEach[str, list[Behaviour]] = OnceEach()
        self._rows: dict[str, list[Behaviour]] = {}
        self._heads: dict[str, dict[int, Behaviour]] = {}
        """A row's behaviours by input position, while only its first batch is in."""
        self._changed = anyio.Event()
        self._group: TaskGroup | None = None

    @property
    def wanted(self) -> bool:
        """Whether this solve's selection runs survivors on LLM-free inputs (else nothing is started)."""
        cfg = self.config
        clusters = cfg.selector in {"sstar", "majority"}
        return clusters and cfg.free_inputs > 0 and synth_sources(cfg) in ("hypothesis", "both")

    async def inputs(self, count: int | None = None) -> list[SynthInput]:
        """The first ``count`` LLM-free inputs (default: the configured number), distinct; made once
        per count, in a worker thread (deterministic: the task's, the seed's and the count's)."""
        wanted = self.config.free_inputs if count is None else count

        def make() -> list[SynthInput]:
            return distinct(self.task.synthetic_inputs(wanted, self.config.seed))

        made, _ = await self._inputs.get(wanted, lambda: anyio.to_thread.run_sync(make, abandon_on_cancel=True))
        return made

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Let :meth:`passed` start runs while the block (the solve) runs; the unfinished ones are
        cancelled after it. The block's own batches are urgent once :attr:`urgency` is raised: from
        then on every model call of the solve waits on a longer chain than a solve that agrees."""
        failed: list[BaseException] = []
        with urgent(self.urgency):
            async with anyio.create_task_group() as group:
                self._group = group
                try:
                    yield
                except anyio.get_cancelled_exc_class():
                    raise  # (the task group's to handle: a deadline, a stop)
                except BaseException as exc:
                    failed.append(exc)  # raised bare below: the task group would wrap it in a group
                finally:
                    self._group = None
                    group.cancel_scope.cancel()
        if failed:
            raise failed[0]

    def passed(self, key: str, code: str) -> None:
        """A program passed its public tests: once there are two distinct ones, run each that has not run."""
        if self._group is None or key in self._passing or not self.wanted:
            return
        if self.config.selector == "majority" and self.task.normal_form(code) is not None:
            return  # majority votes on normal forms here: nothing is run
        self._passing[key] = code
        if len(self._passing) < 2:
            return
        for each, source in self._passing.items():
            if each not in self._started:
                self._started.add(each)
                # (urgent once the flag is raised: the task inherits the context of running())
                self._group.start_soon(self._ahead, each, source)

    def make_inputs_ahead(self) -> None:
        """Start making the LLM-free inputs in the background (the task is prepared: they may
        depend on what it gathered), so they are ready when the first program passes."""
        if self._group is not None and self.wanted:
            self._group.start_soon(self._make_inputs)

    async def _make_inputs(self) -> None:
        # A fault is not kept (OnceEach): whoever needs the inputs makes them again and meets it.
        with contextlib.suppress(Exception):
            await self.inputs()

    async def _ahead(self, key: str, code: str) -> None:
        # A fault here must not end the solve from the background: nothing is kept, and selection
        # runs the rows again and meets the fault where it is handled (OnceEach keeps no failure).
        with contextlib.suppress(Exception):
            await self._free_rows(key, code)

    async def _free_rows(self, key: str, code: str) -> list[Behaviour]:
        inputs = await self.inputs()
        rows, _ = await self._runs.get(key, lambda: self._run(key, code, inputs))
        self._rows[key] = rows
        self._touch()
        if disagree(list(self._rows.values())):
            self.urgency.raise_now()
        return rows

    async def _run(self, key: str, code: str, inputs: list[SynthInput]) -> list[Behaviour]:
        done = list(self._rows.values())
        asks_ahead = self.config.judge_ahead and self.config.selector != "majority"
        if not (asks_ahead and disagree(done)) or len(inputs) <= HEAD:
            return await self.task.behaviours(code, inputs)
        # Others' rows are in and differ: the judge will be asked, and waits on this row.
        order = split_first(done, len(inputs))
        head, tail = order[:HEAD], order[HEAD:]
        known = dict(zip(head, await self.task.behaviours(code, [inputs[i] for i in head]), strict=True))
        self._heads[key] = dict(known)
        self._touch()
        try:
            known.update(zip(tail, await self.task.behaviours(code, [inputs[i] for i in tail]), strict=True))
        finally:
            self._heads.pop(key, None)  # (whole now, or failed: then selection runs it again)
        return [known[i] for i in range(len(inputs))]

    def _touch(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def foreseen(self, keys: Sequence[str]) -> tuple[dict[str, list[Behaviour]], bool] | None:
        """Every one of ``keys``' LLM-free rows, whole or foreseen from its first batch
        (:func:`~codesolve.sstar.foresee.foresee`, on the whole rows in now), and whether all are
        whole; ``None`` while one is neither (not run ahead, still running, or not foreseeable)."""
        done = list(self._rows.values())
        table: dict[str, list[Behaviour]] = {}
        for key in keys:
            row = self._rows.get(key)
            if row is None and key in self._heads and done:
                row = foresee(self._heads[key], done, len(done[0]))
            if row is None:
                return None
            table[key] = row
        return table, all(key in self._rows for key in keys)

    async def changed(self) -> None:
        """Return once a row, or a row's first batch, is next in."""
        await self._changed.wait()

    async def behaviours(self, key: str, code: str, inputs: Sequence[SynthInput]) -> list[Behaviour]:
        """``code``'s behaviours on ``inputs``: what was (or is being) run ahead is reused where the
        LLM-free inputs begin ``inputs`` (an adaptive run asks for more of them), the rest run now."""
        ahead = await self.inputs() if key in self._started else []
        if not ahead or not _begins(inputs, ahead):
            return await self.task.behaviours(code, inputs) if inputs else []
        rest = list(inputs[len(ahead) :])
        parts: dict[int, list[Behaviour]] = {}

        async def head() -> None:
            parts[0] = await self._free_rows(key, code)

        async def tail() -> None:
            parts[1] = await self.task.behaviours(code, rest) if rest else []

        async with anyio.create_task_group() as group:
            group.start_soon(head)
            group.start_soon(tail)
        return parts[0] + parts[1]


def _begins(inputs: Sequence[SynthInput], ahead: Sequence[SynthInput]) -> bool:
    return len(inputs) >= len(ahead) and all(a.text == b.text for a, b in zip(inputs, ahead, strict=False))
