import pytest
from durations import parse_duration


def test_hours():
    assert parse_duration("2h") == 7200


def test_seconds():
    assert parse_duration("90s") == 90


def test_rejects_words():
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
