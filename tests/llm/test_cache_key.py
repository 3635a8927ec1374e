"""Properties of the cache key: stable for equal inputs, distinct for different ones, secret-free."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.llm import Message, cache_key
from codesolve.llm._cache import ParamValue

pytestmark = pytest.mark.timeout(60)

messages_st = st.lists(
    st.builds(Message, st.sampled_from(["system", "user", "assistant"]), st.text(max_size=40)), min_size=1, max_size=4
)
params_st = st.fixed_dictionaries(
    {
        "temperature": st.floats(min_value=0, max_value=2, allow_nan=False),
        "max_tokens": st.none() | st.integers(min_value=1, max_value=10**6),
        "seed_key": st.text(max_size=20),
    }
)
urls_st = st.sampled_from(["http://127.0.0.1:8000/v1", "https://api.openai.com/v1", "http://h/v1"])
models_st = st.sampled_from(["gpt-a", "gpt-b", "local"])


def _key(url: str, model: str, messages: list[Message], params: dict[str, ParamValue], sample: int) -> str:
    return cache_key(base_url=url, model=model, messages=messages, params=params, sample=sample)


@given(urls_st, models_st, messages_st, params_st, st.integers(min_value=0, max_value=64))
def test_same_inputs_same_key(
    url: str, model: str, messages: list[Message], params: dict[str, ParamValue], sample: int
) -> None:
    key = _key(url, model, messages, params, sample)
    rebuilt = [Message(m.role, str(m.content)) for m in messages]
    assert key == _key(url, model, rebuilt, dict(reversed(list(params.items()))), sample)
    assert len(key) == 64
    assert int(key, 16) >= 0


@given(urls_st, models_st, messages_st, params_st, st.integers(min_value=0, max_value=64), st.data())
def test_any_change_changes_the_key(
    url: str, model: str, messages: list[Message], params: dict[str, ParamValue], sample: int, data: st.DataObject
) -> None:
    key = _key(url, model, messages, params, sample)
    assert key != _key(url, model, messages, params, sample + 1)
    other_model = data.draw(models_st.filter(lambda m: m != model))
    assert key != _key(url, other_model, messages, params, sample)
    other_url = data.draw(urls_st.filter(lambda u: u != url))
    assert key != _key(other_url, model, messages, params, sample)
    assert key != _key(url, model, [*messages, Message.user("")], params, sample)
    changed = [Message(messages[0].role, messages[0].content + "x"), *messages[1:]]
    assert key != _key(url, model, changed, params, sample)
    assert key != _key(url, model, messages, {**params, "seed_key": f"{params['seed_key']}!"}, sample)


@given(messages_st)
def test_message_boundaries_matter(messages: list[Message]) -> None:
    # "ab" + "c" must not collide with "a" + "bc"; role changes must not collide either.
    first = messages[0]
    split = [Message(first.role, first.content + "ab"), Message("user", "c")]
    moved = [Message(first.role, first.content + "a"), Message("user", "bc")]
    params: dict[str, ParamValue] = {"temperature": 0.0}
    assert _key("http://h/v1", "m", split, params, 0) != _key("http://h/v1", "m", moved, params, 0)
    as_system = [Message("system", "x")]
    as_user = [Message("user", "x")]
    assert _key("http://h/v1", "m", as_system, params, 0) != _key("http://h/v1", "m", as_user, params, 0)


def test_key_layout_is_pinned() -> None:
    # A change here invalidates every cache file: bump CACHE_KEY_VERSION on purpose, then update this vector.
    params: dict[str, ParamValue] = {"temperature": 0.0, "max_tokens": None, "seed_key": ""}
    key = _key("http://h/v1", "m", [Message.user("hi")], params, 0)
    assert key == "d3ad6f5dd820a14ce0c831c4d83598dcd0a0385300a6d733debbf5f4743afce6"
