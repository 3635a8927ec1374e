"""The cheap majority vote over candidates' normal forms (no execution): a pure function.

Candidates whose normal forms are equal (a task's notion of "the same
change", e.g. normalised patches) form one group; a group's weight is the
number of samples in it. The heaviest group wins; equal weights are broken by
a hash of the normal form, so the result never depends on the order the
candidates arrived in. Empty normal forms (a change that changes nothing)
only vote when no candidate has anything else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class VoteGroup:
    """Candidates (by key) sharing one normal form."""

    form: str
    members: tuple[str, ...]
    """Candidate keys, sorted."""
    weight: int
    """Samples in the group (a candidate sampled twice counts twice)."""

    @property
    def representative(self) -> str:
        """The member returned for the group (the smallest key)."""
        return self.members[0]


def _digest(form: str) -> str:
    return hashlib.sha256(form.encode("utf-8", "surrogatepass")).hexdigest()


def vote_groups(forms: Mapping[str, str], weights: Mapping[str, int]) -> list[VoteGroup]:
    """Groups of equal normal forms, the winner first (heaviest; ties by the form's hash)."""
    voting = {k: f for k, f in forms.items() if f} or dict(forms)
    by_form: dict[str, list[str]] = {}
    for key, form in voting.items():
        by_form.setdefault(form, []).append(key)
    groups = [
        VoteGroup(form, tuple(sorted(keys)), sum(max(weights.get(k, 1), 1) for k in keys))
        for form, keys in by_form.items()
    ]
    return sorted(groups, key=lambda g: (-g.weight, _digest(g.form)))
