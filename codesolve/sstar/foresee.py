"""A late survivor's LLM-free row, foreseen from its first inputs.

A program that passes its public tests after the other survivors' LLM-free rows are in, and
differ, is usually a debugged one, the last to arrive. The judge's first call
(:mod:`codesolve.sstar.ahead`) would wait for its whole row: 24 runs, ~50 ms of one container
on a busy machine, spent on a chain of model calls. So that row runs in two batches (see
:mod:`codesolve.sstar.prefetch`): first the inputs on which the finished rows differ, which
tell whose behaviour it shares (:func:`split_first`, up to :data:`HEAD` of them), then the rest.
When its first batch behaves exactly as one behaviour among the finished rows does, and only
one, its row is foreseen as that behaviour on the inputs not yet run (:func:`foresee`), and the
early call can be asked on it. When the whole row is in and names another pair, the early call
is asked again (:meth:`codesolve.sstar.ahead.AskedAhead.consider`): a wrong guess costs a
dropped call. The split itself costs the row one more batch boundary (~7 ms of CPU), also when
nothing can be foreseen.

Measured on CodeGen's recorded HumanEval samples (``benchmarks/selection_offline.py --ahead``,
60 tasks, a random survivor's row taken as the late one): of the judged solves asked ahead, the
late row is foreseen in 56-66%, and the pair it names is overturned by the whole row in 0-5% of
those (a call dropped and asked again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from codesolve.tasks.base import Behaviour

HEAD = 8
"""Inputs run in a late row's first batch."""


def split_first(rows: Sequence[Sequence[Behaviour]], width: int) -> list[int]:
    """Input positions ``0 .. width - 1``: first those where ``rows`` behaved differently (in
    order; a crash and an output differ too, as clusters tell them apart), then the rest (in
    order). A permutation."""
    split = [i for i in range(width) if len({row[i].signature for row in rows}) > 1]
    chosen = set(split)
    return split + [i for i in range(width) if i not in chosen]


def foresee(known: Mapping[int, Behaviour], rows: Sequence[Sequence[Behaviour]], width: int) -> list[Behaviour] | None:
    """The whole row of a program whose behaviours at the ``known`` positions are known: those
    there, and elsewhere the behaviour of the finished ``rows`` that match it at every known
    position, when all of those behave alike everywhere. ``None`` when none matches, or when
    the matching ones differ somewhere (which of them it follows is not known yet)."""
    matching = [row for row in rows if all(row[i].signature == b.signature for i, b in known.items())]
    if not matching:
        return None
    first = matching[0]
    if any(any(a.signature != b.signature for a, b in zip(row, first, strict=True)) for row in matching[1:]):
        return None
    return [known.get(i, first[i]) for i in range(width)]
