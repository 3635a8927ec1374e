"""Selection invariants (pure logic): clustering, knockout cost, order independence."""

from __future__ import annotations

import hashlib
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from codesolve.sstar.clusters import Cluster, cluster, disagree, informative_inputs, valid_inputs
from codesolve.sstar.codet import consensus_sets
from codesolve.sstar.judging import knockout, parse_verdict
from codesolve.sstar.validity import merge_valid, to_validate
from codesolve.tasks.base import Behaviour
from codesolve.tasks.signatures import VALID

T = TypeVar("T")
signature = st.sampled_from(["AC:1", "AC:2", "AC:3", "WA", "TLE", "RE"])
keys = st.lists(st.text(alphabet="0123456789abcdef", min_size=8, max_size=8), min_size=1, max_size=10, unique=True)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, list[Behaviour]]:
    names = draw(keys)
    width = draw(st.integers(min_value=0, max_value=5))
    table = {}
    for name in names:
        sigs = draw(st.lists(signature, min_size=width, max_size=width))
        table[name] = [Behaviour(s, s, s.startswith("AC")) for s in sigs]
    return table


def secret_rank(cluster_: Cluster) -> str:
    # A deterministic "judge": prefers the representative with the smallest salted hash.
    return hashlib.sha256(b"judge" + cluster_.representative.encode()).hexdigest()


