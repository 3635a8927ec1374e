"""The judge's first question, asked ahead: while synthesis is still out.

The knockout's first comparison starts with one model call, a distinguishing input for the two
best clusters' representatives, and that call's prompt holds their code and nothing else (not
the table). Selection only learns which two those are from the whole table, after the model's
inputs are in and every survivor has run them: a whole model latency plus the runs.

The LLM-free rows usually finish earlier, often before the synthesis call is even sent (they are
started while debugging: :mod:`codesolve.sstar.prefetch`). Once every survivor's row is in and
two of them differ, the judge is certain to be needed (more inputs only split clusters further),
and the first pair the knockout would take on those rows is a prediction of the final one. The
call for that pair is asked at once, beside synthesis (not when the model's rows are all in
already: the table is whole then, and the call would only be dropped or taken at once). When
the whole table names the same pair (in the same order), the knockout takes that reply: the same
prompt, asked earlier. Both representatives run the input the reply proposes as soon as it is in,
while the model's inputs are still being run, so the verdict calls wait for neither (the stretch
before them 15-20 ms instead of 20-28 on this VM). When it names another, the early call is
cancelled, the knockout asks its own, and the trace says a call was dropped.

The last survivor's row (a debugged program's, started after the others) need not be whole: when
its first inputs show which finished behaviour it shares, its row is foreseen
(:mod:`codesolve.sstar.foresee`) and the call goes out on that (~35 ms sooner on this 2-core VM).
Should the whole rows then name another pair, that call is dropped and theirs asked at once (the
moment it would have been asked without foreseeing, but for the row's second batch boundary): a
wrong guess costs a call. A call on foreseen rows is asked only if the cap has room for it, one
asked again and a knockout over every survivor, so a dropped guess never cuts a knockout short.

What it costs: a dropped call's tokens (if the endpoint had started on it) and one judge call of
the solve's cap, which is why nothing is asked ahead unless the cap leaves room for a knockout
over the rows' clusters and one call more. On CodeGen's recorded HumanEval samples the pair held
in about two judged solves of three, 0.33 calls dropped per judged solve
(``benchmarks/selection_offline.py --ahead``). ``EngineConfig.judge_ahead`` (``--no-judge-ahead``)
turns it off.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from codesolve.errors import CodesolveError
from codesolve.llm import Completion
from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import Cluster, by_agreement, cluster
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.distinguish import ask_distinguishing, run_proposed
from codesolve.sstar.inputs import Table
from codesolve.tasks.base import Evidence

Pair = tuple[str, str]
"""The representatives' code keys of a comparison, in the order the prompt shows them (A, B)."""


def first_pair(groups: list[Cluster]) -> Pair | None:
    """The knockout's first comparison over clusters in preference order (``None``: no judge)."""
    if len(groups) < 2:
        return None
    return groups[0].representative, groups[1].representative


def knockout_calls(clusters: int) -> int:
    """Judge calls a knockout over ``clusters`` clusters makes at most (three per comparison)."""
    return 3 * max(clusters - 1, 0)


class _Call:
    """One early call: its pair, and once its reply is in and run, the evidence (or what it raised)."""

    def __init__(self, pair: Pair) -> None:
        self.pair = pair
        self.scope = anyio.CancelScope()
        """The model call's: a call dropped while out is cancelled."""
        self.dropped = False
        self.done = anyio.Event()
        self.evidence: list[Evidence] = []
        self.error: Exception | None = None


class AskedAhead:
    """One solve's early distinguishing-input call: started by :meth:`consider`, taken or dropped once.

    It may be asked on a late survivor's row foreseen from its first inputs
    (:mod:`codesolve.sstar.foresee`); when the whole rows then name another pair, that call is
    dropped and the whole rows' pair asked instead (at most two calls a solve).
    """

    def __init__(
        self, ctx: SelectionContext, by_key: Mapping[str, Candidate], weights: Mapping[str, int], group: TaskGroup
    ) -> None:
        self._ctx = ctx
        self._by_key = by_key
        self._weights = weights
        self._group = group
        self._call: _Call | None = None
        self._settled = False

    def consider(self, early: Table, whole: bool = True) -> None:
        """Every survivor's LLM-free row is in (``whole``), or foreseen: ask the first comparison's
        call now if they split and the judge-call cap has room. A call asked on foreseen rows is
        kept unless the whole rows name another pair: then that one is asked instead."""
        if self._settled:
            return
        groups = by_agreement(cluster(early, self._weights))
        pair = first_pair(groups)
        if self._call is not None:
            if not whole or pair == self._call.pair:
                return
            self._cancel(f"the whole LLM-free rows' first pair is {_named(pair)}")
        if pair is None or not self._room(len(groups) if whole else len(early), whole):
            return
        self._call = _Call(pair)
        self._ctx.record("note", "judge", ahead=[pair[0][:12], pair[1][:12]], clusters=len(groups), foreseen=not whole)
        self._group.start_soon(self._ask, self._call)

    def _room(self, clusters: int, whole: bool) -> bool:
        # Room for a knockout over `clusters` and this call; on foreseen rows, whose clusters the
        # whole rows may split further, a knockout over every survivor, this call and one asked
        # again: a dropped guess never leaves the knockout short of calls.
        spend = self._ctx.spend
        return spend.judge_calls + knockout_calls(clusters) + (1 if whole else 2) <= spend.budget.max_judge_calls

    async def _ask(self, call: _Call) -> None:
        a, b = (self._by_key[key].code or "" for key in call.pair)
        reply: list[Completion] = []
        try:
            with call.scope:
                await anyio.lowlevel.checkpoint()  # (a call dropped before it started is never sent, nor charged)
                reply = await ask_distinguishing(self._ctx, a, b)
        except CodesolveError as exc:  # raised where the reply is taken, as the call would have been
            call.error = exc
        try:
            # The proposed input is run at once, while the table's other rows still run, so the
            # verdict calls wait for neither. Outside the call's scope: a drop once the reply is in
            # lets these short runs end (a batch cancelled half-way costs its container).
            if reply and not call.dropped:
                call.evidence = await run_proposed(self._ctx, a, b, reply)
        except Exception as exc:  # a sandbox fault too: raised bare where it is taken, as in the knockout
            call.error = exc
        finally:
            call.done.set()

    async def take(self, pair: Pair) -> list[Evidence] | None:
        """The early call's evidence (its input run by both) when ``pair`` is the one asked about,
        waiting for it if it is still out; else ``None``, the early call dropped. Raises what the
        early call raised."""
        call = self._call
        if call is None or self._settled:
            return None
        if pair != call.pair:
            self.drop(f"the whole table's first pair is {_named(pair)}")
            return None
        self._settled = True
        await call.done.wait()
        if call.error is not None:
            raise call.error
        return call.evidence

    def drop(self, why: str = "no comparison took it") -> None:
        """Cancel the early call if it is not taken (idempotent; nothing asked: nothing to do)."""
        if self._settled:
            return
        self._settled = True
        self._cancel(why)

    def _cancel(self, why: str) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.dropped = True
            call.scope.cancel()
            self._ctx.record("note", "judge", ahead_dropped=[call.pair[0][:12], call.pair[1][:12]], why=why)


def _named(pair: Pair | None) -> str:
    return "none (no judge)" if pair is None else f"{pair[0][:12]} vs {pair[1][:12]}"
