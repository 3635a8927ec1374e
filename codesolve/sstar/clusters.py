"""Behaviour clustering and the deterministic orderings selection relies on.

Everything here is pure. Ties are broken by content (a hash of the code),
never by arrival order, so a selection does not depend on which candidate
happened to finish first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codesolve.tasks.base import Behaviour
from codesolve.tasks.signatures import REJECTED, VALID


def code_key(code: str) -> str:
    """Order-independent identity of a candidate: the hash of its code."""
    return hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Cluster:
    """Candidates (by code key) that behaved identically on every kept input."""

    members: tuple[str, ...]
    signature: tuple[str, ...]
    weight: int = 0
    """Samples behind the members (a program sampled twice counts twice); 0 means one per member."""
    clean: int = 0
    """Kept inputs on which the cluster ran cleanly (a tie between equal weights goes to the robust one)."""

    @property
    def representative(self) -> str:
        """The member compared on the cluster's behalf (smallest code key)."""
        return self.members[0]

    @property
    def size(self) -> int:
        """Samples behind the cluster (its members, each counted as often as it was sampled)."""
        return self.weight or len(self.members)

    @property
    def rank(self) -> tuple[int, int, str]:
        """Sort key: the largest first, then the one running cleanly on more inputs, then by content."""
        return (-self.size, -self.clean, self.representative)


MOST = 0.5
"""An input on which more than this share of the candidates crash, time out or are rejected is invalid."""


def valid_inputs(table: Mapping[str, Sequence[Behaviour]]) -> list[int]:
    """Indices of the inputs most candidates ran cleanly on (the validity filter).

    An input on which most candidates crash, time out or are rejected most
    likely broke the problem's constraints: it tells about the input, not
    about the programs, so it is dropped. An input every candidate ran
    cleanly on is always kept.
    """
    if not table:
        return []
    width = min(len(rows) for rows in table.values())
    n = len(table)
    # A checker that accepted some output against an empty reference needs none: its rejections are real.
    validates = any(b.signature == VALID for rows in table.values() for b in rows)

    def clean(b: Behaviour) -> bool:
        return b.ran_cleanly and not (validates and b.signature.startswith(REJECTED))

    return [i for i in range(width) if sum(clean(rows[i]) for rows in table.values()) >= n * (1 - MOST)]


def disagree(rows: Sequence[Sequence[Behaviour]]) -> bool:
    """Whether two of these candidates' rows ran cleanly on some input and behaved differently there.

    A hint, read while a table is still filling: whether the survivors will end up in more than
    one cluster is only known from the whole table (an input most of them failed is dropped).
    """
    width = min((len(row) for row in rows), default=0)
    for i in range(width):
        seen = {row[i].signature for row in rows if row[i].ran_cleanly}
        if len(seen) > 1:
            return True
    return False


informative_inputs = valid_inputs
"""The former name of :func:`valid_inputs`."""


def cluster(table: Mapping[str, Sequence[Behaviour]], weights: Mapping[str, int] | None = None) -> list[Cluster]:
    """Group candidates by their behaviour on the valid inputs.

    ``weights`` counts the samples behind each candidate (default one). Sorted by
    :attr:`Cluster.rank`, so the order is a function of the table's content only.
    """
    keep = valid_inputs(table)
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, rows in table.items():
        signature = tuple(rows[i].signature for i in keep)
        groups.setdefault(signature, []).append(key)
    clusters = [
        Cluster(
            tuple(sorted(members)),
            signature,
            weight=sum((weights or {}).get(m, 1) for m in members),
            clean=sum(1 for i in keep if table[members[0]][i].ran_cleanly),
        )
        for signature, members in groups.items()
    ]
    return sorted(clusters, key=lambda c: c.rank)


def agreement(groups: Sequence[Cluster]) -> dict[Cluster, int]:
    """How much of the pool each cluster's behaviour agrees with: for every valid input, the samples
    (its own included) that gave the same clean output there.

    A correct program agrees with the other correct ones on every input within the problem's domain;
    an input outside it (which synthesis cannot always avoid) may split them, but only on that input.
    Agreement summed over inputs keeps such a split from outweighing the rest (as MBR-exec does).
    """
    scores: dict[Cluster, int] = {}
    for group in groups:
        scores[group] = sum(
            other.size
            for other in groups
            for mine, theirs in zip(group.signature, other.signature, strict=True)
            if mine == theirs and mine.startswith("AC")
        )
    return scores


def by_agreement(groups: Sequence[Cluster]) -> list[Cluster]:
    """Clusters ordered by :func:`agreement` (most first), then by rank: a function of content only."""
    scores = agreement(groups)
    return sorted(groups, key=lambda c: (-scores[c], c.rank))


def differing_inputs(a: Cluster, b: Cluster) -> list[int]:
    """Positions (in the kept-input order) where two clusters behave differently."""
    return [i for i, (x, y) in enumerate(zip(a.signature, b.signature, strict=True)) if x != y]


def tie_break(a: Cluster, b: Cluster) -> Cluster:
    """When the judge cannot decide: the larger cluster, then the more robust, then the smaller key."""
    return min((a, b), key=lambda c: c.rank)
