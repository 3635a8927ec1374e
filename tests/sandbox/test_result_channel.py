"""The result channel's record: only the harness's own, exact record yields an answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sandbox.runtime.harness import read_record

NONCE = "5f2c0e1d9a8b7c6d5e4f3a2b1c0d9e8f"


def record(nonce: str, answer: bytes) -> bytes:
    return f"{nonce} {len(answer)}\n".encode() + answer


@given(st.binary(max_size=200))
def test_the_genuine_record_gives_its_answer(answer: bytes) -> None:
    text, why = read_record(record(NONCE, answer), NONCE)
    assert text == answer.decode("utf-8", "surrogateescape")
    assert why == ""


@given(st.binary(max_size=64), st.binary(min_size=1, max_size=64), st.binary(max_size=32))
def test_anything_around_the_record_spoils_it(before: bytes, junk: bytes, answer: bytes) -> None:
    genuine = record(NONCE, answer)
    for data in (junk + genuine, genuine + junk, before + junk + genuine):
        assert read_record(data, NONCE)[0] is None


@given(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32), st.binary(max_size=32))
def test_a_guessed_nonce_is_refused(guess: str, answer: bytes) -> None:
    if guess != NONCE:
        text, why = read_record(record(guess, answer), NONCE)
        assert text is None
        assert "did not write" in why


def test_no_record_means_the_call_never_finished() -> None:
    text, why = read_record(b"", NONCE)
    assert text is None
    assert why.startswith("no result")
