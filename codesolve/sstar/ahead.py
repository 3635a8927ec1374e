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
prompt, asked earlier. When it names another, the early call is cancelled, the knockout asks its
own, and the trace says a call was dropped.

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
from anyio.abc import TaskGroup

from codesolve.errors import CodesolveError
from codesolve.llm import Completion
from codesolve.sstar.candidate import Candidate
from codesolve.sstar.clusters import Cluster, by_agreement, cluster
from codesolve.sstar.context import SelectionContext
from codesolve.sstar.inputs import Table

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


class AskedAhead:
    """One solve's early distinguishing-input call: started by :meth:`consider`, taken or dropped once."""

    def __init__(
        self, ctx: SelectionContext, by_key: Mapping[str, Candidate], weights: Mapping[str, int], group: TaskGroup
    ) -> None:
        self._ctx = ctx
        self._by_key = by_key
        self._weights = weights
        self._group = group
        self._pair: Pair | None = None
        self._scope = anyio.CancelScope()
        self._done = anyio.Event()
        self._reply: list[Completion] = []
        self._error: CodesolveError | None = None
        self._settled = False

    def consider(self, early: Table) -> None:
        """Every survivor's LLM-free row is in: ask the first comparison's call now if they split
        and the judge-call cap has room (at most once per solve)."""
        if self._pair is not None or self._settled:
            return
        groups = by_agreement(cluster(early, self._weights))
        pair = first_pair(groups)
        spend = self._ctx.spend
        if pair is None or spend.judge_calls + knockout_calls(len(groups)) + 1 > spend.budget.max_judge_calls:
            return
        self._pair = pair
        self._ctx.record("note", "judge", ahead=[pair[0][:12], pair[1][:12]], clusters=len(groups))
        self._group.start_soon(self._ask, pair)

    async def _ask(self, pair: Pair) -> None:
        a, b = (self._by_key[key].code or "" for key in pair)
        with self._scope:
            try:
                self._reply = await self._ctx.ask("judge", self._ctx.task.distinguish_messages(a, b), "judge")
            except CodesolveError as exc:  # raised where the reply is taken, as the call would have been
                self._error = exc
            finally:
                self._done.set()

    async def take(self, pair: Pair) -> list[Completion] | None:
        """The early reply when ``pair`` is the one asked about (waiting for it if it is still
        out); else ``None``, the early call dropped. Raises what the early call raised."""
        if self._pair is None or self._settled:
            return None
        if pair != self._pair:
            self.drop(f"the whole table's first pair is {pair[0][:12]} vs {pair[1][:12]}")
            return None
        self._settled = True
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._reply

    def drop(self, why: str = "no comparison took it") -> None:
        """Cancel the early call if it is not taken (idempotent; nothing asked: nothing to do)."""
        if self._settled:
            return
        self._settled = True
        if self._pair is not None:
            self._scope.cancel()
            self._ctx.record("note", "judge", ahead_dropped=[self._pair[0][:12], self._pair[1][:12]], why=why)
