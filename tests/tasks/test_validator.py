"""The output validator's pure parts: reading it from a reply, corrupting outputs, the trial."""

from __future__ import annotations

from codesolve.tasks.validator import MAX_CASES, corruptions, read_verdicts, trial_cases, trial_passed, validator_code


def test_the_last_validator_block_defining_valid_is_taken() -> None:
    reply = (
        "```validator\ndef valid(i, o):\n    return True\n```\n"
        "```validator\ndef valid(i, o):\n    return o == 1\n```\n"
        "```validator\nnot python (\n```\n```validator\ndef other(i, o):\n    return True\n```\n"
    )
    assert validator_code(reply) == "def valid(i, o):\n    return o == 1\n"
    assert validator_code("```input\n[1]\n```") is None


def test_corruptions_differ_from_the_right_output() -> None:
    for expected in ["-0.5", "3", "True", "'ab'", "''", "[1, 2]", "[]", "(1,)", "None", "{1: 2}"]:
        made = corruptions(expected, call_mode=True)
        assert made
        assert expected not in made
    assert corruptions("1 2\n3\n", call_mode=False) == ["2 3\n4\n", "", "1 2\n3\n-1\n"]


def test_the_trial_needs_every_public_output_accepted_and_most_corruptions_rejected() -> None:
    cases, public = trial_cases([("[[1, 2]]", "-0.5")], call_mode=True)
    assert public == 1
    wrong = len(cases) - public
    assert trial_passed([True] + [False] * wrong, public)
    assert not trial_passed([None] + [False] * wrong, public)  # undecided on the example: not trusted
    assert not trial_passed([True] * (wrong + 1), public)  # accepts everything: not trusted
    assert not trial_passed([True], public)  # nothing to reject: no evidence
    assert not trial_passed([], 0)


def test_unreadable_or_short_harness_answers_leave_every_case_undecided() -> None:
    assert read_verdicts("[True, False, 1]", 3) == [True, False, None]
    assert read_verdicts("[True]", 3) == [None, None, None]
    assert read_verdicts("garbage(", 2) == [None, None]
    assert read_verdicts(repr([True] * MAX_CASES), MAX_CASES + 2) == [True] * MAX_CASES + [None, None]
