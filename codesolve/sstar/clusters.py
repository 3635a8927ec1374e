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


def code_key(code: str) -> str:
    """Order-independent identity of a candidate: the hash of its code."""
    return hashlib.sha256(code.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Cluster:
    """Candidates (by code key) that behaved identically on every kept input."""

    members: tuple[str, ...]
    signature: tuple[str, ...]

    @property
    def representative(self) -> str:
        """The member compared on the cluster's behalf (smallest code key)."""
        return self.members[0]

    @property
    def size(self) -> int:
        """Number of members."""
        return len(self.members)


def informative_inputs(table: Mapping[str, Sequence[Behaviour]]) -> list[int]:
    """Indices of inputs on which at least one candidate ran cleanly.

    An input on which every candidate crashes or times out is most likely
    invalid (the synthesizer broke the constraints), so it tells nothing.
    """
    if not table:
        return []
    width = min(len(rows) for rows in table.values())
    return [i for i in range(width) if any(rows[i].ran_cleanly for rows in table.values())]


def cluster(table: Mapping[str, Sequence[Behaviour]]) -> list[Cluster]:
    """Group candidates by their behaviour on the informative inputs.

    Sorted by size (largest first), then by representative, so the order is a
    function of the table's content only.
    """
    keep = informative_inputs(table)
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, rows in table.items():
        signature = tuple(rows[i].signature for i in keep)
        groups.setdefault(signature, []).append(key)
    clusters = [Cluster(tuple(sorted(members)), signature) for signature, members in groups.items()]
    return sorted(clusters, key=lambda c: (-c.size, c.representative))


def differing_inputs(a: Cluster, b: Cluster) -> list[int]:
    """Positions (in the kept-input order) where two clusters behave differently."""
    return [i for i, (x, y) in enumerate(zip(a.signature, b.signature, strict=True)) if x != y]


def tie_break(a: Cluster, b: Cluster) -> Cluster:
    """When the judge cannot decide: the larger cluster, then the smaller representative key."""
    return min((a, b), key=lambda c: (-c.size, c.representative))
