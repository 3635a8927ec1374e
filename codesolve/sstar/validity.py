"""Many valid answers, one behaviour: merging the outputs a trusted validator accepts.

Where a problem accepts many answers ("any root"), right candidates print
different outputs. With a validator the task trusts (see
:meth:`codesolve.tasks.base.Task.accept_validator`), every output it accepts
on an input becomes the one behaviour ``AC:valid`` there; an output it rejects
keeps its own signature, marked rejected (it never joins the valid ones, nor
another rejected output); an undecided one (the validator crashed or timed
out) is left as it was. :func:`merge_valid` is pure; :func:`validated_table`
runs the validator once per distinct (input, output), not once per candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from codesolve.sstar.context import SelectionContext
from codesolve.sstar.inputs import Table
from codesolve.tasks.base import Behaviour, SynthInput
from codesolve.tasks.signatures import REJECTED, VALID

Verdicts = Mapping[tuple[int, str], bool | None]
"""The validator's verdict on each (input index, output signature)."""


def needs_verdict(b: Behaviour) -> bool:
    """A clean output not already validated (a checker program's ``AC:valid``/``REJ:``)."""
    return b.ran_cleanly and b.signature.startswith("AC:") and b.signature != VALID


def to_validate(table: Table) -> list[tuple[int, str]]:
    """The distinct (input index, signature) pairs to ask the validator about, in a content order."""
    return sorted({(i, b.signature) for rows in table.values() for i, b in enumerate(rows) if needs_verdict(b)})


def merge_valid(table: Table, verdicts: Verdicts) -> Table:
    """The table with accepted outputs as ``AC:valid`` and rejected ones marked (see the module)."""

    def merged(i: int, b: Behaviour) -> Behaviour:
        verdict = verdicts.get((i, b.signature)) if needs_verdict(b) else None
        if verdict is True:
            return Behaviour(VALID, b.shown, True)
        if verdict is False:
            return Behaviour(f"{REJECTED}{b.signature}", b.shown, True)
        return b

    return {key: [merged(i, b) for i, b in enumerate(rows)] for key, rows in table.items()}


async def validated_table(ctx: SelectionContext, validator: str, inputs: Sequence[SynthInput], table: Table) -> Table:
    """Ask the task's validator about every distinct clean output (one batch), then merge."""
    pairs = to_validate(table)
    if not pairs:
        return table
    shown: dict[tuple[int, str], Behaviour] = {}
    for rows in table.values():
        for i, b in enumerate(rows):
            shown.setdefault((i, b.signature), b)
    answers = await ctx.task.validate(validator, [(inputs[i], shown[(i, sig)]) for i, sig in pairs])
    verdicts = dict(zip(pairs, answers, strict=True))
    accepted = sum(v is True for v in answers)
    rejected = sum(v is False for v in answers)
    ctx.record("note", "validate", outputs=len(pairs), accepted=accepted, rejected=rejected)
    return merge_valid(table, verdicts)
