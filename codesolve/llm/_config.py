"""Configuration of the LLM layer: endpoints, role routing, prices and the cache.

Pydantic models with ``extra="forbid"`` so a typo in a config file is an error,
not a silently ignored key. No settings are read at import time; the API key is
looked up in an environment mapping the caller passes (see :class:`LLM`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from codesolve.errors import LLMConfigError
from codesolve.llm._types import ROLES, Role, as_role

DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Where requests go when an endpoint sets no ``base_url``."""


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Price(_Config):
    """USD per one million tokens. Reasoning tokens are billed as completion tokens."""

    prompt_per_m: float = Field(ge=0)
    """Dollars per 1M prompt tokens."""
    completion_per_m: float = Field(ge=0)
    """Dollars per 1M completion tokens (reasoning tokens included)."""

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollar cost of the given token counts."""
        return (prompt_tokens * self.prompt_per_m + completion_tokens * self.completion_per_m) / 1_000_000


class EndpointConfig(_Config):
    """One OpenAI-compatible endpoint serving one model."""

    model: str = Field(min_length=1)
    """Model name sent in each request."""
    base_url: str | None = None
    """API root such as ``http://127.0.0.1:8000/v1``; None means the OpenAI API."""
    api_key_env: str = Field(default="OPENAI_API_KEY", min_length=1)
    """Name of the environment variable holding the API key (the key itself never sits in config)."""
    timeout_s: float = Field(default=120.0, gt=0)
    """Deadline of one HTTP attempt, in seconds."""
    max_retries: int = Field(default=4, ge=0, le=20)
    """Retries after the first attempt on timeouts, connection errors, 429 and 5xx."""
    max_concurrency: int = Field(default=8, ge=1)
    """Requests in flight at once to this endpoint."""
    supports_n: bool | None = None
    """Whether one request may ask for several choices; None probes and falls back automatically."""
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """Request field carrying the token limit; OpenAI reasoning models want ``max_completion_tokens``."""
    backoff_s: float = Field(default=1.0, ge=0)
    """First retry delay; doubles per retry, with jitter."""
    max_backoff_s: float = Field(default=30.0, ge=0)
    """Ceiling of the exponential backoff."""
    max_retry_after_s: float = Field(default=60.0, ge=0)
    """Ceiling on a server's ``Retry-After`` so a hostile or buggy header cannot stall a run."""

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value is not None else None

    @property
    def url(self) -> str:
        """The effective base URL."""
        return self.base_url or DEFAULT_BASE_URL

    def api_key(self, env: Mapping[str, str]) -> str:
        """The API key from ``env``; LLMConfigError naming the variable when it is missing."""
        key = env.get(self.api_key_env, "")
        if not key:
            raise LLMConfigError(f"environment variable {self.api_key_env} is not set (API key for model {self.model})")
        return key


class LLMConfig(_Config):
    """Which endpoint serves each role, what tokens cost, and where responses are cached."""

    default: EndpointConfig
    """Endpoint for every role not listed in ``roles``."""
    roles: dict[Role, EndpointConfig] = Field(default_factory=dict)
    """Role-specific endpoints, e.g. a cheaper judge."""
    prices: dict[str, Price] = Field(default_factory=dict)
    """Price per model name; a model missing here has unknown (None) cost."""
    cache_path: Path | None = None
    """SQLite response cache; None disables caching entirely."""
    use_cache: bool = True
    """Read the cache; False forces fresh requests (results are still written)."""

    def endpoint(self, role: str) -> EndpointConfig:
        """The endpoint serving ``role``; LLMConfigError for an unknown role."""
        return self.roles.get(as_role(role), self.default)

    def api_keys(self, env: Mapping[str, str]) -> dict[str, str]:
        """Every role's key by variable name; LLMConfigError naming the first one missing (a
        command calls this before it makes anything, so a missing key costs no work)."""
        endpoints = {self.endpoint(role) for role in ROLES}
        return {ep.api_key_env: ep.api_key(env) for ep in sorted(endpoints, key=lambda ep: ep.api_key_env)}

    def price(self, model: str) -> Price | None:
        """The price of ``model``, or None when unknown."""
        return self.prices.get(model)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "LLM config") -> LLMConfig:
        """Validate ``data``; LLMConfigError with a one-line message on any problem."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise LLMConfigError(f"{source}: {one_line_validation_error(exc)}") from None

    @classmethod
    def from_file(cls, path: Path) -> LLMConfig:
        """Load a JSON or YAML (``.yaml``/``.yml``) file; LLMConfigError naming the file on any problem."""
        data = load_structured_file(path)
        if not isinstance(data, Mapping):
            raise LLMConfigError(f"{path}: expected a mapping at the top level")
        return cls.from_mapping(data, source=str(path))


def one_line_validation_error(exc: ValidationError) -> str:
    """The first pydantic error as ``field.path: message`` (plus a count of the rest)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "<root>"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def load_structured_file(path: Path) -> object:
    """Parse a JSON or YAML file (by suffix); LLMConfigError naming the file on failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LLMConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml  # lazy: only YAML users pay for it

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LLMConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LLMConfigError(f"{path}: invalid JSON: {exc}") from None