def run_knockout(groups: list[Cluster], cap: int | None = None) -> tuple[Cluster, int]:
    calls = 0

    async def compare(a: Cluster, b: Cluster) -> tuple[Cluster, str] | None:
        nonlocal calls
        if cap is not None and calls >= cap:
            return None  # as the judging comparator does when Spend.charge says the cap is reached
        calls += 1
        return min((a, b), key=secret_rank), "fake"

    winner, _ = drive(knockout(groups, compare))
    return winner, calls


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends, without an event loop.

    (The session's async fixtures keep an event loop running in this thread.)
    """
    try:
        while True:
            coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


@given(tables(), st.data())
@settings(max_examples=150, deadline=None)
def test_result_is_invariant_to_arrival_order(table: dict[str, list[Behaviour]], data: st.DataObject) -> None:
    order = data.draw(st.permutations(list(table)))
    other = {key: table[key] for key in order}
    groups_a, groups_b = cluster(table), cluster(other)
    assert groups_a == groups_b
    assert run_knockout(groups_a)[0] == run_knockout(groups_b)[0]


@given(tables())
@settings(max_examples=150, deadline=None)
def test_judge_comparisons_are_bounded_by_cluster_count(table: dict[str, list[Behaviour]]) -> None:
    groups = cluster(table)
    _, calls = run_knockout(groups)
    assert calls == len(groups) - 1
    assert calls < max(len(table), 1)


@given(keys, st.lists(signature, min_size=0, max_size=5))
@settings(max_examples=100, deadline=None)
def test_identical_behaviour_costs_no_judge_call(names: list[str], row: list[str]) -> None:
    table = {name: [Behaviour(s, s, s.startswith("AC")) for s in row] for name in names}
    groups = cluster(table)
    assert len(groups) == 1
    assert groups[0].size == len(names)
    assert run_knockout(groups)[1] == 0


@given(tables(), st.integers(min_value=0, max_value=3))
@settings(max_examples=100, deadline=None)
def test_judge_cap_is_respected(table: dict[str, list[Behaviour]], cap: int) -> None:
    groups = cluster(table)
    winner, calls = run_knockout(groups, cap)
    assert calls <= cap
    assert winner in groups


@given(tables())
@settings(max_examples=100, deadline=None)
def test_clusters_partition_the_candidates(table: dict[str, list[Behaviour]]) -> None:
    groups = cluster(table)
    members = [m for g in groups for m in g.members]
    assert sorted(members) == sorted(table)
    sizes = [g.size for g in groups]
    assert sizes == sorted(sizes, reverse=True)


def test_inputs_where_everyone_fails_are_dropped() -> None:
    ok, bad = Behaviour("AC:1", "1", True), Behaviour("TLE", "TLE", False)
    table = {"a": [ok, bad, bad], "b": [ok, bad, ok]}
    assert informative_inputs(table) == [0, 2]


def test_parse_verdict() -> None:
    assert parse_verdict("reasoning...\nA") == "A"
    assert parse_verdict("so the answer is\n**B**") == "B"
    assert parse_verdict("Answer: b") == "B"
    assert parse_verdict("A is wrong; B is right") is None
    assert parse_verdict("") is None


@given(tables())
@settings(max_examples=150, deadline=None)
def test_validity_filter_never_drops_an_input_everyone_ran_cleanly(table: dict[str, list[Behaviour]]) -> None:
    kept = valid_inputs(table)
    width = min((len(rows) for rows in table.values()), default=0)
    for i in range(width):
        clean = [rows[i].ran_cleanly for rows in table.values()]
        if all(clean):
            assert i in kept
        if sum(clean) * 2 < len(clean):
            assert i not in kept  # most crashed, timed out or were rejected: invalid


def test_validity_filter_drops_inputs_most_survivors_fail() -> None:
    ok, bad = Behaviour("AC:1", "1", True), Behaviour("RE", "RE", False)
    table = {"a": [ok, ok], "b": [bad, ok], "c": [bad, ok]}
    assert valid_inputs(table) == [1]


passes = st.lists(st.booleans(), min_size=3, max_size=3)


@given(st.dictionaries(st.text(alphabet="0123456789abcdef", min_size=4, max_size=4), passes, min_size=1, max_size=8),
       st.data())  # fmt: skip
@settings(max_examples=150, deadline=None)
def test_codet_score_is_invariant_to_candidate_order(table: dict[str, list[bool]], data: st.DataObject) -> None:
    weights = {key: data.draw(st.integers(1, 3)) for key in sorted(table)}
    order = data.draw(st.permutations(list(table)))
    shuffled = {key: table[key] for key in order}
    assert consensus_sets(table, weights) == consensus_sets(shuffled, {k: weights[k] for k in reversed(order)})
    best = consensus_sets(table, weights)[0]
    assert all(best.score >= s.score for s in consensus_sets(table, weights))


def test_codet_score_is_size_times_tests_passed() -> None:
    table = {"a": [True, True, False], "b": [True, True, False], "c": [True, True, True]}
    sets = consensus_sets(table)
    assert [(s.members, s.score) for s in sets] == [(("a", "b"), 4), (("c",), 3)]


def test_ties_between_equal_clusters_go_to_the_one_running_cleanly_on_more_inputs() -> None:
    ok, other, crash = Behaviour("AC:1", "1", True), Behaviour("AC:2", "2", True), Behaviour("RE", "RE", False)
    table = {"ff": [ok, ok], "00": [other, crash], "11": [ok, ok]}
    groups = cluster(table, {"ff": 1, "11": 1, "00": 2})
    assert groups[0].members == ("11", "ff")  # weight 2 each; the robust one first whatever the keys


@st.composite
def judged_tables(draw: st.DrawFn) -> tuple[dict[str, list[Behaviour]], dict[tuple[int, str], bool | None]]:
    """A behaviour table and a validator's verdict on each of its distinct clean outputs."""
    table = draw(tables())
    verdict = st.sampled_from([True, False, None])
    return table, {pair: draw(verdict) for pair in to_validate(table)}


@given(judged_tables())
@settings(max_examples=150, deadline=None)
def test_merging_under_a_validator_never_merges_an_output_it_rejects(
    case: tuple[dict[str, list[Behaviour]], dict[tuple[int, str], bool | None]],
) -> None:
    table, verdicts = case
    merged = merge_valid(table, verdicts)
    for group in cluster(merged):
        keep = valid_inputs(merged)
        for a in group.members:
            for b in group.members:
                for i in keep:
                    before_a, before_b = table[a][i].signature, table[b][i].signature
                    if before_a == before_b:
                        continue
                    # Two outputs that differed share a cluster only if the validator accepted both.
                    assert verdicts.get((i, before_a)) is True
                    assert verdicts.get((i, before_b)) is True
    for key, rows in merged.items():
        for i, b in enumerate(rows):
            if verdicts.get((i, table[key][i].signature)) is False:
                assert b.signature != VALID


@given(tables())
@settings(max_examples=100, deadline=None)
def test_an_undecided_validator_changes_nothing(table: dict[str, list[Behaviour]]) -> None:
    assert merge_valid(table, dict.fromkeys(to_validate(table))) == table


@given(keys, st.lists(st.lists(st.sampled_from(["AC:1", "AC:2", "AC:3"]), min_size=2, max_size=2), min_size=1))
def test_clean_rows_disagree_exactly_when_they_make_several_clusters(names: list[str], rows: list[list[str]]) -> None:
    table = {
        name: [Behaviour(signature=s, shown=s, ran_cleanly=True) for s in rows[i % len(rows)]]
        for i, name in enumerate(names)
    }
    assert disagree(list(table.values())) == (len(cluster(table)) > 1)


def test_rows_that_differ_only_where_one_failed_do_not_disagree() -> None:
    ok, other, failed = (
        Behaviour(signature=s, shown=s, ran_cleanly=s.startswith("AC")) for s in ("AC:1", "AC:2", "RE")
    )
    assert not disagree([[ok, failed], [failed, other]])
    assert not disagree([[ok], [ok, other]])  # (a row not finished yet: only the common inputs count)
    assert disagree([[ok, failed], [other, failed]])
    assert not disagree([])
