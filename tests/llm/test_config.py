"""Config models: validation, role routing, keys from the environment, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from codesolve.errors import LLMConfigError
from codesolve.llm import LLM, ROLES, EndpointConfig, LLMConfig, Message, Price

pytestmark = pytest.mark.timeout(30)


def test_roles_fall_back_to_default() -> None:
    judge = EndpointConfig(model="small-judge")
    cfg = LLMConfig(default=EndpointConfig(model="big"), roles={"judge": judge})
    assert cfg.endpoint("judge") is judge
    assert {cfg.endpoint(r).model for r in ROLES if r != "judge"} == {"big"}


def test_unknown_role_is_a_config_error() -> None:
    cfg = LLMConfig(default=EndpointConfig(model="m"))
    with pytest.raises(LLMConfigError, match="unknown LLM role 'critic'"):
        cfg.endpoint("critic")


def test_extra_keys_are_rejected() -> None:
    with pytest.raises(ValidationError):
        EndpointConfig.model_validate({"model": "m", "temprature": 0.2})
    with pytest.raises(ValidationError):
        LLMConfig.model_validate({"default": {"model": "m"}, "roles": {"critic": {"model": "m"}}})


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match="http"):
        EndpointConfig(model="m", base_url="127.0.0.1:8000/v1")
    assert EndpointConfig(model="m", base_url="http://h:1/v1/").url == "http://h:1/v1"
    assert EndpointConfig(model="m").url == "https://api.openai.com/v1"


def test_missing_api_key_names_the_variable() -> None:
    cfg = LLMConfig(default=EndpointConfig(model="m", api_key_env="MY_LLM_KEY"))
    with pytest.raises(LLMConfigError) as info:
        LLM(cfg, env={})
    message = str(info.value)
    assert "MY_LLM_KEY" in message
    assert "\n" not in message


def test_role_endpoint_keys_are_checked_too() -> None:
    cfg = LLMConfig(
        default=EndpointConfig(model="m"),
        roles={"judge": EndpointConfig(model="j", api_key_env="JUDGE_KEY")},
    )
    with pytest.raises(LLMConfigError, match="JUDGE_KEY"):
        LLM(cfg, env={"OPENAI_API_KEY": "k"})


@pytest.mark.anyio
async def test_messages_must_be_message_objects() -> None:
    cfg = LLMConfig(default=EndpointConfig(model="m", base_url="http://127.0.0.1:9/v1"))
    async with LLM(cfg, env={"OPENAI_API_KEY": "dummy"}) as llm:
        with pytest.raises(TypeError, match="Message"):
            await llm.complete(
                "generator",
                [{"role": "user", "content": "x"}],  # type: ignore[list-item]
                temperature=0,
                max_tokens=None,
                phase="p",
            )
        with pytest.raises(ValueError, match="n must be"):
            await llm.complete("generator", [Message.user("x")], n=0, temperature=0, max_tokens=None, phase="p")


def test_limiters_are_named_per_endpoint() -> None:
    cfg = LLMConfig(
        default=EndpointConfig(model="gen", max_concurrency=3),
        roles={"judge": EndpointConfig(model="judge", max_concurrency=1)},
    )
    llm = LLM(cfg, env={"OPENAI_API_KEY": "k"})
    limiters = llm.limiters
    assert set(limiters) == {"llm:gen", "llm:judge"}
    assert limiters["llm:gen"].total_tokens == 3
    assert limiters["llm:judge"].total_tokens == 1


def test_price_cost() -> None:
    price = Price(prompt_per_m=2.0, completion_per_m=8.0)
    assert price.cost(1_000_000, 500_000) == pytest.approx(6.0)
    with pytest.raises(ValidationError):
        Price(prompt_per_m=-1, completion_per_m=0)


def test_config_from_json_and_yaml_files(tmp_path: Path) -> None:
    data = {
        "default": {"model": "m", "base_url": "http://127.0.0.1:1/v1"},
        "roles": {"judge": {"model": "j"}},
        "prices": {"m": {"prompt_per_m": 1, "completion_per_m": 2}},
        "cache_path": str(tmp_path / "c.sqlite"),
    }
    as_json = tmp_path / "llm.json"
    as_json.write_text(json.dumps(data))
    as_yaml = tmp_path / "llm.yaml"
    as_yaml.write_text(
        "default: {model: m, base_url: 'http://127.0.0.1:1/v1'}\n"
        "roles: {judge: {model: j}}\n"
        "prices: {m: {prompt_per_m: 1, completion_per_m: 2}}\n"
        f"cache_path: {tmp_path / 'c.sqlite'}\n"
    )
    assert LLMConfig.from_file(as_json) == LLMConfig.from_file(as_yaml)


def test_bad_config_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "llm.json"
    bad.write_text(json.dumps({"default": {"model": "m", "timeout_s": -1}}))
    with pytest.raises(LLMConfigError) as info:
        LLMConfig.from_file(bad)
    assert str(bad) in str(info.value)
    assert "default.timeout_s" in str(info.value)
    assert "\n" not in str(info.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("default: [unclosed\n")
    with pytest.raises(LLMConfigError, match="invalid YAML"):
        LLMConfig.from_file(broken)
    with pytest.raises(LLMConfigError, match="cannot read"):
        LLMConfig.from_file(tmp_path / "missing.json")
